//! Password checks, a few at a time, in memory allocated once (threats.md 32).
//!
//! One argon2id check with the default cost fills 19 MiB. Run unbounded on the blocking pool,
//! 200 concurrent sign-ins took the control plane from 41 MB to 3.85 GB, and glibc kept it (the
//! blocks land in per-thread arenas). Here at most `concurrency` checks run at once (default:
//! the number of cores, at most 4), each in one of as many reusable buffers; a few more
//! attempts wait up to [`WAIT`] for a turn, and the rest are refused at once ([`Busy`]): the
//! memory a login flood can take is `concurrency` (+ 1, below) buffers, whatever its size.
//!
//! A flood from many addresses could keep every check and the waiting line busy, and the owner
//! would only ever hear "busy". So one more check is kept for addresses the account signed in
//! from before (`super::known`): an attacker elsewhere cannot take it, and one at such an
//! address is held by that address's own lockout.
//!
//! An unknown username runs argon2 with the configured cost (that of every stored hash) and a
//! random salt, so it costs the same time and the same buffer as a wrong password, and fails.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use argon2::password_hash::{Output, PasswordHash};
use argon2::{Algorithm, Argon2, Block, Params, Version};
use tokio::sync::{OwnedSemaphorePermit, Semaphore};

/// How long an attempt waits for a free check before it is refused as busy.
pub const WAIT: Duration = Duration::from_secs(2);
/// Attempts allowed to wait, per concurrent check.
pub const WAITING_PER_CHECK: usize = 8;
/// Largest argon2 memory cost a stored hash may ask for (KiB): 256 MiB.
const MAX_M_COST: u32 = 256 * 1024;

/// Every check is taken and the waiting line is full, or the wait ran out.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Busy;

type Buffers = Arc<Mutex<Vec<Vec<Block>>>>;

/// What a username that does not exist is "checked" with: the configured cost, a random salt.
#[derive(Debug, Clone)]
struct Stand {
    params: Params,
    salt: [u8; 16],
}

/// Checks that can run at once, and the few attempts allowed to wait for one.
#[derive(Debug)]
struct Lane {
    checks: Arc<Semaphore>,
    waiting: AtomicUsize,
    max_waiting: usize,
}

impl Lane {
    fn new(checks: usize) -> Self {
        Self {
            checks: Arc::new(Semaphore::new(checks)),
            waiting: AtomicUsize::new(0),
            max_waiting: checks * WAITING_PER_CHECK,
        }
    }

    fn now(&self) -> Option<OwnedSemaphorePermit> {
        Arc::clone(&self.checks).try_acquire_owned().ok()
    }

    /// At once if a check is free, after a short wait if the line is short, else [`Busy`].
    async fn wait(&self) -> Result<OwnedSemaphorePermit, Busy> {
        if let Some(permit) = self.now() {
            return Ok(permit);
        }
        if self.waiting.fetch_add(1, Ordering::SeqCst) >= self.max_waiting {
            self.waiting.fetch_sub(1, Ordering::SeqCst);
            return Err(Busy);
        }
        let got = tokio::time::timeout(WAIT, Arc::clone(&self.checks).acquire_owned()).await;
        self.waiting.fetch_sub(1, Ordering::SeqCst);
        match got {
            Ok(Ok(permit)) => Ok(permit),
            _ => Err(Busy),
        }
    }
}

/// See the module docs.
#[derive(Debug)]
pub struct Verifier {
    /// For every attempt.
    open: Lane,
    /// One more check, for addresses the account signed in from before.
    known: Lane,
    buffers: Buffers,
    stand_in: Stand,
}

/// The default number of concurrent checks: the cores, at most 4 (4 × 19 MiB).
pub fn default_concurrency() -> usize {
    std::thread::available_parallelism().map_or(1, |n| n.get().min(4))
}

impl Verifier {
    /// `params` is the cost new hashes get, spent on usernames that do not exist.
    pub fn new(concurrency: usize, params: &Params) -> anyhow::Result<Self> {
        Ok(Self {
            open: Lane::new(concurrency.max(1)),
            known: Lane::new(1),
            buffers: Arc::new(Mutex::new(Vec::new())),
            stand_in: Stand {
                params: params.clone(),
                salt: cairn_protocol::keys::random_bytes::<16>()?,
            },
        })
    }

    /// A turn to check one password: at once if a check is free, after a short wait if the
    /// line is short, else [`Busy`]. `known`: the attempt comes from an address the account
    /// signed in from before, which may also take the check kept for those.
    pub async fn turn(&self, known: bool) -> Result<Turn, Busy> {
        let permit = if known {
            match self.known.now().or_else(|| self.open.now()) {
                Some(p) => p,
                None => self.known.wait().await?,
            }
        } else {
            self.open.wait().await?
        };
        Ok(self.turn_with(permit))
    }

    fn turn_with(&self, permit: OwnedSemaphorePermit) -> Turn {
        Turn {
            permit,
            buffers: Arc::clone(&self.buffers),
            stand_in: self.stand_in.clone(),
        }
    }
}

/// Permission to check one password now.
#[derive(Debug)]
pub struct Turn {
    permit: OwnedSemaphorePermit,
    buffers: Buffers,
    stand_in: Stand,
}

