//! Signed frames: threats.md rows 6 (replay), 7 (expiry), 10 (oversize frame), plus audience,
//! session, direction and batching.

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD as B64;
use cairn_protocol::keys::{DOMAIN_FRAME_TO_AGENT, DOMAIN_FRAME_TO_CONTROL_PLANE};
use cairn_protocol::messages::{InstallRuntime, LogAck};
use cairn_protocol::{FrameSigner, FrameVerifier, KeyPair, Message, ProtocolError, limits};
use serde_json::json;

use crate::util::*;

/// Signs arbitrary body bytes as a frame, bypassing [`FrameSigner`]'s checks.
pub fn raw_frame(k: &KeyPair, domain: &[u8], body: &[u8]) -> String {
    json!({
        "keyId": k.key_id().as_str(),
        "signature": B64.encode(k.sign(domain, body)),
        "body": B64.encode(body),
    })
    .to_string()
}

fn body(messages: serde_json::Value) -> serde_json::Value {
    json!({
        "id": "0123456789abcdef0123456789abcdef",
        "from": CP, "audience": NODE,
        "issuedAt": NOW, "expiresAt": NOW + 60,
        "messages": messages,
    })
}

#[test]
fn a_signed_command_verifies_once() {
    let frame = cp_signer().sign(NODE, None, status_request(), NOW).unwrap();
    let mut v = agent_verifier();
    let got = v.verify(frame.as_bytes(), NOW + 1).unwrap();
    assert_eq!(got.messages, status_request());
    assert_eq!(got.from, CP);
    assert_eq!(got.id.len(), 32);
    let err = v.verify(frame.as_bytes(), NOW + 2).unwrap_err();
    assert!(matches!(err, ProtocolError::Replay { .. }), "{err}");
    assert!(err.to_string().contains("already received"));
}

#[test]
fn a_replay_after_the_window_is_refused_as_expired() {
    let frame = cp_signer().sign(NODE, None, status_request(), NOW).unwrap();
    let mut v = agent_verifier();
    v.verify(frame.as_bytes(), NOW).unwrap();
    let late = NOW + limits::DEFAULT_FRAME_TTL_SECS + limits::CLOCK_SKEW_SECS + 1;
    let err = v.verify(frame.as_bytes(), late).unwrap_err();
    assert!(matches!(err, ProtocolError::Expired { .. }), "{err}");
}

#[test]
fn expired_and_future_frames_are_refused() {
    let frame = cp_signer().sign(NODE, None, status_request(), NOW).unwrap();
    let late = NOW + limits::DEFAULT_FRAME_TTL_SECS + limits::CLOCK_SKEW_SECS + 1;
    let err = agent_verifier().verify(frame.as_bytes(), late).unwrap_err();
    assert!(matches!(err, ProtocolError::Expired { .. }), "{err}");
    let early = NOW - limits::CLOCK_SKEW_SECS - 1;
    let err = agent_verifier()
        .verify(frame.as_bytes(), early)
        .unwrap_err();
    assert!(matches!(err, ProtocolError::NotYetValid { .. }), "{err}");
}

#[test]
fn a_window_longer_than_the_maximum_is_refused() {
    let mut b = body(json!([{"type": "GET_SERVER_STATUS", "payload": {}}]));
    b["expiresAt"] = (NOW + limits::MAX_FRAME_TTL_SECS + 1).into();
    let frame = raw_frame(&key(1), DOMAIN_FRAME_TO_AGENT, b.to_string().as_bytes());
    let err = agent_verifier().verify(frame.as_bytes(), NOW).unwrap_err();
    assert!(err.to_string().contains("validity window"), "{err}");
}

#[test]
fn a_frame_for_another_node_is_refused() {
    let frame = cp_signer()
        .sign("node-other", None, status_request(), NOW)
        .unwrap();
    let err = agent_verifier().verify(frame.as_bytes(), NOW).unwrap_err();
    assert!(matches!(err, ProtocolError::WrongAudience { .. }), "{err}");
}

#[test]
fn a_frame_signed_by_another_key_is_refused() {
    let rogue = FrameSigner::control_plane(KeyPair::generate().unwrap(), CP);
    let frame = rogue.sign(NODE, None, status_request(), NOW).unwrap();
    let err = agent_verifier().verify(frame.as_bytes(), NOW).unwrap_err();
    assert!(matches!(err, ProtocolError::UnknownKey { .. }), "{err}");
}

#[test]
fn a_tampered_body_is_refused() {
    let frame = cp_signer().sign(NODE, None, status_request(), NOW).unwrap();
    let mut f: cairn_protocol::Frame = serde_json::from_str(&frame).unwrap();
    let mut body = B64.decode(&f.body).unwrap();
    let text = String::from_utf8(body.clone())
        .unwrap()
        .replace(NODE, "node-7f3b");
    body = text.into_bytes();
    f.body = B64.encode(body);
    let err = agent_verifier()
        .verify(serde_json::to_string(&f).unwrap().as_bytes(), NOW)
        .unwrap_err();
    assert!(matches!(err, ProtocolError::BadSignature { .. }), "{err}");
}

