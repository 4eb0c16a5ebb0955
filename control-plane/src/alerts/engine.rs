//! The alert state machine, without storage, network or clock: observations merged into what
//! is known of each node ([`Facts`]), and each (rule, node, subject) moved between ok, pending
//! (condition true, not yet for the rule's duration), firing and resolved. It returns what
//! changed ([`Transition`]); [`super::Alerts`] stores it and notifies. `now` is always passed
//! in, so tests drive the clock.

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

/// The engine: facts per node, and the state of every alert not ok.
#[derive(Debug, Default)]
pub struct Engine {
    facts: HashMap<String, Facts>,
    tracks: HashMap<Key, Track>,
}

/// One condition, measured: subject, value, whether it holds, and since when it can be said
/// to (the offline time for `offline`, else now).
type Measured = (String, f64, bool, u64);

impl Engine {
    /// Merges what `obs` says into the node's facts.
    pub fn observe(&mut self, node_id: &str, obs: &Observation) {
        let f = self.facts.entry(node_id.to_owned()).or_default();
        if let Some(online) = obs.online {
            // Only a change moves the time: a second "offline" does not restart the count.
            if f.online.is_none_or(|(was, _)| was != online) {
                f.online = Some((online, obs.at));
            }
        }
        if obs.disks.is_some() {
            f.disks.clone_from(&obs.disks);
        }
        f.memory = obs.memory.or(f.memory);
        f.load1 = obs.load1.or(f.load1);
        f.cores = obs.cores.or(f.cores);
        if obs.services.is_some() {
            f.services.clone_from(&obs.services);
        }
        if obs.backups.is_some() {
            f.backups.clone_from(&obs.backups);
        }
    }

    /// Takes back an alert that was firing when the control plane stopped, so that it is not
    /// notified again.
    pub fn restore(&mut self, key: Key, since: u64, open: Open) {
        self.tracks.insert(
            key,
            Track {
                since,
                firing: Some(open),
            },
        );
    }

    /// Records the stored id of an alert that just fired.
    pub fn opened(&mut self, key: &Key, open: Open) {
        if let Some(t) = self.tracks.get_mut(key) {
            t.firing = Some(open);
        }
    }

    /// The nodes the engine knows of.
    pub fn nodes(&self) -> Vec<String> {
        self.facts.keys().cloned().collect()
    }

    /// Forgets a node (removed from Cairn); its open alerts are returned closed.
    pub fn forget(&mut self, node_id: &str) -> Vec<Transition> {
        self.facts.remove(node_id);
        let keys: Vec<Key> = self
            .tracks
            .keys()
            .filter(|k| k.1 == node_id)
            .cloned()
            .collect();
        keys.into_iter()
            .filter_map(|key| {
                let t = self.tracks.remove(&key)?;
                Some(Transition::Closed {
                    key,
                    open: t.firing?,
                })
            })
            .collect()
    }

    /// Evaluates every rule for one node at `now`.
    pub fn evaluate(&mut self, set: &RuleSet, node_id: &str, now: u64) -> Vec<Transition> {
        let mut out = Vec::new();
        for rule in RuleId::ALL {
            let eff = set.effective(rule, node_id);
            let mine: Vec<Key> = self
                .tracks
                .keys()
                .filter(|k| k.0 == rule && k.1 == node_id)
                .cloned()
                .collect();
            if !eff.enabled {
                for key in mine {
                    if let Some(Track {
                        firing: Some(open), ..
                    }) = self.tracks.remove(&key)
                    {
                        out.push(Transition::Closed { key, open });
                    }
                }
                continue;
            }
            let facts = self.facts.get(node_id).cloned().unwrap_or_default();
            // Nothing known about this rule's subject: its alerts stay as they are.
            let Some(measured) = measure(rule, &facts, eff.threshold, now) else {
                continue;
            };
            for key in mine {
                if !measured.iter().any(|m| m.0 == key.2) {
                    // The subject is gone (a mount no longer listed): no longer a problem.
                    self.settle(key, 0.0, &mut out);
                }
            }
            for (subject, value, holds, since) in measured {
                let key = (rule, node_id.to_owned(), subject);
                if !holds {
                    self.settle(key, value, &mut out);
                    continue;
                }
                let track = self.tracks.entry(key.clone()).or_insert(Track {
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
                        key,
                        value,
                        threshold: eff.threshold,
                    });
                }
            }
        }
        out
    }

    /// The condition of `key` no longer holds: pending goes back to ok, firing resolves.
    fn settle(&mut self, key: Key, value: f64, out: &mut Vec<Transition>) {
        if let Some(Track {
            firing: Some(open), ..
        }) = self.tracks.remove(&key)
        {
            out.push(Transition::Resolved { key, open, value });
        }
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
