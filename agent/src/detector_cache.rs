//! The detector bundles kept across connections, so a reconnection does not bring them again
//! (docs/protocol.md "Detectors kept across connections").
//!
//! A `GET_SERVER_STATUS` that carries bundles replaces what is kept — if every one of them
//! verifies when it arrives (signature by a trusted control-plane key, manifest, expiry, not
//! older than a version this agent ran); otherwise nothing is kept. `HELLO` names what is kept
//! by its [`cairn_protocol::detectors_hash`]; a later `sameDetectors` request naming that hash
//! runs the kept bundles, each verified **again** when it runs ([`crate::status`]), so a kept
//! bundle that has expired since, or that a newer version has since superseded, is refused like
//! any other. The cache lives in memory: an agent restart gets the bundles again.

use cairn_protocol::SignedBundle;

use crate::runner::{JobContext, check_not_older};

/// The kept detector bundles and their hash.
#[derive(Debug, Default)]
pub struct DetectorCache {
    bundles: Vec<SignedBundle>,
    hash: Option<String>,
}

/// A `sameDetectors` request named bundles this agent does not hold.
#[derive(Debug, PartialEq, Eq)]
pub struct NotHeld {
    pub wanted: String,
}

impl DetectorCache {
    /// The hash of the kept bundles, for `HELLO`; `None` when nothing is kept.
    pub fn hash(&self) -> Option<&str> {
        self.hash.as_deref()
    }

    /// Keeps `bundles` (the detectors of a full request) if every one verifies at `now`;
    /// otherwise forgets what was kept. Returns whether they were kept.
    pub fn store(&mut self, bundles: &[SignedBundle], ctx: &JobContext, now: u64) -> bool {
        let all_good = bundles.iter().all(|b| {
            b.verify(&ctx.keys, now)
                .is_ok_and(|v| check_not_older(&ctx.rollback, v.header()).is_ok())
        });
        if all_good {
            self.bundles = bundles.to_vec();
            self.hash = Some(cairn_protocol::detectors_hash(bundles));
        } else {
            self.forget();
        }
        all_good
    }

    /// The kept bundles for a `sameDetectors` request naming `wanted` (`None`: a control plane
    /// that names none, which sends `sameDetectors` only after bundles in the same
    /// connection). They still have to be verified before they run.
    pub fn bundles_for(&self, wanted: Option<&str>) -> Result<Vec<SignedBundle>, NotHeld> {
        match (wanted, self.hash.as_deref()) {
            (None, _) => Ok(self.bundles.clone()),
            (Some(w), Some(held)) if w == held => Ok(self.bundles.clone()),
            (Some(w), _) => Err(NotHeld {
                wanted: w.to_owned(),
            }),
        }
    }

    /// Drops what is kept.
    pub fn forget(&mut self) {
        self.bundles.clear();
        self.hash = None;
    }
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use cairn_protocol::messages::GetServerStatus;
    use cairn_protocol::{Capabilities, KeyPair, KeyRing, RollbackStore, UnsignedBundle};

    use super::*;

    const DETECTOR: &str = r#"
const RECIPE = #{
    id: "hello",
    title: "Hello",
    category: "runtime",
    version: 1,
    description: "Detected without looking.",
    estimated_size_mb: 3,
    os: [#{ id: "debian", versions: ["11", "12", "13"] }],
    params: [],
    capabilities: #{ programs: [], paths: [], services: [] },
};

fn detect() {
    #{ installed: true, version: "1.2.3", running: false }
}

fn install(params) {
    #{ version: "1.2.3" }
}
"#;

    fn bundle(key: &KeyPair, issued_at: u64, expires_at: u64) -> SignedBundle {
        UnsignedBundle {
            recipe_id: "hello".to_owned(),
            version: 1,
            capabilities: Capabilities::default(),
            files: vec![("hello.rhai".to_owned(), DETECTOR.as_bytes().to_vec())],
            issued_at,
            expires_at,
        }
        .sign(key)
        .expect("sign")
    }

