//! Property tests: random mutations (bit flips, truncations, insertions, deletions, overwrites)
//! of a valid bundle and a valid frame are rejected — or, when the mutation leaves the JSON
//! meaning unchanged (say, a space inserted between tokens), yield exactly the original
//! content — and never panic.
//!
//! Case count: `PROPTEST_CASES` (default 1000). For a long run:
//! `PROPTEST_CASES=100000 cargo test --release -p cairn-protocol --test it props`.

use std::sync::OnceLock;
use std::sync::atomic::{AtomicU64, Ordering};

use cairn_protocol::{SignedBundle, VerifiedFrame, strict_json};
use proptest::prelude::*;
use proptest::sample::Index;

use crate::util::*;

#[derive(Debug, Clone)]
enum Mutation {
    Flip(Index, u8),
    Truncate(Index),
    Insert(Index, Vec<u8>),
    Delete(Index, usize),
    Overwrite(Index, u8),
}

fn mutation() -> impl Strategy<Value = Mutation> {
    prop_oneof![
        (any::<Index>(), 0u8..8).prop_map(|(i, b)| Mutation::Flip(i, b)),
        any::<Index>().prop_map(Mutation::Truncate),
        (any::<Index>(), prop::collection::vec(any::<u8>(), 1..16))
            .prop_map(|(i, v)| Mutation::Insert(i, v)),
        (any::<Index>(), 1usize..64).prop_map(|(i, n)| Mutation::Delete(i, n)),
        (any::<Index>(), any::<u8>()).prop_map(|(i, b)| Mutation::Overwrite(i, b)),
    ]
}

fn apply(original: &[u8], mutations: &[Mutation]) -> Vec<u8> {
    let mut b = original.to_vec();
    for m in mutations {
        if b.is_empty() {
            break;
        }
        match m {
            Mutation::Flip(i, bit) => {
                let i = i.index(b.len());
                b[i] ^= 1 << bit;
            }
            Mutation::Truncate(i) => b.truncate(i.index(b.len())),
            Mutation::Insert(i, v) => {
                let i = i.index(b.len() + 1);
                b.splice(i..i, v.iter().copied());
            }
            Mutation::Delete(i, n) => {
                let i = i.index(b.len());
                let end = (i + n).min(b.len());
                b.drain(i..end);
            }
            Mutation::Overwrite(i, byte) => {
                let i = i.index(b.len());
                b[i] = *byte;
            }
        }
    }
    b
}

fn cases() -> u32 {
    std::env::var("PROPTEST_CASES")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(1000)
}

struct Fixture {
    bundle: Vec<u8>,
    frame: Vec<u8>,
    frame_messages: VerifiedFrame,
}

fn fixture() -> &'static Fixture {
    static F: OnceLock<Fixture> = OnceLock::new();
    F.get_or_init(|| {
        let k = key(1);
        let frame = cp_signer()
            .sign(NODE, None, vec![cancel("job-1"), cancel("job-2")], NOW)
            .unwrap();
        let frame_messages = agent_verifier().verify(frame.as_bytes(), NOW).unwrap();
        Fixture {
            bundle: bundle(&k, 5).to_json().into_bytes(),
            frame: frame.into_bytes(),
            frame_messages,
        }
    })
}

static BUNDLE_RUNS: AtomicU64 = AtomicU64::new(0);
static BUNDLE_EQUIVALENT: AtomicU64 = AtomicU64::new(0);
static FRAME_RUNS: AtomicU64 = AtomicU64::new(0);
static FRAME_EQUIVALENT: AtomicU64 = AtomicU64::new(0);

proptest! {
    #![proptest_config(ProptestConfig { cases: cases(), failure_persistence: None, ..ProptestConfig::default() })]

    #[test]
    fn mutated_bundles_are_rejected(ms in prop::collection::vec(mutation(), 1..4)) {
        let f = fixture();
        let mutated = apply(&f.bundle, &ms);
        prop_assume!(mutated != f.bundle);
        BUNDLE_RUNS.fetch_add(1, Ordering::Relaxed);
        let k = key(1);
        let result = SignedBundle::from_bytes(&mutated).and_then(|b| b.verify(&ring(&k), NOW));
        if let Ok(v) = result {
            // Only a meaning-preserving change (whitespace) may pass, and then nothing changed.
            BUNDLE_EQUIVALENT.fetch_add(1, Ordering::Relaxed);
            let original = SignedBundle::from_bytes(&f.bundle).unwrap().verify(&ring(&k), NOW).unwrap();
            prop_assert_eq!(v.header(), original.header());
            prop_assert_eq!(v.files(), original.files());
        }
    }

    #[test]
    fn mutated_frames_are_rejected(ms in prop::collection::vec(mutation(), 1..4)) {
        let f = fixture();
        let mutated = apply(&f.frame, &ms);
        prop_assume!(mutated != f.frame);
        FRAME_RUNS.fetch_add(1, Ordering::Relaxed);
        if let Ok(v) = agent_verifier().verify(&mutated, NOW) {
            FRAME_EQUIVALENT.fetch_add(1, Ordering::Relaxed);
            prop_assert_eq!(v, f.frame_messages.clone());
        }
    }

    #[test]
    fn arbitrary_bytes_never_panic_the_parsers(bytes in prop::collection::vec(any::<u8>(), 0..512)) {
        let _ = strict_json::parse_value(&bytes, "fuzz", 1 << 20);
        let _ = cairn_protocol::parse_bare_message(&bytes);
        let _ = agent_verifier().verify(&bytes, NOW);
        let _ = SignedBundle::from_bytes(&bytes);
    }
}

#[test]
fn zz_report_mutation_counts() {
    // Printed for the record when run with --nocapture after the property tests.
    eprintln!(
        "bundle mutations: {} run, {} meaning-preserving accepted; frame mutations: {} run, {} meaning-preserving accepted",
        BUNDLE_RUNS.load(Ordering::Relaxed),
        BUNDLE_EQUIVALENT.load(Ordering::Relaxed),
        FRAME_RUNS.load(Ordering::Relaxed),
        FRAME_EQUIVALENT.load(Ordering::Relaxed),
    );
}
