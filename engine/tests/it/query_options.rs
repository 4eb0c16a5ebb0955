//! `detect(program, args, pattern, #{ stdin, env })` and `read_secret(path)`: how a recipe asks
//! a server it administers a question with the credential it keeps on this server (a Redis
//! administrator password in a 0600 file), without the credential reaching a command line or
//! the console.

use crate::util;

use std::os::unix::fs::PermissionsExt;

use util::{plan, recipe, run};

#[test]
fn a_query_can_be_given_stdin_and_environment_and_they_go_through_the_policy() {
    let dir = util::tempdir();
    let allowed = dir.path().join("allowed");
    std::fs::create_dir_all(&allowed).unwrap();
    // The recipe's own program: reads stdin and one variable.
    let own = allowed.join("ask");
    std::fs::write(
        &own,
        "#!/bin/sh\nread line\necho \"got $line and $TOKEN\"\n",
    )
    .unwrap();
    std::fs::set_permissions(&own, std::fs::Permissions::from_mode(0o755)).unwrap();
    let o = own.display().to_string();
    let paths = format!(r#"["{}"]"#, allowed.display());
    let r = recipe(
        &format!(r#"["{o}"]"#),
        &paths,
        &format!(
            r#"detect("{o}", [], "got (.*)", #{{ stdin: "hello\n", env: #{{ TOKEN: "t0k" }} }})"#
        ),
    );
    // A query: the same in a plan as in a run.
    assert_eq!(plan(&r, serde_json::json!({})).value(), "hello and t0k");
    assert_eq!(run(&r, serde_json::json!({})).value(), "hello and t0k");

    // A policed program gets only what its policy allows.
    let r = recipe(
        r#"["printenv"]"#,
        "[]",
        r#"detect("printenv", ["HOME"], "(.*)", #{ env: #{ LD_PRELOAD: "/tmp/x.so" } })"#,
    );
    let e = plan(&r, serde_json::json!({})).error().to_owned();
    assert!(e.contains("LD_PRELOAD"), "{e}");
    let r = recipe(
        r#"["printenv"]"#,
        "[]",
        r#"detect("printenv", ["HOME"], "(.*)", #{ timeout: 5 })"#,
    );
    let e = plan(&r, serde_json::json!({})).error().to_owned();
    assert!(
        e.contains("unknown option `timeout` (known: stdin, env)"),
        "{e}"
    );
}

#[test]
fn read_secret_masks_what_it_reads_everywhere() {
    let dir = util::tempdir();
    let allowed = dir.path().join("allowed");
    std::fs::create_dir_all(&allowed).unwrap();
    let file = allowed.join("admin");
    std::fs::write(&file, "s3cr3t-admin-password-0123\n").unwrap();
    let paths = format!(r#"["{}"]"#, allowed.display());
    let r = recipe(
        "[]",
        &paths,
        &format!(
            r#"let pw = read_secret("{}"); log(`the password is ${{pw}}`); throw `failed with ${{pw}}`;"#,
            file.display()
        ),
    );
    let ran = run(&r, serde_json::json!({}));
    let all = ran.all_text() + ran.error().as_str();
    assert!(!all.contains("s3cr3t-admin-password-0123"), "{all}");
    assert!(all.contains("the password is"), "{all}");

    std::fs::write(&file, "short\n").unwrap();
    let r = recipe(
        "[]",
        &paths,
        &format!(r#"read_secret("{}")"#, file.display()),
    );
    let e = run(&r, serde_json::json!({})).error().to_owned();
    assert!(e.contains("does not hold one secret"), "{e}");
    let r = recipe("[]", "[]", &format!(r#"read_secret("{}")"#, file.display()));
    let e = run(&r, serde_json::json!({})).error().to_owned();
    assert!(e.contains("may not write"), "{e}");
}
