//! The alert rules: which conditions Cairn watches, their defaults, and how a rule's setting
//! and a node's override combine into what is evaluated ([`Effective`]).

use serde::{Deserialize, Serialize};

/// One kind of condition Cairn watches. Its id is the rule's name in the API.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum RuleId {
    /// The node's agent is not connected.
    Offline,
    /// A mounted file system is fuller than the threshold (percent), per mount.
    Disk,
    /// Memory in use above the threshold (percent).
    Memory,
    /// The 1-minute load above the threshold × the number of cores.
    Load,
    /// A service a recipe set up (installed) is stopped, per service.
    Service,
    /// A backup's last run failed, per provider.
    Backup,
    /// A backup's restore drill failed or is older than its limit (days), per provider.
    Drill,
}

impl RuleId {
    pub const ALL: [RuleId; 7] = [
        Self::Offline,
        Self::Disk,
        Self::Memory,
        Self::Load,
        Self::Service,
        Self::Backup,
        Self::Drill,
    ];

    pub fn name(self) -> &'static str {
        match self {
            Self::Offline => "offline",
            Self::Disk => "disk",
            Self::Memory => "memory",
            Self::Load => "load",
            Self::Service => "service",
            Self::Backup => "backup",
            Self::Drill => "drill",
        }
    }

    pub fn parse(name: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|r| r.name() == name)
    }

    /// Whether the rule has a threshold a person can set (the others are yes/no conditions).
    pub fn has_threshold(self) -> bool {
        matches!(self, Self::Disk | Self::Memory | Self::Load | Self::Drill)
    }

    /// The range a threshold must fall in, and what it counts.
    pub fn threshold_range(self) -> (f64, f64) {
        match self {
            Self::Disk | Self::Memory => (1.0, 100.0),
            Self::Load => (0.1, 100.0),
            Self::Drill => (1.0, 3650.0),
            _ => (0.0, 0.0),
        }
    }
}

/// A rule as set in the dashboard (or its default).
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct RuleConfig {
    pub id: RuleId,
    pub enabled: bool,
    /// Percent (disk, memory), × cores (load), days (drill); 0 for the others.
    pub threshold: f64,
    /// How long the condition must hold before the alert fires.
    pub duration_secs: u64,
}

impl RuleConfig {
    /// The defaults of issue 19: offline 2 min, disk 90 %, memory 90 % for 5 min, load over
    /// cores × 2 for 10 min, a service stopped, a backup failed, a drill failed or older than
    /// 30 days (when the backup states no limit of its own).
    pub fn default_for(id: RuleId) -> Self {
        let (threshold, duration_secs) = match id {
            RuleId::Offline => (0.0, 120),
            RuleId::Disk => (90.0, 0),
            RuleId::Memory => (90.0, 300),
            RuleId::Load => (2.0, 600),
            RuleId::Service => (0.0, 0),
            RuleId::Backup => (0.0, 0),
            RuleId::Drill => (30.0, 0),
        };
        Self {
            id,
            enabled: true,
            threshold,
            duration_secs,
        }
    }
}

/// One node's exceptions to a rule: `None` keeps the rule's value.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Override {
    pub rule: RuleId,
    pub node_id: String,
    pub enabled: Option<bool>,
    pub threshold: Option<f64>,
}

/// A mute: no notification for the rule (on one node, or on all) until `until`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Mute {
    pub id: i64,
    pub rule: RuleId,
    /// `None`: every node.
    pub node_id: Option<String>,
    pub until: u64,
    pub by: String,
}

/// What is evaluated for one (rule, node).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Effective {
    pub enabled: bool,
    pub threshold: f64,
    pub duration_secs: u64,
}

/// Every rule's setting, the nodes' overrides and the mutes.
#[derive(Debug, Clone, Default)]
pub struct RuleSet {
    pub rules: Vec<RuleConfig>,
    pub overrides: Vec<Override>,
    pub mutes: Vec<Mute>,
}

impl RuleSet {
    pub fn rule(&self, id: RuleId) -> RuleConfig {
        self.rules
            .iter()
            .find(|r| r.id == id)
            .copied()
            .unwrap_or_else(|| RuleConfig::default_for(id))
    }

    /// The rule as it applies to `node_id`: a node's override wins over the rule.
    pub fn effective(&self, id: RuleId, node_id: &str) -> Effective {
        let rule = self.rule(id);
        let o = self
            .overrides
            .iter()
            .find(|o| o.rule == id && o.node_id == node_id);
        Effective {
            enabled: o.and_then(|o| o.enabled).unwrap_or(rule.enabled),
            threshold: o.and_then(|o| o.threshold).unwrap_or(rule.threshold),
            duration_secs: rule.duration_secs,
        }
    }

    /// Whether notifications of the rule on `node_id` are muted at `now`.
    pub fn muted(&self, id: RuleId, node_id: &str, now: u64) -> bool {
        self.mutes.iter().any(|m| {
            m.rule == id && m.until > now && m.node_id.as_deref().is_none_or(|n| n == node_id)
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_nodes_override_wins_over_the_rule_and_a_mute_ends_at_its_time() {
        let mut set = RuleSet::default();
        set.overrides.push(Override {
            rule: RuleId::Disk,
            node_id: "n1".into(),
            enabled: None,
            threshold: Some(95.0),
        });
        assert_eq!(set.effective(RuleId::Disk, "n1").threshold, 95.0);
        assert_eq!(set.effective(RuleId::Disk, "n2").threshold, 90.0);
        set.mutes.push(Mute {
            id: 1,
            rule: RuleId::Disk,
            node_id: Some("n1".into()),
            until: 100,
            by: "admin".into(),
        });
        assert!(set.muted(RuleId::Disk, "n1", 99));
        assert!(!set.muted(RuleId::Disk, "n1", 100));
        assert!(!set.muted(RuleId::Disk, "n2", 99));
    }
}
