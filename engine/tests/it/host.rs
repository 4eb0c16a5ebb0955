//! The smaller host functions: console (`log`, `warn`, `print`, `step`, `progress`), system
//! facts (`os_release`, `arch`, `which`, `detect`), `sleep`, `wait_for`, `version_cmp`.
#![allow(clippy::unwrap_used)]

use crate::util;

use cairn_engine::{Event, Stream};
use util::{recipe, run};

#[test]
fn console_functions_emit_events_in_order() {
    let r = recipe(
        "[]",
        "[]",
        r#"step("First"); log("hello"); progress(40); warn("careful"); print("printed");
           step("Second"); progress(250);"#,
    );
    let ran = run(&r, serde_json::json!({}));
    let kinds: Vec<String> = ran.events.iter().map(|e| format!("{e:?}")).collect();
    assert_eq!(
        ran.events[..7],
        [
            Event::Step {
                index: 1,
                title: "First".into()
            },
            Event::Log {
                stream: Stream::Info,
                line: "hello".into()
            },
            Event::Progress { percent: 40 },
            Event::Log {
                stream: Stream::Warn,
                line: "careful".into()
            },
            Event::Log {
                stream: Stream::Info,
                line: "printed".into()
            },
            Event::Step {
                index: 2,
                title: "Second".into()
            },
            Event::Progress { percent: 100 },
        ],
        "{kinds:#?}"
    );
}

#[test]
fn system_facts() {
    // An absent program: the recipe's own, under its declared folder, never written.
    let dir = util::tempdir();
    let absent = dir.path().join("cairn-no-such-program");
    let r = recipe(
        &format!(r#"["ls", "{}"]"#, absent.display()),
        &format!(r#"["{}"]"#, dir.path().display()),
        &format!(
            r#"#{{
            id: os_release().ID,
            version: os_release().VERSION_ID,
            arch: arch(),
            ls: which("ls"),
            missing: which("cairn-no-such-program"),
            detected: detect("ls", ["--version"], "ls \\(GNU coreutils\\) ([0-9.]+)"),
            absent: detect("{}", ["--version"], ".*"),
            nomatch: detect("ls", ["--version"], "no such text"),
        }}"#,
            absent.display()
        ),
    );
    let v = run(&r, serde_json::json!({})).value().clone();
    assert_eq!(v["id"], "debian");
    assert_eq!(v["version"], "12");
    assert_eq!(v["arch"], std::env::consts::ARCH);
    assert!(v["ls"].as_str().unwrap().ends_with("/ls"));
    assert!(v["missing"].is_null());
    assert!(
        v["detected"]
            .as_str()
            .unwrap()
            .chars()
            .next()
            .unwrap()
            .is_ascii_digit()
    );
    assert!(v["absent"].is_null());
    assert!(v["nomatch"].is_null());
}

#[test]
fn wait_for_polls_until_the_answer_or_fails_with_a_sentence() {
    let dir = util::tempdir();
    let flag = dir.path().join("flag");
    let writer = {
        let flag = flag.clone();
        std::thread::spawn(move || {
            std::thread::sleep(std::time::Duration::from_millis(700));
            std::fs::write(flag, "ready").unwrap();
        })
    };
    // cat reads only under the declared paths, like read_file().
    let paths = format!(r#"["{}"]"#, dir.path().display());
    let r = recipe(
        r#"["cat"]"#,
        &paths,
        &format!(r#"wait_for("cat", ["{}"], "ready", 10)"#, flag.display()),
    );
    assert_eq!(run(&r, serde_json::json!({})).value(), "ready");
    writer.join().unwrap();

    let r = recipe(
        r#"["cat"]"#,
        &paths,
        &format!(
            r#"wait_for("cat", ["{}"], "ready", 1)"#,
            dir.path().join("no-such").display()
        ),
    );
    let ran = run(&r, serde_json::json!({}));
    assert!(
        ran.error().contains("did not answer with ready within 1 s"),
        "{}",
        ran.error()
    );
}

#[test]
fn sleep_and_version_cmp() {
    let r = recipe(
        "[]",
        "[]",
        r#"sleep(0); [version_cmp("7.0.15", "6.2"), version_cmp("1:2.0", "3.0"), version_cmp("7.0~rc1", "7.0")]"#,
    );
    assert_eq!(
        run(&r, serde_json::json!({})).value(),
        &serde_json::json!([1, 1, -1])
    );
    let ran = run(&recipe("[]", "[]", "sleep(3600)"), serde_json::json!({}));
    assert!(ran.error().contains("between 0 and 60"));
}

#[test]
fn an_unknown_function_is_named() {
    let ran = run(
        &recipe("[]", "[]", r#"shell("rm -rf /")"#),
        serde_json::json!({}),
    );
    assert!(ran.error().contains("`shell (&str"), "{}", ran.error());
    assert!(
        ran.error().contains("does not exist in the host API"),
        "{}",
        ran.error()
    );
}
