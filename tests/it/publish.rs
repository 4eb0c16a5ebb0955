//! Publishing a recipe (issue 22), end to end with the real binaries: `cairn-recipe publish`
//! sends a new recipe with an operator's API token, the control plane shows it with its diff,
//! an admin's dashboard session approves it, and the real agent runs it (its file appears).
//! Then a v2 whose capabilities grew stays pending: the agent, asked to run the recipe, still
//! gets v1 until an admin approves v2 too (threats.md 51); withdrawn, v1's content comes back
//! as v3 and the agent that ran v2 runs it (threats.md 57). And the CLI's refusals are
//! sentences: an unreachable address, a refused token, a check failure, a version not newer.

use std::path::Path;
use std::process::{Command, Output};

use cairn_control_plane::roles::Role;
use cairn_e2e::{Cluster, bin};
use serde_json::{Value, json};

use crate::roles::{send, user};

/// The harmless recipe published here: writes `DIR/stamp/NAME.vVERSION`; v2 also runs `echo`
/// (a program v1 did not declare: its capabilities grew).
fn stamp(root: &Path, version: u64) -> String {
    let dir = root.join("stamp").display().to_string();
    let (programs, echo) = if version >= 2 {
        (
            r#"["echo"]"#,
            format!("run(\"echo\", [\"stamp v{version}\"]);"),
        )
    } else {
        ("[]", String::new())
    };
    format!(
        r#"// A recipe published through the registry in a test.
const RECIPE = #{{
    id: "stamp",
    title: "Stamp",
    category: "runtime",
    version: {version},
    description: "Writes a stamp file naming its version.",
    estimated_size_mb: 1,
    os: [ #{{ id: "debian", versions: ["11", "12", "13"] }} ],
    params: [
        #{{ name: "name", type: "identifier", label: "Name" }},
    ],
    capabilities: #{{ programs: {programs}, paths: ["{dir}"], services: [] }},
}};

fn detect() {{
    #{{ installed: false, version: (), running: false }}
}}

fn install(params) {{
    step("Write the stamp");
    {echo}
    write_file(`{dir}/${{params.name}}.v{version}`, "stamp v{version}", 0o644);
    log(`Wrote the stamp ${{params.name}} v{version}`);
    #{{ changed: true, version: "{version}" }}
}}
"#
    )
}

/// `cairn-recipe publish FILE --url URL` with `env` set (and `CAIRN_TOKEN` unset otherwise).
fn publish(file: &Path, url: &str, extra: &[&str], env: &[(&str, &str)]) -> Output {
    let mut cmd = Command::new(bin("cairn-recipe"));
    cmd.arg("publish")
        .arg(file)
        .args(["--url", url])
        .args(extra);
    cmd.env_remove("CAIRN_TOKEN");
    for (k, v) in env {
        cmd.env(k, v);
    }
    cmd.output().expect("run cairn-recipe publish")
}

