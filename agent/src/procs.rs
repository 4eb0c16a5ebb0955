//! Processes the supervisor starts and stops: workers (each leads its own session, see
//! [`crate::worker::limits`]), the record that lets a restarted supervisor find a running
//! worker again, stopping a worker with everything it started, and the sentence that says how
//! a worker ended.

use std::path::Path;
use std::process::ExitStatus;

use rustix::process::{Pid, Signal};

/// A worker as recorded in `<jobId>.worker`: its pid and its start time (clock ticks after
/// boot, `/proc/PID/stat` field 22), so a pid reused by another process is not taken for it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct WorkerId {
    pub pid: i32,
    pub start: u64,
}

impl WorkerId {
    /// The running process `pid`, if there is one.
    pub fn of(pid: u32) -> Option<Self> {
        let pid = i32::try_from(pid).ok()?;
        Some(Self {
            pid,
            start: stat(pid)?.start,
        })
    }

    /// Whether this very process still runs (a zombie does not count).
    pub fn alive(&self) -> bool {
        stat(self.pid).is_some_and(|s| s.start == self.start && s.state != 'Z')
    }

    pub fn save(&self, path: &Path) -> std::io::Result<()> {
        std::fs::write(path, format!("{} {}\n", self.pid, self.start))
    }

    pub fn load(path: &Path) -> Option<Self> {
        let text = std::fs::read_to_string(path).ok()?;
        let mut words = text.split_whitespace();
        Some(Self {
            pid: words.next()?.parse().ok()?,
            start: words.next()?.parse().ok()?,
        })
    }

    /// Kills the worker and every process of its session (what it started and did not move
    /// out of it: a service that daemonized itself has its own session and stays).
    pub fn kill_all(&self) {
        kill_session(self.pid, Signal::KILL);
    }
}

struct Stat {
    state: char,
    session: i32,
    start: u64,
}

fn stat(pid: i32) -> Option<Stat> {
    let text = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    // The command name (field 2) may hold spaces and parentheses: fields follow the last ')'.
    let rest = &text[text.rfind(')')? + 2..];
    let fields: Vec<&str> = rest.split(' ').collect();
    // `rest` starts at field 3 (state): field N is fields[N - 3].
    Some(Stat {
        state: fields.first()?.chars().next()?,
        session: fields.get(6 - 3)?.parse().ok()?,
        start: fields.get(22 - 3)?.parse().ok()?,
    })
}

/// Sends `signal` to every process of session `sid` (the leader included), a few passes so a
/// process forked meanwhile is caught too.
pub fn kill_session(sid: i32, signal: Signal) {
    for _ in 0..3 {
        let mut found = false;
        if let Some(pid) = Pid::from_raw(sid) {
            found |= rustix::process::kill_process(pid, signal).is_ok();
        }
        let Ok(dir) = std::fs::read_dir("/proc") else {
            return;
        };
        for entry in dir.flatten() {
            let Some(pid) = entry
                .file_name()
                .to_str()
                .and_then(|n| n.parse::<i32>().ok())
            else {
                continue;
            };
            if stat(pid).is_some_and(|s| s.session == sid)
                && let Some(p) = Pid::from_raw(pid)
            {
                found |= rustix::process::kill_process(p, signal).is_ok();
            }
        }
        if !found {
            return;
        }
        std::thread::sleep(std::time::Duration::from_millis(20));
    }
}

