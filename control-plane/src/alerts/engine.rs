//! The alert state machine, without storage, network or clock: observations merged into what
//! is known of each node ([`Facts`]), and each (rule, node, subject) moved between ok, pending
//! (condition true, not yet for the rule's duration), firing and resolved. It returns what
//! changed ([`Transition`]); [`super::Alerts`] stores it and notifies. `now` is always passed
//! in, so tests drive the clock.
//!
//! Each node's facts and its alerts not ok are kept together, so evaluating a node touches that
//! node only (not every alert of the fleet), and [`Engine::observe`] says which rules an
//! observation can change, so that only those are evaluated.

use std::collections::HashMap;

use super::observation::{Backup, Disk, Observation};
use super::rules::{RuleId, RuleSet};

/// One alert's identity: rule, node, subject (a mount, a service, a backup provider; empty for
/// a rule about the whole node).
pub type Key = (RuleId, String, String);

/// What is known of one node: each part as last said.
#[derive(Debug, Clone, Default)]
pub struct Facts {
    /// Online or not, and since when.
    pub online: Option<(bool, u64)>,
    pub disks: Option<Vec<Disk>>,
    pub memory: Option<(u64, u64)>,
    pub load1: Option<f64>,
    pub cores: Option<u32>,
    pub services: Option<Vec<(String, bool)>>,
    pub backups: Option<Vec<Backup>>,
}

/// An alert that fired: its stored id and whether its firing was notified (its resolution is
/// notified only then).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Open {
    pub alert_id: i64,
    pub notified: bool,
}

#[derive(Debug, Clone, Copy)]
struct Track {
    /// The condition has held since then.
    since: u64,
    firing: Option<Open>,
}

/// What changed in one evaluation.
#[derive(Debug, Clone, PartialEq)]
pub enum Transition {
    /// The condition held for the rule's duration: the alert fires (the caller stores it and
    /// hands back its id with [`Engine::opened`]).
    Fired {
        key: Key,
        value: f64,
        threshold: f64,
    },
    /// The condition no longer holds.
    Resolved { key: Key, open: Open, value: f64 },
    /// The rule was disabled (for all nodes or this one): closed without notification.
    Closed { key: Key, open: Open },
}

/// The rules an observation can change, as a set: bit `1 << rule as u8`.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Rules(u8);

impl Rules {
    pub const NONE: Self = Self(0);
    pub const ALL: Self = Self(0x7f);

    pub fn insert(&mut self, rule: RuleId) {
        self.0 |= 1 << rule as u8;
    }

    pub fn has(self, rule: RuleId) -> bool {
        self.0 & 1 << rule as u8 != 0
    }

    pub fn is_empty(self) -> bool {
        self.0 == 0
    }
}

/// One node's facts and the state of its alerts that are not ok (by rule and subject), kept
/// together so that evaluating a node touches that node only.
#[derive(Debug, Default)]
struct NodeState {
    facts: Facts,
    tracks: HashMap<(RuleId, String), Track>,
}

/// The engine: facts per node, and the state of every alert not ok.
#[derive(Debug, Default)]
pub struct Engine {
    nodes: HashMap<String, NodeState>,
}

/// One condition, measured: subject, value, whether it holds, and since when it can be said
/// to (the offline time for `offline`, else now).
type Measured = (String, f64, bool, u64);

impl Engine {
    fn node(&mut self, node_id: &str) -> &mut NodeState {
        // No key allocated for a node already known (every observation but its first).
        if !self.nodes.contains_key(node_id) {
            self.nodes.insert(node_id.to_owned(), NodeState::default());
        }
        self.nodes.get_mut(node_id).expect("inserted above")
    }

