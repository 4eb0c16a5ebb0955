//! Each account's known addresses: where it signed in successfully in the last
//! [`KEEP_SECS`]. An account's lockout (many addresses failing at it) does not hold these
//! back, so a flood from elsewhere cannot lock the owner out of their usual address
//! (docs/decisions.md). Kept in the store too (`login_addresses`), so a restart during
//! a flood does not forget them.
//!
//! Only successful sign-ins add entries, so the map grows with real accounts (at most
//! [`PER_ACCOUNT`] addresses each), never with what an attacker sends.

use std::collections::HashMap;
use std::sync::Mutex;

use super::throttle::AddressKey;

/// How long an address stays known after its last successful sign-in.
pub const KEEP_SECS: u64 = 90 * 24 * 3600;
/// Most addresses remembered per account (the most recent).
pub const PER_ACCOUNT: usize = 16;

/// See the module docs.
#[derive(Debug, Default)]
pub struct KnownAddresses {
    map: Mutex<HashMap<String, Vec<(AddressKey, u64)>>>,
}

impl KnownAddresses {
    fn lock(&self) -> std::sync::MutexGuard<'_, HashMap<String, Vec<(AddressKey, u64)>>> {
        self.map.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Whether `account` signed in from `addr` within [`KEEP_SECS`] of `now`.
    pub fn is_known(&self, account: &str, addr: AddressKey, now: u64) -> bool {
        self.lock().get(account).is_some_and(|list| {
            list.iter()
                .any(|(a, at)| *a == addr && at.saturating_add(KEEP_SECS) > now)
        })
    }

    /// Records a successful sign-in of `account` from `addr` at `at`.
    pub fn remember(&self, account: &str, addr: AddressKey, at: u64) {
        let mut map = self.lock();
        let list = map.entry(account.to_owned()).or_default();
        list.retain(|(a, _)| *a != addr);
        list.push((addr, at));
        if list.len() > PER_ACCOUNT {
            list.sort_by_key(|(_, at)| std::cmp::Reverse(*at));
            list.truncate(PER_ACCOUNT);
        }
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
    fn an_address_is_known_after_a_success_until_it_expires_and_the_list_is_bounded() {
        let k = KnownAddresses::default();
        assert!(!k.is_known("admin", v4(1), 100));
        k.remember("admin", v4(1), 100);
        assert!(k.is_known("admin", v4(1), 100 + KEEP_SECS - 1));
        assert!(!k.is_known("admin", v4(1), 100 + KEEP_SECS));
        assert!(!k.is_known("other", v4(1), 100));
        for i in 0..40 {
            k.remember("admin", v4(10 + i), 200 + u64::from(i));
        }
        assert!(k.is_known("admin", v4(49), 300));
        assert!(!k.is_known("admin", v4(10), 300), "the oldest was dropped");
    }
}
