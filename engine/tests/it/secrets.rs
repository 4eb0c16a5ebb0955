//! `secret()`: made from the OS CSPRNG, masked in every event and error, present only in the
//! job's result (which says which fields hold it).
#![allow(clippy::unwrap_used)]

use crate::util;

use cairn_engine::redact::MASK;
use cairn_engine::{Outcome, Stream};
use util::{recipe, run};

#[test]
fn a_secret_printed_by_a_child_reaches_the_events_only_masked() {
    let r = recipe(
        r#"["cat"]"#,
        "[]",
        r#"let pw = secret(24);
           run("cat", [], #{ stdin: "password=" + pw + "\n" });
           log("made " + pw);
           step("configure " + pw);
           #{ connection_string: "postgresql://app:" + pw + "@localhost/app", user: "app" }"#,
    );
    let ran = run(&r, serde_json::json!({}));
    let Outcome::Succeeded {
        value,
        secret_fields,
    } = &ran.outcome
    else {
        panic!("{:?}", ran.outcome)
    };
    let conn = value["connection_string"].as_str().unwrap();
    let pw = conn
        .strip_prefix("postgresql://app:")
        .unwrap()
        .strip_suffix("@localhost/app")
        .unwrap();
    assert_eq!(pw.len(), 24);
    assert_eq!(secret_fields, &["connection_string".to_owned()]);
    assert_eq!(ran.lines(Stream::Stdout), vec![format!("password={MASK}")]);
    assert!(ran.lines(Stream::Info).contains(&format!("made {MASK}")));
    // The only place the password appears is the result inside the Finished event.
    let without_result: String = ran.events[..ran.events.len() - 1]
        .iter()
        .map(|e| serde_json::to_string(e).unwrap())
        .collect();
    assert!(!without_result.contains(pw));
}

#[test]
fn a_secret_in_an_error_is_masked() {
    let r = recipe(
        r#"["ls"]"#,
        "[]",
        r#"let pw = secret(20); run("ls", ["/nonexistent-" + pw]);"#,
    );
    let ran = run(&r, serde_json::json!({}));
    assert!(
        ran.error().contains(&format!("/nonexistent-{MASK}")),
        "{}",
        ran.error()
    );
    assert!(!ran.all_text().contains("/nonexistent-") || ran.all_text().contains(MASK));
}

#[test]
fn secrets_are_distinct_and_url_safe_and_lengths_are_checked() {
    let r = recipe("[]", "[]", "[secret(32), secret(32)]");
    let ran = run(&r, serde_json::json!({}));
    let v = ran.value().as_array().unwrap();
    assert_ne!(v[0], v[1]);
    for s in v {
        let s = s.as_str().unwrap();
        assert_eq!(s.len(), 32);
        assert!(
            s.chars()
                .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_')
        );
    }
    let ran = run(&recipe("[]", "[]", "secret(4)"), serde_json::json!({}));
    assert!(ran.error().contains("between 16 and 128"));
}
