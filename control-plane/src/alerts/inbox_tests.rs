//! The inbox: observations merged per node, nothing dropped, online changes kept in order
//! with their times; and the engine driven from it with a hand-held clock, as the worker does.

use std::sync::Arc;
use std::time::Duration;

use super::*;
use crate::alerts::engine::Open;
use crate::alerts::rules::RuleId;

fn disk(at: u64, used: u64) -> Observation {
    Observation {
        at,
        disks: Some(vec![("/".into(), used, 100)]),
        ..Observation::default()
    }
}

/// Takes everything the inbox holds and evaluates it as the worker does at `now`, opening
/// every alert that fires with the next id; returns every transition in order.
fn take_at(inbox: &Inbox, engine: &mut Engine, set: &RuleSet, now: u64) -> Vec<Transition> {
    let mut all = Vec::new();
    for (node, pending) in inbox.take(Duration::ZERO).nodes {
        evaluate(engine, set, &node, pending, now, |engine, changes| {
            for t in &changes {
                if let Transition::Fired { key, .. } = t {
                    let open = Open {
                        alert_id: 1,
                        notified: true,
                    };
                    engine.opened(key, open);
                }
            }
            all.extend(changes);
        });
    }
    all
}

fn offline_fired(t: &[Transition]) -> usize {
    t.iter()
        .filter(|t| matches!(t, Transition::Fired { key, .. } if key.0 == RuleId::Offline))
        .count()
}

fn offline_resolved(t: &[Transition]) -> usize {
    t.iter()
        .filter(|t| matches!(t, Transition::Resolved { key, .. } if key.0 == RuleId::Offline))
        .count()
}

#[test]
fn nothing_is_dropped_under_a_backlog_and_each_node_keeps_its_latest_facts() {
    // 100,000 observations of 10,000 nodes while the thread takes nothing: more than the
    // 65,536 the old queue held before it dropped the rest.
    let inbox = Inbox::default();
    for round in 0..10 {
        for n in 0..10_000_u64 {
            assert!(inbox.observe(&format!("n{n}"), disk(round, n % 100 + round)));
        }
    }
    // The very last word of one node is that it went offline.
    assert!(inbox.observe("n42", Observation::online(10, false)));
    assert_eq!(inbox.depth(), 10_000);
    assert_eq!(inbox.coalesced(), 90_001);
    let batch = inbox.take(Duration::ZERO);
    assert_eq!(inbox.depth(), 0);
    assert_eq!(batch.nodes.len(), 10_000);
    for (node, p) in &batch.nodes {
        let n: u64 = node[1..].parse().expect("a node number");
        assert_eq!(p.facts.disks, Some(vec![("/".into(), n % 100 + 9, 100)]));
        assert_eq!(p.facts.at, 9);
        let online = if n == 42 { vec![(false, 10)] } else { vec![] };
        assert_eq!(p.online, online, "{node}");
    }
    // Taken: the inbox is empty, and the next observation starts a new entry.
    assert!(inbox.take(Duration::ZERO).nodes.is_empty());
    inbox.observe("n1", disk(11, 1));
    assert_eq!(inbox.coalesced(), 90_001);
}

#[test]
fn online_changes_keep_their_order_and_times() {
    let mut p = Pending::default();
    p.merge(Observation::online(100, false));
    // A second "offline" does not restart the count.
    p.merge(Observation::online(105, false));
    p.merge(disk(106, 1));
    p.merge(Observation::online(110, true));
    assert_eq!(p.online, vec![(false, 100), (true, 110)]);
    // A disk sample between them does not hide either change.
    assert_eq!(p.facts.online, None);
    // Flapping past the bound merges the oldest blips away, first and last change kept.
    for i in 0..200 {
        p.merge(Observation::online(200 + i, i % 2 == 1));
    }
    assert!(p.online.len() <= MOST_CHANGES, "{}", p.online.len());
    assert_eq!(p.online[0], (false, 100));
    assert_eq!(p.online.last(), Some(&(true, 399)));
    assert!(
        p.online
            .windows(2)
            .all(|w| w[0].0 != w[1].0 && w[0].1 < w[1].1)
    );
}

#[test]
fn a_node_offline_then_back_within_the_window_never_fires_however_late_it_is_evaluated() {
    let (inbox, mut e, set) = (Inbox::default(), Engine::default(), RuleSet::default());
    inbox.observe("n", Observation::online(0, true));
    assert!(take_at(&inbox, &mut e, &set, 0).is_empty());
    inbox.observe("n", Observation::online(1000, false));
    inbox.observe("n", disk(1001, 10));
    inbox.observe("n", Observation::online(1060, true));
    // Taken 10 minutes late, both changes together: offline for 60 s only.
    assert!(take_at(&inbox, &mut e, &set, 1600).is_empty());
    assert!(e.evaluate_all(&set, 2000).is_empty());
}

#[test]
fn an_offline_node_still_fires_after_two_minutes_counted_from_its_disconnection() {
    let (inbox, mut e, set) = (Inbox::default(), Engine::default(), RuleSet::default());
    inbox.observe("n", Observation::online(0, true));
    take_at(&inbox, &mut e, &set, 0);
    inbox.observe("n", Observation::online(1000, false));
    inbox.observe("n", disk(1001, 10));
    inbox.observe("n", Observation::online(1050, false));
    assert!(take_at(&inbox, &mut e, &set, 1050).is_empty());
    // The tick: not yet at 1119, at 1120 (2 min after 1000, not after 1050) it fires, once.
    assert!(e.evaluate_all(&set, 1119).is_empty());
    let t = e.evaluate_all(&set, 1120);
    assert_eq!(offline_fired(&t), 1, "{t:?}");
    e.opened(&(RuleId::Offline, "n".into(), String::new()), open());
    assert!(e.evaluate_all(&set, 1200).is_empty(), "fired twice");
}

