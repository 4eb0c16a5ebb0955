//! threats.md row 9: malformed input yields a structured error, never a panic or a stack overflow.

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD as B64;
use cairn_protocol::keys::{DOMAIN_BUNDLE, DOMAIN_FRAME_TO_AGENT};
use cairn_protocol::messages::Hello;
use cairn_protocol::{Message, ProtocolError, SignedBundle, parse_bare_message, strict_json};

use crate::frames::raw_frame;
use crate::util::*;

fn nested(depth: usize) -> String {
    format!("{}{}", "[".repeat(depth), "]".repeat(depth))
}

fn signed_body(text: &str) -> String {
    raw_frame(&key(1), DOMAIN_FRAME_TO_AGENT, text.as_bytes())
}

const GOOD_BODY_HEAD: &str = r#""id":"0123456789abcdef0123456789abcdef","from":"control-plane","issuedAt":1735689600,"expiresAt":1735689660"#;

#[test]
fn invalid_json_is_a_json_error() {
    for bad in [
        "",
        "{",
        "nul",
        "{\"keyId\":}",
        "[1,2",
        "\"\\ud800\"",
        "{} {}",
        "\u{feff}{}",
    ] {
        let err = agent_verifier().verify(bad.as_bytes(), NOW).unwrap_err();
        assert!(matches!(err, ProtocolError::Json { .. }), "{bad:?}: {err}");
    }
    let err = agent_verifier()
        .verify(&[0xff, 0xfe, 0x00], NOW)
        .unwrap_err();
    assert!(matches!(err, ProtocolError::Json { .. }), "{err}");
}

#[test]
fn duplicate_keys_are_refused_in_the_envelope() {
    let frame = cp_signer().sign(NODE, None, status_request(), NOW).unwrap();
    let doubled = frame.replacen('{', "{\"keyId\":\"0000000000000000\",", 1);
    let err = agent_verifier()
        .verify(doubled.as_bytes(), NOW)
        .unwrap_err();
    assert!(
        matches!(err, ProtocolError::DuplicateKey { ref key, .. } if key == "keyId"),
        "{err}"
    );
}

#[test]
fn duplicate_keys_are_refused_in_signed_bytes() {
    // Validly signed, but "audience" appears twice: parsers could disagree on who it is for.
    let body = format!(
        r#"{{{GOOD_BODY_HEAD},"audience":"node-other","audience":"{NODE}","messages":[{{"type":"GET_SERVER_STATUS","payload":{{}}}}]}}"#
    );
    let err = agent_verifier()
        .verify(signed_body(&body).as_bytes(), NOW)
        .unwrap_err();
    assert!(
        matches!(err, ProtocolError::DuplicateKey { ref key, .. } if key == "audience"),
        "{err}"
    );
    // Also deep inside a payload.
    let body = format!(
        r#"{{{GOOD_BODY_HEAD},"audience":"{NODE}","messages":[{{"type":"CANCEL_JOB","payload":{{"jobId":"a","jobId":"b"}}}}]}}"#
    );
    let err = agent_verifier()
        .verify(signed_body(&body).as_bytes(), NOW)
        .unwrap_err();
    assert!(matches!(err, ProtocolError::DuplicateKey { .. }), "{err}");
}

#[test]
fn duplicate_keys_are_refused_in_a_signed_bundle_header() {
    let k = key(1);
    let mut b = bundle(&k, 5);
    let header = String::from_utf8(B64.decode(&b.header).unwrap()).unwrap();
    let doubled = header.replacen("\"version\":5", "\"version\":5,\"version\":6", 1);
    assert_ne!(header, doubled);
    b.header = B64.encode(&doubled);
    b.signature = B64.encode(k.sign(DOMAIN_BUNDLE, doubled.as_bytes()));
    let err = b.verify(&ring(&k), NOW).unwrap_err();
    assert!(
        matches!(err, ProtocolError::DuplicateKey { ref key, .. } if key == "version"),
        "{err}"
    );
    // And in the bundle's file map.
    let text =
        bundle(&k, 5)
            .to_json()
            .replacen("\"files\":{", "\"files\":{\"redis.rhai\":\"AAAA\",", 1);
    let err = SignedBundle::from_bytes(text.as_bytes()).unwrap_err();
    assert!(matches!(err, ProtocolError::DuplicateKey { .. }), "{err}");
}

