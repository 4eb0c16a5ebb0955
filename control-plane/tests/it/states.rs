//! A job's states as the control plane keeps them: a cancelled job is `cancelled`, not
//! `failed`; a failure's place in the script travels as its own field; a wait is relayed as a
//! state; and what Retry needs is stored, without a secret parameter.

use cairn_protocol::messages::{
    FailureKind, JobFailed, JobStarted, JobWaiting, Message, WaitReason,
};
use serde_json::json;

use crate::util::{TestServer, dashboard, enrolled_agent, http, recv_type, repo_root, send_json};

const SECRET: &str = "Sk7RecognisableSecretKey0042";

#[tokio::test]
async fn a_cancelled_job_is_stored_as_cancelled_with_what_retry_needs_and_no_secret() {
    let mut srv = TestServer::start().await;
    std::fs::copy(
        repo_root().join("recipes/s3.rhai"),
        srv.recipes_dir().join("s3.rhai"),
    )
    .expect("copy s3 recipe");
    let cookie = srv.login().await;
    let r = http(srv.addr, "POST", "/api/recipes/reload", Some(&cookie), None).await;
    assert_eq!(r.status, 200, "{}", r.body);
    let (_agent, mut conn) = enrolled_agent(&srv, &cookie, "web-1").await;
    let node = conn.node_id.clone();
    let mut dash = dashboard(srv.addr, Some(&cookie), &srv.origin())
        .await
        .expect("dashboard");
    send_json(&mut dash, json!({"type": "SUBSCRIBE", "nodeId": node})).await;
    recv_type(&mut dash, "NODE_STATUS").await;

    let config = json!({"bucket": "my-bucket", "access_key_id": "AKIA1234",
        "secret_access_key": SECRET, "schedule": "0 3 * * *"});
    send_json(
        &mut dash,
        json!({"type": "CONFIGURE_BACKUP", "nodeId": node,
               "payload": {"provider": "s3", "config": config}}),
    )
    .await;
    let job_id = recv_type(&mut dash, "JOB_CREATED").await["payload"]["jobId"]
        .as_str()
        .expect("job id")
        .to_owned();
    let cmd = conn
        .recv_where(|m| matches!(m, Message::ConfigureBackup(_)))
        .await;
    // The agent still gets the secret: only the store goes without it.
    assert!(
        matches!(&cmd, Message::ConfigureBackup(c) if c.config.get("secret_access_key").map(String::as_str) == Some(SECRET))
    );

    conn.send(vec![
        Message::JobStarted(JobStarted {
            job_id: job_id.clone(),
            seq: 1,
            recipe_id: "s3".into(),
            recipe_version: 1,
        }),
        Message::JobWaiting(JobWaiting {
            job_id: job_id.clone(),
            seq: 2,
            reason: Some(WaitReason::PackageManager),
            holder: Some("process 42 (apt-get)".into()),
        }),
        Message::JobFailed(JobFailed {
            job_id: job_id.clone(),
            seq: 3,
            kind: FailureKind::Cancelled,
            message: "the job was cancelled".into(),
            location: Some("s3.rhai:120".into()),
        }),
    ])
    .await;
    conn.recv_where(|m| matches!(m, Message::LogAck(a) if a.seq == 3))
        .await;

    let waiting = recv_type(&mut dash, "JOB_WAITING").await;
    assert_eq!(waiting["payload"]["reason"], "package_manager");
    assert_eq!(waiting["payload"]["holder"], "process 42 (apt-get)");
    let failed = recv_type(&mut dash, "JOB_FAILED").await;
    assert_eq!(failed["payload"]["kind"], "cancelled");
    assert_eq!(failed["payload"]["message"], "the job was cancelled");
    assert_eq!(failed["payload"]["location"], "s3.rhai:120");

    let job = http(
        srv.addr,
        "GET",
        &format!("/api/jobs/{job_id}"),
        Some(&cookie),
        None,
    )
    .await
    .json();
    assert_eq!(job["status"], "cancelled", "{job}");
    assert_eq!(job["result"]["location"], "s3.rhai:120", "{job}");
    assert_eq!(
        job["params"],
        json!({"config": {"bucket": "my-bucket", "access_key_id": "AKIA1234",
            "schedule": "0 3 * * *"}}),
        "Retry gets every parameter but the secret one"
    );
    let jobs = http(
        srv.addr,
        "GET",
        &format!("/api/jobs?node={node}"),
        Some(&cookie),
        None,
    )
    .await;
    assert!(!jobs.body.contains(SECRET), "{}", jobs.body);
    srv.stop().await;
    let db = String::from_utf8_lossy(&srv.db_bytes()).into_owned();
    assert!(!db.contains(SECRET), "the secret reached the database");
}

#[tokio::test]
async fn a_job_that_failed_is_still_failed_and_keeps_its_runtime_parameters() {
    let mut srv = TestServer::start().await;
    let cookie = srv.login().await;
    let (_agent, mut conn) = enrolled_agent(&srv, &cookie, "web-1").await;
    let node = conn.node_id.clone();
    let mut dash = dashboard(srv.addr, Some(&cookie), &srv.origin())
        .await
        .expect("dashboard");
    send_json(&mut dash, json!({"type": "SUBSCRIBE", "nodeId": node})).await;
    recv_type(&mut dash, "NODE_STATUS").await;
    send_json(
        &mut dash,
        json!({"type": "INSTALL_RUNTIME", "nodeId": node,
               "payload": {"type": "hello", "version": "2", "params": {"x": 1}}}),
    )
    .await;
    let job_id = recv_type(&mut dash, "JOB_CREATED").await["payload"]["jobId"]
        .as_str()
        .expect("job id")
        .to_owned();
    conn.send(vec![Message::JobFailed(JobFailed {
        job_id: job_id.clone(),
        seq: 1,
        kind: FailureKind::Error,
        message: "`true` failed with exit code 1".into(),
        location: None,
    })])
    .await;
    conn.recv_where(|m| matches!(m, Message::LogAck(a) if a.seq == 1))
        .await;
    recv_type(&mut dash, "JOB_FAILED").await;
    let job = http(
        srv.addr,
        "GET",
        &format!("/api/jobs/{job_id}"),
        Some(&cookie),
        None,
    )
    .await
    .json();
    assert_eq!(job["status"], "failed", "{job}");
    assert_eq!(job["params"], json!({"version": "2", "params": {"x": 1}}));
    srv.stop().await;
}
