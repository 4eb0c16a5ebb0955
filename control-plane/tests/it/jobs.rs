//! Jobs end to end with a fake agent: dashboard command → signed command with a valid bundle →
//! agent events → dashboard, store and LOG_ACK; the connection string's secrecy (threats.md 19).

use cairn_protocol::messages::{
    CpuInfo, DatabaseConfigured, InfrastructureLog, JobProgress, JobStarted, LogStream,
    RuntimeInfo, RuntimeInstalled, ServerStatus, SystemInfo, Usage,
};
use cairn_protocol::{KeyRing, Message, unix_now};
use serde_json::json;

use crate::util::{
    TestServer, dashboard, enrolled_agent, http, logs, recv_json, recv_type, send_json,
};

pub(crate) fn status() -> ServerStatus {
    let usage = Usage {
        total_bytes: 10,
        used_bytes: 5,
        available_bytes: Some(4),
    };
    ServerStatus {
        request_id: None,
        runtimes: vec![RuntimeInfo {
            kind: "hello".into(),
            installed: false,
            version: None,
            estimated_size: None,
            error: None,
            installations: vec![],
        }],
        databases: vec![],
        backups: vec![],
        services: vec![],
        system_only: false,
        system: SystemInfo {
            os: "Debian GNU/Linux 12 (bookworm)".into(),
            kernel: "6.1".into(),
            arch: "x86_64".into(),
            hostname: "web-1".into(),
            cpu: CpuInfo {
                cores: 2,
                model: "test".into(),
                usage_percent: None,
            },
            ram: usage,
            disk: usage,
            uptime: 1,
            addresses: vec![],
        },
    }
}

#[tokio::test]
async fn a_runtime_install_flows_from_dashboard_to_agent_and_back() {
    let mut srv = TestServer::start().await;
    let cookie = srv.login().await;
    let cp = srv.cp_key().await;
    let (_agent, mut conn) = enrolled_agent(&srv, &cookie, "web-1").await;
    let node = conn.node_id.clone();

    // On connect: GET_SERVER_STATUS with the published recipes' signed bundles.
    let get = conn
        .recv_where(|m| matches!(m, Message::GetServerStatus(_)))
        .await;
    let Message::GetServerStatus(get) = get else {
        unreachable!()
    };
    let ids: Vec<String> = get
        .detectors
        .iter()
        .map(|b| {
            b.verify(&KeyRing::from(cp.clone()), unix_now())
                .expect("detector verifies")
                .header()
                .recipe_id
                .clone()
        })
        .collect();
    assert!(
        ids.contains(&"hello".to_owned()) && ids.contains(&"redis".to_owned()),
        "{ids:?}"
    );
    conn.send(vec![Message::ServerStatus(status())]).await;

    let mut dash = dashboard(srv.addr, Some(&cookie), &srv.origin())
        .await
        .expect("dashboard");
    send_json(&mut dash, json!({"type": "SUBSCRIBE", "nodeId": node})).await;
    let st = recv_type(&mut dash, "NODE_STATUS").await;
    assert_eq!(st["payload"]["online"], true);
    // The stored status is visible in the node list.
    let mut stored = false;
    for _ in 0..50 {
        let nodes = http(srv.addr, "GET", "/api/nodes", Some(&cookie), None)
            .await
            .json();
        if nodes[0]["lastStatus"]["system"]["hostname"] == "web-1" {
            stored = true;
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(20)).await;
    }
    assert!(stored, "SERVER_STATUS was not stored");

    send_json(&mut dash, json!({"type": "INSTALL_RUNTIME", "nodeId": node, "payload": {"type": "hello", "params": {"x": 1}}})).await;
    let created = recv_type(&mut dash, "JOB_CREATED").await;
    let job_id = created["payload"]["jobId"]
        .as_str()
        .expect("job id")
        .to_owned();
    assert!(job_id.starts_with("job-"));
    assert_eq!(created["payload"]["recipe"], "hello");

    let cmd = conn
        .recv_where(|m| matches!(m, Message::InstallRuntime(_)))
        .await;
    let Message::InstallRuntime(cmd) = cmd else {
        unreachable!()
    };
    assert_eq!(cmd.job_id, job_id);
    assert_eq!(cmd.kind, "hello");
    let verified = cmd
        .bundle
        .verify(&KeyRing::from(cp.clone()), unix_now())
        .expect("bundle verifies");
    assert_eq!(verified.header().recipe_id, "hello");
    assert_eq!(verified.header().version, 3);

    let events = vec![
        Message::JobStarted(JobStarted {
            job_id: job_id.clone(),
            seq: 1,
            recipe_id: "hello".into(),
            recipe_version: 3,
        }),
        Message::InfrastructureLog(InfrastructureLog {
            job_id: job_id.clone(),
            seq: 2,
            message: "installing".into(),
            stream: LogStream::Info,
        }),
        Message::JobProgress(JobProgress {
            job_id: job_id.clone(),
            seq: 3,
            percent: 50,
        }),
        Message::RuntimeInstalled(RuntimeInstalled {
            job_id: job_id.clone(),
            seq: 4,
            kind: "hello".into(),
            version: Some("1.0".into()),
            success: true,
        }),
    ];
    conn.send(events.clone()).await;
    let ack = conn.recv_where(|m| matches!(m, Message::LogAck(_))).await;
    assert!(
        matches!(&ack, Message::LogAck(a) if a.job_id == job_id && a.seq == 4),
        "{ack:?}"
    );

    for kind in [
        "JOB_STARTED",
        "INFRASTRUCTURE_LOG",
        "JOB_PROGRESS",
        "RUNTIME_INSTALLED",
    ] {
        let m = recv_json(&mut dash).await;
        assert_eq!(m["type"], kind, "{m}");
        assert_eq!(m["jobId"], job_id.as_str());
        assert_eq!(m["nodeId"], node.as_str());
    }

    // A resend after a reconnect is idempotent and acknowledged again.
    conn.send(events).await;
    let ack = conn.recv_where(|m| matches!(m, Message::LogAck(_))).await;
    assert!(matches!(&ack, Message::LogAck(a) if a.seq == 4));
    let stored = http(
        srv.addr,
        "GET",
        &format!("/api/jobs/{job_id}/events"),
        Some(&cookie),
        None,
    )
    .await
    .json();
    let seqs: Vec<u64> = stored
        .as_array()
        .expect("events")
        .iter()
        .map(|e| e["seq"].as_u64().unwrap_or(0))
        .collect();
    assert_eq!(seqs, vec![1, 2, 3, 4]);
    let jobs = http(
        srv.addr,
        "GET",
        &format!("/api/jobs?node={node}"),
        Some(&cookie),
        None,
    )
    .await
    .json();
    assert_eq!(jobs[0]["id"], job_id.as_str());
    assert_eq!(jobs[0]["status"], "succeeded");
    assert_eq!(jobs[0]["requestedBy"], "admin");

    // An event for a job of another node, or an unknown job, is refused.
    conn.send(vec![Message::JobProgress(JobProgress {
        job_id: "job-nope".into(),
        seq: 1,
        percent: 1,
    })])
    .await;
    let err = conn.recv_where(|m| matches!(m, Message::Error(_))).await;
    assert!(matches!(err, Message::Error(e) if e.job_id.as_deref() == Some("job-nope")));

    // Once the agent leaves, the dashboard hears it and commands get a sentence.
    drop(conn);
    let st = recv_type(&mut dash, "NODE_STATUS").await;
    assert_eq!(st["payload"]["online"], false);
    send_json(
        &mut dash,
        json!({"type": "INSTALL_RUNTIME", "nodeId": node, "payload": {"type": "hello"}}),
    )
    .await;
    let err = recv_type(&mut dash, "ERROR").await;
    assert!(
        err["payload"]["message"]
            .as_str()
            .is_some_and(|m| m.contains("offline")),
        "{err}"
    );
    srv.stop().await;
}

