//! The agent against a control plane double speaking the real protocol on loopback.

mod support;

use std::os::unix::fs::PermissionsExt;
use std::process::{Command, Stdio};
use std::sync::Arc;
use std::time::Duration;

use cairn_agent::Tuning;
use cairn_protocol::messages::{ErrorCode, FailureKind, GetServerStatus, LogStream, ServerStatus};
use cairn_protocol::{KeyPair, Message};
use serde_json::json;
use support::{ControlPlane, HELLO, JobLog, enrolled_dir, install, run_to_end, sign_bundle};
use tokio::sync::watch;

const BIN: &str = env!("CARGO_BIN_EXE_cairn-agent");

fn fast() -> Tuning {
    Tuning {
        backoff_base: Duration::from_millis(100),
        workers: support::workers(),
        ..Tuning::default()
    }
}

/// Starts an in-process agent on `dir`; the returned sender stops it.
fn start_agent(dir: &std::path::Path) -> (watch::Sender<bool>, tokio::task::JoinHandle<()>) {
    support::start_agent_with(dir, fast())
}

async fn enroll_cli(
    cp: &ControlPlane,
    dir: &std::path::Path,
    key_id: &str,
) -> std::process::Output {
    let (url, token, dir, key_id) = (
        cp.url.clone(),
        cp.token.clone(),
        dir.to_owned(),
        key_id.to_owned(),
    );
    tokio::task::spawn_blocking(move || {
        Command::new(BIN)
            .args([
                "enroll",
                "--url",
                &url,
                "--token",
                &token,
                "--cp-key-id",
                &key_id,
                "--config",
            ])
            .arg(&dir)
            .output()
            .expect("run cairn-agent enroll")
    })
    .await
    .expect("join")
}

#[tokio::test]
async fn enroll_writes_the_config_and_a_private_key() {
    let cp = ControlPlane::start().await;
    let tmp = tempfile::tempdir().expect("tempdir");
    let dir = tmp.path().join("etc");
    let out = enroll_cli(&cp, &dir, &cp.key_id()).await;
    assert!(
        out.status.success(),
        "enroll failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );

    let config: serde_json::Value =
        serde_json::from_slice(&std::fs::read(dir.join("agent.json")).expect("agent.json"))
            .expect("json");
    assert_eq!(config["url"], cp.url.as_str());
    assert_eq!(config["nodeId"], cp.node_id.as_str());
    assert_eq!(
        config["controlPlanePublicKey"],
        cp.public_key_hex().as_str()
    );
    assert_eq!(config["controlPlaneKeyId"], cp.key_id().as_str());
    let mode = std::fs::metadata(dir.join("agent.key"))
        .expect("key")
        .permissions()
        .mode();
    assert_eq!(mode & 0o777, 0o600, "agent.key must be private");
    assert!(dir.join("state/journal").is_dir());
    let key = KeyPair::read_file(&dir.join("agent.key")).expect("key reads");
    assert_eq!(
        cp.enrolled_key().as_ref(),
        Some(key.public()),
        "the control plane enrolled our key"
    );
}

#[tokio::test]
async fn enroll_refuses_a_control_plane_with_another_key_id() {
    let cp = ControlPlane::start().await;
    let tmp = tempfile::tempdir().expect("tempdir");
    let dir = tmp.path().join("etc");
    let out = enroll_cli(&cp, &dir, "0123456789abcdef").await;
    assert!(!out.status.success());
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.contains("0123456789abcdef") && stderr.contains(&cp.key_id()),
        "{stderr}"
    );
    assert!(!dir.join("agent.json").exists());
    assert!(cp.enrolled_key().is_none(), "nothing was enrolled");
}

