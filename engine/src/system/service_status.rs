//! What a service is doing, for the server page's Services card: running, stopped or not
//! installed, since when, and whether it starts at boot. Read-only: the agent's detector worker
//! calls [`report`] for every service a recipe declares, with or without systemd.
//!
//! With systemd, `systemctl show` and `systemctl is-enabled` say it all. Without systemd (a
//! container, this project's CI), the init script is the service: no script (or one whose package
//! was removed, leaving its conffiles) is "not installed"; the pid file a recipe declares
//! (`RECIPE.services`, [`ServiceDecl`]) names the main process, whose start time `/proc` gives;
//! an `S` link in `/etc/rc2.d`…`rc5.d` is what starts it at boot.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::time::Duration;

use serde::{Deserialize, Serialize};

use super::service::has_systemd;
use crate::cancel::{CancelToken, Stop};
use crate::process::{self, Spec};

/// What a recipe says about one of its services beyond its name, for the Services card: where
/// its log and its pid file are when systemd is not there to say. Both optional; a `*` may stand
/// for one part of the file name (`/var/log/postgresql/postgresql-*-main.log`), the newest match
/// is used.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ServiceDecl {
    /// The service's own log file, under `/var/log/`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub log: Option<String>,
    /// Its main process's pid file, under `/run/` or `/var/run/`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub pid: Option<String>,
}

/// `RECIPE.services`: declarations by service name.
pub type ServiceDecls = BTreeMap<String, ServiceDecl>;

/// Checks `RECIPE.services` against the recipe's `capabilities.services`; a sentence on failure.
pub fn check_decls(decls: &ServiceDecls, declared: &[String]) -> Result<(), String> {
    for (name, decl) in decls {
        if !declared.iter().any(|s| s == name) {
            return Err(format!(
                "RECIPE.services names `{name}`, which capabilities.services does not declare"
            ));
        }
        if let Some(log) = &decl.log {
            check_path(log, &["/var/log/"])
                .map_err(|why| format!("RECIPE.services.{name}.log `{log}` {why}"))?;
        }
        if let Some(pid) = &decl.pid {
            check_path(pid, &["/run/", "/var/run/"])
                .map_err(|why| format!("RECIPE.services.{name}.pid `{pid}` {why}"))?;
        }
    }
    Ok(())
}

fn check_path(path: &str, under: &[&str]) -> Result<(), String> {
    if !under.iter().any(|u| path.starts_with(u)) {
        return Err(format!("must lie under {}", under.join(" or ")));
    }
    let (dir, file) = path.rsplit_once('/').unwrap_or(("", path));
    if path.split('/').any(|c| c == "." || c == "..") || file.is_empty() {
        return Err("must name a file, without `.` or `..`".into());
    }
    if dir.contains('*') || file.matches('*').count() > 1 {
        return Err("may hold one `*`, in the file name only".into());
    }
    Ok(())
}

/// Whether the service runs.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ServiceState {
    /// Its main process is alive, or systemd says it is active.
    Running,
    /// Installed and not running.
    Stopped,
    /// No unit and no init script (or only the conffiles of a removed package).
    NotInstalled,
}

/// One service as the Services card shows it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ServiceReport {
    pub name: String,
    pub state: ServiceState,
    /// Unix seconds the running service's main process started (systemd: when it became
    /// active). `None` when stopped, or when nothing says (no pid file declared).
    pub since: Option<u64>,
    /// Whether it starts at boot; `None` when that cannot be said (not installed; a systemd
    /// unit that is `static`).
    pub enabled: Option<bool>,
    /// Where [`super::service_log::tail`] reads its log: `journal`, a file's path, or `None`
    /// when there is none (docker without systemd).
    pub log: Option<String>,
}

/// The queries' PATH: the host's `SAFE_PATH` (which `system` cannot name: the host uses it).
const QUERY_PATH: &str = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin";

/// How long one status query may take.
const QUERY_TIMEOUT: Duration = Duration::from_secs(15);

/// Reports `name` as this machine has it. `decl` is what the recipe declared about it.
pub fn report(name: &str, decl: Option<&ServiceDecl>) -> ServiceReport {
    if has_systemd() {
        systemd_report(name)
    } else {
        init_report(name, decl, Path::new("/"))
    }
}