#[test]
fn an_unknown_message_type_is_a_structured_error() {
    let body = format!(
        r#"{{{GOOD_BODY_HEAD},"audience":"{NODE}","messages":[{{"type":"RUN_SHELL","payload":{{"cmd":"id"}}}}]}}"#
    );
    let err = agent_verifier()
        .verify(signed_body(&body).as_bytes(), NOW)
        .unwrap_err();
    assert!(matches!(err, ProtocolError::Malformed { .. }), "{err}");
    assert!(err.to_string().contains("RUN_SHELL"), "{err}");
    let err = parse_bare_message(br#"{"type":"RUN_SHELL","payload":{}}"#).unwrap_err();
    assert!(err.to_string().contains("unknown variant"), "{err}");
}

#[test]
fn unknown_envelope_fields_are_refused() {
    let frame = cp_signer().sign(NODE, None, status_request(), NOW).unwrap();
    let extra = frame.replacen('{', "{\"alg\":\"none\",", 1);
    assert!(matches!(
        agent_verifier().verify(extra.as_bytes(), NOW).unwrap_err(),
        ProtocolError::Malformed { .. }
    ));
}

#[test]
fn ten_thousand_deep_nesting_is_refused_without_overflowing_the_stack() {
    // A small stack proves the parser does not recurse 10,000 times.
    let result = std::thread::Builder::new()
        .stack_size(256 * 1024)
        .spawn(|| {
            let deep = nested(10_000);
            let e1 = agent_verifier().verify(deep.as_bytes(), NOW).unwrap_err();
            let e2 = SignedBundle::from_bytes(deep.as_bytes()).unwrap_err();
            let e3 =
                parse_bare_message(format!("{{\"type\":\"HELLO\",\"payload\":{deep}}}").as_bytes())
                    .unwrap_err();
            let deep_obj = format!("{}1{}", "{\"a\":".repeat(10_000), "}".repeat(10_000));
            let e4 = strict_json::parse_value(deep_obj.as_bytes(), "test", usize::MAX).unwrap_err();
            // Inside validly signed bytes too.
            let body = format!(r#"{{{GOOD_BODY_HEAD},"audience":"{NODE}","messages":{deep}}}"#);
            let e5 = agent_verifier()
                .verify(signed_body(&body).as_bytes(), NOW)
                .unwrap_err();
            [e1, e2, e3, e4, e5].map(|e| matches!(e, ProtocolError::TooDeep { .. }))
        })
        .unwrap()
        .join()
        .unwrap();
    assert_eq!(result, [true; 5]);
}

#[test]
fn moderate_nesting_is_fine() {
    strict_json::parse_value(
        nested(cairn_protocol::limits::MAX_JSON_DEPTH).as_bytes(),
        "t",
        1 << 20,
    )
    .unwrap();
    assert!(
        strict_json::parse_value(
            nested(cairn_protocol::limits::MAX_JSON_DEPTH + 1).as_bytes(),
            "t",
            1 << 20
        )
        .is_err()
    );
}

#[test]
fn only_pre_session_messages_may_arrive_bare() {
    let hello = Message::Hello(Hello {
        node_id: NODE.into(),
        key_id: None,
        agent_version: "0.1.0".into(),
        protocol_version: 1,
        detectors_hash: None,
    });
    let text = cairn_protocol::bare_message_json(&hello).unwrap();
    assert_eq!(parse_bare_message(text.as_bytes()).unwrap(), hello);
    let err = parse_bare_message(br#"{"type":"GET_SERVER_STATUS","payload":{}}"#).unwrap_err();
    assert!(err.to_string().contains("signed frame"), "{err}");
    let err = parse_bare_message(br#"{"type":"HELLO","payload":{"nodeId":1}}"#).unwrap_err();
    assert!(matches!(err, ProtocolError::Malformed { .. }), "{err}");
}