/// What an open page asks for every half minute: the machine's facts, no detector run (the
/// bundle it carries is ignored), the answer marked so the control plane does not store it as
/// the node's status. The disk figures are `df`'s: used plus available within the size.
#[tokio::test]
async fn a_system_only_status_runs_no_detector() {
    let mut cp = ControlPlane::start().await;
    let dir = enrolled_dir(&cp);
    let (stop, task) = start_agent(dir.path());
    let mut conn = cp.next_conn().await;

    conn.send(vec![Message::GetServerStatus(GetServerStatus {
        request_id: Some("sys-1".into()),
        detectors: vec![cp.bundle(HELLO)],
        system_only: true,
        ..GetServerStatus::default()
    })])
    .await;
    let status = loop {
        if let Some(Message::ServerStatus(s)) = conn.recv().await.into_iter().next() {
            break s;
        }
    };
    assert_eq!(status.request_id.as_deref(), Some("sys-1"));
    assert!(status.system_only);
    assert!(status.runtimes.is_empty(), "{:?}", status.runtimes);
    let disk = status.system.disk;
    let available = disk.available_bytes.expect("available disk space");
    assert!(
        disk.total_bytes > 0 && disk.used_bytes + available <= disk.total_bytes,
        "{disk:?}"
    );
    assert!(status.system.ram.available_bytes.is_some());
    let _ = stop.send(true);
    task.await.expect("agent stops");
}

#[tokio::test]
async fn run_authenticates_and_reports_status_with_detection() {
    let mut cp = ControlPlane::start().await;
    let dir = enrolled_dir(&cp);
    let (stop, task) = start_agent(dir.path());
    let mut conn = cp.next_conn().await;

    conn.send(vec![Message::GetServerStatus(GetServerStatus {
        request_id: Some("r-1".into()),
        detectors: vec![
            cp.bundle(HELLO),
            sign_bundle(&KeyPair::generate().expect("key"), HELLO),
        ],
        same_detectors: false,
        detectors_hash: None,
        system_only: false,
    })])
    .await;
    let status = loop {
        if let Some(Message::ServerStatus(s)) = conn.recv().await.into_iter().next() {
            break s;
        }
    };
    assert_eq!(status.request_id.as_deref(), Some("r-1"));
    let s = &status.system;
    assert!(
        !s.os.is_empty() && !s.kernel.is_empty() && !s.hostname.is_empty() && !s.arch.is_empty()
    );
    assert!(s.cpu.cores > 0 && s.ram.total_bytes > 0 && s.ram.used_bytes <= s.ram.total_bytes);
    assert!(s.uptime > 0);
    assert!(s.addresses.iter().all(|a| a != "127.0.0.1" && a != "::1"));
    assert_eq!(status.runtimes.len(), 2, "{:?}", status.runtimes);
    let good = status
        .runtimes
        .iter()
        .find(|r| r.error.is_none())
        .expect("a detected runtime");
    assert_eq!(good.kind, "hello");
    assert!(good.installed);
    assert_eq!(good.version.as_deref(), Some("1.2.3"));
    assert_eq!(good.estimated_size.as_deref(), Some("3 MB"));
    let bad = status
        .runtimes
        .iter()
        .find(|r| r.error.is_some())
        .expect("the foreign bundle");
    assert!(
        bad.error
            .as_deref()
            .unwrap_or("")
            .contains("does not trust"),
        "{bad:?}"
    );
    assert!(!bad.installed);

    let _ = stop.send(true);
    task.await.expect("agent stops");
}

/// The next `SERVER_STATUS` answering `request_id`.
async fn status_answer(conn: &mut support::Conn, request_id: &str) -> ServerStatus {
    loop {
        for m in conn.recv().await {
            if let Message::ServerStatus(s) = m
                && s.request_id.as_deref() == Some(request_id)
            {
                return s;
            }
        }
    }
}

