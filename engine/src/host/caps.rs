//! Capability checks: which programs a recipe may start, which paths it may write, which
//! services it may control. Every check happens before the side effect, in plan mode too, so a
//! plan shows a capability error exactly where a real run would stop.

use std::path::{Component, Path, PathBuf};

use crate::error::HostError;
use serde::{Deserialize, Serialize};

/// What a recipe may touch. Checked by the host functions before any side effect, and carried
/// in the signed bundle header so the agent can refuse a recipe whose declared capabilities do
/// not match what the control plane signed.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Capabilities {
    /// Programs `run()` and `detect()` may start: bare names (looked up on the engine's fixed
    /// PATH) or absolute paths. `apt-get` here also allows the apt helpers.
    #[serde(default)]
    pub programs: Vec<String>,
    /// Path prefixes `write_file()`, `read_file()` and `download()` may touch.
    #[serde(default)]
    pub paths: Vec<String>,
    /// Services the service helpers may start, stop and query.
    #[serde(default)]
    pub services: Vec<String>,
}

/// The only PATH children ever get, and the only place bare program names are looked up.
pub const SAFE_PATH: &str = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin";

/// Programs whose purpose is to run another command: declaring one would make the capability
/// list meaningless, so they are refused by name, whether bare or as an absolute path.
/// Interpreters (python3, perl, node) stay allowed because runtime recipes need them; declaring
/// one is visible in the catalogue and in the signed bundle header.
const COMMAND_RUNNERS: &[&str] = &[
    "sh",
    "bash",
    "dash",
    "zsh",
    "ksh",
    "mksh",
    "csh",
    "tcsh",
    "fish",
    "busybox",
    "toybox",
    "env",
    "sudo",
    "su",
    "doas",
    "runuser",
    "pkexec",
    "xargs",
    "setsid",
    "nohup",
    "timeout",
    "chroot",
    "nice",
    "ionice",
    "stdbuf",
    "unshare",
    "nsenter",
    "setpriv",
    "chpst",
    "flock",
    "script",
    "expect",
    "watch",
    "systemd-run",
    "at",
    "batch",
    "parallel",
    "strace",
    "ltrace",
    "gdb",
];

/// Checks one `capabilities.programs` entry as declared.
pub fn check_program_decl(p: &str) -> Result<(), &'static str> {
    if p.is_empty() || p.starts_with('-') {
        return Err("is not a program name");
    }
    if p.contains('/') {
        let path = Path::new(p);
        if !path.is_absolute() || path.components().any(|c| c == Component::ParentDir) {
            return Err("must be a bare name or an absolute path without `..`");
        }
    } else if !p
        .chars()
        .all(|c| c.is_ascii_alphanumeric() || "._+-".contains(c))
    {
        return Err("may only contain letters, digits and . _ + -");
    }
    let base = Path::new(p)
        .file_name()
        .and_then(|n| n.to_str())
        .unwrap_or(p);
    if COMMAND_RUNNERS.contains(&base) {
        return Err(
            "runs other commands, so it would let the recipe run anything; call the program itself",
        );
    }
    Ok(())
}

/// Files and folders that decide what every program runs: a recipe that could write one could
/// make any policed program, or the apt helpers, run anything, so none may be declared.
const RUNS_EVERYTHING: &[&str] = &[
    "/etc/ld.so.preload",
    "/etc/ld.so.conf",
    "/etc/ld.so.conf.d",
    "/etc/environment",
    "/etc/security",
    "/etc/sudoers",
    "/etc/sudoers.d",
    "/etc/pam.d",
    "/etc/apt",
    "/etc/dpkg",
    "/var/lib/dpkg",
    "/usr/lib/x86_64-linux-gnu",
    "/usr/lib/aarch64-linux-gnu",
    "/usr/lib64",
    "/usr/lib32",
];

/// Checks one `capabilities.paths` entry as declared.
pub fn check_path_decl(p: &str) -> Result<(), &'static str> {
    let path = Path::new(p);
    if !path.is_absolute() {
        return Err("must be an absolute path");
    }
    if path
        .components()
        .any(|c| matches!(c, Component::ParentDir | Component::CurDir))
    {
        return Err("must not contain `.` or `..`");
    }
    if path.components().count() < 2 {
        return Err("would allow writing anywhere on the server");
    }
    // Programs start in `/` with HOME=/root: a file there (`/go.mod`, `/.cargo/config.toml`,
    // `/root/.curlrc`, `/root/.ssh/config`) would configure every program the recipe runs.
    if path.components().count() < 3 {
        return Err(
            "is a whole top-level folder (or a file in `/`, where programs start and read project configuration); declare a path inside it",
        );
    }
    if path
        .components()
        .nth(1)
        .is_some_and(|c| c.as_os_str().to_string_lossy().starts_with('.'))
    {
        return Err(
            "is under a hidden top-level folder, which programs starting in `/` read as their configuration",
        );
    }
    // Inside one of them, or a folder holding one (`/var/lib` holds dpkg's maintainer scripts).
    if let Some(conf) = RUNS_EVERYTHING
        .iter()
        .find(|c| path.starts_with(c) || Path::new(c).starts_with(path))
    {
        return Err(match *conf {
            "/etc/apt" | "/etc/dpkg" | "/var/lib/dpkg" => {
                "configures apt and dpkg (hooks, sources), so apt_install() could be made to run anything"
            }
            _ => {
                "changes how every program on the server starts or who may log in (libraries, environment, sudo, PAM)"
            }
        });
    }
    if path.starts_with("/root") {
        return Err(
            "is under /root, the home of every program the engine starts, whose files there (.curlrc, .ssh/config, .npmrc, .gnupg) configure them",
        );
    }
    Ok(())
}

