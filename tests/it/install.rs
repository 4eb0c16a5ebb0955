//! From a bare server to a connected node (issue 7): the control plane's `install.sh`, run
//! inside a real Debian 11 system (debootstrap, `scripts/debian11-root`) exactly as the
//! dashboard's install command says, with the agent's two binaries built for glibc 2.31: the
//! agent and the worker it starts for every job and batch of detectors (issue 16).
//!
//! Root only (chroot, mounts); skipped otherwise.

use std::ffi::OsString;
use std::os::unix::fs::PermissionsExt;

use cairn_e2e::debian11::{Debian11, glibc231_bin, is_root};
use cairn_e2e::{ControlPlane, eventually, http, recipes_dir};
use serde_json::{Value, json};

const BIN: &str = "/usr/local/bin/cairn-agent";
const WORKER: &str = "/usr/local/bin/cairn-agent-worker";
const CONFIG: &str = "/etc/cairn";

/// [`Debian11::bash`] without stalling the runtime's other tasks.
/// The transcript goes to the test's output (`--nocapture` shows it).
fn in_chroot(deb: &Debian11, user: Option<&str>, script: &str) -> cairn_e2e::debian11::Run {
    let run = tokio::task::block_in_place(|| deb.bash(user, script));
    // The token is a secret until used: not in the transcript.
    let shown = match script.split_once("--token ") {
        Some((head, tail)) => {
            let rest = tail.split_once(' ').map_or("", |(_, r)| r);
            format!("{head}--token *** {rest}")
        }
        None => script.to_owned(),
    };
    eprintln!("$ {shown}\n{}", run.text());
    run
}

