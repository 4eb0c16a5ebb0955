//! threats.md 19: a generated database password reaches the dashboard session that asked for it,
//! once, and nothing else.

use std::os::unix::fs::PermissionsExt;
use std::time::Duration;

use cairn_e2e::Cluster;
use serde_json::json;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_generated_password_reaches_only_the_requesting_session() {
    let c = Cluster::start(&["secretdb"]).await;
    std::fs::create_dir(c.dir.path().join("secret")).expect("secret dir");
    let other_cookie = c.cp.login().await;
    assert_ne!(other_cookie, c.cookie);

    let mut owner = c.dashboard().await;
    let mut owner_tab2 = c.dashboard().await;
    let mut other = c.dashboard_of(&other_cookie).await;
    let job = owner
        .start_job(
            "CONFIGURE_DATABASE",
            &c.node_id,
            json!({"type": "secretdb", "dbName": "app", "user": "app_user"}),
        )
        .await;
    let end = owner.wait_terminal(&job).await;
    assert_eq!(end["type"], "DATABASE_CONFIGURED", "{end}");
    let conn = end["payload"]["connectionString"].as_str().expect("string");
    let password = conn
        .strip_prefix("test://app:")
        .and_then(|s| s.strip_suffix("@localhost/app"))
        .unwrap_or_else(|| panic!("unexpected connection string {conn}"))
        .to_owned();
    assert_eq!(password.len(), 24, "{conn}");
    assert!(
        !password.contains('*'),
        "the owner got a masked string: {conn}"
    );

    // The file the recipe wrote holds it, 0600.
    let file = c.dir.path().join("secret/db-password");
    assert_eq!(
        std::fs::read_to_string(&file).expect("password file"),
        password
    );
    let mode = std::fs::metadata(&file)
        .expect("metadata")
        .permissions()
        .mode();
    assert_eq!(mode & 0o777, 0o600);

    // The other session sees the job end, masked; a second tab of the owner's session gets it
    // too (the owner is the login session, docs/api.md).
    let masked = other.wait_terminal(&job).await;
    assert_eq!(masked["type"], "DATABASE_CONFIGURED");
    assert_eq!(
        masked["payload"]["connectionString"], "test://app:********@localhost/app",
        "{masked}"
    );
    let tab2 = owner_tab2.wait_terminal(&job).await;
    assert_eq!(tab2["payload"]["connectionString"], conn);

    // Once: a little later, still exactly one result on the owner's socket.
    let _ = tokio::time::timeout(Duration::from_millis(500), async {
        while let Some(v) = owner.next().await {
            owner.seen.push(v);
        }
    })
    .await;
    let results = owner
        .job_messages(&job)
        .iter()
        .filter(|m| m["type"] == "DATABASE_CONFIGURED")
        .count();
    assert_eq!(results, 1);
    for m in &other.seen {
        assert!(
            !m.to_string().contains(&password),
            "other session got it: {m}"
        );
    }

    // Nowhere in the job history.
    c.cp.wait_job_done(&c.cookie, &job).await;
    for path in [
        format!("/api/jobs/{job}"),
        format!("/api/jobs/{job}/events"),
        "/api/jobs".to_owned(),
        format!("/api/jobs?node={}", c.node_id),
        "/api/nodes".to_owned(),
        "/api/audit".to_owned(),
    ] {
        let body = c.cp.get_json(&c.cookie, &path).await.to_string();
        assert!(
            !body.contains(&password),
            "{path} holds the password: {body}"
        );
    }
    let stored = c.cp.get_json(&c.cookie, &format!("/api/jobs/{job}")).await;
    assert_eq!(
        stored["result"]["connectionString"], "test://app:********@localhost/app",
        "{stored}"
    );

    // Nor in the database files (which do hold the job: the check reads the right files).
    let db = c.cp.db_bytes();
    assert!(
        c.cp.db_files().iter().any(|f| f.ends_with("-wal")) || !db.is_empty(),
        "no database files found: {:?}",
        c.cp.db_files()
    );
    let contains = |hay: &[u8], needle: &[u8]| hay.windows(needle.len()).any(|w| w == needle);
    assert!(
        contains(&db, job.as_bytes()),
        "the job is not in {:?}",
        c.cp.db_files()
    );
    assert!(
        !contains(&db, password.as_bytes()),
        "the database holds the password"
    );

    // Nor in the control plane's log, the agent's log, any process's command line.
    let cp_logs = c.cp.logs();
    assert!(
        cp_logs.contains(&job),
        "the control plane logged nothing about the job"
    );
    assert!(
        !cp_logs.contains(&password),
        "the control plane logged the password"
    );
    assert!(
        !c.agent.logs().contains(&password),
        "the agent logged the password"
    );
    for entry in std::fs::read_dir("/proc").expect("/proc").flatten() {
        if let Ok(cmdline) = std::fs::read(entry.path().join("cmdline")) {
            assert!(
                !contains(&cmdline, password.as_bytes()),
                "{:?}",
                entry.path()
            );
        }
    }
    // The agent drops the job's journal once the result is acknowledged.
    let journal = c.agent.config.join("state/journal");
    cairn_e2e::eventually("the agent's journal to forget the result", || async {
        let mut clean = true;
        for e in std::fs::read_dir(&journal).into_iter().flatten().flatten() {
            let bytes = std::fs::read(e.path()).unwrap_or_default();
            clean &= !contains(&bytes, password.as_bytes());
        }
        clean.then_some(())
    })
    .await;
}