/// Whether `s` is a service name a recipe may declare.
pub fn is_service_name(s: &str) -> bool {
    !s.is_empty()
        && !s.starts_with('-')
        && !s.chars().all(|c| c == '.')
        && s.len() <= 128
        && s.chars()
            .all(|c| c.is_ascii_alphanumeric() || "@._-".contains(c))
}

impl Capabilities {
    /// Whether `program` (exactly as the recipe wrote it) was declared.
    pub fn allows_program(&self, program: &str) -> bool {
        self.programs.iter().any(|p| p == program)
    }

    /// Refuses a program that was not declared.
    pub fn check_program(&self, program: &str) -> Result<(), HostError> {
        if self.allows_program(program) {
            Ok(())
        } else {
            Err(HostError::ProgramNotAllowed {
                program: program.to_owned(),
            })
        }
    }

    /// Refuses a service that was not declared.
    pub fn check_service(&self, service: &str) -> Result<(), HostError> {
        if self.services.iter().any(|s| s == service) {
            Ok(())
        } else {
            Err(HostError::ServiceNotAllowed {
                service: service.to_owned(),
            })
        }
    }

    /// Checks that `path` is absolute, has no `.`/`..`, and lies under a declared prefix
    /// (component-wise: `/etc/redis` does not cover `/etc/redis-evil`). Symlinks are refused
    /// later, while opening (see `files.rs`), where no race can slip one in.
    pub fn check_write_path(&self, path: &str) -> Result<PathBuf, HostError> {
        let deny = |reason: &str| HostError::PathNotAllowed {
            path: path.to_owned(),
            reason: reason.to_owned(),
        };
        let p = Path::new(path);
        if !p.is_absolute() {
            return Err(deny("it is not an absolute path"));
        }
        if p.components()
            .any(|c| matches!(c, Component::ParentDir | Component::CurDir))
        {
            return Err(deny("it contains `.` or `..`"));
        }
        if path.contains('\0') {
            return Err(deny("it contains a NUL byte"));
        }
        if self.paths.iter().any(|prefix| p.starts_with(prefix)) {
            Ok(p.to_path_buf())
        } else {
            Err(deny(&format!(
                "it is outside the paths the recipe declared ({})",
                if self.paths.is_empty() {
                    "none".to_owned()
                } else {
                    self.paths.join(", ")
                }
            )))
        }
    }
}

/// Finds a program: an absolute path as is, a bare name on [`SAFE_PATH`].
pub fn resolve(program: &str) -> Option<PathBuf> {
    if program.contains('/') {
        let p = PathBuf::from(program);
        return is_executable(&p).then_some(p);
    }
    SAFE_PATH
        .split(':')
        .map(|dir| Path::new(dir).join(program))
        .find(|p| is_executable(p))
}

fn is_executable(p: &Path) -> bool {
    use std::os::unix::fs::PermissionsExt;
    std::fs::metadata(p).is_ok_and(|m| m.is_file() && m.permissions().mode() & 0o111 != 0)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn declarations() {
        assert!(check_program_decl("apt-get").is_ok());
        assert!(check_program_decl("/usr/lib/postgresql/15/bin/initdb").is_ok());
        assert!(check_program_decl("bash").is_err());
        assert!(check_program_decl("/bin/sh").is_err());
        assert!(check_program_decl("/usr/bin/env").is_err());
        assert!(check_program_decl("busybox").is_err());
        assert!(check_program_decl("python3").is_ok());
        assert!(check_program_decl("-x").is_err());
        assert!(check_program_decl("../x").is_err());
        assert!(check_program_decl("/usr/../bin/x").is_err());
        assert!(check_path_decl("/etc/redis").is_ok());
        assert!(check_path_decl("/").is_err());
        assert!(check_path_decl("etc").is_err());
        assert!(check_path_decl("/etc/../root").is_err());
        assert!(check_path_decl("/etc").is_err());
        assert!(check_path_decl("/go.mod").is_err());
        assert!(check_path_decl("/.cargo/config.toml").is_err());
        assert!(check_path_decl("/root/.curlrc").is_err());
        assert!(check_path_decl("/root").is_err());
        assert!(check_path_decl("/etc/ld.so.preload").is_err());
        assert!(check_path_decl("/etc/apt/apt.conf.d/99x").is_err());
        assert!(check_path_decl("/etc/dpkg/dpkg.cfg.d").is_err());
        assert!(check_path_decl("/etc/aptitude").is_ok());
    }

    #[test]
    fn write_paths_are_component_wise() {
        let caps = Capabilities {
            paths: vec!["/etc/redis".into()],
            ..Default::default()
        };
        assert!(caps.check_write_path("/etc/redis/redis.conf").is_ok());
        assert!(caps.check_write_path("/etc/redis-evil/x").is_err());
        assert!(caps.check_write_path("/etc/redis/../shadow").is_err());
        assert!(caps.check_write_path("../../etc/shadow").is_err());
        assert!(caps.check_write_path("/etc/shadow").is_err());
    }
}