/// The sentence for a job whose worker ended without reporting how the job ended.
/// `log` is what the worker wrote on its standard error; `memory` its `RLIMIT_AS`.
pub fn ended(status: Option<ExitStatus>, log: &str, memory: u64) -> String {
    use std::os::unix::process::ExitStatusExt;
    let mib = memory >> 20;
    if log.contains("memory allocation of") {
        return format!(
            "The job needed more memory than its limit of {mib} MiB and was stopped; what it \
             printed before is above. Nothing after that ran."
        );
    }
    match status.and_then(|s| s.signal()) {
        Some(9) => "The job's worker process was killed (SIGKILL) before the job finished, by \
                    the kernel when the server ran out of memory or by someone on the server; \
                    what it printed before is above. Run the job again."
            .to_owned(),
        Some(24) => {
            "The job used more processor time than it is allowed and was stopped.".to_owned()
        }
        Some(sig) => format!(
            "The job's worker process stopped with signal {sig} before the job finished; what \
             it printed before is above. Run the job again; if it happens again, the agent's \
             log on the server says more."
        ),
        None => match status.and_then(|s| s.code()) {
            Some(code) => format!(
                "The job's worker process exited (code {code}) without saying how the job \
                 ended{}. Run the job again.",
                last_line(log).map(|l| format!(": {l}")).unwrap_or_default()
            ),
            None => "The job's worker process ended while the agent was restarting, without \
                     saying how the job ended. Run the job again."
                .to_owned(),
        },
    }
}

/// The last non-empty line of a worker's log, without its timestamp and level.
fn last_line(log: &str) -> Option<&str> {
    let line = log.lines().rev().find(|l| !l.trim().is_empty())?;
    Some(
        line.split_once("cairn_agent")
            .map_or(line, |(_, r)| r.trim_start_matches([':', ' '])),
    )
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[test]
    fn this_process_is_found_by_its_pid_and_start_time_and_a_wrong_start_is_not() {
        let me = WorkerId::of(std::process::id()).expect("this process has a stat");
        assert!(me.alive());
        let other = WorkerId {
            start: me.start + 1,
            ..me
        };
        assert!(!other.alive());
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("w");
        me.save(&path).unwrap();
        assert_eq!(WorkerId::load(&path), Some(me));
    }

    #[test]
    fn a_session_is_killed_with_every_process_in_it() {
        // `setsid` makes a shell lead its own session; its background sleep is in it too.
        let mut child = std::process::Command::new("setsid")
            .args(["-w", "sh", "-c", "sleep 300 & sleep 300"])
            .spawn()
            .expect("setsid runs");
        std::thread::sleep(std::time::Duration::from_millis(300));
        // setsid execs the shell itself, or forks first when it leads a process group: the
        // leader is the child or the child's child.
        let leader = std::fs::read_dir("/proc")
            .unwrap()
            .flatten()
            .filter_map(|e| e.file_name().to_str()?.parse::<i32>().ok())
            .find(|&pid| {
                let is_child = u32::try_from(pid).is_ok_and(|p| p == child.id())
                    || std::fs::read_to_string(format!("/proc/{pid}/status"))
                        .is_ok_and(|t| t.lines().any(|l| l == format!("PPid:\t{}", child.id())));
                is_child && stat(pid).is_some_and(|s| s.session == pid)
            })
            .expect("the shell leads a session");
        let members = |sid| {
            std::fs::read_dir("/proc")
                .unwrap()
                .flatten()
                .filter_map(|e| e.file_name().to_str()?.parse::<i32>().ok())
                .filter(|&p| stat(p).is_some_and(|s| s.session == sid && s.state != 'Z'))
                .count()
        };
        assert_eq!(members(leader), 3, "shell and two sleeps");
        kill_session(leader, Signal::KILL);
        let _ = child.wait();
        assert_eq!(members(leader), 0);
    }

    #[test]
    fn a_worker_that_ran_out_of_memory_is_said_so_and_a_kill_names_the_signal() {
        let oom = ended(
            None,
            "memory allocation of 1048576 bytes failed\n",
            128 << 20,
        );
        assert!(oom.contains("limit of 128 MiB"), "{oom}");
        use std::os::unix::process::ExitStatusExt;
        let killed = ended(Some(ExitStatus::from_raw(9)), "", 1 << 30);
        assert!(killed.contains("SIGKILL"), "{killed}");
        let exited = ended(
            Some(ExitStatus::from_raw(1 << 8)),
            "x ERROR cairn_agent: boom\n",
            1,
        );
        assert!(
            exited.contains("code 1") && exited.ends_with("boom. Run the job again."),
            "{exited}"
        );
    }
}
