//! A plan in words: what a recipe would change on this server, for a person to read before
//! confirming (packages with apt's own sizes, services, users, databases, files, ports), built
//! from the recorded side effects ([`PlannedAction`]) and the changes helpers and recipes
//! announce while planning ([`Change`]).
//!
//! A summary describes the server as it was when the plan was made: the agent plans again
//! before a confirmed run and [`differences`] says in sentences what changed in between.

use serde::{Deserialize, Serialize};

use crate::plan::PlannedAction;

/// What apt would do to one package.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum PackageAction {
    Install,
    Upgrade,
    Remove,
}

/// One package apt's simulation (`apt-get -s install`) would change, with the sizes
/// `apt-cache show` gives for that version (`Size`, and `Installed-Size` in bytes).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PackageChange {
    pub name: String,
    pub version: String,
    pub action: PackageAction,
    /// Bytes to download (`Size`); `None` when apt-cache did not say.
    #[serde(default, alias = "downloadBytes")]
    pub download_bytes: Option<u64>,
    /// Bytes on disk once installed (`Installed-Size` × 1024); `None` when apt-cache did not say.
    #[serde(default, alias = "installedBytes")]
    pub installed_bytes: Option<u64>,
}

/// A change a helper or a recipe announces while planning.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "kind", content = "value", rename_all = "snake_case")]
pub enum Change {
    Package(PackageChange),
    /// A user account the recipe would create (a database's, a system user).
    User(String),
    Database(String),
    /// An address a service would listen on (`127.0.0.1:3306`).
    Port(String),
    /// A warning the recipe gave while planning (`warn()`).
    Note(String),
}

/// A service the plan would start, restart, stop, enable or disable.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ServiceChange {
    pub name: String,
    /// `start`, `restart`, `reload`, `stop`, `enable` or `disable`.
    pub action: String,
}

/// A file the plan would write.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct FileChange {
    pub path: String,
    pub mode: u32,
    pub bytes: usize,
}

/// What a plan would change, in the order a person reads it.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct PlanSummary {
    pub packages: Vec<PackageChange>,
    pub services: Vec<ServiceChange>,
    pub users: Vec<String>,
    pub databases: Vec<String>,
    pub files: Vec<FileChange>,
    /// URLs `download()` would fetch.
    pub downloads: Vec<String>,
    pub ports: Vec<String>,
    pub notes: Vec<String>,
}

const SERVICE_ACTIONS: [&str; 6] = ["start", "restart", "reload", "stop", "enable", "disable"];

impl PlanSummary {
    /// The summary of `actions` and the `changes` announced while planning, each listed once.
    pub fn build(actions: &[PlannedAction], changes: &[Change]) -> Self {
        let mut s = Self::default();
        for c in changes {
            match c {
                Change::Package(p) => push_unique(&mut s.packages, p.clone()),
                Change::User(u) => push_unique(&mut s.users, u.clone()),
                Change::Database(d) => push_unique(&mut s.databases, d.clone()),
                Change::Port(p) => push_unique(&mut s.ports, p.clone()),
                Change::Note(n) => push_unique(&mut s.notes, n.clone()),
            }
        }
        for a in actions {
            match a {
                PlannedAction::Run { program, args, .. } => {
                    if let Some(service) = service_change(program, args) {
                        push_unique(&mut s.services, service);
                    }
                }
                PlannedAction::WriteFile { path, mode, bytes } => push_unique(
                    &mut s.files,
                    FileChange {
                        path: path.clone(),
                        mode: *mode,
                        bytes: *bytes,
                    },
                ),
                PlannedAction::Download { url, .. } => push_unique(&mut s.downloads, url.clone()),
            }
        }
        s
    }
}

fn push_unique<T: PartialEq>(v: &mut Vec<T>, item: T) {
    if !v.contains(&item) {
        v.push(item);
    }
}

/// The service a command starts, stops or enables: `systemctl ACTION [--] NAME`,
/// `service NAME ACTION`, `update-rc.d NAME defaults` (enable), `update-rc.d NAME
/// enable|disable`.
fn service_change(program: &str, args: &[String]) -> Option<ServiceChange> {
    let base = program.rsplit('/').next().unwrap_or(program);
    let words: Vec<&str> = args
        .iter()
        .map(String::as_str)
        .filter(|a| !a.starts_with('-'))
        .collect();
    let (name, action) = match (base, words.as_slice()) {
        ("systemctl", [action, name, ..]) => (*name, *action),
        ("service", [name, action, ..]) => (*name, *action),
        ("update-rc.d", [name, "defaults", ..]) => (*name, "enable"),
        ("update-rc.d", [name, action @ ("enable" | "disable"), ..]) => (*name, *action),
        _ => return None,
    };
    SERVICE_ACTIONS.contains(&action).then(|| ServiceChange {
        name: name.trim_end_matches(".service").to_owned(),
        action: action.to_owned(),
    })
}

