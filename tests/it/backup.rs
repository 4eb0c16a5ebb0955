//! The S3 backup recipe through Cairn (issue 5): the dashboard sends `CONFIGURE_BACKUP` with
//! a secret key, the control plane relays it to the real agent, which runs the shipped
//! `recipes/s3.rhai` against moto's S3 server on loopback (as root: it writes /etc). The
//! configure job ends in `BACKUP_CONFIGURED` saying the first backup is due, and runs none; the
//! control plane then starts the first backup and its restore test by itself, as a job of its
//! own on the same node for the same user (audited), which the dashboard watches live and which
//! ends with the backup and its restore test passed; `SERVER_STATUS` then reports the backup
//! configured and restore-tested, `run_now` works, and the secret key is in no API answer, no
//! control-plane database file, no log of either process and no job event.

use std::time::Instant;

use cairn_e2e::{Cluster, free_port};
use cairn_test_support::backup::{reset, start_moto};
use cairn_test_support::process::is_root;
use serde_json::json;

const SECRET: &str = "e2eSecretKey/0123456789abcdefghijklmnopqrstu";

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_s3_backup_configured_from_the_dashboard_is_restore_tested_and_keeps_its_key_secret() {
    if !is_root() {
        eprintln!("skipped: the backup recipe writes /etc and installs packages (CI runs as root)");
        return;
    }
    reset("s3");
    let port = free_port();
    let moto_dir = tempfile::tempdir().expect("temp dir");
    let _moto = start_moto(moto_dir.path(), port);
    let c = Cluster::start(&["s3"]).await;
    let source = c.dir.path().join("source");
    std::fs::create_dir_all(source.join("sub")).expect("source");
    std::fs::write(source.join("app.conf"), "listen 127.0.0.1:8080\n").expect("file");
    std::fs::write(source.join("sub/data.bin"), [7u8; 70_000]).expect("file");

    let mut d = c.dashboard().await;
    let started = Instant::now();
    let job = d
        .start_job(
            "CONFIGURE_BACKUP",
            &c.node_id,
            json!({"provider": "s3", "config": {
                "endpoint": format!("http://127.0.0.1:{port}"),
                "bucket": "cairn-e2e-dashboard",
                "access_key_id": "AKIACAIRNDASH",
                "secret_access_key": SECRET,
                "paths": source.display().to_string(),
                "schedule": "30 2 * * *",
                "keep": "5",
            }}),
        )
        .await;
    let end = d.wait_terminal(&job).await;
    let took = started.elapsed();
    assert_eq!(end["type"], "BACKUP_CONFIGURED", "{end}");
    let p = &end["payload"];
    assert_eq!(p["success"], true, "{end}");
    assert_eq!(p["provider"], "s3");
    assert_eq!(p["schedule"], "30 2 * * *");
    assert_eq!(p["firstBackupDue"], true, "{end}");
    // No backup yet with these settings, and the configure says so.
    assert!(p["lastRunOk"].is_null(), "{end}");
    assert!(
        p["message"]
            .as_str()
            .unwrap_or("")
            .contains("the first backup and its restore test run next as their own job"),
        "{end}"
    );
    eprintln!(
        "CONFIGURE_BACKUP s3 through the control plane and the agent: {:.1} s",
        took.as_secs_f64()
    );

    // The first backup starts by itself (nobody sends anything), as a job of its own.
    let first = d
        .recv_until(|m| {
            m["type"] == "JOB_STARTED" && m["jobId"] != job.as_str() && m["nodeId"] == c.node_id
        })
        .await;
    let first = first["jobId"].as_str().expect("job id").to_owned();
    let end = d.wait_terminal(&first).await;
    assert_eq!(end["type"], "BACKUP_CONFIGURED", "{end}");
    let p = &end["payload"];
    assert_eq!(p["success"], true, "{end}");
    assert_eq!(p["lastRunOk"], true, "{end}");
    assert_eq!(p["lastRestoreTestOk"], true, "{end}");
    assert!(p["firstBackupDue"].is_null(), "{end}");
    assert!(
        p["message"]
            .as_str()
            .unwrap_or("")
            .contains("restored and verified byte for byte"),
        "{end}"
    );
    // Its live output reached the dashboard.
    let logs: Vec<String> = d
        .job_messages(&first)
        .iter()
        .filter(|m| m["type"] == "INFRASTRUCTURE_LOG")
        .map(|m| m["payload"]["message"].as_str().unwrap_or("").to_owned())
        .collect();
    assert!(
        logs.iter()
            .any(|l| l.starts_with("Restore test passed: all 2 files")),
        "{logs:?}"
    );
    // Stored like any job, for the same user, and audited naming what it is.
    c.cp.wait_job_done(&c.cookie, &first).await;
    let row =
        c.cp.get_json(&c.cookie, &format!("/api/jobs/{first}"))
            .await;
    assert_eq!(row["status"], "succeeded", "{row}");
    assert_eq!(row["recipe"], "s3", "{row}");
    let configure_row = c.cp.get_json(&c.cookie, &format!("/api/jobs/{job}")).await;
    assert_eq!(row["requestedBy"], configure_row["requestedBy"], "{row}");
    let audit = c.cp.get_json(&c.cookie, "/api/audit").await.to_string();
    assert!(
        audit.contains(&format!("{first} s3 first_backup (after {job})")),
        "{audit}"
    );

    // The status the dashboard sees.
    let before = d.seen.len();
    d.send(json!({"type": "GET_SERVER_STATUS", "nodeId": c.node_id}))
        .await;
    let status = d.recv_from(before, |m| m["type"] == "SERVER_STATUS").await;
    let backups = status["payload"]["backups"].as_array().expect("backups");
    let s3 = backups
        .iter()
        .find(|b| b["provider"] == "s3")
        .unwrap_or_else(|| panic!("{status}"));
    assert_eq!(s3["configured"], true, "{s3}");
    assert_eq!(s3["schedule"], "30 2 * * *", "{s3}");
    assert_eq!(s3["lastRunOk"], true, "{s3}");
    assert_eq!(s3["lastRestoreTestOk"], true, "{s3}");
    assert!(s3["lastRestoreTestAt"].as_u64().is_some(), "{s3}");

    // Run now, with nothing but the action.
    let again = d
        .start_job(
            "CONFIGURE_BACKUP",
            &c.node_id,
            json!({"provider": "s3", "config": {"action": "run_now"}}),
        )
        .await;
    let end = d.wait_terminal(&again).await;
    assert_eq!(end["type"], "BACKUP_CONFIGURED", "{end}");
    assert_eq!(end["payload"]["lastRunOk"], true, "{end}");

    // The key went to the server's 0600 file and nowhere else.
    let creds = std::fs::read_to_string("/etc/cairn/backup/s3/credentials").expect("credentials");
    assert!(creds.contains(SECRET));
    for m in &d.seen {
        assert!(!m.to_string().contains(SECRET), "the dashboard got it: {m}");
    }
    c.cp.wait_job_done(&c.cookie, &job).await;
    for path in [
        format!("/api/jobs/{job}"),
        format!("/api/jobs/{job}/events"),
        "/api/jobs".to_owned(),
        "/api/nodes".to_owned(),
        "/api/audit".to_owned(),
    ] {
        let body = c.cp.get_json(&c.cookie, &path).await.to_string();
        assert!(!body.contains(SECRET), "{path} holds the key: {body}");
    }
    let db = c.cp.db_bytes();
    assert!(
        !db.windows(SECRET.len()).any(|w| w == SECRET.as_bytes()),
        "the control plane's database files hold the key"
    );
    assert!(!c.cp.logs().contains(SECRET), "control plane log");
    assert!(!c.agent.logs().contains(SECRET), "agent log");
    reset("s3");
}