#[tokio::test]
async fn kept_detectors_run_after_a_reconnection_and_unknown_ones_are_fetched_again() {
    let mut cp = ControlPlane::start().await;
    let dir = enrolled_dir(&cp);
    let (stop, task) = start_agent(dir.path());
    let mut conn = cp.next_conn().await;
    assert_eq!(conn.hello_detectors_hash, None, "nothing kept yet");

    let bundles = vec![cp.bundle(HELLO)];
    let hash = cairn_protocol::detectors_hash(&bundles);
    let full = conn
        .send(vec![Message::GetServerStatus(GetServerStatus {
            request_id: Some("r-1".into()),
            detectors: bundles,
            ..GetServerStatus::default()
        })])
        .await;
    let status = status_answer(&mut conn, "r-1").await;
    assert!(status.runtimes[0].installed, "{:?}", status.runtimes);
    conn.kill();

    // The next connection names the kept bundles and runs them from a request without them.
    let mut conn = cp.next_conn().await;
    assert_eq!(conn.hello_detectors_hash.as_deref(), Some(hash.as_str()));
    let same = conn
        .send(vec![Message::GetServerStatus(GetServerStatus {
            request_id: Some("r-2".into()),
            same_detectors: true,
            detectors_hash: Some(hash.clone()),
            ..GetServerStatus::default()
        })])
        .await;
    assert!(
        same.len() * 4 < full.len(),
        "{} vs {}",
        same.len(),
        full.len()
    );
    let status = status_answer(&mut conn, "r-2").await;
    assert_eq!(status.runtimes.len(), 1, "{:?}", status.runtimes);
    let hello = &status.runtimes[0];
    assert_eq!(hello.kind, "hello");
    assert!(hello.installed && hello.error.is_none(), "{hello:?}");
    assert_eq!(hello.version.as_deref(), Some("1.2.3"));

    // A request naming bundles the agent does not hold runs nothing: the agent forgets what
    // it kept and reconnects naming none, so the control plane sends the bundles.
    conn.send(vec![Message::GetServerStatus(GetServerStatus {
        request_id: Some("r-3".into()),
        same_detectors: true,
        detectors_hash: Some("ab".repeat(32)),
        ..GetServerStatus::default()
    })])
    .await;
    let refused = conn
        .recv()
        .await
        .into_iter()
        .find_map(|m| match m {
            Message::Error(e) => Some(e),
            _ => None,
        })
        .expect("an ERROR");
    assert!(refused.message.contains("not kept"), "{refused:?}");
    let conn = cp.next_conn().await;
    assert_eq!(conn.hello_detectors_hash, None);

    let _ = stop.send(true);
    task.await.expect("agent stops");
}

