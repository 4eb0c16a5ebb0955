//! The login throttle (threats.md 25 and 32): failed sign-ins counted per client address and per
//! account, each attempt reserved *before* its password is checked.
//!
//! Reading the lockout before the slow password check and writing it after let 40 concurrent
//! wrong passwords all be checked. Here [`LoginThrottle::reserve`] checks and counts in one step
//! under one lock, pessimistically, as if the attempt failed; a success then forgives it. So
//! however many attempts arrive at once, at most the allowance reaches the password check.
//!
//! Two records gate an attempt:
//! - the **address** (an IPv4 address, or an IPv6 /64, since one host holds a whole /64):
//!   [`ADDRESS_FREE_FAILURES`] failures, then a lockout doubling per failure (from
//!   [`FIRST_LOCKOUT`], 30 s, up to [`MAX_LOCKOUT_SECS`]) for every account tried from it;
//! - the **account** (the username as typed, known or not, so the answers do not say which
//!   accounts exist): [`ACCOUNT_FREE_FAILURES`] failures from any addresses, then the same
//!   doubling lockout, which many addresses together cannot get around. It neither counts nor
//!   gates the account's *known* addresses ([`super::known`]): the owner signing in from where
//!   they signed in before is held only by that address's own record.
//!
//! The first lockout outlasts the longest wait for a password check (`verifier::WAIT`), so a
//! burst of concurrent attempts cannot straddle it: one burst gets exactly the free failures
//! checked. Times are milliseconds; a lockout in whole seconds of the clock could end a few
//! milliseconds after it began.
//!
//! Both maps are keyed by what an attacker chooses (addresses, usernames), so each holds at most
//! [`MAX_RECORDS`]: records idle for [`FORGET_AFTER_SECS`] go first, then the longest idle.

use std::collections::HashMap;
use std::hash::Hash;
use std::sync::Mutex;
use std::time::Duration;

pub use super::address::AddressKey;

/// Failed sign-ins from one address (any account) before its lockout starts.
pub const ADDRESS_FREE_FAILURES: u32 = 5;
/// Failed sign-ins of one account (any address) before its lockout starts.
pub const ACCOUNT_FREE_FAILURES: u32 = 10;
/// The first lockout; each further failure doubles it.
pub const FIRST_LOCKOUT: Duration = Duration::from_secs(30);
/// Longest lockout, in seconds.
pub const MAX_LOCKOUT_SECS: u64 = 15 * 60;
/// A record without a failure for this long is forgotten.
pub const FORGET_AFTER_SECS: u64 = 24 * 3600;
/// Most records kept per map (addresses, accounts): a few MB at most.
pub const MAX_RECORDS: usize = 16_384;

/// Milliseconds since the Unix epoch: the throttle's clock.
pub fn now_ms() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| u64::try_from(d.as_millis()).unwrap_or(u64::MAX))
}

/// Why an attempt is refused unchecked; each carries the seconds left (rounded up).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Refusal {
    Address(u64),
    Account(u64),
}

#[derive(Debug, Default, Clone, Copy)]
struct Record {
    failures: u32,
    locked_until: u64,
    last_failure: u64,
    /// When it was last counted, in the map's own order (times are whole seconds, so a flood
    /// gives thousands of records the same time).
    touched: u64,
}

impl Record {
    /// Seconds left of the lockout (rounded up), if locked.
    fn locked(&self, now: u64) -> Option<u64> {
        (self.locked_until > now).then(|| (self.locked_until - now).div_ceil(1000))
    }

    fn count_failure(&mut self, free: u32, first_lock_ms: u64, now: u64) {
        self.failures = self.failures.saturating_add(1);
        self.last_failure = now;
        if self.failures >= free {
            let exp = (self.failures - free).min(20);
            let lock = first_lock_ms.saturating_mul(1 << exp);
            self.locked_until = now + lock.min(MAX_LOCKOUT_SECS * 1000);
        }
    }

    fn forgive_one(&mut self, free: u32) {
        self.failures = self.failures.saturating_sub(1);
        if self.failures < free {
            self.locked_until = 0;
        }
    }

    fn forgotten(&self, now: u64) -> bool {
        self.locked_until <= now && self.last_failure + FORGET_AFTER_SECS * 1000 <= now
    }
}

#[derive(Debug)]
struct Records<K> {
    map: HashMap<K, Record>,
    free: u32,
    first_lock_ms: u64,
    counted: u64,
}

