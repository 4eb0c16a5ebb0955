//! The sentences that reach the page carry their code, so that a French page says them in
//! French: the agent's failure of a job (live and as stored), the agent's `ERROR`, the
//! dashboard socket's `ERROR` and an HTTP error. A sentence the control plane does not know
//! goes without a code (the page shows it as written).

use cairn_protocol::messages::{
    ErrorCode, ErrorMessage, FailureKind, InfrastructureLog, JobFailed, LogStream, Message,
};
use serde_json::json;

use crate::util::{TestServer, dashboard, enrolled_agent, http, recv_type, send_json};

#[tokio::test]
async fn a_failed_job_and_the_errors_the_page_sees_carry_the_code_of_their_sentence() {
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
               "payload": {"type": "hello", "version": "2"}}),
    )
    .await;
    let job_id = recv_type(&mut dash, "JOB_CREATED").await["payload"]["jobId"]
        .as_str()
        .expect("job id")
        .to_owned();
    let line = |seq, stream, message: &str| {
        Message::InfrastructureLog(InfrastructureLog {
            job_id: job_id.clone(),
            seq,
            message: message.into(),
            stream,
        })
    };
    conn.send(vec![
        line(1, LogStream::Info, "Installed redis-server 5:7.0.15-1"),
        // A program's output is the program's, whatever it says.
        line(2, LogStream::Stdout, "Installed redis-server 5:7.0.15-1"),
        Message::JobFailed(JobFailed {
            job_id: job_id.clone(),
            seq: 3,
            kind: FailureKind::Error,
            message: "`apt-get install -y x` failed with exit code 100: E: Unable".into(),
            location: Some("x.rhai:3".into()),
        }),
        Message::Error(ErrorMessage {
            code: ErrorCode::UnknownJob,
            message: "no job job-42 is running on this server".into(),
            frame_id: None,
            job_id: None,
        }),
    ])
    .await;
    let own = recv_type(&mut dash, "INFRASTRUCTURE_LOG").await;
    assert_eq!(own["payload"]["messageCode"], "log.installed", "{own}");
    assert_eq!(
        own["payload"]["messageArgs"],
        json!({"name": "redis-server", "version": "5:7.0.15-1"})
    );
    let output = recv_type(&mut dash, "INFRASTRUCTURE_LOG").await;
    assert!(output["payload"].get("messageCode").is_none(), "{output}");
    let want = json!({"command": "apt-get install -y x", "code": "100", "detail": ": E: Unable"});
    let failed = recv_type(&mut dash, "JOB_FAILED").await;
    assert_eq!(
        failed["payload"]["messageCode"], "job.commandFailed",
        "{failed}"
    );
    assert_eq!(failed["payload"]["messageArgs"], want, "{failed}");
    // The agent's own category stays as it sent it, beside the sentence's code.
    let error = recv_type(&mut dash, "AGENT_ERROR").await;
    assert_eq!(error["payload"]["code"], "unknown_job", "{error}");
    assert_eq!(error["payload"]["messageCode"], "agent.noJob", "{error}");
    assert_eq!(error["payload"]["messageArgs"], json!({"job": "job-42"}));

    // Stored with it: the job's page, opened later, says it in its language too.
    let job = http(
        srv.addr,
        "GET",
        &format!("/api/jobs/{job_id}"),
        Some(&cookie),
        None,
    )
    .await
    .json();
    assert_eq!(job["result"]["messageCode"], "job.commandFailed", "{job}");
    assert_eq!(job["result"]["messageArgs"], want, "{job}");

    // The socket's own refusal, and an HTTP error.
    send_json(
        &mut dash,
        json!({"type": "INSTALL_RUNTIME", "nodeId": "node-nowhere",
               "payload": {"type": "hello", "version": "2"}}),
    )
    .await;
    let refused = recv_type(&mut dash, "ERROR").await;
    assert_eq!(
        refused["payload"]["messageCode"], "node.unknown",
        "{refused}"
    );
    assert_eq!(
        refused["payload"]["messageArgs"],
        json!({"node": "node-nowhere"})
    );
    let missing = http(srv.addr, "GET", "/api/jobs/job-none", Some(&cookie), None).await;
    assert_eq!(missing.status, 404);
    let body = missing.json();
    assert_eq!(body["code"], "http.noJob", "{body}");
    assert_eq!(body["error"], "there is no job with this id", "{body}");
    srv.stop().await;
}

#[tokio::test]
async fn a_sentence_the_control_plane_does_not_know_goes_without_a_code() {
    let mut srv = TestServer::start().await;
    let cookie = srv.login().await;
    let (_agent, mut conn) = enrolled_agent(&srv, &cookie, "web-1").await;
    let mut dash = dashboard(srv.addr, Some(&cookie), &srv.origin())
        .await
        .expect("dashboard");
    send_json(
        &mut dash,
        json!({"type": "SUBSCRIBE", "nodeId": conn.node_id.clone()}),
    )
    .await;
    recv_type(&mut dash, "NODE_STATUS").await;
    conn.send(vec![Message::Error(ErrorMessage {
        code: ErrorCode::Internal,
        message: "something new happened".into(),
        frame_id: None,
        job_id: None,
    })])
    .await;
    let error = recv_type(&mut dash, "AGENT_ERROR").await;
    assert_eq!(error["payload"]["message"], "something new happened");
    assert!(error["payload"].get("messageCode").is_none(), "{error}");
    srv.stop().await;
}

#[tokio::test]
async fn a_refused_sign_in_in_the_audit_log_carries_the_code_of_its_sentence() {
    let mut srv = TestServer::start().await;
    let wrong = crate::util::login(srv.addr, "admin", "not-the-password").await;
    assert!(wrong.is_err(), "a wrong password was accepted");
    let cookie = srv.login().await;
    let mut refused = serde_json::Value::Null;
    // Refusals are tallied into the audit log once a second.
    for _ in 0..50 {
        let audit = http(srv.addr, "GET", "/api/audit", Some(&cookie), None)
            .await
            .json();
        if let Some(e) = audit
            .as_array()
            .and_then(|a| a.iter().find(|e| e["what"] == "login.refused"))
        {
            refused = e.clone();
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
    assert_eq!(
        refused["result"], "1 × wrong username or password",
        "{refused}"
    );
    assert_eq!(
        refused["resultParts"],
        json!([{"message": "1 × wrong username or password",
                "messageCode": "audit.wrongPassword", "messageArgs": {"n": "1"}}]),
        "{refused}"
    );
    let audit = http(srv.addr, "GET", "/api/audit", Some(&cookie), None)
        .await
        .json();
    let signed_in = audit
        .as_array()
        .and_then(|a| a.iter().find(|e| e["result"] == "ok"))
        .expect("a sign-in");
    assert!(signed_in.get("resultParts").is_none(), "{signed_in}");
    srv.stop().await;
}