    /// The `cairn-agent-worker` binary next to this test's (`target/debug/deps/..` →
    /// `target/debug`): detectors run in it.
    fn built_agent() -> std::path::PathBuf {
        let exe = std::env::current_exe().expect("test executable");
        let bin = exe
            .parent()
            .and_then(|deps| deps.parent())
            .expect("target dir")
            .join("cairn-agent-worker");
        assert!(
            bin.exists(),
            "{} does not exist: build it (cargo build -p cairn-agent)",
            bin.display()
        );
        bin
    }

    fn context(key: &KeyPair, dir: &std::path::Path) -> JobContext {
        JobContext {
            keys: KeyRing::from(key.public().clone()),
            rollback: RollbackStore::open(&dir.join("rollback.json")).expect("rollback store"),
            workers: crate::supervise::Workers {
                program: built_agent(),
                ..Default::default()
            },
            journal_dir: dir.to_owned(),
            plan_only: true,
            detectors: Default::default(),
            services: Default::default(),
        }
    }

    #[test]
    fn keeps_only_bundles_that_verify_and_names_them_by_hash() {
        let tmp = tempfile::tempdir().expect("tempdir");
        let key = KeyPair::generate().expect("key");
        let ctx = context(&key, tmp.path());
        let now = cairn_protocol::unix_now();
        let good = bundle(&key, now, now + 3600);
        let mut cache = DetectorCache::default();
        assert!(cache.store(std::slice::from_ref(&good), &ctx, now));
        let hash = cairn_protocol::detectors_hash(std::slice::from_ref(&good));
        assert_eq!(cache.hash(), Some(hash.as_str()));
        assert_eq!(cache.bundles_for(Some(&hash)), Ok(vec![good.clone()]));
        assert_eq!(
            cache.bundles_for(Some("00")),
            Err(NotHeld {
                wanted: "00".into()
            })
        );

        // One bundle signed by a key this agent does not trust: nothing is kept.
        let foreign = bundle(&KeyPair::generate().expect("key"), now, now + 3600);
        assert!(!cache.store(&[good, foreign], &ctx, now));
        assert_eq!(cache.hash(), None);
        assert!(cache.bundles_for(Some(&hash)).is_err());
    }

    #[test]
    fn an_expired_kept_bundle_is_refused_when_it_runs() {
        let tmp = tempfile::tempdir().expect("tempdir");
        let key = KeyPair::generate().expect("key");
        let ctx = std::sync::Arc::new(context(&key, tmp.path()));
        let issued = cairn_protocol::unix_now() - 10_000;
        let expires = issued + 100;
        let b = bundle(&key, issued, expires);
        let mut cache = DetectorCache::default();
        assert!(
            cache.store(std::slice::from_ref(&b), &ctx, issued + 1),
            "valid then"
        );
        let hash = cache.hash().expect("kept").to_owned();

        let req = |detectors| GetServerStatus {
            request_id: Some("r".into()),
            detectors,
            same_detectors: true,
            detectors_hash: Some(hash.clone()),
            system_only: false,
        };
        let rt = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .expect("runtime");
        let timeout = Duration::from_secs(20);
        // While valid, the kept bundle runs.
        let kept = cache.bundles_for(Some(&hash)).expect("held");
        let status = rt.block_on(crate::status::collect_at(
            ctx.clone(),
            req(kept.clone()),
            timeout,
            issued + 50,
        ));
        assert_eq!(status.runtimes.len(), 1);
        assert!(
            status.runtimes[0].error.is_none() && status.runtimes[0].installed,
            "{:?}",
            status.runtimes
        );
        // Past its expiry (and the clock skew allowed), the same kept bundle is refused.
        let status = rt.block_on(crate::status::collect_at(
            ctx,
            req(kept),
            timeout,
            expires + cairn_protocol::limits::CLOCK_SKEW_SECS + 1,
        ));
        let refused = &status.runtimes[0];
        assert!(!refused.installed);
        assert!(
            refused.error.as_deref().unwrap_or("").contains("expired"),
            "{refused:?}"
        );
    }
}
