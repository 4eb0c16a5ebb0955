//! Fixtures shared by the fuzz targets: fixed keys, one valid bundle and one valid frame each
//! way, and a way to turn fuzzer bytes into edits of those valid inputs, so the fuzzer reaches
//! the checks behind the parsers (signatures, hashes, windows, audiences) and not only the
//! JSON reader.

use std::sync::OnceLock;

use cairn_protocol::messages::{CancelJob, InfrastructureLog, LogStream};
use cairn_protocol::{
    Capabilities, FrameSigner, FrameVerifier, KeyPair, KeyRing, Message, UnsignedBundle,
};

/// A fixed "now" (2025-01-01T00:00:00Z).
pub const NOW: u64 = 1_735_689_600;
pub const NODE: &str = "node-7f3a0c1d2e4b";
pub const CP: &str = "control-plane";

pub fn cp_key() -> KeyPair {
    KeyPair::from_secret_bytes(&[1; 32]).expect("key")
}

pub fn agent_key() -> KeyPair {
    KeyPair::from_secret_bytes(&[2; 32]).expect("key")
}

pub fn cp_ring() -> KeyRing {
    KeyRing::from(cp_key().public().clone())
}

/// A verifier as the agent holds it (frames from the control plane).
pub fn agent_side() -> FrameVerifier {
    FrameVerifier::for_agent(cp_ring(), CP, NODE)
}

/// A verifier as the control plane holds it for one agent connection.
pub fn cp_side() -> FrameVerifier {
    FrameVerifier::for_control_plane(agent_key().public().clone(), NODE, CP)
}

pub struct Valid {
    pub bundle: Vec<u8>,
    pub to_agent: Vec<u8>,
    pub to_cp: Vec<u8>,
}

/// Valid inputs, made once.
pub fn valid() -> &'static Valid {
    static V: OnceLock<Valid> = OnceLock::new();
    V.get_or_init(|| {
        let bundle = UnsignedBundle {
            recipe_id: "redis".into(),
            version: 5,
            capabilities: Capabilities {
                programs: vec!["apt-get".into()],
                paths: vec!["/etc/redis/".into()],
                services: vec!["redis-server".into()],
            },
            files: vec![(
                "redis.rhai".into(),
                b"const RECIPE = #{ id: \"redis\", version: 5 };\nfn install(p) { run(\"apt-get\", []); }\n".to_vec(),
            )],
            issued_at: NOW - 60,
            expires_at: NOW + 86_400,
        }
        .sign(&cp_key())
        .expect("sign bundle");
        let to_agent = FrameSigner::control_plane(cp_key(), CP)
            .sign(
                NODE,
                None,
                vec![Message::CancelJob(CancelJob {
                    job_id: "job-1".into(),
                })],
                NOW,
            )
            .expect("sign frame");
        let to_cp = FrameSigner::agent(agent_key(), NODE)
            .sign(
                CP,
                None,
                vec![Message::InfrastructureLog(InfrastructureLog {
                    job_id: "job-1".into(),
                    seq: 1,
                    message: "hello\nworld".into(),
                    stream: LogStream::Stdout,
                })],
                NOW,
            )
            .expect("sign frame");
        Valid {
            bundle: bundle.to_json().into_bytes(),
            to_agent: to_agent.into_bytes(),
            to_cp: to_cp.into_bytes(),
        }
    })
}

/// Applies fuzzer bytes as edits to `base`: each 4-byte group is (op, position high, position
/// low, value): flip bits, overwrite, insert, delete, or truncate.
pub fn mutate(base: &[u8], edits: &[u8]) -> Vec<u8> {
    let mut out = base.to_vec();
    for e in edits.chunks_exact(4) {
        if out.is_empty() {
            break;
        }
        let pos = (usize::from(e[1]) << 8 | usize::from(e[2])) % out.len();
        match e[0] % 5 {
            0 => out[pos] ^= e[3] | 1,
            1 => out[pos] = e[3],
            2 => out.insert(pos, e[3]),
            3 => {
                out.remove(pos);
            }
            _ => out.truncate(pos),
        }
    }
    out
}
