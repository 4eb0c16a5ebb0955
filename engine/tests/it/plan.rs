//! Plan mode: every side effect recorded in order, nothing executed; read-only detection still
//! runs so the plan fits this server.
#![allow(clippy::unwrap_used)]

use crate::util;

use cairn_engine::PlannedAction;
use util::{plan, recipe};

#[test]
fn a_plan_executes_nothing_and_lists_every_side_effect_in_order() {
    let dir = util::tempdir();
    let file = dir.path().join("app/config");
    let marker = dir.path().join("app/touched");
    let r = recipe(
        r#"["touch", "printf", "cat"]"#,
        &format!(r#"["{}/app"]"#, dir.path().display()),
        &format!(
            r#"let v = detect("printf", ["v1.2.3"], "v([0-9.]+)");
               run("touch", ["{marker}"]);
               write_file("{file}", "version=" + v, 0o600);
               run("cat", [], #{{ stdin: "secret" }});
               v"#,
            marker = marker.display(),
            file = file.display()
        ),
    );
    let ran = plan(&r, serde_json::json!({}));
    assert_eq!(
        ran.value(),
        "1.2.3",
        "read-only detection runs for real in a plan"
    );
    assert_eq!(
        ran.plan,
        vec![
            PlannedAction::Run {
                program: "touch".into(),
                args: vec![marker.display().to_string()],
                stdin: false
            },
            PlannedAction::WriteFile {
                path: file.display().to_string(),
                mode: 0o600,
                bytes: "version=1.2.3".len()
            },
            PlannedAction::Run {
                program: "cat".into(),
                args: vec![],
                stdin: true
            },
        ]
    );
    assert!(!marker.exists(), "a planned command ran");
    assert!(!file.exists(), "a planned file was written");
    assert!(
        !dir.path().join("app").exists(),
        "a planned folder was created"
    );
}

#[test]
fn a_plan_still_enforces_capabilities() {
    let r = recipe(r#"["touch"]"#, "[]", r#"run("rm", ["-rf", "/"])"#);
    let ran = plan(&r, serde_json::json!({}));
    assert!(
        ran.error().contains("not among the programs"),
        "{}",
        ran.error()
    );
    assert!(ran.plan.is_empty());
}

#[test]
fn plans_follow_the_recorded_os_release() {
    let r = recipe(
        r#"["printf"]"#,
        "[]",
        r#"let os = os_release();
           if os.ID == "ubuntu" { run("printf", ["install", "-y", "ubuntu-pkg"]); }
           else { run("printf", ["install", "-y", "debian-pkg"]); }"#,
    );
    let data = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/data");
    let plan_on = |file: &str| {
        let opts = cairn_engine::JobOptions {
            mode: cairn_engine::Mode::Plan,
            os_release_path: data.join(file),
            ..Default::default()
        };
        util::run_opts(&r, serde_json::json!({}), &opts)
    };
    let ubuntu = plan_on("os-release-ubuntu2204");
    assert!(matches!(&ubuntu.plan[0], PlannedAction::Run { args, .. } if args[2] == "ubuntu-pkg"));
    let debian = plan_on("os-release-debian12");
    assert!(matches!(&debian.plan[0], PlannedAction::Run { args, .. } if args[2] == "debian-pkg"));
    let fedora = plan_on("os-release-fedora40");
    assert!(
        fedora.error().contains("this server runs fedora 40"),
        "{}",
        fedora.error()
    );
    assert!(fedora.plan.is_empty());
}

#[test]
fn a_plan_sends_no_console_line_step_or_progress_so_nothing_claims_a_change() {
    let r = recipe(
        r#"["printf"]"#,
        "[]",
        r#"step("Create user app");
           run("printf", ["created"]);
           change("user", "app");
           change("database", "appdb");
           change("port", "127.0.0.1:5432");
           log("Created the user app");
           print("Created the database appdb");
           warn("the old configuration would be replaced");
           progress(100);"#,
    );
    let ran = plan(&r, serde_json::json!({}));
    ran.value();
    assert!(
        matches!(&ran.events[..], [cairn_engine::Event::Finished { .. }]),
        "a plan sent more than its end: {:?}",
        ran.events
    );
    assert_eq!(ran.summary.users, vec!["app".to_owned()]);
    assert_eq!(ran.summary.databases, vec!["appdb".to_owned()]);
    assert_eq!(ran.summary.ports, vec!["127.0.0.1:5432".to_owned()]);
    assert_eq!(
        ran.summary.notes,
        vec!["the old configuration would be replaced".to_owned()]
    );
}

#[test]
fn a_run_still_shows_the_recipes_lines_and_announced_changes_are_not_a_summary() {
    let r = recipe(
        "[]",
        "[]",
        r#"change("user", "app"); log("Created the user app");"#,
    );
    let ran = util::run(&r, serde_json::json!({}));
    ran.value();
    assert_eq!(
        ran.lines(cairn_engine::Stream::Info),
        vec!["Created the user app"]
    );
    assert_eq!(ran.summary, cairn_engine::PlanSummary::default());
}

#[test]
fn change_refuses_an_unknown_kind_with_a_sentence() {
    let r = recipe("[]", "[]", r#"change("firewall", "open");"#);
    let ran = plan(&r, serde_json::json!({}));
    assert!(
        ran.error().contains("unknown kind `firewall`"),
        "{}",
        ran.error()
    );
}

#[test]
fn a_plan_summary_names_the_services_it_starts_and_the_files_it_writes() {
    let dir = util::tempdir();
    let file = dir.path().join("app.conf");
    let r = util::recipe_with(
        r#"["systemctl"]"#,
        &format!(r#"["{}"]"#, dir.path().display()),
        r#"["cairn-none"]"#,
        "[]",
        &format!(
            r#"service_start("cairn-none"); service_enable("cairn-none");
               write_file("{}", "x=1", 0o640);"#,
            file.display()
        ),
    );
    let ran = plan(&r, serde_json::json!({}));
    ran.value();
    let services: Vec<(String, String)> = ran
        .summary
        .services
        .iter()
        .map(|s| (s.name.clone(), s.action.clone()))
        .collect();
    assert_eq!(
        services,
        vec![
            ("cairn-none".to_owned(), "start".to_owned()),
            ("cairn-none".to_owned(), "enable".to_owned())
        ]
    );
    assert_eq!(ran.summary.files.len(), 1);
    assert_eq!(ran.summary.files[0].path, file.display().to_string());
    assert_eq!(ran.summary.files[0].mode, 0o640);
    assert!(!file.exists());
}

/// The run's own record of what it did (`JobReport::done`, what `cairn-recipe test` compares
/// with the plan): the same actions as the plan, in order, each with its step; queries not in
/// it; a command that failed still in it; the job's secrets masked.
#[test]
fn a_run_records_its_side_effects_in_the_plans_terms_with_their_steps() {
    let dir = util::tempdir();
    let file = dir.path().join("app/config");
    let marker = dir.path().join("touched");
    let r = recipe(
        r#"["touch", "printf", "cat", "false"]"#,
        &format!(
            r#"["{}/app", "{}"]"#,
            dir.path().display(),
            marker.display()
        ),
        &format!(
            r#"let v = detect("printf", ["v1.2.3"], "v([0-9.]+)");
               run("touch", ["{marker}"]);
               step("Configure");
               let pw = secret(20);
               write_file("{file}", "version=" + v, 0o600);
               run("printf", [pw]);
               run("cat", [], #{{ stdin: "secret" }});
               step("Fail");
               run("false", []);
               v"#,
            marker = marker.display(),
            file = file.display()
        ),
    );
    let planned = plan(&r, serde_json::json!({}));
    assert!(
        planned.done.is_empty(),
        "a plan did nothing: {:?}",
        planned.done
    );
    let ran = util::run(&r, serde_json::json!({}));
    assert!(ran.error().contains("false"), "{}", ran.error());
    assert!(marker.exists() && file.exists());
    let done: Vec<(u32, &str, &PlannedAction)> = ran
        .done
        .actions
        .iter()
        .map(|a| (a.step, a.step_title.as_str(), &a.action))
        .collect();
    let run = |program: &str, args: &[&str], stdin: bool| PlannedAction::Run {
        program: program.into(),
        args: args.iter().map(|a| (*a).to_owned()).collect(),
        stdin,
    };
    let marker = marker.display().to_string();
    assert_eq!(
        done,
        vec![
            (0, "", &run("touch", &[&marker], false)),
            (
                1,
                "Configure",
                &PlannedAction::WriteFile {
                    path: file.display().to_string(),
                    mode: 0o600,
                    bytes: "version=1.2.3".len()
                }
            ),
            (
                1,
                "Configure",
                &run("printf", &[cairn_engine::redact::MASK], false)
            ),
            (1, "Configure", &run("cat", &[], true)),
            (2, "Fail", &run("false", &[], false)),
        ]
    );
    assert_eq!(ran.done.left_out, 0);
}