impl<K: Eq + Hash> Records<K> {
    fn new(free: u32, first_lock: Duration) -> Self {
        Self {
            map: HashMap::new(),
            free,
            first_lock_ms: u64::try_from(first_lock.as_millis()).unwrap_or(u64::MAX),
            counted: 0,
        }
    }

    /// The seconds left of `key`'s lockout, if locked. A record that refuses an attempt counts
    /// as used now, so a lockout being hammered is the last to make room for others.
    fn locked<Q>(&mut self, key: &Q, now: u64) -> Option<u64>
    where
        K: std::borrow::Borrow<Q>,
        Q: Eq + Hash + ?Sized,
    {
        let r = self.map.get_mut(key)?;
        let secs = r.locked(now)?;
        self.counted += 1;
        r.touched = self.counted;
        Some(secs)
    }

    fn count_failure(&mut self, key: K, now: u64) {
        if self.map.len() >= MAX_RECORDS && !self.map.contains_key(&key) {
            self.make_room(now);
        }
        self.counted += 1;
        let r = self.map.entry(key).or_default();
        r.touched = self.counted;
        r.count_failure(self.free, self.first_lock_ms, now);
    }

    /// Forgets idle records; if that is not enough, the eighth counted longest ago (a record
    /// under attack right now was counted last, so it stays).
    fn make_room(&mut self, now: u64) {
        self.map.retain(|_, r| !r.forgotten(now));
        if self.map.len() < MAX_RECORDS {
            return;
        }
        let mut order: Vec<u64> = self.map.values().map(|r| r.touched).collect();
        let cut = order.len() / 8;
        let (_, last_dropped, _) = order.select_nth_unstable(cut);
        let last_dropped = *last_dropped;
        self.map.retain(|_, r| r.touched > last_dropped);
    }
}

#[derive(Debug)]
struct Inner {
    addresses: Records<AddressKey>,
    accounts: Records<String>,
}

/// Failed sign-ins per address and per account. See the module docs.
#[derive(Debug)]
pub struct LoginThrottle {
    inner: Mutex<Inner>,
}

impl Default for LoginThrottle {
    fn default() -> Self {
        Self::new(FIRST_LOCKOUT)
    }
}