fn systemd_report(name: &str) -> ServiceReport {
    let show = query(
        "systemctl",
        &[
            "show",
            "--property=LoadState,ActiveState,ActiveEnterTimestampMonotonic",
            "--",
            name,
        ],
    )
    .map(|(_, out)| parse_show(&out))
    .unwrap_or_default();
    if show.get("LoadState").is_none_or(|s| s == "not-found") {
        return not_installed(name);
    }
    let running = show
        .get("ActiveState")
        .is_some_and(|s| s == "active" || s == "reloading");
    let since = running
        .then(|| {
            show.get("ActiveEnterTimestampMonotonic")?
                .parse::<u64>()
                .ok()
        })
        .flatten()
        .filter(|usec| *usec > 0)
        .and_then(|usec| Some(boot_time()? + usec / 1_000_000));
    let enabled =
        query("systemctl", &["is-enabled", "--", name]).and_then(|(_, out)| parse_is_enabled(&out));
    ServiceReport {
        name: name.to_owned(),
        state: state(running),
        since,
        enabled,
        log: Some("journal".to_owned()),
    }
}

/// Without systemd. `root` is `/` but for tests of the links and files it reads.
fn init_report(name: &str, decl: Option<&ServiceDecl>, root: &Path) -> ServiceReport {
    let script = root.join("etc/init.d").join(name);
    if !script.is_file() || package_removed(&script) {
        return not_installed(name);
    }
    let pid_file = decl.and_then(|d| d.pid.as_deref());
    let pid = pid_file
        .and_then(|p| newest_match(&rooted(root, p)))
        .and_then(|f| std::fs::read_to_string(f).ok())
        .and_then(|t| t.trim().parse::<u32>().ok())
        .filter(|pid| *pid > 0 && process_alive(root, *pid));
    // The declared pid file is what the init script's own `status` reads; asking the script
    // (10 to 130 ms of shell, Perl or a client, for every status request) only when there is none.
    let running = pid.is_some()
        || (pid_file.is_none()
            && query("service", &[name, "status"]).is_some_and(|(code, _)| code == 0));
    let since = pid.and_then(|pid| process_started(root, pid));
    ServiceReport {
        name: name.to_owned(),
        state: state(running),
        since,
        enabled: Some(rc_enabled(root, name)),
        log: decl.and_then(|d| d.log.clone()),
    }
}

fn not_installed(name: &str) -> ServiceReport {
    ServiceReport {
        name: name.to_owned(),
        state: ServiceState::NotInstalled,
        since: None,
        enabled: None,
        log: None,
    }
}

fn state(running: bool) -> ServiceState {
    if running {
        ServiceState::Running
    } else {
        ServiceState::Stopped
    }
}

fn rooted(root: &Path, absolute: &str) -> PathBuf {
    root.join(absolute.trim_start_matches('/'))
}

/// An init script left behind by `apt remove` (a conffile of a package no longer installed):
/// from dpkg's status file, where each package lists its conffiles, or, while dpkg has a journal
/// it has not merged, from `dpkg-query -S` (150 ms: it reads every package's file list).
fn package_removed(script: &Path) -> bool {
    if let Some(db) =
        crate::system::apt::status::installed(Path::new(crate::system::apt::status::ADMIN_DIR))
    {
        return db.conffile_left_behind(&script.display().to_string());
    }
    let Some((_, owner)) = query("dpkg-query", &["-S", &script.display().to_string()]) else {
        return false;
    };
    let Some(package) = owner.lines().next().and_then(|l| l.split(':').next()) else {
        return false;
    };
    query(
        "dpkg-query",
        &["-W", "-f=${db:Status-Abbrev}", "--", package.trim()],
    )
    .is_some_and(|(code, status)| code == 0 && !status.starts_with("ii"))
}

/// Whether an `S` link in `/etc/rc2.d`…`/etc/rc5.d` starts the init script `name`.
pub(crate) fn rc_enabled(root: &Path, name: &str) -> bool {
    (2..=5).any(|level| {
        std::fs::read_dir(root.join(format!("etc/rc{level}.d")))
            .into_iter()
            .flatten()
            .flatten()
            .any(|entry| is_start_link(&entry.file_name().to_string_lossy(), name))
    })
}

/// `S01redis-server` for `redis-server`: `S`, two digits, the name.
pub(crate) fn is_start_link(file: &str, name: &str) -> bool {
    file.strip_prefix('S')
        .filter(|rest| rest.len() > 2 && rest.as_bytes()[..2].iter().all(u8::is_ascii_digit))
        .is_some_and(|rest| &rest[2..] == name)
}