    /// Merges what `obs` says into the node's facts (its parts are moved, not copied) and
    /// returns the rules it can change: those whose facts it said, and `offline` only when
    /// the node's online state changed.
    pub fn observe(&mut self, node_id: &str, obs: Observation) -> Rules {
        let f = &mut self.node(node_id).facts;
        let mut said = Rules::NONE;
        if let Some(online) = obs.online {
            // Only a change moves the time: a second "offline" does not restart the count.
            if f.online.is_none_or(|(was, _)| was != online) {
                f.online = Some((online, obs.at));
                said.insert(RuleId::Offline);
            }
        }
        if obs.disks.is_some() {
            f.disks = obs.disks;
            said.insert(RuleId::Disk);
        }
        if obs.memory.is_some() {
            f.memory = obs.memory;
            said.insert(RuleId::Memory);
        }
        if obs.load1.is_some() || obs.cores.is_some() {
            f.load1 = obs.load1.or(f.load1);
            f.cores = obs.cores.or(f.cores);
            said.insert(RuleId::Load);
        }
        if obs.services.is_some() {
            f.services = obs.services;
            said.insert(RuleId::Service);
        }
        if obs.backups.is_some() {
            f.backups = obs.backups;
            said.insert(RuleId::Backup);
            said.insert(RuleId::Drill);
        }
        said
    }

    /// Takes back an alert that was firing when the control plane stopped, so that it is not
    /// notified again.
    pub fn restore(&mut self, key: Key, since: u64, open: Open) {
        self.node(&key.1).tracks.insert(
            (key.0, key.2),
            Track {
                since,
                firing: Some(open),
            },
        );
    }

    /// Records the stored id of an alert that just fired.
    pub fn opened(&mut self, key: &Key, open: Open) {
        if let Some(t) = self
            .nodes
            .get_mut(&key.1)
            .and_then(|n| n.tracks.get_mut(&(key.0, key.2.clone())))
        {
            t.firing = Some(open);
        }
    }

    /// Forgets a node (removed from Cairn); its open alerts are returned closed.
    pub fn forget(&mut self, node_id: &str) -> Vec<Transition> {
        let Some(node) = self.nodes.remove(node_id) else {
            return Vec::new();
        };
        node.tracks
            .into_iter()
            .filter_map(|((rule, subject), t)| {
                Some(Transition::Closed {
                    key: (rule, node_id.to_owned(), subject),
                    open: t.firing?,
                })
            })
            .collect()
    }

    /// Evaluates every rule for one node at `now`.
    #[cfg(test)]
    pub fn evaluate(&mut self, set: &RuleSet, node_id: &str, now: u64) -> Vec<Transition> {
        self.evaluate_only(set, node_id, Rules::ALL, now)
    }

    /// Evaluates `rules` for one node at `now` (the others cannot have changed).
    pub fn evaluate_only(
        &mut self,
        set: &RuleSet,
        node_id: &str,
        rules: Rules,
        now: u64,
    ) -> Vec<Transition> {
        let mut out = Vec::new();
        if let Some(node) = self.nodes.get_mut(node_id) {
            evaluate_node(node, node_id, set, rules, now, &mut out);
        }
        out
    }

    /// Evaluates every rule for every node at `now` (the tick: what a duration or an age
    /// makes fire).
    pub fn evaluate_all(&mut self, set: &RuleSet, now: u64) -> Vec<Transition> {
        let mut out = Vec::new();
        for (node_id, node) in &mut self.nodes {
            evaluate_node(node, node_id, set, Rules::ALL, now, &mut out);
        }
        out
    }
}

