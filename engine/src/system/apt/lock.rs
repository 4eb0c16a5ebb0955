//! The two locks every apt/dpkg run waits for: Cairn's own (one package operation at a time in
//! this process, however many jobs run in parallel) and dpkg's (held by any other program on the
//! host: an unattended-upgrades run, an admin's `apt-get` in another shell).
//!
//! Waiting is visible and cancellable: a job blocked behind a lock says what it is waiting for
//! instead of looking frozen, and a cancel or the job's deadline ends the wait.

use std::fs::File;
use std::path::Path;
use std::sync::{Mutex, MutexGuard, TryLockError};
use std::thread;
use std::time::{Duration, Instant};

use rustix::process::{Flock, FlockType, fcntl_getlk};

use crate::error::HostError;
use crate::event::{Stream, WaitReason};
use crate::exec::Exec;

/// dpkg's locks: apt takes the frontend lock for a whole operation, dpkg the inner one.
pub(super) const DPKG_LOCKS: [&str; 2] = ["/var/lib/dpkg/lock-frontend", "/var/lib/dpkg/lock"];

/// The lock `apt-get update` takes while it rewrites the package lists.
pub(super) const LISTS_LOCK: &str = "/var/lib/apt/lists/lock";

/// How often a held lock is looked at again.
const POLL: Duration = Duration::from_millis(200);

/// How often a wait for another program is reported again.
const REPEAT_NOTICE: Duration = Duration::from_secs(10);

/// Serializes package operations of every job in this process. dpkg would refuse a second
/// concurrent run with a lock error; waiting here turns that failure into a queue.
static PACKAGE_LOCK: Mutex<()> = Mutex::new(());

/// Takes Cairn's process-wide package lock, waiting (visibly, cancellably) while another job
/// holds it.
pub(super) fn serialize(exec: &dyn Exec) -> Result<MutexGuard<'static, ()>, HostError> {
    let mut noticed = false;
    loop {
        let got = match PACKAGE_LOCK.try_lock() {
            Ok(guard) => Some(guard),
            // A job that panicked while holding the lock left nothing half-done in memory: the
            // state that matters is dpkg's, on disk, and dpkg repairs or reports it itself.
            Err(TryLockError::Poisoned(poisoned)) => Some(poisoned.into_inner()),
            Err(TryLockError::WouldBlock) => None,
        };
        if let Some(guard) = got {
            if noticed {
                exec.waiting(None, None);
            }
            return Ok(guard);
        }
        if !noticed {
            exec.log(
                Stream::Warn,
                "Waiting for another installation in Cairn to finish…",
            );
            exec.waiting(Some(WaitReason::CairnJob), None);
            noticed = true;
        }
        exec.stop().check()?;
        thread::sleep(POLL);
    }
}

/// Waits until no other process holds any of `paths`, reporting the holder at once and then
/// every [`REPEAT_NOTICE`].
///
/// This is a courtesy, not a guarantee: a program may take the lock between this check and
/// apt-get's start, which is why apt-get also gets `DPkg::Lock::Timeout`.
pub(super) fn wait_for_dpkg(exec: &dyn Exec, paths: &[&str]) -> Result<(), HostError> {
    let mut last_notice: Option<Instant> = None;
    loop {
        let Some((path, holder)) = first_held(paths) else {
            if last_notice.is_some() {
                exec.log(Stream::Info, "The package manager is free again.");
                exec.waiting(None, None);
            }
            return Ok(());
        };
        if last_notice.is_none_or(|at| at.elapsed() >= REPEAT_NOTICE) {
            exec.log(
                Stream::Warn,
                &format!("Waiting for the package manager: {path} is held by {holder}"),
            );
            exec.waiting(Some(WaitReason::PackageManager), Some(&holder));
            last_notice = Some(Instant::now());
        }
        exec.stop().check()?;
        thread::sleep(POLL);
    }
}

/// The first of `paths` another process holds a lock on, with a description of the holder.
fn first_held<'a>(paths: &[&'a str]) -> Option<(&'a str, String)> {
    paths
        .iter()
        .find_map(|path| holder(Path::new(path)).map(|h| (*path, h)))
}

/// Who holds a lock on `path` that would block a write lock, as "process 1234 (apt-get)".
///
/// dpkg and apt use POSIX record locks (`fcntl(F_SETLK)`), so `F_GETLK` reports the holder's
/// pid, translated into our pid namespace. A file that cannot be opened (dpkg not installed, no
/// permission) is reported as free: apt-get itself then says what is wrong.
fn holder(path: &Path) -> Option<String> {
    let file = File::open(path).ok()?;
    // F_GETLK does not need write access to test for a write lock, and (unlike taking and
    // dropping the lock ourselves) cannot make a concurrent apt-get fail.
    // Closing this descriptor drops any POSIX lock *this* process holds on the file; the engine
    // never takes dpkg's locks itself, its apt-get children do.
    // Caveat: rustix debug-asserts on the -1 pid the kernel reports for an open-file-description
    // lock; dpkg and apt never take one.
    let blocker = fcntl_getlk(&file, &Flock::from(FlockType::WriteLock)).ok()??;
    Some(match blocker.pid {
        Some(pid) => {
            let pid = pid.as_raw_pid();
            match process_name(pid) {
                Some(name) => format!("process {pid} ({name})"),
                None => format!("process {pid}"),
            }
        }
        // The kernel reports 0 when the holder is outside our pid namespace.
        None => "a process outside this container".to_owned(),
    })
}

/// The command name of `pid`, from /proc.
fn process_name(pid: i32) -> Option<String> {
    let comm = std::fs::read_to_string(format!("/proc/{pid}/comm")).ok()?;
    let comm = comm.trim();
    (!comm.is_empty()).then(|| comm.to_owned())
}