fn said(out: &Output) -> (String, String) {
    (
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

/// The submission id the CLI printed ("submission sub-…,").
fn submission_id(stdout: &str) -> String {
    let at = stdout.find("submission sub-").expect("a submission id") + "submission ".len();
    stdout[at..]
        .split(|c: char| c == ',' || c.is_whitespace())
        .next()
        .unwrap_or_default()
        .to_owned()
}

/// An operator (group `web`) and an API token of theirs.
async fn operator_token(c: &Cluster) -> String {
    let olga = user(c, "olga", Role::Operator, &["web"]).await;
    let (status, made) = send(
        &c.cp,
        Some(&olga),
        "POST",
        "/api/me/tokens",
        json!({"name": "ci", "role": "operator", "groups": ["web"], "expiresIn": 3600}),
    )
    .await;
    assert_eq!(status, 201, "{made}");
    made["token"].as_str().expect("the secret").to_owned()
}

/// Runs `stamp` with `name` on the node; the terminal event.
async fn run_stamp(c: &Cluster, name: &str) -> Value {
    let mut d = c.dashboard().await;
    let job = d
        .start_job(
            "INSTALL_RUNTIME",
            &c.node_id,
            json!({"type": "stamp", "params": {"name": name}}),
        )
        .await;
    d.wait_terminal(&job).await
}

async fn catalogue_version(c: &Cluster, id: &str) -> Value {
    let list = c.cp.get_json(&c.cookie, "/api/recipes").await;
    list.as_array()
        .and_then(|l| l.iter().find(|e| e["id"] == id))
        .map_or(Value::Null, |e| e["version"].clone())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_published_recipe_is_approved_then_run_and_a_grown_one_waits_for_approval_again() {
    let c = Cluster::start(&[]).await;
    let root = c.dir.path().to_path_buf();
    std::fs::create_dir_all(root.join("stamp")).expect("the stamp folder");
    let token = operator_token(&c).await;
    let alice = user(&c, "alice", Role::Admin, &[]).await;
    let url = c.cp.url();
    let authoring = root.join("authoring");
    std::fs::create_dir_all(&authoring).expect("the author's folder");
    let file = authoring.join("stamp.rhai");

    // v1: a new recipe, sent with the token in the environment.
    std::fs::write(&file, stamp(&root, 1)).expect("write v1");
    let out = publish(&file, &url, &[], &[("CAIRN_TOKEN", &token)]);
    let (stdout, stderr) = said(&out);
    assert!(out.status.success(), "{stdout}\n{stderr}");
    assert!(stdout.contains("Submitted stamp v1"), "{stdout}");
    assert!(stdout.contains("A new recipe"), "{stdout}");
    assert!(
        stdout.contains("An admin must approve it in the dashboard"),
        "{stdout}"
    );
    assert!(!stdout.contains(&token) && !stderr.contains(&token));
    let v1 = submission_id(&stdout);

    // Pending: not in the catalogue, and a job for it is refused (no agent gets it).
    assert_eq!(catalogue_version(&c, "stamp").await, Value::Null);
    let mut d = c.dashboard().await;
    d.send(json!({"type": "INSTALL_RUNTIME", "nodeId": c.node_id,
                  "payload": {"type": "stamp", "params": {"name": "early"}}}))
        .await;
    let refused = d
        .recv_until(|v| v["type"] == "ERROR" || v["type"] == "JOB_CREATED")
        .await;
    assert_eq!(refused["type"], "ERROR", "{refused}");

    // Shown with its diff: the whole file added, its path a grown capability.
    let shown =
        c.cp.get_json(&alice, &format!("/api/recipes/submissions/{v1}"))
            .await;
    assert_eq!(shown["submission"]["state"], "pending", "{shown}");
    let diff = shown["diff"]["source"].as_str().unwrap_or_default();
    assert!(diff.contains("+++ stamp.rhai v1 (submitted)"), "{shown}");
    assert!(diff.contains("+    version: 1,"), "{shown}");
    assert!(
        shown["diff"]["grown"][0]
            .as_str()
            .is_some_and(|g| g.starts_with("path ")),
        "{shown}"
    );

    // Approved by an admin's session; the agent runs it and its file appears.
    let (status, ok) = send(
        &c.cp,
        Some(&alice),
        "POST",
        &format!("/api/recipes/submissions/{v1}/approve"),
        json!({}),
    )
    .await;
    assert_eq!(status, 200, "{ok}");
    assert_eq!(catalogue_version(&c, "stamp").await, 1);
    let end = run_stamp(&c, "first").await;
    assert_eq!(end["type"], "RUNTIME_INSTALLED", "{end}");
    assert_eq!(
        std::fs::read_to_string(root.join("stamp/first.v1")).expect("v1's file"),
        "stamp v1"
    );

    // v2 grows (it runs echo), sent with --token-file: pending, and the agent still runs v1.
    std::fs::write(&file, stamp(&root, 2)).expect("write v2");
    let token_file = root.join("token");
    std::fs::write(&token_file, format!("{token}\n")).expect("write the token file");
    let out = publish(
        &file,
        &url,
        &["--token-file", &token_file.display().to_string()],
        &[],
    );
    let (stdout, stderr) = said(&out);
    assert!(out.status.success(), "{stdout}\n{stderr}");
    assert!(
        stdout.contains("Capabilities compared with the published v1"),
        "{stdout}"
    );
    assert!(
        stdout.contains("+ program echo: prints its arguments  [GROWN]"),
        "{stdout}"
    );
    assert!(
        stdout.contains("Grown: program echo (prints its arguments)."),
        "{stdout}"
    );
    let v2 = submission_id(&stdout);
    let shown =
        c.cp.get_json(&alice, &format!("/api/recipes/submissions/{v2}"))
            .await;
    let diff = shown["diff"]["source"].as_str().unwrap_or_default();
    assert!(
        diff.contains("-    version: 1,\n+    version: 2,"),
        "{shown}"
    );
    assert!(
        diff.contains("+    run(\"echo\", [\"stamp v2\"]);"),
        "{shown}"
    );
    assert_eq!(
        shown["diff"]["grown"],
        json!(["program echo (prints its arguments)"])
    );

    let end = run_stamp(&c, "second").await;
    assert_eq!(end["type"], "RUNTIME_INSTALLED", "{end}");
    assert!(root.join("stamp/second.v1").exists(), "v1 did not run");
    assert!(!root.join("stamp/second.v2").exists(), "the pending v2 ran");
    assert_eq!(catalogue_version(&c, "stamp").await, 1);

    // Approved: from now on the agent runs v2.
    let (status, ok) = send(
        &c.cp,
        Some(&alice),
        "POST",
        &format!("/api/recipes/submissions/{v2}/approve"),
        json!({}),
    )
    .await;
    assert_eq!(status, 200, "{ok}");
    assert!(
        ok["message"]
            .as_str()
            .is_some_and(|m| m.contains("it gains: program echo (prints its arguments)")),
        "{ok}"
    );
    let end = run_stamp(&c, "third").await;
    assert_eq!(end["type"], "RUNTIME_INSTALLED", "{end}");
    assert_eq!(
        std::fs::read_to_string(root.join("stamp/third.v2")).expect("v2's file"),
        "stamp v2"
    );
    assert!(!root.join("stamp/third.v1").exists());

    // Withdrawn by an admin who types the id: v1's content comes back as v3, and the agent,
    // which ran v2 and refuses anything lower, runs it.
    let (status, ok) = send(
        &c.cp,
        Some(&alice),
        "POST",
        &format!("/api/recipes/submissions/{v2}/withdraw"),
        json!({"confirm": "stamp"}),
    )
    .await;
    assert_eq!(status, 200, "{ok}");
    assert_eq!(catalogue_version(&c, "stamp").await, 3);
    let end = run_stamp(&c, "fourth").await;
    assert_eq!(end["type"], "RUNTIME_INSTALLED", "{end}");
    assert_eq!(
        std::fs::read_to_string(root.join("stamp/fourth.v1")).expect("v1's content ran"),
        "stamp v1"
    );
    assert!(
        !root.join("stamp/fourth.v2").exists(),
        "the withdrawn v2 ran"
    );

    // The audit names who submitted (the token) and who approved, and what grew.
    let audit = c.cp.get_json(&c.cookie, "/api/audit").await;
    let entries = audit.as_array().cloned().unwrap_or_default();
    assert!(entries.iter().any(|e| e["what"] == "recipe.submit"
        && e["who"] == "olga (token ci)"
        && e["target"] == "stamp v2"));
    assert!(entries.iter().any(|e| {
        e["what"] == "recipe.approve"
            && e["who"] == "alice"
            && e["target"] == "stamp v2"
            && e["result"]
                .as_str()
                .is_some_and(|r| r.contains("grew: program echo"))
    }));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_cli_says_why_it_could_not_publish_and_sends_nothing() {
    let c = Cluster::start(&["marker"]).await;
    let root = c.dir.path().to_path_buf();
    let token = operator_token(&c).await;
    let url = c.cp.url();
    let file = root.join("stamp.rhai");
    std::fs::write(&file, stamp(&root, 1)).expect("write");

    // No token at all.
    let out = publish(&file, &url, &[], &[]);
    let (_, stderr) = said(&out);
    assert!(!out.status.success());
    assert!(stderr.contains("no API token: set CAIRN_TOKEN"), "{stderr}");

    // Nothing listening there.
    let port = cairn_e2e::free_port();
    let out = publish(
        &file,
        &format!("http://127.0.0.1:{port}"),
        &[],
        &[("CAIRN_TOKEN", &token)],
    );
    let (_, stderr) = said(&out);
    assert!(!out.status.success());
    assert!(
        stderr.contains("could not reach the control plane at"),
        "{stderr}"
    );
    assert!(stderr.contains("nothing was sent"), "{stderr}");

    // A token the control plane does not know.
    let out = publish(&file, &url, &[], &[("CAIRN_TOKEN", "cairn_wrong")]);
    let (_, stderr) = said(&out);
    assert!(!out.status.success());
    assert!(stderr.contains("refused the token"), "{stderr}");

    // A check failure: every diagnostic, nothing sent.
    let broken = stamp(&root, 1).replace(
        "step(\"Write the stamp\");",
        "step(\"Write the stamp\");\n    apt_instal([\"x\"]);\n    run(\"curl\", []);",
    );
    std::fs::write(&file, broken).expect("write");
    let out = publish(&file, &url, &[], &[("CAIRN_TOKEN", &token)]);
    let (_, stderr) = said(&out);
    assert!(!out.status.success());
    assert!(
        stderr.contains("apt_instal") && stderr.contains("did you mean `apt_install`?"),
        "{stderr}"
    );
    assert!(stderr.contains("`curl`"), "{stderr}");
    assert!(
        stderr.contains("did not pass the check (2 errors above); nothing was sent"),
        "{stderr}"
    );

    // Not newer than the published marker v1.
    let marker = root.join("marker.rhai");
    cairn_e2e::add_recipe(&root, "marker", &root);
    let out = publish(&marker, &url, &[], &[("CAIRN_TOKEN", &token)]);
    let (_, stderr) = said(&out);
    assert!(!out.status.success());
    assert!(
        stderr.contains("refused the version: marker v1 is published and this is v1"),
        "{stderr}"
    );
    let listed = c.cp.get_json(&c.cookie, "/api/recipes/submissions").await;
    assert_eq!(listed, json!([]), "something was stored");
}