/// A pattern's newest match (a `*` in the file name), or the path itself when it has none.
pub fn newest_match(path: &Path) -> Option<PathBuf> {
    let file = path.file_name()?.to_string_lossy().into_owned();
    let Some((prefix, suffix)) = file.split_once('*') else {
        return path.exists().then(|| path.to_owned());
    };
    let dir = path.parent()?;
    std::fs::read_dir(dir)
        .ok()?
        .flatten()
        .filter(|e| {
            let n = e.file_name().to_string_lossy().into_owned();
            n.len() >= prefix.len() + suffix.len() && n.starts_with(prefix) && n.ends_with(suffix)
        })
        .filter_map(|e| Some((e.metadata().ok()?.modified().ok()?, e.path())))
        .max()
        .map(|(_, p)| p)
}

/// A live process (not a zombie left for its parent to reap).
fn process_alive(root: &Path, pid: u32) -> bool {
    std::fs::read_to_string(root.join(format!("proc/{pid}/stat")))
        .ok()
        .and_then(|stat| stat_fields(&stat).map(|f| f.first().copied() != Some("Z")))
        .unwrap_or(false)
}

fn process_started(root: &Path, pid: u32) -> Option<u64> {
    let stat = std::fs::read_to_string(root.join(format!("proc/{pid}/stat"))).ok()?;
    let boot = parse_btime(&std::fs::read_to_string(root.join("proc/stat")).ok()?)?;
    Some(boot + start_ticks(&stat)? / rustix::param::clock_ticks_per_second())
}

/// The fields of `/proc/PID/stat` after the command name (which may hold spaces and `)`):
/// the first is the state, the 20th the start time in clock ticks since boot.
fn stat_fields(stat: &str) -> Option<Vec<&str>> {
    let (_, rest) = stat.rsplit_once(')')?;
    Some(rest.split_whitespace().collect())
}

pub(crate) fn start_ticks(stat: &str) -> Option<u64> {
    stat_fields(stat)?.get(19)?.parse().ok()
}

/// `btime` of `/proc/stat`: when the machine booted, unix seconds.
pub(crate) fn parse_btime(proc_stat: &str) -> Option<u64> {
    proc_stat
        .lines()
        .find_map(|l| l.strip_prefix("btime "))
        .and_then(|v| v.trim().parse().ok())
}

fn boot_time() -> Option<u64> {
    parse_btime(&std::fs::read_to_string("/proc/stat").ok()?)
}

/// `systemctl show`'s `Key=value` lines.
pub(crate) fn parse_show(out: &str) -> BTreeMap<String, String> {
    out.lines()
        .filter_map(|l| l.split_once('='))
        .map(|(k, v)| (k.trim().to_owned(), v.trim().to_owned()))
        .collect()
}

/// `systemctl is-enabled`'s word: `enabled` (and its kin) starts at boot, `disabled` and
/// `masked` do not; `static`, `indirect` and the rest have no say of their own.
pub(crate) fn parse_is_enabled(out: &str) -> Option<bool> {
    match out.lines().next()?.trim() {
        "enabled" | "enabled-runtime" | "alias" | "generated" => Some(true),
        "disabled" | "masked" | "masked-runtime" => Some(false),
        _ => None,
    }
}

/// Runs a read-only query on the engine's fixed PATH with a cleared environment: its exit code
/// and stdout, or `None` when it could not run.
pub(crate) fn query(program: &str, args: &[&str]) -> Option<(i32, String)> {
    let path = QUERY_PATH
        .split(':')
        .map(|d| Path::new(d).join(program))
        .find(|p| p.is_file())?;
    let spec = Spec {
        program: path,
        args: args.iter().map(|a| (*a).to_owned()).collect(),
        env: vec![
            ("PATH".into(), QUERY_PATH.into()),
            ("LANG".into(), "C.UTF-8".into()),
            ("LC_ALL".into(), "C.UTF-8".into()),
        ],
        stdin: None,
        cwd: None,
        timeout: QUERY_TIMEOUT,
    };
    let stop = Stop::new(CancelToken::new(), QUERY_TIMEOUT + Duration::from_secs(1));
    let out = process::run(&spec, &stop, &mut |_, _| {}).ok()?;
    Some((out.code.unwrap_or(-1), out.stdout))
}

#[cfg(test)]
#[path = "service_status_tests.rs"]
mod tests;