#[tokio::test]
async fn the_connection_string_reaches_only_the_requester() {
    const PASSWORD: &str = "Zq8RecognisableSecretPw41";
    let mut srv = TestServer::start().await;
    let cookie_a = srv.login().await;
    let cookie_b = srv.login().await;
    let (_agent, mut conn) = enrolled_agent(&srv, &cookie_a, "db-1").await;
    let node = conn.node_id.clone();
    let mut a = dashboard(srv.addr, Some(&cookie_a), &srv.origin())
        .await
        .expect("a");
    let mut b = dashboard(srv.addr, Some(&cookie_b), &srv.origin())
        .await
        .expect("b");
    for ws in [&mut a, &mut b] {
        send_json(ws, json!({"type": "SUBSCRIBE", "nodeId": node})).await;
        recv_type(ws, "NODE_STATUS").await;
    }
    send_json(&mut a, json!({"type": "CONFIGURE_DATABASE", "nodeId": node, "payload": {"type": "redis", "user": "myapp_user", "params": {"prefix": "myapp:"}}})).await;
    let job_id = recv_type(&mut a, "JOB_CREATED").await["payload"]["jobId"]
        .as_str()
        .expect("job")
        .to_owned();
    let cmd = conn
        .recv_where(|m| matches!(m, Message::ConfigureDatabase(_)))
        .await;
    assert!(
        matches!(&cmd, Message::ConfigureDatabase(c) if c.db_name.is_empty() && c.user == "myapp_user" && c.params["prefix"] == "myapp:"),
        "Redis takes no database name, and gets its key prefix: {cmd:?}"
    );
    let secret = format!("postgresql://myapp_user:{PASSWORD}@localhost:5432/myapp");
    conn.send(vec![
        Message::JobStarted(JobStarted {
            job_id: job_id.clone(),
            seq: 1,
            recipe_id: "redis".into(),
            recipe_version: 1,
        }),
        Message::DatabaseConfigured(DatabaseConfigured {
            job_id: job_id.clone(),
            seq: 2,
            kind: "redis".into(),
            connection_string: Some(secret.clone()),
            success: true,
        }),
    ])
    .await;
    conn.recv_where(|m| matches!(m, Message::LogAck(a) if a.seq == 2))
        .await;

    let for_a = recv_type(&mut a, "DATABASE_CONFIGURED").await;
    assert_eq!(for_a["payload"]["connectionString"], secret.as_str());
    let for_b = recv_type(&mut b, "DATABASE_CONFIGURED").await;
    assert_eq!(
        for_b["payload"]["connectionString"],
        "postgresql://myapp_user:********@localhost:5432/myapp"
    );

    let events = http(
        srv.addr,
        "GET",
        &format!("/api/jobs/{job_id}/events"),
        Some(&cookie_a),
        None,
    )
    .await
    .body;
    assert!(
        events.contains("********") && !events.contains(PASSWORD),
        "{events}"
    );
    let jobs = http(srv.addr, "GET", "/api/jobs", Some(&cookie_a), None)
        .await
        .body;
    assert!(!jobs.contains(PASSWORD));
    drop(conn);
    srv.stop().await;
    let db = srv.db_bytes();
    assert!(!db.is_empty());
    assert!(
        !String::from_utf8_lossy(&db).contains(PASSWORD),
        "the password is in the database"
    );
    assert!(
        String::from_utf8_lossy(&db).contains("myapp_user:********@"),
        "the masked string was not stored"
    );
    assert!(!logs().contains(PASSWORD), "the password is in the logs");
}
