//! A backup recipe through the agent: `SERVER_STATUS` carries what its `detect()` reports
//! (schedule, last run, last restore test, public key), and a `CONFIGURE_BACKUP` job ends in a
//! `BACKUP_CONFIGURED` with the recipe's message and results, with a `secret: true` parameter
//! from `config` masked in every log line.

mod support;

use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::Duration;

use cairn_agent::{Agent, ConfigDir, Tuning};
use cairn_protocol::Message;
use cairn_protocol::messages::{ConfigureBackup, GetServerStatus};
use support::{ControlPlane, JobLog, enrolled_dir, run_to_end};
use tokio::sync::watch;

const BACKUP: &str = r#"
const RECIPE = #{
    id: "s3",
    title: "S3 (test double of the recipe's shape)",
    category: "backup",
    version: 1,
    estimated_size_mb: 1,
    os: [
        #{ id: "debian", versions: ["11", "12", "13"] },
        #{ id: "ubuntu", versions: ["20.04", "22.04", "24.04"] },
    ],
    params: [
        #{ name: "action", type: "choice", options: ["configure", "run_now"], default_value: "configure" },
        #{ name: "bucket", type: "string", default_value: "" },
        #{ name: "secret_access_key", type: "string", secret: true, default_value: "" },
    ],
    capabilities: #{ programs: ["printf"], paths: [], services: [] },
};

fn detect() {
    #{ installed: true, schedule: "0 3 * * *", last_run_at: 1732590000, last_run_ok: true,
       last_restore_test_at: 1732590006, last_restore_test_ok: false,
       public_key: "ssh-ed25519 AAAAtest cairn-backup" }
}

fn configure(params) {
    run("printf", ["using %s for %s\n", params.secret_access_key, params.bucket]);
    log("key " + params.secret_access_key);
    #{ changed: true, schedule: "0 3 * * *", message: "Backups of /etc run at 0 3 * * *",
       public_key: "ssh-ed25519 AAAAtest cairn-backup", last_run_ok: true,
       last_restore_test_ok: true }
}
"#;

const SECRET: &str = "wJalrXUtnFEMIK7MDENGbPxRfiCYEXAMPLEKEY";

fn start_agent(dir: &std::path::Path) -> (watch::Sender<bool>, tokio::task::JoinHandle<()>) {
    let tuning = Tuning {
        backoff_base: Duration::from_millis(100),
        workers: support::workers(),
        ..Tuning::default()
    };
    let agent = Arc::new(Agent::open(&ConfigDir::new(dir), tuning).expect("agent opens"));
    let (stop, stopped) = watch::channel(false);
    let task = tokio::spawn(async move { cairn_agent::dial::run(&agent, stopped).await });
    (stop, task)
}

#[tokio::test]
async fn status_and_backup_configured_carry_the_backup_fields_and_mask_the_secret() {
    let mut cp = ControlPlane::start().await;
    let dir = enrolled_dir(&cp);
    let (stop, task) = start_agent(dir.path());
    let mut conn = cp.next_conn().await;

    conn.send(vec![Message::GetServerStatus(GetServerStatus {
        request_id: Some("r-b".into()),
        detectors: vec![cp.bundle(BACKUP)],
        ..GetServerStatus::default()
    })])
    .await;
    let status = loop {
        if let Some(Message::ServerStatus(s)) = conn.recv().await.into_iter().next() {
            break s;
        }
    };
    assert_eq!(status.backups.len(), 1, "{:?}", status.backups);
    let b = &status.backups[0];
    assert_eq!(b.provider, "s3");
    assert!(b.configured);
    assert_eq!(b.error, None);
    assert_eq!(b.schedule.as_deref(), Some("0 3 * * *"));
    assert_eq!(b.last_run_at, Some(1_732_590_000));
    assert_eq!(b.last_run_ok, Some(true));
    assert_eq!(b.last_restore_test_at, Some(1_732_590_006));
    assert_eq!(b.last_restore_test_ok, Some(false));
    assert_eq!(
        b.public_key.as_deref(),
        Some("ssh-ed25519 AAAAtest cairn-backup")
    );

    let config = BTreeMap::from([
        ("bucket".to_owned(), "backups-web-1".to_owned()),
        ("secret_access_key".to_owned(), SECRET.to_owned()),
        ("unknown".to_owned(), "dropped".to_owned()),
    ]);
    conn.send(vec![Message::ConfigureBackup(ConfigureBackup {
        job_id: "job-b".into(),
        provider: "s3".into(),
        config,
        plan: None,
        action: None,
        bundle: cp.bundle(BACKUP),
    })])
    .await;
    let mut log = JobLog::default();
    run_to_end(&mut conn, "job-b", &mut log, true).await;
    assert_eq!(log.stdout(), ["using ******** for backups-web-1"]);
    let every_event =
        serde_json::to_string(&log.events.values().collect::<Vec<_>>()).expect("events serialize");
    assert!(!every_event.contains(SECRET), "{every_event}");
    match log.events.values().last() {
        Some(Message::BackupConfigured(c)) => {
            assert!(c.success);
            assert_eq!(c.provider, "s3");
            assert_eq!(c.schedule.as_deref(), Some("0 3 * * *"));
            assert_eq!(
                c.message.as_deref(),
                Some("Backups of /etc run at 0 3 * * *")
            );
            assert_eq!(
                c.public_key.as_deref(),
                Some("ssh-ed25519 AAAAtest cairn-backup")
            );
            assert_eq!(c.last_run_ok, Some(true));
            assert_eq!(c.last_restore_test_ok, Some(true));
        }
        other => panic!("last event is {other:?}"),
    }

    let _ = stop.send(true);
    task.await.expect("agent stops");
}
