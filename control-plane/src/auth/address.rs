//! Where a sign-in attempt comes from, as the login throttle counts it: an IPv4 address, or
//! the /64 prefix of an IPv6 address (one host is usually given a whole /64, so counting single
//! IPv6 addresses would give it 2^64 allowances). IPv4-mapped IPv6 addresses count as IPv4.

use std::net::{IpAddr, Ipv4Addr};

/// Where an attempt comes from, as the throttle counts it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum AddressKey {
    V4(Ipv4Addr),
    /// The first 64 bits of an IPv6 address.
    V6(u64),
}

impl AddressKey {
    /// The key of a client address.
    pub fn of(ip: IpAddr) -> Self {
        match ip {
            IpAddr::V4(v4) => Self::V4(v4),
            IpAddr::V6(v6) => match v6.to_ipv4_mapped() {
                Some(v4) => Self::V4(v4),
                None => Self::V6((v6.to_bits() >> 64) as u64),
            },
        }
    }

    /// Reads what [`Display`](std::fmt::Display) wrote (`203.0.113.7`, `2001:db8::/64`).
    pub fn parse(text: &str) -> Option<Self> {
        match text.strip_suffix("/64") {
            Some(prefix) => prefix
                .parse::<std::net::Ipv6Addr>()
                .ok()
                .map(|ip| Self::of(IpAddr::V6(ip))),
            None => text.parse::<Ipv4Addr>().ok().map(Self::V4),
        }
    }
}

impl std::fmt::Display for AddressKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Self::V4(v4) => write!(f, "{v4}"),
            Self::V6(prefix) => {
                let ip = std::net::Ipv6Addr::from_bits(u128::from(*prefix) << 64);
                write!(f, "{ip}/64")
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn v4(last: u8) -> AddressKey {
        AddressKey::of(IpAddr::V4(Ipv4Addr::new(127, 0, 0, last)))
    }

    #[test]
    fn ipv6_addresses_count_per_64_prefix() {
        let a: IpAddr = "2001:db8:1:2::1".parse().expect("ip");
        let b: IpAddr = "2001:db8:1:2:ffff::9".parse().expect("ip");
        let c: IpAddr = "2001:db8:1:3::1".parse().expect("ip");
        assert_eq!(AddressKey::of(a), AddressKey::of(b));
        assert_ne!(AddressKey::of(a), AddressKey::of(c));
        assert_eq!(AddressKey::of(a).to_string(), "2001:db8:1:2::/64");
        assert_eq!(
            AddressKey::parse("2001:db8:1:2::/64"),
            Some(AddressKey::of(a))
        );
        assert_eq!(AddressKey::parse("127.0.0.1"), Some(v4(1)));
        assert_eq!(AddressKey::parse("nonsense"), None);
        let mapped: IpAddr = "::ffff:127.0.0.1".parse().expect("ip");
        assert_eq!(AddressKey::of(mapped), v4(1));
    }
}
