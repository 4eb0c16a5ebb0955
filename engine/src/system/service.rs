//! Starting and stopping services, with or without systemd.
//!
//! On a normal server PID 1 is systemd and `systemctl` does the work. In containers and CI it is
//! not: there `systemctl` fails ("System has not been booted with systemd"), so the helpers fall
//! back to Debian's init scripts through `service NAME start|stop|restart|status`, which also
//! work when the init system is sysvinit.

use std::path::Path;
use std::sync::LazyLock;
use std::time::Duration;

use regex::Regex;

use crate::error::HostError;
use crate::event::Stream;
use crate::exec::{Exec, ExecOptions};

/// Upper bound for a start/stop/restart (a database replaying its journal can take a while).
const CONTROL_TIMEOUT: Duration = Duration::from_secs(5 * 60);

/// Upper bound for a status query.
const STATUS_TIMEOUT: Duration = Duration::from_secs(30);

/// Unit and init-script names: letters, digits, `@`, `.`, `_`, `-`.
static SERVICE_NAME: LazyLock<Regex> =
    LazyLock::new(|| Regex::new(r"^[a-zA-Z0-9@._-]+$").unwrap_or_else(|e| unreachable!("{e}")));

/// Whether PID 1 is systemd: the check `sd_booted()` makes.
pub fn has_systemd() -> bool {
    Path::new("/run/systemd/system").is_dir()
}

/// Checks a service name; a leading `-` is refused so that a name is never read as an option.
pub fn validate_name(name: &str) -> Result<(), HostError> {
    // `.` and `..` would name /etc/init.d itself or its parent.
    if name.starts_with('-') || name.chars().all(|c| c == '.') || !SERVICE_NAME.is_match(name) {
        return Err(HostError::Invalid(format!(
            "`{name}` is not a valid service name: use letters, digits, `@`, `.`, `_` and `-`, not starting with `-`"
        )));
    }
    Ok(())
}

/// Starts `name` (no effect when it is running).
pub fn start(exec: &dyn Exec, name: &str) -> Result<(), HostError> {
    control(exec, name, "start")
}

/// Stops `name` (no effect when it is stopped).
pub fn stop(exec: &dyn Exec, name: &str) -> Result<(), HostError> {
    control(exec, name, "stop")
}

/// Restarts `name`, starting it if it was stopped.
pub fn restart(exec: &dyn Exec, name: &str) -> Result<(), HostError> {
    control(exec, name, "restart")
}

/// Makes `name` start at boot: `systemctl enable`, or `update-rc.d NAME defaults` without
/// systemd (harmless in a container, where nothing reads the runlevel links).
pub fn enable(exec: &dyn Exec, name: &str) -> Result<(), HostError> {
    boot_links(exec, name, "enable")
}

/// `enable` or `disable`. Without systemd, `update-rc.d NAME defaults` makes the links when
/// there are none, and `update-rc.d NAME enable` turns `K` links made by a `disable` back
/// into `S` links (`defaults` alone leaves existing links as they are).
fn boot_links(exec: &dyn Exec, name: &str, action: &str) -> Result<(), HostError> {
    validate_name(name)?;
    let opts = control_options();
    if has_systemd() {
        exec.exec("systemctl", &args(&[action, "--", name]), opts)?;
    } else {
        announce_init_script(exec);
        require_init_script(exec, name)?;
        if action == "enable" {
            exec.exec("update-rc.d", &args(&[name, "defaults"]), opts.clone())?;
        }
        exec.exec("update-rc.d", &args(&[name, action]), opts)?;
    }
    Ok(())
}

/// Stops `name` starting at boot: `systemctl disable`, or `update-rc.d NAME disable` without
/// systemd (which turns its `S` links into `K` links, so a later `enable` restores them).
pub fn disable(exec: &dyn Exec, name: &str) -> Result<(), HostError> {
    boot_links(exec, name, "disable")
}

/// Whether `name` is running: `systemctl is-active`, or the init script's `status` exit code
/// (0 means running, per LSB). A query: it runs in plan mode too, and a service that does not
/// exist is reported as not running.
pub fn is_running(exec: &dyn Exec, name: &str) -> Result<bool, HostError> {
    validate_name(name)?;
    let out = if has_systemd() {
        exec.query(
            "systemctl",
            &args(&["is-active", "--quiet", "--", name]),
            STATUS_TIMEOUT,
        )?
    } else {
        if !init_script(name).exists() {
            return Ok(false);
        }
        exec.query("service", &args(&[name, "status"]), STATUS_TIMEOUT)?
    };
    Ok(out.code == 0)
}

fn control(exec: &dyn Exec, name: &str, action: &str) -> Result<(), HostError> {
    validate_name(name)?;
    let opts = control_options();
    if has_systemd() {
        exec.exec("systemctl", &args(&[action, "--", name]), opts)?;
    } else {
        announce_init_script(exec);
        require_init_script(exec, name)?;
        exec.exec("service", &args(&[name, action]), opts)?;
    }
    Ok(())
}

fn announce_init_script(exec: &dyn Exec) {
    exec.log(
        Stream::Info,
        "systemd is not PID 1 here: using the init script",
    );
}

/// Fails clearly when there is no init script to fall back on. Skipped in plan mode, where the
/// package providing the script may not be installed yet.
fn require_init_script(exec: &dyn Exec, name: &str) -> Result<(), HostError> {
    if exec.plan_mode() || init_script(name).exists() {
        Ok(())
    } else {
        Err(HostError::ServiceNotFound {
            service: name.to_owned(),
        })
    }
}

fn init_script(name: &str) -> std::path::PathBuf {
    Path::new("/etc/init.d").join(name)
}

fn control_options() -> ExecOptions {
    ExecOptions {
        timeout: Some(CONTROL_TIMEOUT),
        check: true,
        ..ExecOptions::default()
    }
}

fn args(items: &[&str]) -> Vec<String> {
    items.iter().map(|s| (*s).to_owned()).collect()
}
