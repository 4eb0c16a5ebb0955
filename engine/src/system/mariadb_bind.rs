//! `mariadb_bind()`: the one MariaDB setting a recipe may change, the address the server
//! listens on. A recipe cannot write in `/etc/mysql` itself, because an option file there can
//! make the server load a plugin (`plugin_load`, `plugin_dir`) or run SQL at start
//! (`init_file`). This helper writes one fixed file whose whole content is
//! `[mysqld]\nbind-address = ADDRESS\n`, ADDRESS an IP literal, or removes that file; its name
//! sorts after Debian's `50-server.cnf`, so its `bind-address` wins.

use std::io::Write;
use std::net::IpAddr;
use std::path::Path;

use crate::error::HostError;
use crate::exec::{Exec, ExecOptions};
use crate::fs::AtomicFile;
use crate::plan::PlannedAction;

/// The only file `mariadb_bind()` writes or removes.
pub const FILE: &str = "/etc/mysql/mariadb.conf.d/90-cairn-remote.cnf";

/// The services whose recipe may call `mariadb_bind()` (the capability that gates it).
pub const SERVICES: [&str; 2] = ["mariadb", "mysql"];

/// The file's exact content for `address`, refused unless it is an IP literal (`0.0.0.0` and
/// `::` included); anything else could carry a newline and a second option.
pub fn content(address: &str) -> Result<String, HostError> {
    let ip: IpAddr = address.parse().map_err(|_| {
        HostError::Invalid(format!(
            "mariadb_bind(): `{address}` is not an IP address; give one such as 0.0.0.0, :: or 192.0.2.10"
        ))
    })?;
    Ok(format!("[mysqld]\nbind-address = {ip}\n"))
}

/// Writes [`FILE`] for `address`, or removes it when `address` is `None`. Returns whether the
/// file changed (nothing happens when it already says so).
pub fn bind(exec: &dyn Exec, address: Option<&str>) -> Result<bool, HostError> {
    bind_at(exec, address, Path::new(FILE))
}

/// [`bind`] on another path, for tests: the host function always passes [`FILE`].
pub fn bind_at(exec: &dyn Exec, address: Option<&str>, path: &Path) -> Result<bool, HostError> {
    let Some(address) = address else {
        if !path.exists() {
            return Ok(false);
        }
        // Through the Exec, so that a plan shows the removal as the command it runs.
        let args = ["-f", "--", &path.display().to_string()].map(str::to_owned);
        exec.exec(
            "rm",
            &args,
            ExecOptions {
                check: true,
                ..Default::default()
            },
        )?;
        return Ok(true);
    };
    let text = content(address)?;
    if std::fs::read_to_string(path).is_ok_and(|t| t == text) {
        return Ok(false);
    }
    if path.parent().is_some_and(|d| !d.is_dir()) {
        return Err(HostError::Invalid(format!(
            "mariadb_bind(): the folder of {} does not exist; is MariaDB installed?",
            path.display()
        )));
    }
    if exec.plan_mode() {
        exec.record(PlannedAction::WriteFile {
            path: path.display().to_string(),
            mode: 0o644,
            bytes: text.len(),
        });
        return Ok(true);
    }
    exec.stop().check()?;
    let mut file = AtomicFile::create(path, 0o644)?;
    file.file
        .write_all(text.as_bytes())
        .map_err(|e| HostError::io(format!("failed to write {}", path.display()), e))?;
    file.commit()?;
    exec.did(PlannedAction::WriteFile {
        path: path.display().to_string(),
        mode: 0o644,
        bytes: text.len(),
    });
    exec.log(
        crate::event::Stream::Info,
        &format!("Wrote {} (bind-address = {address})", path.display()),
    );
    Ok(true)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_file_says_only_the_bind_address() {
        assert_eq!(
            content("0.0.0.0").ok().as_deref(),
            Some("[mysqld]\nbind-address = 0.0.0.0\n")
        );
        assert_eq!(
            content("::").ok().as_deref(),
            Some("[mysqld]\nbind-address = ::\n")
        );
        assert_eq!(
            content("192.0.2.10").ok().as_deref(),
            Some("[mysqld]\nbind-address = 192.0.2.10\n")
        );
    }

    #[test]
    fn anything_but_an_ip_address_is_refused() {
        for bad in [
            "",
            "localhost",
            "0.0.0.0\nplugin_load = x.so",
            "0.0.0.0 ",
            "*",
            "1.2.3",
            "[::]",
            "::1%eth0",
        ] {
            assert!(
                matches!(content(bad), Err(HostError::Invalid(_))),
                "{bad:?} was accepted"
            );
        }
    }
}