fn evaluate_node(
    node: &mut NodeState,
    node_id: &str,
    set: &RuleSet,
    rules: Rules,
    now: u64,
    out: &mut Vec<Transition>,
) {
    for rule in RuleId::ALL.into_iter().filter(|r| rules.has(*r)) {
        let eff = set.effective(rule, node_id);
        let mine: Vec<String> = node
            .tracks
            .keys()
            .filter(|k| k.0 == rule)
            .map(|k| k.1.clone())
            .collect();
        if !eff.enabled {
            for subject in mine {
                if let Some(Track {
                    firing: Some(open), ..
                }) = node.tracks.remove(&(rule, subject.clone()))
                {
                    let key = (rule, node_id.to_owned(), subject);
                    out.push(Transition::Closed { key, open });
                }
            }
            continue;
        }
        // Nothing known about this rule's subject: its alerts stay as they are.
        let Some(measured) = measure(rule, &node.facts, eff.threshold, now) else {
            continue;
        };
        for subject in mine {
            if !measured.iter().any(|m| m.0 == subject) {
                // The subject is gone (a mount no longer listed): no longer a problem.
                settle(node, node_id, (rule, subject), 0.0, out);
            }
        }
        for (subject, value, holds, since) in measured {
            if !holds {
                settle(node, node_id, (rule, subject), value, out);
                continue;
            }
            let track = node.tracks.entry((rule, subject.clone())).or_insert(Track {
                since,
                firing: None,
            });
            if track.firing.is_none() && now.saturating_sub(track.since) >= eff.duration_secs {
                // Marked firing at once (id 0 until stored) so it fires once.
                track.firing = Some(Open {
                    alert_id: 0,
                    notified: false,
                });
                out.push(Transition::Fired {
                    key: (rule, node_id.to_owned(), subject),
                    value,
                    threshold: eff.threshold,
                });
            }
        }
    }
}

/// The condition of `key` no longer holds: pending goes back to ok, firing resolves.
fn settle(
    node: &mut NodeState,
    node_id: &str,
    key: (RuleId, String),
    value: f64,
    out: &mut Vec<Transition>,
) {
    if let Some(Track {
        firing: Some(open), ..
    }) = node.tracks.remove(&key)
    {
        let key = (key.0, node_id.to_owned(), key.1);
        out.push(Transition::Resolved { key, open, value });
    }
}

fn percent(used: u64, total: u64) -> f64 {
    if total == 0 {
        return 0.0;
    }
    #[allow(clippy::cast_precision_loss)]
    let p = used as f64 * 100.0 / total as f64;
    (p * 10.0).round() / 10.0
}

/// The rule's condition on each of its subjects, or `None` when the facts do not say.
fn measure(rule: RuleId, f: &Facts, threshold: f64, now: u64) -> Option<Vec<Measured>> {
    const DAY: u64 = 86_400;
    Some(match rule {
        RuleId::Offline => {
            let (online, since) = f.online?;
            #[allow(clippy::cast_precision_loss)]
            let off = if online {
                0.0
            } else {
                now.saturating_sub(since) as f64
            };
            vec![(String::new(), off, !online, since)]
        }
        RuleId::Disk => f
            .disks
            .as_ref()?
            .iter()
            .map(|(mount, used, total)| {
                let p = percent(*used, *total);
                (mount.clone(), p, p > threshold, now)
            })
            .collect(),
        RuleId::Memory => {
            let (used, total) = f.memory?;
            let p = percent(used, total);
            vec![(String::new(), p, p > threshold, now)]
        }
        RuleId::Load => {
            let (load, cores) = (f.load1?, f.cores?);
            vec![(
                String::new(),
                load,
                load > threshold * f64::from(cores),
                now,
            )]
        }
        RuleId::Service => f
            .services
            .as_ref()?
            .iter()
            .map(|(name, running)| (name.clone(), 0.0, !running, now))
            .collect(),
        RuleId::Backup => f
            .backups
            .as_ref()?
            .iter()
            .map(|b| (b.0.clone(), 0.0, b.1 == Some(false), now))
            .collect(),
        RuleId::Drill => f
            .backups
            .as_ref()?
            .iter()
            .map(|(provider, _, at, ok, limit)| {
                let limit = limit.map_or(threshold, f64::from);
                #[allow(clippy::cast_precision_loss)]
                let age = at.map_or(0.0, |t| (now.saturating_sub(t) / DAY) as f64);
                let stale = at.is_some() && age > limit;
                (provider.clone(), age, *ok == Some(false) || stale, now)
            })
            .collect(),
    })
}

#[cfg(test)]
#[path = "engine_tests.rs"]
mod tests;
