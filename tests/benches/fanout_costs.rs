//! What one agent's share of a status fan-out costs in CPU, operation by operation, with the
//! code the control plane and the agents run (issue 8: where the 10,000-agent fan-out's time
//! goes). Single-threaded; each figure is this thread's CPU time per operation (and the wall
//! time beside it, which grows with the machine's load).
//!
//! ```sh
//! cargo bench -p cairn-e2e --bench fanout_costs
//! ```

#![allow(clippy::print_stdout)]

use std::hint::black_box;
use std::time::Instant;

use cairn_e2e::sim::SimAgent;
use cairn_e2e::thread_cpu_secs;
use cairn_protocol::dashboard::{DashboardEvent, DashboardEventBody};
use cairn_protocol::messages::GetServerStatus;
use cairn_protocol::{FrameSigner, FrameVerifier, KeyPair, KeyRing, Message, unix_now};

const N: u32 = 10_000;

fn time(what: &str, mut f: impl FnMut()) -> f64 {
    for _ in 0..N / 10 {
        f();
    }
    let (cpu, wall) = (thread_cpu_secs(), Instant::now());
    for _ in 0..N {
        f();
    }
    let us = (thread_cpu_secs() - cpu) * 1e6 / f64::from(N);
    let wall_us = wall.elapsed().as_secs_f64() * 1e6 / f64::from(N);
    println!("| {what} | {us:.1} µs | {wall_us:.1} µs |");
    us
}

fn main() {
    let cp_key = KeyPair::generate().expect("key");
    let agent_key = KeyPair::generate().expect("key");
    let cp_public = cp_key.public().clone();
    let agent_public = agent_key.public().clone();
    let node = "node-1";
    let session = "0123456789abcdef0123456789abcdef";
    let cp = FrameSigner::control_plane(cp_key, "control-plane");
    let agent = FrameSigner::agent(agent_key, node);
    let request = [Message::GetServerStatus(GetServerStatus {
        request_id: Some("r".repeat(32)),
        same_detectors: true,
        detectors_hash: Some("a".repeat(64)),
        ..GetServerStatus::default()
    })];
    let status = SimAgent::status(Some("r".repeat(32)));
    println!(
        "| operation (one agent's share of a fan-out) | CPU per operation | wall |\n|---|---:|---:|"
    );

    // Control plane: sign the shared request for this connection.
    time(
        "control plane: sign the `sameDetectors` request (`sign_slice`)",
        || {
            black_box(
                cp.sign_slice(node, Some(session), &request, unix_now())
                    .expect("sign"),
            );
        },
    );
    // Agent: verify it, sign the answer.
    let mut agent_verifier =
        FrameVerifier::for_agent(KeyRing::from(cp_public.clone()), "control-plane", node);
    agent_verifier.set_session(Some(session.to_owned()));
    let requests: Vec<String> = (0..N + N / 10)
        .map(|_| {
            cp.sign_slice(node, Some(session), &request, unix_now())
                .expect("sign")
        })
        .collect();
    let mut i = 0;
    time("agent: verify the request frame", || {
        black_box(
            agent_verifier
                .verify(requests[i].as_bytes(), unix_now())
                .expect("verify"),
        );
        i += 1;
    });
    time("agent: sign the `SERVER_STATUS` frame", || {
        black_box(
            agent
                .sign_slice(
                    "control-plane",
                    Some(session),
                    std::slice::from_ref(&status),
                    unix_now(),
                )
                .expect("sign"),
        );
    });
    // Control plane: verify the answer, turn it into what is stored and shown.
    let answers: Vec<String> = (0..N + N / 10)
        .map(|_| {
            agent
                .sign_slice(
                    "control-plane",
                    Some(session),
                    std::slice::from_ref(&status),
                    unix_now(),
                )
                .expect("sign")
        })
        .collect();
    println!(
        "| (a `SERVER_STATUS` frame is {} bytes) | |",
        answers[0].len()
    );
    let mut cp_verifier =
        FrameVerifier::for_control_plane(agent_public.clone(), node, "control-plane");
    cp_verifier.set_session(Some(session.to_owned()));
    let mut i = 0;
    time(
        "control plane: verify the answer frame (`FrameVerifier::verify`)",
        || {
            black_box(
                cp_verifier
                    .verify(answers[i].as_bytes(), unix_now())
                    .expect("verify"),
            );
            i += 1;
        },
    );
    let body = answers[0].as_bytes();
    let frame: serde_json::Value = serde_json::from_slice(body).expect("json");
    let signed = {
        use base64::Engine as _;
        base64::engine::general_purpose::STANDARD
            .decode(frame["body"].as_str().expect("body"))
            .expect("b64")
    };
    let sig = {
        use base64::Engine as _;
        base64::engine::general_purpose::STANDARD
            .decode(frame["signature"].as_str().expect("sig"))
            .expect("b64")
    };
    time(
        "… of which the Ed25519 signature check (`PublicKey::verify`)",
        || {
            assert!(agent_public.verify(
                cairn_protocol::keys::DOMAIN_FRAME_TO_CONTROL_PLANE,
                &signed,
                &sig
            ));
        },
    );
    time(
        "… of which strict JSON of the frame body (`strict_json::parse`)",
        || {
            black_box(
                cairn_protocol::strict_json::parse::<serde_json::Value>(&signed, "b", 1 << 20)
                    .expect("parse"),
            );
        },
    );
    let Message::ServerStatus(st) = &status else {
        unreachable!()
    };
    time(
        "control plane: the status as JSON value (`to_value`) and its copy for the dashboards",
        || {
            let v = serde_json::to_value(st).expect("value");
            black_box(v.clone());
            black_box(v);
        },
    );
    let v = serde_json::to_value(st).expect("value");
    time(
        "control plane: the dashboards' `SERVER_STATUS` text (a `DashboardEvent` written)",
        || {
            let body = DashboardEventBody::ServerStatus(st.clone());
            black_box(serde_json::to_string(&DashboardEvent::new(node, None, body)).expect("text"));
        },
    );
    time(
        "control plane: the stored text (`Value::to_string`)",
        || {
            black_box(v.to_string());
        },
    );
}