impl Turn {
    /// Whether `password` matches `hash` (a PHC string); `None` (no such user) spends the same
    /// work and answers false. Runs on the blocking pool.
    pub async fn check(self, password: String, hash: Option<String>) -> bool {
        let Turn {
            permit,
            buffers,
            stand_in,
        } = self;
        let checked = tokio::task::spawn_blocking(move || {
            let mut buffer = buffers
                .lock()
                .unwrap_or_else(|e| e.into_inner())
                .pop()
                .unwrap_or_default();
            let ok = match hash {
                Some(hash) => verify_in(&password, &hash, &mut buffer),
                None => {
                    spend(&password, &stand_in, &mut buffer);
                    false
                }
            };
            buffers
                .lock()
                .unwrap_or_else(|e| e.into_inner())
                .push(buffer);
            drop(permit);
            ok
        })
        .await;
        checked.unwrap_or(false)
    }
}

/// The work of a check with the configured cost, for a username that does not exist.
fn spend(password: &str, stand_in: &Stand, buffer: &mut Vec<Block>) {
    let blocks = stand_in.params.block_count();
    if buffer.len() < blocks {
        buffer.resize(blocks, Block::default());
    }
    let mut out = [0u8; 32];
    let argon = Argon2::new(Algorithm::Argon2id, Version::V0x13, stand_in.params.clone());
    let _ = argon.hash_password_into_with_memory(
        password.as_bytes(),
        &stand_in.salt,
        &mut out,
        &mut buffer[..blocks],
    );
}

/// argon2's own verification, with `buffer` as its memory (grown to the hash's cost if needed).
fn verify_in(password: &str, hash: &str, buffer: &mut Vec<Block>) -> bool {
    let Ok(parsed) = PasswordHash::new(hash) else {
        return false;
    };
    let (Some(salt), Some(expected)) = (parsed.salt, parsed.hash) else {
        return false;
    };
    let Ok(algorithm) = Algorithm::try_from(parsed.algorithm) else {
        return false;
    };
    let version = match parsed.version.map(Version::try_from) {
        None => Version::V0x13,
        Some(Ok(v)) => v,
        Some(Err(_)) => return false,
    };
    let Ok(params) = Params::try_from(&parsed) else {
        return false;
    };
    if params.m_cost() > MAX_M_COST {
        tracing::error!(
            m_cost = params.m_cost(),
            "a stored password hash asks for more argon2 memory than allowed; not checked"
        );
        return false;
    }
    let mut salt_bytes = [0u8; 64];
    let Ok(salt) = salt.decode_b64(&mut salt_bytes) else {
        return false;
    };
    let blocks = params.block_count();
    if buffer.len() < blocks {
        buffer.resize(blocks, Block::default());
    }
    let mut out = vec![0u8; expected.len()];
    let argon = Argon2::new(algorithm, version, params);
    if argon
        .hash_password_into_with_memory(password.as_bytes(), salt, &mut out, &mut buffer[..blocks])
        .is_err()
    {
        return false;
    }
    // `Output`'s equality is constant-time.
    Output::new(&out).is_ok_and(|computed| computed == expected)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn cheap() -> Params {
        Params::new(64, 1, 1, None).expect("params")
    }

    #[test]
    fn the_pooled_check_agrees_with_argon2s_own() {
        let hash = super::super::hash_password("right", &cheap()).expect("hash");
        let mut buffer = Vec::new();
        assert!(verify_in("right", &hash, &mut buffer));
        assert!(!verify_in("wrong", &hash, &mut buffer));
        assert!(super::super::verify_password("right", &hash));
        assert!(!verify_in("right", "not a hash", &mut buffer));
        // A bigger hash grows the buffer; a smaller one reuses it.
        let big = super::super::hash_password("x", &Params::new(256, 1, 1, None).expect("p"))
            .expect("hash");
        assert!(verify_in("x", &big, &mut buffer));
        assert_eq!(buffer.len(), 256);
        assert!(verify_in("right", &hash, &mut buffer));
        // A username that does not exist takes a buffer of the configured cost.
        let mut fresh = Vec::new();
        let stand_in = Stand {
            params: Params::new(128, 1, 1, None).expect("p"),
            salt: [7; 16],
        };
        spend("x", &stand_in, &mut fresh);
        assert_eq!(fresh.len(), 128);
    }

    #[tokio::test]
    async fn checks_beyond_the_waiting_line_are_refused_as_busy() {
        let v = Verifier::new(1, &cheap()).expect("verifier");
        let first = v.turn(false).await.expect("a free check");
        let mut waiting = Vec::new();
        let v = Arc::new(v);
        for _ in 0..WAITING_PER_CHECK {
            let v = Arc::clone(&v);
            waiting.push(tokio::spawn(async move { v.turn(false).await.map(|_| ()) }));
        }
        tokio::task::yield_now().await;
        while v.open.waiting.load(Ordering::SeqCst) < WAITING_PER_CHECK {
            tokio::task::yield_now().await;
        }
        assert_eq!(v.turn(false).await.map(|_| ()), Err(Busy));
        // The owner at a known address still gets the check kept for them, at once.
        let owner = v.turn(true).await.expect("the known addresses' check");
        drop(owner);
        // The first check ends; the waiting ones get their turns in order.
        assert!(!first.check("x".into(), None).await);
        for w in waiting {
            assert_eq!(w.await.expect("task"), Ok(()));
        }
    }
}