#[tokio::test]
async fn a_job_streams_its_lines_in_order_and_ends_with_its_result() {
    let mut cp = ControlPlane::start().await;
    let dir = enrolled_dir(&cp);
    let (stop, task) = start_agent(dir.path());
    let mut conn = cp.next_conn().await;

    conn.send(vec![install(
        "job-1",
        cp.bundle(HELLO),
        json!({"lines": 3, "unknown": "dropped"}),
    )])
    .await;
    let mut log = JobLog::default();
    run_to_end(&mut conn, "job-1", &mut log, true).await;

    let n = log.events.len() as u64;
    assert_eq!(log.contiguous(), n, "seq counts from 1 without gaps");
    match log.events.get(&1) {
        Some(Message::JobStarted(s)) => {
            assert_eq!((s.recipe_id.as_str(), s.recipe_version), ("hello", 1));
        }
        other => panic!("first event is {other:?}"),
    }
    assert_eq!(log.stdout(), ["line 1", "line 2", "line 3"]);
    assert!(
        log.events
            .values()
            .any(|m| matches!(m, Message::JobStep(s) if s.title == "Say hello"))
    );
    assert!(log.events.values().any(|m| matches!(m, Message::InfrastructureLog(l) if l.stream == LogStream::Command && l.message.starts_with("$ printf"))));
    match log.events.values().last() {
        Some(Message::RuntimeInstalled(r)) => {
            assert!(r.success);
            assert_eq!(
                (r.kind.as_str(), r.version.as_deref()),
                ("hello", Some("1.2.3"))
            );
        }
        other => panic!("last event is {other:?}"),
    }
    // Acknowledged to the end: the journal is gone.
    let journal = dir.path().join("state/journal/job-1.jsonl");
    for _ in 0..100 {
        if !journal.exists() {
            break;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    assert!(!journal.exists(), "an acknowledged journal is deleted");
    let rollback =
        std::fs::read_to_string(dir.path().join("state/rollback.json")).expect("rollback");
    assert!(rollback.contains("\"hello\": 1"), "{rollback}");

    let _ = stop.send(true);
    task.await.expect("agent stops");
}

#[tokio::test]
async fn a_replayed_frame_is_refused_and_runs_nothing() {
    let mut cp = ControlPlane::start().await;
    let dir = enrolled_dir(&cp);
    let (stop, task) = start_agent(dir.path());
    let mut conn = cp.next_conn().await;

    let frame = conn
        .send(vec![install(
            "job-r",
            cp.bundle(HELLO),
            json!({"lines": 1}),
        )])
        .await;
    conn.send_text(&frame).await;
    let mut log = JobLog::default();
    let others = run_to_end(&mut conn, "job-r", &mut log, true).await;
    let refusal = others.iter().find_map(|m| match m {
        Message::Error(e) => Some(e),
        _ => None,
    });
    let refusal = match refusal {
        Some(e) => e.clone(),
        None => loop {
            if let Some(Message::Error(e)) = conn.recv().await.into_iter().next() {
                break e;
            }
        },
    };
    assert_eq!(refusal.code, ErrorCode::Unauthenticated);
    assert!(refusal.message.contains("replayed"), "{}", refusal.message);
    let started = log
        .events
        .values()
        .filter(|m| matches!(m, Message::JobStarted(_)))
        .count();
    assert_eq!(started, 1, "the job ran once");
    assert_eq!(log.stdout(), ["line 1"]);

    let _ = stop.send(true);
    task.await.expect("agent stops");
}

#[tokio::test]
async fn a_bundle_signed_by_another_key_is_rejected_and_nothing_runs() {
    let mut cp = ControlPlane::start().await;
    let dir = enrolled_dir(&cp);
    let (stop, task) = start_agent(dir.path());
    let mut conn = cp.next_conn().await;

    let foreign = sign_bundle(&KeyPair::generate().expect("key"), HELLO);
    conn.send(vec![install("job-x", foreign, json!({}))]).await;
    let mut log = JobLog::default();
    run_to_end(&mut conn, "job-x", &mut log, true).await;
    assert_eq!(log.events.len(), 1, "only the refusal: {:?}", log.events);
    match log.events.get(&1) {
        Some(Message::JobFailed(f)) => {
            assert_eq!(f.kind, FailureKind::Rejected);
            assert!(f.message.contains("does not trust"), "{}", f.message);
        }
        other => panic!("{other:?}"),
    }
    assert!(
        !dir.path().join("state/rollback.json").exists(),
        "no version was recorded"
    );

    // A bundle for another recipe than the command names is refused too.
    let mut other = install("job-y", cp.bundle(HELLO), json!({}));
    if let Message::InstallRuntime(c) = &mut other {
        c.kind = "python".into();
    }
    conn.send(vec![other]).await;
    let mut log = JobLog::default();
    run_to_end(&mut conn, "job-y", &mut log, true).await;
    assert!(
        matches!(log.events.get(&1), Some(Message::JobFailed(f)) if f.kind == FailureKind::Rejected && f.message.contains("python"))
    );
    assert_eq!(log.events.len(), 1);

    let _ = stop.send(true);
    task.await.expect("agent stops");
}

#[tokio::test]
async fn a_dropped_connection_loses_nothing_and_resends_from_the_last_ack() {
    let mut cp = ControlPlane::start().await;
    let dir = enrolled_dir(&cp);
    let (stop, task) = start_agent(dir.path());
    let mut conn = cp.next_conn().await;

    conn.send(vec![install(
        "job-d",
        cp.bundle(HELLO),
        json!({"lines": 4, "pause": 2}),
    )])
    .await;
    let mut log = JobLog::default();
    while !log.stdout().contains(&"line 1".to_owned()) {
        let messages = conn.recv().await;
        log.take("job-d", messages);
    }
    let acked = log.contiguous();
    conn.ack("job-d", acked).await;
    // A later frame's answer proves the agent has processed the ack.
    conn.send(vec![Message::GetServerStatus(GetServerStatus::default())])
        .await;
    loop {
        let messages = conn.recv().await;
        if log
            .take("job-d", messages)
            .iter()
            .any(|m| matches!(m, Message::ServerStatus(_)))
        {
            break;
        }
    }
    let first_connection = log.received.len();
    conn.kill();

    let mut conn = cp.next_conn().await;
    run_to_end(&mut conn, "job-d", &mut log, true).await;
    let resent = &log.received[first_connection..];
    assert_eq!(
        resent.first(),
        Some(&(acked + 1)),
        "resent from the last ack: {:?}",
        log.received
    );
    let n = log.events.len() as u64;
    assert_eq!(log.contiguous(), n, "every seq stored exactly once, no gap");
    assert_eq!(log.stdout(), ["line 1", "line 2", "line 3", "line 4"]);
    assert!(matches!(
        log.events.values().last(),
        Some(Message::RuntimeInstalled(_))
    ));
    // Each seq at most twice on the wire (once per connection), and only if not acknowledged.
    for seq in 1..=acked {
        assert_eq!(
            log.received.iter().filter(|s| **s == seq).count(),
            1,
            "seq {seq}"
        );
    }

    let _ = stop.send(true);
    task.await.expect("agent stops");
}

#[tokio::test]
async fn cancel_stops_a_job_and_plan_runs_nothing() {
    let mut cp = ControlPlane::start().await;
    let dir = enrolled_dir(&cp);
    let (stop, task) = start_agent(dir.path());
    let mut conn = cp.next_conn().await;

    conn.send(vec![install(
        "job-c",
        cp.bundle(HELLO),
        json!({"lines": 2, "pause": 30}),
    )])
    .await;
    let mut log = JobLog::default();
    while !log.stdout().contains(&"line 1".to_owned()) {
        let messages = conn.recv().await;
        log.take("job-c", messages);
    }
    let started = std::time::Instant::now();
    conn.send(vec![Message::CancelJob(
        cairn_protocol::messages::CancelJob {
            job_id: "job-c".into(),
        },
    )])
    .await;
    run_to_end(&mut conn, "job-c", &mut log, true).await;
    assert!(
        started.elapsed() < Duration::from_secs(10),
        "cancel is prompt"
    );
    assert!(
        matches!(log.events.values().last(), Some(Message::JobFailed(f)) if f.kind == FailureKind::Cancelled)
    );
    assert_eq!(log.stdout(), ["line 1"]);

    conn.send(vec![Message::PlanRequest(
        cairn_protocol::messages::PlanRequest {
            job_id: "job-p".into(),
            entry: "install".into(),
            params: json!({"lines": 2}).as_object().cloned().unwrap_or_default(),
            action: None,
            bundle: cp.bundle(HELLO),
        },
    )])
    .await;
    let mut log = JobLog::default();
    run_to_end(&mut conn, "job-p", &mut log, true).await;
    assert!(
        log.stdout().is_empty(),
        "plan mode runs nothing: {:?}",
        log.stdout()
    );
    match log.events.values().last() {
        Some(Message::PlanResult(p)) => {
            let programs: Vec<_> = p
                .actions
                .iter()
                .map(|a| match a {
                    cairn_protocol::messages::PlannedStep::Run { program, args, .. } => {
                        format!("{program} {}", args.join(" "))
                    }
                    other => format!("{other:?}"),
                })
                .collect();
            assert_eq!(programs, ["printf line %s\n 1", "printf line %s\n 2"]);
        }
        other => panic!("last event is {other:?}"),
    }

    let _ = stop.send(true);
    task.await.expect("agent stops");
}

/// A TLS server with a self-signed certificate answering one HTTP GET; returns its URL and the
/// certificate's sha256.
async fn tls_server() -> (String, String) {
    use sha2::Digest;
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let cert = rcgen::generate_simple_self_signed(vec!["localhost".to_owned()]).expect("cert");
    let der = cert.cert.der().clone();
    let pin = hex::encode(sha2::Sha256::digest(der.as_ref()));
    let key = rustls::pki_types::PrivateKeyDer::Pkcs8(cert.signing_key.serialize_der().into());
    let config = rustls::ServerConfig::builder_with_provider(Arc::new(
        rustls::crypto::ring::default_provider(),
    ))
    .with_safe_default_protocol_versions()
    .expect("versions")
    .with_no_client_auth()
    .with_single_cert(vec![der], key)
    .expect("server config");
    let acceptor = tokio_rustls::TlsAcceptor::from(Arc::new(config));
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind");
    let addr = listener.local_addr().expect("addr");
    tokio::spawn(async move {
        while let Ok((tcp, _)) = listener.accept().await {
            let acceptor = acceptor.clone();
            tokio::spawn(async move {
                let Ok(mut tls) = acceptor.accept(tcp).await else {
                    return;
                };
                let mut buf = [0u8; 4096];
                let _ = tls.read(&mut buf).await;
                let body = r#"{"ok":true}"#;
                let reply = format!(
                    "HTTP/1.1 200 OK\r\ncontent-length: {}\r\n\r\n{body}",
                    body.len()
                );
                let _ = tls.write_all(reply.as_bytes()).await;
                let _ = tls.shutdown().await;
            });
        }
    });
    (format!("https://localhost:{}", addr.port()), pin)
}

#[tokio::test]
async fn tls_with_a_pinned_certificate_accepts_only_that_certificate() {
    use cairn_agent::transport::{Endpoint, http_get};
    let (url, pin) = tls_server().await;
    let endpoint = Endpoint::parse(&url).expect("url");
    let (status, body) = http_get(&endpoint, "/api/control-plane-key", Some(&pin))
        .await
        .expect("the pinned certificate is accepted");
    assert_eq!(
        (status, body.as_slice()),
        (200, br#"{"ok":true}"#.as_slice())
    );

    let wrong = "00".repeat(32);
    let err = http_get(&endpoint, "/", Some(&wrong))
        .await
        .expect_err("another pin is refused");
    assert!(err.to_string().contains("not the pinned one"), "{err}");
    // Without a pin, the web PKI does not know a self-signed certificate.
    let err = http_get(&endpoint, "/", None)
        .await
        .expect_err("unknown issuer");
    assert!(err.to_string().contains("TLS"), "{err}");
}

/// threats.md row 5 across a real process restart: run v5, kill the agent process, start a new
/// one on the same config, send a validly signed v4: refused, and the persisted highest version
/// stays 5.
#[tokio::test]
async fn rollback_is_refused_across_an_agent_process_restart() {
    let mut cp = ControlPlane::start().await;
    let dir = enrolled_dir(&cp);
    let spawn = || {
        Command::new(BIN)
            .args(["run", "--config"])
            .arg(dir.path())
            .env("CAIRN_LOG", "warn")
            .stdout(Stdio::null())
            .spawn()
            .expect("spawn cairn-agent run")
    };
    let v5 = HELLO.replace("version: 1,", "version: 5,");
    let v4 = HELLO.replace("version: 1,", "version: 4,");

    let mut child = spawn();
    let mut conn = cp.next_conn().await;
    conn.send(vec![install("job-v5", cp.bundle(&v5), json!({"lines": 1}))])
        .await;
    let mut log = JobLog::default();
    run_to_end(&mut conn, "job-v5", &mut log, true).await;
    assert!(matches!(log.events.values().last(), Some(Message::RuntimeInstalled(r)) if r.success));
    child.kill().expect("kill -9");
    let _ = child.wait();
    drop(conn);

    let mut child = spawn();
    let mut conn = cp.next_conn().await;
    conn.send(vec![install("job-v4", cp.bundle(&v4), json!({"lines": 1}))])
        .await;
    let mut log = JobLog::default();
    run_to_end(&mut conn, "job-v4", &mut log, true).await;
    assert_eq!(log.events.len(), 1, "only the refusal: {:?}", log.events);
    match log.events.get(&1) {
        Some(Message::JobFailed(f)) => {
            assert_eq!(f.kind, FailureKind::Rejected);
            assert!(f.message.contains("older"), "{}", f.message);
        }
        other => panic!("{other:?}"),
    }
    let rollback =
        std::fs::read_to_string(dir.path().join("state/rollback.json")).expect("rollback");
    assert!(rollback.contains("\"hello\": 5"), "{rollback}");
    child.kill().expect("kill");
    let _ = child.wait();
}