/// The nodes the control plane lists.
async fn nodes(cp: &ControlPlane, cookie: &str) -> Vec<Value> {
    cp.get_json(cookie, "/api/nodes")
        .await
        .as_array()
        .cloned()
        .expect("an array of nodes")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn install_sh_turns_a_debian_11_system_into_a_connected_node_and_uninstalls() {
    if !is_root() {
        eprintln!("skipped: needs root (debootstrap root file system, chroot, mounts)");
        return;
    }
    let agent = glibc231_bin("cairn-agent");
    let worker = glibc231_bin("cairn-agent-worker");
    let work = tempfile::tempdir().expect("temp dir");
    let recipes = recipes_dir(work.path(), &["redis"]);
    // The served binaries are copies, so the test can alter them. The control plane serves the
    // worker from the agent binary's directory.
    let served = work.path().join("cairn-agent-x86_64-linux-gnu");
    let served_worker = work.path().join("cairn-agent-worker-x86_64-linux-gnu");
    std::fs::copy(&agent, &served).expect("copy the agent");
    let cp = ControlPlane::start_with_args(
        work.path(),
        &recipes,
        &[OsString::from("--agent-binary"), served.clone().into()],
    )
    .await;
    let cookie = cp.login().await;
    let deb = Debian11::create();

    // The dashboard's install command, as a user copies it (root here, so no sudo).
    let r = http(
        cp.addr,
        "POST",
        "/api/enrollment-tokens",
        Some(&cookie),
        Some(&json!({"name": "bullseye-1"}).to_string()),
    )
    .await;
    assert_eq!(r.status, 200, "{}", r.body);
    let created = r.json();
    let node_id = created["nodeId"].as_str().expect("nodeId").to_owned();
    let command = created["installCommand"]
        .as_str()
        .expect("installCommand")
        .replace("| sudo bash", "| bash");
    assert!(
        command.starts_with(&format!("curl -fsSL {}/install.sh", cp.url())),
        "{command}"
    );

    // 1. Not root: refused with the hint, nothing installed.
    let run = in_chroot(&deb, Some("65534:65534"), &command);
    assert!(!run.ok, "{}", run.text());
    assert!(run.stderr.contains("run this as root"), "{}", run.text());
    assert!(run.stderr.contains("sudo bash"), "{}", run.text());
    assert!(!deb.path(BIN).exists());

    // 2. The control plane has the agent but not its worker: the install stops with the
    //    sentence, nothing installed.
    let run = in_chroot(&deb, None, &command);
    assert!(!run.ok, "{}", run.text());
    assert!(
        run.stderr
            .contains("has no agent worker binary to serve (the agent needs it"),
        "{}",
        run.text()
    );
    assert!(
        !deb.path(BIN).exists(),
        "an agent without its worker was installed"
    );
    assert!(!deb.path(CONFIG).join("agent.json").exists());
    std::fs::copy(&worker, &served_worker).expect("copy the worker");

    // 3. A download that is not the binary the script names, the agent or the worker: refused,
    //    neither installed (both are checked before either is moved into place).
    let script = http(cp.addr, "GET", "/install.sh", None, None).await.body;
    std::fs::write(deb.path("/root/install.sh"), &script).expect("write install.sh");
    let token = created["token"].as_str().expect("token");
    for (file, original, name) in [
        (&served, &agent, "agent"),
        (&served_worker, &worker, "agent worker"),
    ] {
        let mut tampered = std::fs::read(file).expect("read binary");
        tampered.extend_from_slice(b"\0tampered");
        std::fs::write(file, &tampered).expect("tamper");
        let run = in_chroot(
            &deb,
            None,
            &format!("bash /root/install.sh --token {token}"),
        );
        assert!(!run.ok, "{}", run.text());
        assert!(
            run.stderr
                .contains(&format!("the downloaded {name} does not match the sha256")),
            "{}",
            run.text()
        );
        assert!(!deb.path(BIN).exists(), "installed with a tampered {name}");
        assert!(
            !deb.path(WORKER).exists(),
            "installed with a tampered {name}"
        );
        let left: Vec<_> = std::fs::read_dir(deb.path("/usr/local/bin"))
            .expect("/usr/local/bin")
            .flatten()
            .map(|e| e.file_name())
            .collect();
        assert!(left.is_empty(), "downloads left behind: {left:?}");
        assert!(!deb.path(CONFIG).join("agent.json").exists());
        std::fs::copy(original, file).expect("restore the binary");
    }

    // 4. The install command: both binaries checked and installed side by side, enrolled,
    //    kept running.
    let run = in_chroot(&deb, None, &command);
    assert!(run.ok, "{}", run.text());
    assert!(
        run.stdout
            .contains(&format!("installed {BIN} (sha256 verified)")),
        "{}",
        run.text()
    );
    assert!(
        run.stdout
            .contains(&format!("installed {WORKER} (sha256 verified)")),
        "{}",
        run.text()
    );
    assert!(run.stdout.contains("no systemd here"), "{}", run.text());
    for path in [BIN, WORKER] {
        let meta = std::fs::metadata(deb.path(path)).expect(path);
        assert!(meta.is_file(), "{path}");
        assert_eq!(meta.permissions().mode() & 0o7777, 0o755, "{path}");
    }
    assert_eq!(
        std::fs::read(deb.path(WORKER)).expect("installed worker"),
        std::fs::read(&worker).expect("built worker"),
        "the installed worker is the one built"
    );
    let agent_json = std::fs::read_to_string(deb.path(CONFIG).join("agent.json")).expect("config");
    assert!(agent_json.contains(&node_id), "{agent_json}");
    assert!(
        std::fs::read_to_string(deb.path("/etc/rc.local"))
            .expect("rc.local")
            .contains("cairn-agent-supervise"),
        "no boot entry"
    );
    let node = cp.wait_online(&cookie, &node_id, true).await;
    assert_eq!(node["name"], "bullseye-1", "{node}");
    // Its status comes from inside the Debian 11 system: the agent runs on glibc 2.31.
    let status = eventually("the node's status", || async {
        let list = nodes(&cp, &cookie).await;
        let n = list.iter().find(|n| n["id"] == node_id.as_str())?;
        n["lastStatus"]["system"]
            .is_object()
            .then(|| n["lastStatus"].clone())
    })
    .await;
    let os = status["system"]["os"].as_str().unwrap_or("");
    assert!(os.contains("Debian") && os.contains("11"), "{status}");
    assert!(os.contains("bullseye"), "{status}");
    let redis = status["databases"]
        .as_array()
        .and_then(|a| a.iter().find(|d| d["type"] == "redis"))
        .cloned()
        .unwrap_or(Value::Null);
    // Detectors run in the worker: a result without an error means the installed worker
    // started inside Debian 11 (glibc 2.31) and ran the recipe's detect().
    assert_eq!(
        redis["installed"], false,
        "the detector ran inside: {status}"
    );
    assert!(
        redis.get("error").is_none_or(Value::is_null),
        "the detector's worker failed: {status}"
    );
    let running = deb.processes_matching("cairn-agent run");
    assert_eq!(running.len(), 1, "{running:?}");
    let first_pid = running[0].0;

    // 5. Again: harmless. Same node, configuration kept, agent restarted.
    let run = in_chroot(&deb, None, &command);
    assert!(run.ok, "{}", run.text());
    assert!(run.stdout.contains("already enrolled"), "{}", run.text());
    assert!(run.stdout.contains("restarted"), "{}", run.text());
    assert!(
        run.stdout
            .contains(&format!("{BIN} is already this control plane's agent (")),
        "{}",
        run.text()
    );
    assert!(
        run.stdout.contains(&format!(
            "{WORKER} is already this control plane's agent worker"
        )),
        "{}",
        run.text()
    );
    let after = std::fs::read_to_string(deb.path(CONFIG).join("agent.json")).expect("config");
    assert_eq!(after, agent_json);
    let running = eventually("one agent process after the rerun", || async {
        let r = deb.processes_matching("cairn-agent run");
        (r.len() == 1 && r[0].0 != first_pid).then_some(r)
    })
    .await;
    assert_eq!(running.len(), 1);
    cp.wait_online(&cookie, &node_id, true).await;
    let list = nodes(&cp, &cookie).await;
    assert_eq!(list.len(), 1, "{list:?}");

    // 6. Uninstall: service stopped, both binaries, configuration and boot entry gone.
    let run = in_chroot(
        &deb,
        None,
        &format!(
            "curl -fsSL {}/install.sh | bash -s -- --uninstall",
            cp.url()
        ),
    );
    assert!(run.ok, "{}", run.text());
    assert!(run.stdout.contains("removed"), "{}", run.text());
    assert!(run.stdout.contains(WORKER), "{}", run.text());
    assert!(!deb.path(BIN).exists());
    assert!(!deb.path(WORKER).exists());
    assert!(!deb.path(CONFIG).exists());
    assert!(
        !deb.path("/usr/local/lib/cairn/cairn-agent-supervise")
            .exists()
    );
    assert!(
        !std::fs::read_to_string(deb.path("/etc/rc.local"))
            .unwrap_or_default()
            .contains("cairn-agent"),
        "boot entry left"
    );
    let left = deb.processes_matching("cairn-agent");
    assert!(left.is_empty(), "{left:?}");
    cp.wait_online(&cookie, &node_id, false).await;
    // `deb` drops here: anything left inside is killed, its namespaces (and their mounts) end,
    // files gone.
}