impl LoginThrottle {
    /// A throttle whose first lockout lasts `first_lockout` ([`FIRST_LOCKOUT`] by default).
    pub fn new(first_lockout: Duration) -> Self {
        Self {
            inner: Mutex::new(Inner {
                addresses: Records::new(ADDRESS_FREE_FAILURES, first_lockout),
                accounts: Records::new(ACCOUNT_FREE_FAILURES, first_lockout),
            }),
        }
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Inner> {
        self.inner.lock().unwrap_or_else(|e| e.into_inner())
    }

    fn gate(
        inner: &mut Inner,
        account: &str,
        addr: AddressKey,
        known: bool,
        now: u64,
    ) -> Result<(), Refusal> {
        if let Some(secs) = inner.addresses.locked(&addr, now) {
            return Err(Refusal::Address(secs));
        }
        if !known && let Some(secs) = inner.accounts.locked(account, now) {
            return Err(Refusal::Account(secs));
        }
        Ok(())
    }

    /// Whether `account` may be tried from `addr` now (`known`: an address the account signed
    /// in from before). Changes nothing: for refusing early, before waiting for a check.
    pub fn check(
        &self,
        account: &str,
        addr: AddressKey,
        known: bool,
        now: u64,
    ) -> Result<(), Refusal> {
        Self::gate(&mut self.lock(), account, addr, known, now)
    }

    /// Checks and, if allowed, counts the attempt as a failure already, in one step: call it
    /// right before checking the password, and [`succeeded`](Self::succeeded) if it matched.
    pub fn reserve(
        &self,
        account: &str,
        addr: AddressKey,
        known: bool,
        now: u64,
    ) -> Result<(), Refusal> {
        let mut inner = self.lock();
        Self::gate(&mut inner, account, addr, known, now)?;
        inner.addresses.count_failure(addr, now);
        if !known {
            inner.accounts.count_failure(account.to_owned(), now);
        }
        Ok(())
    }

    /// A reserved attempt had the right password: the address's record is cleared, and the
    /// account's loses this attempt only (the owner signing in does not hand whoever attacks
    /// the account a fresh allowance). `known` as given to [`reserve`](Self::reserve).
    pub fn succeeded(&self, account: &str, addr: AddressKey, known: bool) {
        let mut inner = self.lock();
        inner.addresses.map.remove(&addr);
        let free = inner.accounts.free;
        if !known && let Some(r) = inner.accounts.map.get_mut(account) {
            r.forgive_one(free);
        }
    }

    /// How many address and account records are kept (for tests of the bound).
    pub fn records(&self) -> (usize, usize) {
        let inner = self.lock();
        (inner.addresses.map.len(), inner.accounts.map.len())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::net::{IpAddr, Ipv4Addr};

    fn v4(last: u8) -> AddressKey {
        AddressKey::of(IpAddr::V4(Ipv4Addr::new(127, 0, 0, last)))
    }

    #[test]
    fn an_address_is_locked_after_its_free_failures_and_the_lock_doubles() {
        let t = LoginThrottle::new(Duration::from_secs(1));
        for _ in 0..ADDRESS_FREE_FAILURES - 1 {
            t.reserve("a", v4(1), false, 100000).expect("free");
        }
        assert_eq!(t.check("a", v4(1), false, 100000), Ok(()));
        t.reserve("a", v4(1), false, 100000)
            .expect("the last free one");
        assert_eq!(t.check("a", v4(1), false, 100000), Err(Refusal::Address(1)));
        // Another account from the same address is locked too; another address is not.
        assert_eq!(t.check("b", v4(1), false, 100000), Err(Refusal::Address(1)));
        assert_eq!(t.check("a", v4(2), false, 100000), Ok(()));
        t.reserve("a", v4(1), false, 101000)
            .expect("after the lock");
        assert_eq!(t.check("a", v4(1), false, 101000), Err(Refusal::Address(2)));
        t.succeeded("a", v4(1), false);
        assert_eq!(t.check("a", v4(1), false, 101000), Ok(()));
    }

    #[test]
    fn the_first_lockout_outlasts_any_wait_for_a_check() {
        let t = LoginThrottle::default();
        for _ in 0..ADDRESS_FREE_FAILURES {
            t.reserve("a", v4(1), false, 100_000).expect("free");
        }
        let waited = 100_000 + 2 * super::super::verifier::WAIT.as_millis() as u64;
        assert_eq!(
            t.check("a", v4(1), false, waited),
            Err(Refusal::Address(FIRST_LOCKOUT.as_secs() - 4))
        );
    }

    #[test]
    fn many_addresses_share_one_account_allowance_but_known_addresses_pass() {
        let t = LoginThrottle::new(Duration::from_secs(1));
        for i in 0..ACCOUNT_FREE_FAILURES {
            t.reserve("admin", v4(10 + i as u8), false, 100000)
                .expect("free");
        }
        assert_eq!(
            t.reserve("admin", v4(200), false, 100000),
            Err(Refusal::Account(1))
        );
        assert_eq!(t.reserve("admin", v4(1), true, 100000), Ok(()));
        // The owner's success does not lift the lockout for the attacker's addresses.
        t.succeeded("admin", v4(1), true);
        assert_eq!(
            t.check("admin", v4(200), false, 100000),
            Err(Refusal::Account(1))
        );
        // A known address is still held by its own record.
        for _ in 0..ADDRESS_FREE_FAILURES {
            t.reserve("admin", v4(1), true, 100000).expect("free");
        }
        assert_eq!(
            t.check("admin", v4(1), true, 100000),
            Err(Refusal::Address(1))
        );
        assert_eq!(t.check("someone-else", v4(200), false, 100000), Ok(()));
    }

    #[test]
    fn a_spray_of_usernames_and_addresses_keeps_the_maps_bounded_and_the_target_locked() {
        let t = LoginThrottle::new(Duration::from_secs(1));
        for i in 0..ACCOUNT_FREE_FAILURES {
            t.reserve("admin", v4(i as u8), false, 1000000)
                .expect("free");
        }
        for i in 0..(MAX_RECORDS as u32 * 2) {
            let addr = AddressKey::V4(Ipv4Addr::from_bits(0x0a00_0000 + i));
            let _ = t.reserve(&format!("user-{i}"), addr, false, 1000000);
            // The attack on admin goes on meanwhile, refused.
            if i % 1000 == 0 {
                assert!(t.reserve("admin", v4(200), false, 1000000).is_err());
            }
        }
        let (addresses, accounts) = t.records();
        assert!(addresses <= MAX_RECORDS && accounts <= MAX_RECORDS);
        assert!(t.check("admin", v4(250), false, 1000000).is_err());
    }
}
