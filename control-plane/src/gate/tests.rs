//! The gate's admission rules, without sockets.

use std::net::SocketAddr;
use std::time::Duration;

use super::*;

fn addr(s: &str) -> SocketAddr {
    s.parse().expect("a socket address")
}

fn limits(total: usize, pending: usize, per_address: usize) -> Limits {
    Limits {
        max_connections: total,
        max_pending: pending,
        max_pending_per_address: per_address,
        ..Limits::default()
    }
}

const NO_GRACE: Duration = Duration::ZERO;
const LONG_GRACE: Duration = Duration::from_secs(3600);

#[test]
fn an_address_past_its_cap_loses_its_own_stalest_stranger_and_no_one_elses() {
    let gate = Gate::with_grace(limits(100, 100, 2), NO_GRACE);
    let other = gate.admit(addr("10.0.0.9:1")).expect("admitted");
    let first = gate.admit(addr("10.0.0.1:1")).expect("admitted");
    let second = gate.admit(addr("10.0.0.1:2")).expect("admitted");
    let third = gate
        .admit(addr("10.0.0.1:3"))
        .expect("admitted past the cap");
    assert!(
        first.is_killed(),
        "the address's oldest stranger makes room"
    );
    assert!(!second.is_killed() && !third.is_killed() && !other.is_killed());
    assert_eq!(gate.counts(), (3, 3));
}

#[test]
fn when_every_stranger_just_moved_the_newcomer_is_refused_instead() {
    let gate = Gate::with_grace(limits(100, 100, 2), LONG_GRACE);
    let _a = gate.admit(addr("10.0.0.1:1")).expect("admitted");
    let _b = gate.admit(addr("10.0.0.1:2")).expect("admitted");
    assert_eq!(gate.admit(addr("10.0.0.1:3")).err(), Some(Refused::Address));
    gate.admit(addr("10.0.0.2:1"))
        .expect("another address is not refused");
}

#[test]
fn a_full_stranger_pool_evicts_the_stranger_that_moved_last_longest_ago() {
    let gate = Gate::with_grace(limits(100, 3, 3), NO_GRACE);
    let a = gate.admit(addr("10.0.0.1:1")).expect("admitted");
    let b = gate.admit(addr("10.0.0.2:1")).expect("admitted");
    let c = gate.admit(addr("10.0.0.3:1")).expect("admitted");
    std::thread::sleep(Duration::from_millis(5));
    a.progress();
    let _d = gate.admit(addr("10.0.0.4:1")).expect("admitted");
    assert!(
        !a.is_killed(),
        "a moved forward most recently of the old ones"
    );
    assert!(b.is_killed(), "b is the stalest");
    assert!(!c.is_killed());
}

#[test]
fn trusted_connections_are_never_evicted_and_leave_the_stranger_counts() {
    let gate = Gate::with_grace(limits(3, 2, 2), NO_GRACE);
    let agent = gate.admit(addr("10.0.0.1:1")).expect("admitted");
    agent.trust();
    assert_eq!(gate.counts(), (1, 0));
    let dash = gate.admit(addr("10.0.0.1:2")).expect("admitted");
    dash.trust();
    let stranger = gate.admit(addr("10.0.0.1:3")).expect("admitted");
    let newcomer = gate
        .admit(addr("10.0.0.1:4"))
        .expect("total cap: a stranger makes room");
    assert!(stranger.is_killed());
    assert!(!agent.is_killed() && !dash.is_killed() && !newcomer.is_killed());
    newcomer.trust();
    assert_eq!(
        gate.admit(addr("10.0.0.2:1")).err(),
        Some(Refused::Total),
        "only trusted connections left: the newcomer is refused, no one is evicted"
    );
}

#[test]
fn a_closed_connection_leaves_every_count_once() {
    let gate = Gate::with_grace(limits(10, 10, 10), NO_GRACE);
    let a = gate.admit(addr("10.0.0.1:1")).expect("admitted");
    let a2 = a.clone();
    drop(a);
    assert_eq!(gate.counts(), (1, 1), "a clone keeps it counted");
    drop(a2);
    assert_eq!(gate.counts(), (0, 0));
    let b = gate.admit(addr("10.0.0.1:2")).expect("admitted");
    b.trust();
    drop(b);
    assert_eq!(gate.counts(), (0, 0));
}

#[test]
fn an_evicted_connection_is_not_released_twice() {
    let gate = Gate::with_grace(limits(10, 1, 1), NO_GRACE);
    let a = gate.admit(addr("10.0.0.1:1")).expect("admitted");
    let b = gate.admit(addr("10.0.0.2:1")).expect("admitted");
    assert!(a.is_killed());
    drop(a);
    assert_eq!(gate.counts(), (1, 1));
    drop(b);
    assert_eq!(gate.counts(), (0, 0));
}

#[test]
fn ipv6_strangers_are_counted_per_64_and_mapped_ipv4_as_ipv4() {
    let gate = Gate::with_grace(limits(100, 100, 1), LONG_GRACE);
    let _a = gate.admit(addr("[2001:db8:1:2::1]:1")).expect("admitted");
    assert_eq!(
        gate.admit(addr("[2001:db8:1:2:ffff::9]:1")).err(),
        Some(Refused::Address),
        "same /64"
    );
    gate.admit(addr("[2001:db8:1:3::1]:1"))
        .expect("another /64");
    let _v4 = gate.admit(addr("192.0.2.1:1")).expect("admitted");
    assert_eq!(
        gate.admit(addr("[::ffff:192.0.2.1]:2")).err(),
        Some(Refused::Address)
    );
}

#[tokio::test]
async fn eviction_wakes_whoever_waits_on_the_connection() {
    let gate = Gate::with_grace(limits(10, 1, 1), NO_GRACE);
    let a = gate.admit(addr("10.0.0.1:1")).expect("admitted");
    let waiter = tokio::spawn({
        let a = a.clone();
        async move { a.killed().await }
    });
    tokio::task::yield_now().await;
    let _b = gate.admit(addr("10.0.0.2:1")).expect("admitted");
    tokio::time::timeout(Duration::from_secs(5), waiter)
        .await
        .expect("woken")
        .expect("joined");
}
