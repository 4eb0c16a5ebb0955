//! Shared fixtures: keys, a sample bundle, a fixed clock.

use cairn_protocol::messages::{CancelJob, GetServerStatus, InfrastructureLog, LogStream};
use cairn_protocol::{
    Capabilities, FrameSigner, FrameVerifier, KeyPair, KeyRing, Message, SignedBundle,
    UnsignedBundle,
};

/// A fixed "now" (2025-01-01T00:00:00Z).
pub const NOW: u64 = 1_735_689_600;
pub const DAY: u64 = 86_400;
pub const NODE: &str = "node-7f3a";
pub const CP: &str = "control-plane";

pub fn key(seed: u8) -> KeyPair {
    KeyPair::from_secret_bytes(&[seed; 32]).unwrap()
}

pub fn ring(k: &KeyPair) -> KeyRing {
    KeyRing::from(k.public().clone())
}

pub const SCRIPT: &[u8] = b"let RECIPE = #{ id: \"redis\", version: 5 };\nfn install(p) { run(\"apt-get\", [\"install\", \"-y\", \"redis-server\"]); }\n";
pub const TEMPLATE: &[u8] = b"bind 127.0.0.1\nport {{ port }}\n";

pub fn unsigned(version: u64) -> UnsignedBundle {
    UnsignedBundle {
        recipe_id: "redis".into(),
        version,
        capabilities: Capabilities {
            programs: vec!["apt-get".into(), "systemctl".into()],
            paths: vec!["/etc/redis/".into()],
            services: vec!["redis-server".into()],
        },
        files: vec![
            ("redis.rhai".into(), SCRIPT.to_vec()),
            ("redis.conf.j2".into(), TEMPLATE.to_vec()),
        ],
        issued_at: NOW,
        expires_at: NOW + 30 * DAY,
    }
}

pub fn bundle(k: &KeyPair, version: u64) -> SignedBundle {
    unsigned(version).sign(k).unwrap()
}

pub fn cp_signer() -> FrameSigner {
    FrameSigner::control_plane(key(1), CP)
}

pub fn agent_verifier() -> FrameVerifier {
    FrameVerifier::for_agent(ring(&key(1)), CP, NODE)
}

pub fn status_request() -> Vec<Message> {
    vec![Message::GetServerStatus(GetServerStatus::default())]
}

pub fn cancel(job: &str) -> Message {
    Message::CancelJob(CancelJob { job_id: job.into() })
}

pub fn log_line(job: &str, seq: u64, text: &str) -> Message {
    Message::InfrastructureLog(InfrastructureLog {
        job_id: job.into(),
        seq,
        message: text.into(),
        stream: LogStream::Stdout,
    })
}
