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

fn gate(limits: Limits, grace: Duration) -> Arc<Gate> {
    Gate::with_grace(limits, grace, grace)
}

/// Admits a connection the server has looked at and now waits for (an idle client).
fn waiting(gate: &Arc<Gate>, peer: &str) -> Result<Conn, Refused> {
    let conn = gate.admit(addr(peer))?;
    conn.client_turn();
    Ok(conn)
}

#[test]
fn an_address_past_its_cap_loses_its_own_stalest_stranger_and_no_one_elses() {
    let gate = gate(limits(100, 100, 2), NO_GRACE);
    let other = waiting(&gate, "10.0.0.9:1").expect("admitted");
    let first = waiting(&gate, "10.0.0.1:1").expect("admitted");
    let second = waiting(&gate, "10.0.0.1:2").expect("admitted");
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
    let gate = gate(limits(100, 100, 2), LONG_GRACE);
    let _a = waiting(&gate, "10.0.0.1:1").expect("admitted");
    let _b = waiting(&gate, "10.0.0.1:2").expect("admitted");
    assert_eq!(waiting(&gate, "10.0.0.1:3").err(), Some(Refused::Address));
    waiting(&gate, "10.0.0.2:1").expect("another address is not refused");
}

#[test]
fn a_full_stranger_pool_evicts_the_stranger_that_moved_last_longest_ago() {
    let gate = gate(limits(100, 3, 3), NO_GRACE);
    let a = waiting(&gate, "10.0.0.1:1").expect("admitted");
    let b = waiting(&gate, "10.0.0.2:1").expect("admitted");
    let c = waiting(&gate, "10.0.0.3:1").expect("admitted");
    std::thread::sleep(Duration::from_millis(5));
    a.client_turn();
    let _d = waiting(&gate, "10.0.0.4:1").expect("admitted");
    assert!(
        !a.is_killed(),
        "a moved forward most recently of the old ones"
    );
    assert!(b.is_killed(), "b is the stalest");
    assert!(!c.is_killed());
}

#[test]
fn trusted_connections_are_never_evicted_and_leave_the_stranger_counts() {
    let gate = gate(limits(3, 2, 2), NO_GRACE);
    let agent = waiting(&gate, "10.0.0.1:1").expect("admitted");
    agent.trust();
    assert_eq!(gate.counts(), (1, 0));
    let dash = waiting(&gate, "10.0.0.1:2").expect("admitted");
    dash.trust();
    let stranger = waiting(&gate, "10.0.0.1:3").expect("admitted");
    let newcomer = gate
        .admit(addr("10.0.0.1:4"))
        .expect("total cap: a stranger makes room");
    assert!(stranger.is_killed());
    assert!(!agent.is_killed() && !dash.is_killed() && !newcomer.is_killed());
    newcomer.trust();
    assert_eq!(
        waiting(&gate, "10.0.0.2:1").err(),
        Some(Refused::Total),
        "only trusted connections left: the newcomer is refused, no one is evicted"
    );
}

#[tokio::test]
async fn a_pool_full_of_moving_strangers_makes_the_newcomer_wait_until_one_leaves() {
    let gate = gate(limits(100, 2, 2), LONG_GRACE);
    let a = waiting(&gate, "10.0.0.1:1").expect("admitted");
    let b = waiting(&gate, "10.0.0.2:1").expect("admitted");
    match waiting(&gate, "10.0.0.3:1") {
        Err(Refused::Full { retry_in }) => assert!(retry_in > Duration::from_secs(3000)),
        other => panic!("expected to wait, got {other:?}"),
    }
    assert!(!a.is_killed() && !b.is_killed(), "no one is evicted for it");
    let told = tokio::spawn({
        let gate = Arc::clone(&gate);
        async move { gate.room().await }
    });
    b.trust();
    tokio::time::timeout(Duration::from_secs(5), told)
        .await
        .expect("told of the room")
        .expect("joined");
    waiting(&gate, "10.0.0.3:1").expect("admitted once a stranger proved itself");
    drop(a);
}

#[test]
fn a_closed_connection_leaves_every_count_once() {
    let gate = gate(limits(10, 10, 10), NO_GRACE);
    let a = waiting(&gate, "10.0.0.1:1").expect("admitted");
    let a2 = a.clone();
    drop(a);
    assert_eq!(gate.counts(), (1, 1), "a clone keeps it counted");
    drop(a2);
    assert_eq!(gate.counts(), (0, 0));
    let b = waiting(&gate, "10.0.0.1:2").expect("admitted");
    b.trust();
    drop(b);
    assert_eq!(gate.counts(), (0, 0));
}

#[test]
fn an_evicted_connection_is_not_released_twice() {
    let gate = gate(limits(10, 1, 1), NO_GRACE);
    let a = waiting(&gate, "10.0.0.1:1").expect("admitted");
    let b = waiting(&gate, "10.0.0.2:1").expect("admitted");
    assert!(a.is_killed());
    drop(a);
    assert_eq!(gate.counts(), (1, 1));
    drop(b);
    assert_eq!(gate.counts(), (0, 0));
}

#[test]
fn ipv6_strangers_are_counted_per_64_and_mapped_ipv4_as_ipv4() {
    let gate = gate(limits(100, 100, 1), LONG_GRACE);
    let _a = waiting(&gate, "[2001:db8:1:2::1]:1").expect("admitted");
    assert_eq!(
        waiting(&gate, "[2001:db8:1:2:ffff::9]:1").err(),
        Some(Refused::Address),
        "same /64"
    );
    waiting(&gate, "[2001:db8:1:3::1]:1").expect("another /64");
    let _v4 = waiting(&gate, "192.0.2.1:1").expect("admitted");
    assert_eq!(
        waiting(&gate, "[::ffff:192.0.2.1]:2").err(),
        Some(Refused::Address)
    );
}

#[tokio::test]
async fn eviction_wakes_whoever_waits_on_the_connection() {
    let gate = gate(limits(10, 1, 1), NO_GRACE);
    let a = waiting(&gate, "10.0.0.1:1").expect("admitted");
    let waiter = tokio::spawn({
        let a = a.clone();
        async move { a.killed().await }
    });
    tokio::task::yield_now().await;
    let _b = waiting(&gate, "10.0.0.2:1").expect("admitted");
    tokio::time::timeout(Duration::from_secs(5), waiter)
        .await
        .expect("woken")
        .expect("joined");
}

#[test]
fn a_stranger_the_server_owes_work_is_never_evicted() {
    let gate = gate(limits(100, 2, 2), NO_GRACE);
    let handled = waiting(&gate, "10.0.0.1:1").expect("admitted");
    handled.server_turn();
    let not_looked_at = gate.admit(addr("10.0.0.2:1")).expect("admitted");
    assert!(matches!(
        gate.admit(addr("10.0.0.3:1")),
        Err(Refused::Full { .. })
    ));
    assert!(!handled.is_killed() && !not_looked_at.is_killed());
    not_looked_at.client_turn();
    let _newcomer = waiting(&gate, "10.0.0.3:1").expect("admitted");
    assert!(
        not_looked_at.is_killed(),
        "the one the server waits for goes"
    );
    assert!(!handled.is_killed());
}