/// What differs between the plan a person confirmed and the plan made now, as sentences (empty
/// when nothing that matters changed). Files are compared by path only: a template's size may
/// follow a value detected at run time.
pub fn differences(before: &PlanSummary, now: &PlanSummary) -> Vec<String> {
    let packages = |s: &PlanSummary| -> Vec<String> {
        s.packages
            .iter()
            .map(|p| match p.action {
                PackageAction::Install => p.name.clone(),
                PackageAction::Upgrade => format!("{} (upgrade)", p.name),
                PackageAction::Remove => format!("{} (removal)", p.name),
            })
            .collect()
    };
    let services = |s: &PlanSummary| -> Vec<String> {
        s.services
            .iter()
            .map(|c| format!("{} ({})", c.name, c.action))
            .collect()
    };
    let files =
        |s: &PlanSummary| -> Vec<String> { s.files.iter().map(|f| f.path.clone()).collect() };
    let mut out = Vec::new();
    for (what, a, b) in [
        ("packages", packages(before), packages(now)),
        ("users", before.users.clone(), now.users.clone()),
        ("databases", before.databases.clone(), now.databases.clone()),
        ("services", services(before), services(now)),
        ("files", files(before), files(now)),
    ] {
        let gone: Vec<&str> = a
            .iter()
            .filter(|x| !b.contains(x))
            .map(String::as_str)
            .collect();
        let new: Vec<&str> = b
            .iter()
            .filter(|x| !a.contains(x))
            .map(String::as_str)
            .collect();
        if !gone.is_empty() {
            out.push(format!(
                "the preview listed the {what} {}, which no longer need changing",
                gone.join(", ")
            ));
        }
        if !new.is_empty() {
            out.push(format!(
                "the {what} {} now need changing too, which the preview did not show",
                new.join(", ")
            ));
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn package(name: &str) -> PackageChange {
        PackageChange {
            name: name.into(),
            version: "1".into(),
            action: PackageAction::Install,
            download_bytes: Some(1),
            installed_bytes: Some(2),
        }
    }

    #[test]
    fn the_same_plan_made_again_has_no_difference() {
        let s = PlanSummary {
            packages: vec![package("ruby")],
            users: vec!["app".into()],
            ..Default::default()
        };
        assert!(differences(&s, &s.clone()).is_empty());
    }

    #[test]
    fn a_package_installed_meanwhile_and_a_user_made_meanwhile_are_said_in_sentences() {
        let before = PlanSummary {
            packages: vec![package("ruby"), package("rake")],
            users: vec!["app".into()],
            ..Default::default()
        };
        let now = PlanSummary {
            packages: vec![package("ruby")],
            ..Default::default()
        };
        let said = differences(&before, &now);
        assert_eq!(
            said,
            vec![
                "the preview listed the packages rake, which no longer need changing".to_owned(),
                "the preview listed the users app, which no longer need changing".to_owned(),
            ]
        );
    }

    #[test]
    fn services_come_from_systemctl_service_and_update_rc_d() {
        let run = |p: &str, a: &[&str]| PlannedAction::Run {
            program: p.into(),
            args: a.iter().map(|s| (*s).to_owned()).collect(),
            stdin: false,
        };
        let s = PlanSummary::build(
            &[
                run("systemctl", &["start", "--", "redis-server"]),
                run("service", &["mariadb", "restart"]),
                run("update-rc.d", &["cron", "defaults"]),
                run("update-rc.d", &["cron", "enable"]),
                run("update-rc.d", &["rsync", "disable"]),
                run("systemctl", &["is-active", "x"]),
            ],
            &[],
        );
        let got: Vec<String> = s
            .services
            .iter()
            .map(|c| format!("{} {}", c.action, c.name))
            .collect();
        assert_eq!(
            got,
            [
                "start redis-server",
                "restart mariadb",
                "enable cron",
                "disable rsync"
            ]
        );
    }
}