#[test]
fn a_frame_signed_for_the_other_direction_is_refused() {
    // Same key, same addressing, but signed under the agent→control-plane domain.
    let b = body(json!([{"type": "GET_SERVER_STATUS", "payload": {}}]));
    let frame = raw_frame(
        &key(1),
        DOMAIN_FRAME_TO_CONTROL_PLANE,
        b.to_string().as_bytes(),
    );
    let err = agent_verifier().verify(frame.as_bytes(), NOW).unwrap_err();
    assert!(matches!(err, ProtocolError::BadSignature { .. }), "{err}");
    // And the same bytes under the right domain pass, so the domain is what failed.
    let frame = raw_frame(&key(1), DOMAIN_FRAME_TO_AGENT, b.to_string().as_bytes());
    agent_verifier().verify(frame.as_bytes(), NOW).unwrap();
}

#[test]
fn messages_sent_the_wrong_way_are_refused() {
    // A validly signed control-plane frame carrying an agent event.
    let b = body(
        json!([{"type": "LOG_ACK", "payload": {"jobId": "j", "seq": 1}},
        {"type": "RUNTIME_INSTALLED", "payload": {"jobId": "j", "seq": 2, "type": "go", "success": true}}]),
    );
    let frame = raw_frame(&key(1), DOMAIN_FRAME_TO_AGENT, b.to_string().as_bytes());
    let err = agent_verifier().verify(frame.as_bytes(), NOW).unwrap_err();
    assert!(
        matches!(
            err,
            ProtocolError::WrongDirection {
                message_type: "RUNTIME_INSTALLED",
                ..
            }
        ),
        "{err}"
    );
    // And the signers refuse to produce them.
    let agent = FrameSigner::agent(key(2), NODE);
    let ack = Message::LogAck(LogAck {
        job_id: "j".into(),
        seq: 1,
    });
    assert!(agent.sign(CP, None, vec![ack], NOW).is_err());
    assert!(
        cp_signer()
            .sign(NODE, None, vec![log_line("j", 1, "x")], NOW)
            .is_err()
    );
    assert!(cp_signer().sign(NODE, None, vec![], NOW).is_err());
}

#[test]
fn frames_must_name_the_current_session() {
    let signer = cp_signer();
    let mut v = agent_verifier();
    v.set_session(Some("s1".into()));
    let none = signer.sign(NODE, None, status_request(), NOW).unwrap();
    let old = signer
        .sign(NODE, Some("s0"), status_request(), NOW)
        .unwrap();
    let good = signer
        .sign(NODE, Some("s1"), status_request(), NOW)
        .unwrap();
    assert!(matches!(
        v.verify(none.as_bytes(), NOW).unwrap_err(),
        ProtocolError::WrongSession { .. }
    ));
    assert!(matches!(
        v.verify(old.as_bytes(), NOW).unwrap_err(),
        ProtocolError::WrongSession { .. }
    ));
    v.verify(good.as_bytes(), NOW).unwrap();
}

#[test]
fn one_agent_frame_carries_a_batch_of_job_events() {
    let agent_key = key(2);
    let signer = FrameSigner::agent(key(2), NODE);
    let batch: Vec<Message> = (1..=200)
        .map(|i| log_line("job-1", i, &format!("line {i}")))
        .collect();
    let frame = signer.sign(CP, Some("s1"), batch.clone(), NOW).unwrap();
    let mut v = FrameVerifier::for_control_plane(agent_key.public().clone(), NODE, CP);
    v.set_session(Some("s1".into()));
    let got = v.verify(frame.as_bytes(), NOW).unwrap();
    assert_eq!(got.messages, batch);
    assert_eq!(got.messages[199].job_event(), Some(("job-1", 200)));
    // Another node's frame, even signed with this node's key, is refused (`from` is signed).
    let other = FrameSigner::agent(key(2), "node-other")
        .sign(CP, Some("s1"), vec![log_line("j", 1, "x")], NOW)
        .unwrap();
    assert!(v.verify(other.as_bytes(), NOW).is_err());
}

#[test]
fn the_replay_cache_stays_bounded_over_time() {
    let mut signer = cp_signer();
    signer.set_ttl(10);
    let mut v = agent_verifier();
    for i in 0..1_500u64 {
        let frame = signer.sign(NODE, None, status_request(), NOW + i).unwrap();
        v.verify(frame.as_bytes(), NOW + i).unwrap();
    }
    assert!(
        v.replay_entries() <= 1024,
        "{} ids held",
        v.replay_entries()
    );
}

#[test]
fn a_20_mib_frame_is_refused_at_the_cap_before_parsing() {
    let huge = vec![b'['; 20 * 1024 * 1024];
    let start = std::time::Instant::now();
    let err = agent_verifier().verify(&huge, NOW).unwrap_err();
    assert!(
        matches!(err, ProtocolError::TooLarge { limit, .. } if limit == limits::MAX_FRAME_BYTES),
        "{err}"
    );
    assert!(start.elapsed().as_millis() < 100);
}

#[test]
fn a_command_carries_its_signed_bundle_end_to_end() {
    let k = key(1);
    let install = Message::InstallRuntime(InstallRuntime {
        job_id: "job-1".into(),
        kind: "redis".into(),
        version: None,
        params: Default::default(),
        plan: None,
        action: None,
        bundle: bundle(&k, 5),
    });
    let frame = cp_signer().sign(NODE, None, vec![install], NOW).unwrap();
    let got = agent_verifier().verify(frame.as_bytes(), NOW).unwrap();
    let Message::InstallRuntime(cmd) = &got.messages[0] else {
        panic!("wrong message")
    };
    let v = cmd.bundle.verify(&ring(&k), NOW).unwrap();
    assert_eq!(v.recipe().bytes, SCRIPT);
}