fn open() -> Open {
    Open {
        alert_id: 1,
        notified: true,
    }
}

#[test]
fn offline_then_online_is_not_swapped_and_a_long_outage_fires_then_resolves() {
    let (inbox, mut e, set) = (Inbox::default(), Engine::default(), RuleSet::default());
    inbox.observe("n", Observation::online(0, true));
    take_at(&inbox, &mut e, &set, 0);
    // Offline 130 s, back, taken late together: it fired and resolved, in that order.
    inbox.observe("n", Observation::online(1000, false));
    inbox.observe("n", Observation::online(1130, true));
    let t = take_at(&inbox, &mut e, &set, 1500);
    assert_eq!((offline_fired(&t), offline_resolved(&t)), (1, 1), "{t:?}");
    assert!(matches!(t[0], Transition::Fired { .. }), "{t:?}");
    assert!(
        matches!(&t[1], Transition::Resolved { open, .. } if open.alert_id == 1),
        "the resolution names the alert that fired: {t:?}"
    );
    assert!(e.evaluate_all(&set, 2000).is_empty());
    // A firing node back for a moment, then gone again: resolved, then counted anew.
    inbox.observe("n", Observation::online(3000, false));
    take_at(&inbox, &mut e, &set, 3000);
    assert_eq!(offline_fired(&e.evaluate_all(&set, 3120)), 1);
    e.opened(&(RuleId::Offline, "n".into(), String::new()), open());
    inbox.observe("n", Observation::online(3200, true));
    inbox.observe("n", Observation::online(3201, false));
    let t = take_at(&inbox, &mut e, &set, 3202);
    assert_eq!((offline_fired(&t), offline_resolved(&t)), (0, 1), "{t:?}");
    assert!(e.evaluate_all(&set, 3320).is_empty());
    assert_eq!(offline_fired(&e.evaluate_all(&set, 3321)), 1);
}

#[test]
fn a_removed_node_drops_what_it_said_before_and_keeps_what_came_after() {
    let inbox = Inbox::default();
    inbox.observe("a", disk(1, 1));
    inbox.observe("b", disk(1, 2));
    inbox.forget("a");
    inbox.observe("c", disk(1, 3));
    inbox.reload();
    let batch = inbox.take(Duration::ZERO);
    assert_eq!(batch.forget, vec!["a".to_owned()]);
    assert!(batch.reload);
    let nodes: Vec<&str> = batch.nodes.iter().map(|(n, _)| n.as_str()).collect();
    assert_eq!(nodes, ["b", "c"]);
    // The index followed the entry moved into the removed one's place.
    inbox.observe("c", disk(2, 4));
    inbox.observe("a", disk(2, 5));
    inbox.forget("b");
    let batch = inbox.take(Duration::ZERO);
    assert_eq!(batch.nodes.len(), 2);
    assert_eq!(batch.forget, vec!["b".to_owned()]);
}

#[test]
fn the_thread_is_woken_by_a_put_and_a_closed_inbox_refuses() {
    let inbox = Arc::new(Inbox::default());
    let taker = {
        let inbox = Arc::clone(&inbox);
        std::thread::spawn(move || inbox.take(Duration::from_secs(30)))
    };
    std::thread::sleep(Duration::from_millis(50));
    let sent = std::time::Instant::now();
    assert!(inbox.observe("n", disk(1, 1)));
    let batch = taker.join().expect("the taker");
    assert!(sent.elapsed() < Duration::from_secs(5), "not woken");
    assert_eq!(batch.nodes.len(), 1);
    assert!(inbox.take(Duration::from_millis(10)).nodes.is_empty());
    inbox.close();
    assert!(!inbox.observe("n", disk(2, 1)));
}

#[test]
fn many_writers_lose_nothing_while_the_thread_takes() {
    let inbox = Arc::new(Inbox::default());
    let writers: Vec<_> = (0..4)
        .map(|w| {
            let inbox = Arc::clone(&inbox);
            std::thread::spawn(move || {
                for i in 1..=20_000_u64 {
                    inbox.observe(&format!("w{w}-{}", i % 50), disk(i, i));
                }
            })
        })
        .collect();
    let mut latest = std::collections::HashMap::new();
    let mut entries = 0_u64;
    let mut done = false;
    while !done {
        done = writers.iter().all(std::thread::JoinHandle::is_finished);
        for (node, p) in inbox.take(Duration::from_millis(1)).nodes {
            entries += 1;
            let at = p.facts.at;
            // Each entry is newer than the node's last one taken: in order.
            assert!(latest.insert(node, at).is_none_or(|before| before < at));
        }
    }
    for w in writers {
        w.join().expect("a writer");
    }
    // Every observation is in an entry taken, or was merged into one.
    assert_eq!(entries + inbox.coalesced(), 80_000);
    for w in 0..4 {
        // Each node's last observation (i = 19,951..=20,000) is what was taken last.
        for k in 0..50_u64 {
            let last = 19_950 + if k == 0 { 50 } else { k };
            assert_eq!(latest[&format!("w{w}-{k}")], last);
        }
    }
}
