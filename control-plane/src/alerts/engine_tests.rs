//! The state machine driven with a hand-held clock.

use super::*;
use crate::alerts::rules::{Override, RuleConfig};

const GB: u64 = 1 << 30;

fn disk(at: u64, used: u64) -> Observation {
    Observation {
        at,
        disks: Some(vec![("/".into(), used, 100 * GB)]),
        ..Observation::default()
    }
}

fn fired(t: &[Transition]) -> usize {
    t.iter()
        .filter(|t| matches!(t, Transition::Fired { .. }))
        .count()
}

fn resolved(t: &[Transition]) -> usize {
    t.iter()
        .filter(|t| matches!(t, Transition::Resolved { .. }))
        .count()
}

#[test]
fn a_full_disk_fires_once_while_it_stays_full_and_resolves_once() {
    let (mut e, set) = (Engine::default(), RuleSet::default());
    e.observe("n", disk(10, 50 * GB));
    assert!(e.evaluate(&set, "n", 10).is_empty());
    e.observe("n", disk(20, 95 * GB));
    let t = e.evaluate(&set, "n", 20);
    assert_eq!(fired(&t), 1, "{t:?}");
    assert!(
        matches!(&t[0], Transition::Fired { key, value, .. } if key.2 == "/" && *value == 95.0)
    );
    e.observed_open(&t, 7);
    for now in [30, 40, 50] {
        e.observe("n", disk(now, 96 * GB));
        assert!(
            e.evaluate(&set, "n", now).is_empty(),
            "fired again at {now}"
        );
    }
    e.observe("n", disk(60, 40 * GB));
    let t = e.evaluate(&set, "n", 60);
    assert_eq!(resolved(&t), 1, "{t:?}");
    assert!(matches!(&t[0], Transition::Resolved { open, .. } if open.alert_id == 7));
    assert!(e.evaluate(&set, "n", 70).is_empty());
}

#[test]
fn memory_is_pending_until_it_has_been_high_for_the_rules_duration() {
    let (mut e, set) = (Engine::default(), RuleSet::default());
    let mem = |at, used| Observation {
        at,
        memory: Some((used, 100)),
        ..Observation::default()
    };
    e.observe("n", mem(0, 95));
    assert!(e.evaluate(&set, "n", 0).is_empty());
    // A sample without memory does not blank what is known.
    e.observe("n", Observation::online(100, true));
    assert!(e.evaluate(&set, "n", 299).is_empty());
    assert_eq!(fired(&e.evaluate(&set, "n", 300)), 1);
    // Back under before the duration: pending returns to ok without any alert.
    let mut e2 = Engine::default();
    e2.observe("n", mem(0, 95));
    e2.evaluate(&set, "n", 0);
    e2.observe("n", mem(100, 50));
    assert!(e2.evaluate(&set, "n", 100).is_empty());
    e2.observe("n", mem(200, 95));
    assert!(
        e2.evaluate(&set, "n", 400).is_empty(),
        "the count starts again"
    );
}

#[test]
fn an_agent_offline_fires_only_after_the_duration_counted_from_its_disconnection() {
    let (mut e, set) = (Engine::default(), RuleSet::default());
    e.observe("n", Observation::online(0, true));
    e.observe("n", Observation::online(1000, false));
    assert!(e.evaluate(&set, "n", 1000).is_empty());
    assert!(e.evaluate(&set, "n", 1119).is_empty());
    let t = e.evaluate(&set, "n", 1120);
    assert_eq!(fired(&t), 1, "{t:?}");
    e.observed_open(&t, 1);
    e.observe("n", Observation::online(1200, true));
    assert_eq!(resolved(&e.evaluate(&set, "n", 1200)), 1);
}

#[test]
fn a_disabled_rule_fires_nothing_and_closes_what_was_firing() {
    let mut e = Engine::default();
    let mut set = RuleSet::default();
    e.observe("n", disk(0, 99 * GB));
    let t = e.evaluate(&set, "n", 0);
    e.observed_open(&t, 3);
    set.rules.push(RuleConfig {
        enabled: false,
        ..RuleConfig::default_for(RuleId::Disk)
    });
    let t = e.evaluate(&set, "n", 10);
    assert!(
        matches!(&t[..], [Transition::Closed { open, .. }] if open.alert_id == 3),
        "{t:?}"
    );
    e.observe("n", disk(20, 99 * GB));
    assert!(e.evaluate(&set, "n", 20).is_empty());
    // Disabled for one node only: the other still fires.
    set.rules.clear();
    set.overrides.push(Override {
        rule: RuleId::Disk,
        node_id: "n".into(),
        enabled: Some(false),
        threshold: None,
    });
    e.observe("m", disk(30, 99 * GB));
    assert!(e.evaluate(&set, "n", 30).is_empty());
    assert_eq!(fired(&e.evaluate(&set, "m", 30)), 1);
}

#[test]
fn a_stopped_service_and_a_failed_backup_fire_per_subject() {
    let (mut e, set) = (Engine::default(), RuleSet::default());
    e.observe(
        "n",
        Observation {
            at: 0,
            services: Some(vec![("redis-server".into(), false), ("nginx".into(), true)]),
            backups: Some(vec![("s3".into(), Some(false), Some(0), Some(true), None)]),
            ..Observation::default()
        },
    );
    let t = e.evaluate(&set, "n", 0);
    let keys: Vec<_> = t
        .iter()
        .filter_map(|t| match t {
            Transition::Fired { key, .. } => Some((key.0, key.2.as_str())),
            _ => None,
        })
        .collect();
    assert_eq!(
        keys,
        vec![(RuleId::Service, "redis-server"), (RuleId::Backup, "s3")]
    );
    // The drill is older than 30 days after a month.
    let t = e.evaluate(&set, "n", 31 * 86_400 + 1);
    assert!(
        t.iter()
            .any(|t| matches!(t, Transition::Fired { key, .. } if key.0 == RuleId::Drill)),
        "{t:?}"
    );
}

impl Engine {
    /// Records the stored id of every alert that fired in `t`, as `Alerts` does.
    fn observed_open(&mut self, t: &[Transition], id: i64) {
        for t in t {
            if let Transition::Fired { key, .. } = t {
                self.opened(
                    key,
                    Open {
                        alert_id: id,
                        notified: true,
                    },
                );
            }
        }
    }
}

#[test]
fn an_observation_names_only_the_rules_it_can_change() {
    let mut e = Engine::default();
    let online = e.observe("n", Observation::online(0, true));
    assert!(online.has(RuleId::Offline) && !online.has(RuleId::Disk));
    // The same state again changes nothing: not even `offline` is evaluated.
    assert!(e.observe("n", Observation::online(5, true)).is_empty());
    let d = e.observe("n", disk(6, GB));
    assert!(d.has(RuleId::Disk) && !d.has(RuleId::Offline) && !d.has(RuleId::Memory));
    // A disk alert firing is not resolved by evaluating `offline` alone.
    e.observe("n", disk(7, 99 * GB));
    let set = RuleSet::default();
    let t = e.evaluate(&set, "n", 7);
    e.observed_open(&t, 9);
    e.observe("n", disk(8, GB));
    let off = e.observe("n", Observation::online(8, false));
    assert!(e.evaluate_only(&set, "n", off, 8).is_empty());
    assert_eq!(resolved(&e.evaluate_only(&set, "n", d, 8)), 1);
}
