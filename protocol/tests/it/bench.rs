//! Timings of signing and verifying (ignored by default). Run:
//! `cargo test --release -p cairn-protocol --test it bench -- --ignored --nocapture`

use std::time::Instant;

use cairn_protocol::{Capabilities, FrameSigner, FrameVerifier, Message, UnsignedBundle};

use crate::util::*;

fn time<T>(label: &str, n: u32, mut f: impl FnMut(u32) -> T) {
    let start = Instant::now();
    for i in 0..n {
        std::hint::black_box(f(i));
    }
    let per = start.elapsed() / n;
    eprintln!("{label:<48} {per:>10.2?} per op ({n} ops)");
}

#[test]
#[ignore = "benchmark; run with --ignored --nocapture (in --release)"]
fn bench_sign_and_verify() {
    let n = 2000;
    // One command frame.
    let signer = cp_signer();
    time("sign command frame (GET_SERVER_STATUS)", n, |_| {
        signer.sign(NODE, None, status_request(), NOW).unwrap()
    });
    let frames: Vec<String> = (0..n)
        .map(|_| signer.sign(NODE, None, status_request(), NOW).unwrap())
        .collect();
    let mut v = agent_verifier();
    time("verify command frame", n, |i| {
        v.verify(frames[i as usize].as_bytes(), NOW).unwrap()
    });

    // One agent frame batching 100 log lines.
    let agent = FrameSigner::agent(key(2), NODE);
    let batch: Vec<Message> = (1..=100)
        .map(|i| {
            log_line(
                "job-1",
                i,
                "Setting up redis-server (5:7.0.15-1~deb12u1) ...",
            )
        })
        .collect();
    time("sign agent frame (100 log lines)", n, |_| {
        agent.sign(CP, None, batch.clone(), NOW).unwrap()
    });
    let frames: Vec<String> = (0..n)
        .map(|_| agent.sign(CP, None, batch.clone(), NOW).unwrap())
        .collect();
    eprintln!("  (frame of 100 log lines: {} bytes)", frames[0].len());
    let mut cv = FrameVerifier::for_control_plane(key(2).public().clone(), NODE, CP);
    time("verify agent frame (100 log lines)", n, |i| {
        cv.verify(frames[i as usize].as_bytes(), NOW).unwrap()
    });

    // A 64 KiB bundle.
    let k = key(1);
    let script: Vec<u8> = (0..64 * 1024).map(|i| b"abcdefgh\n"[i % 9]).collect();
    let unsigned = UnsignedBundle {
        recipe_id: "big".into(),
        version: 1,
        capabilities: Capabilities::default(),
        files: vec![("big.rhai".into(), script)],
        issued_at: NOW,
        expires_at: NOW + DAY,
    };
    time("sign 64 KiB bundle", 500, |_| unsigned.sign(&k).unwrap());
    let bundle = unsigned.sign(&k).unwrap();
    let json = bundle.to_json();
    eprintln!("  (64 KiB bundle: {} bytes as JSON)", json.len());
    time("verify 64 KiB bundle (from JSON bytes)", 500, |_| {
        cairn_protocol::SignedBundle::from_bytes(json.as_bytes())
            .unwrap()
            .verify(&ring(&k), NOW)
            .unwrap()
    });
}
