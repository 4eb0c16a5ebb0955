//! What a declared write path feeds (threats.md row 30, the catalogue's half): a file is inert
//! until something reads it, and some readers run what they read. A recipe that may write
//! `/etc/cron.d/x` can run any program as root on a schedule, whatever its `programs` say, so
//! the catalogue says so next to the path.
//!
//! The paths that would change every program on the server (the loader, `/etc/environment`,
//! sudo, PAM, apt and dpkg) cannot be declared at all (`caps.rs`). The ones here stay
//! declarable, because recipes legitimately write them (a backup schedule in `/etc/cron.d`, a
//! daemon's defaults), and are described instead.

use std::path::Path;

/// Locations whose files something else runs or obeys, and what that means for the recipe.
/// A declared path feeds a reader when it lies inside one of these, or contains one.
const FEEDS: &[(&str, &str)] = &[
    ("/etc/cron.d", CRON),
    ("/etc/cron.hourly", CRON),
    ("/etc/cron.daily", CRON),
    ("/etc/cron.weekly", CRON),
    ("/etc/cron.monthly", CRON),
    ("/etc/crontab", CRON),
    ("/var/spool/cron", CRON),
    ("/etc/systemd", SYSTEMD),
    ("/usr/lib/systemd", SYSTEMD),
    ("/usr/local/lib/systemd", SYSTEMD),
    ("/run/systemd", SYSTEMD),
    ("/etc/init.d", INIT),
    ("/etc/rc.local", INIT),
    ("/etc/rc0.d", INIT),
    ("/etc/rc1.d", INIT),
    ("/etc/rc2.d", INIT),
    ("/etc/rc3.d", INIT),
    ("/etc/rc4.d", INIT),
    ("/etc/rc5.d", INIT),
    ("/etc/rc6.d", INIT),
    ("/etc/rcS.d", INIT),
    ("/etc/default", DEFAULTS),
    ("/etc/profile", LOGIN),
    ("/etc/profile.d", LOGIN),
    ("/etc/bash.bashrc", LOGIN),
    ("/etc/bash_completion.d", LOGIN),
    ("/etc/skel", LOGIN),
    ("/etc/update-motd.d", MOTD),
    ("/etc/logrotate.d", LOGROTATE),
    ("/etc/logrotate.conf", LOGROTATE),
    ("/etc/udev", UDEV),
    ("/usr/lib/udev", UDEV),
    ("/etc/modprobe.d", MODULES),
    ("/etc/modules-load.d", MODULES),
    ("/etc/ssh", SSH),
    ("/etc/postgresql", POSTGRES),
    ("/etc/mysql", MARIADB),
    ("/etc/redis", REDIS),
    ("/etc/docker", DOCKER),
    ("/var/lib/docker", CONTAINERS),
    ("/var/lib/containerd", CONTAINERS),
    ("/usr/lib/python3", PYTHON),
    ("/usr/local/lib/python3", PYTHON),
    ("/usr/local/bin", SEARCH_PATH),
    ("/usr/local/sbin", SEARCH_PATH),
];

const CRON: &str =
    "cron runs what is written there, as root: the recipe can run any program on a schedule";
const SYSTEMD: &str =
    "systemd starts the units written there, as root: the recipe can run any program as a service";
const INIT: &str = "the init system runs the scripts written there, as root: the recipe can run any program at boot or when a service starts";
const DEFAULTS: &str = "init scripts read these files as shell code, as root: the recipe can run any program when the service starts";
const LOGIN: &str = "login shells run what is written there, as whoever logs in (root too)";
const MOTD: &str = "run at every login, as root: the recipe can run any program";
const LOGROTATE: &str =
    "logrotate runs the scripts written there, as root: the recipe can run any program daily";
const UDEV: &str = "udev runs the programs its rules name, as root";
const MODULES: &str = "decides how kernel modules load (an `install` line runs a program as root)";
const SSH: &str = "configures the SSH server: who may log in and which command runs for them";
const POSTGRES: &str = "PostgreSQL obeys it: who may connect and how (a `trust` line lets anyone on the server in as any database user, superuser included)";
const MARIADB: &str = "MariaDB obeys it: plugins, files it reads and writes, who may connect";
const REDIS: &str = "Redis obeys it: modules it loads, where it writes, who may connect";
const DOCKER: &str =
    "Docker's daemon obeys it, as root: runtimes and options that control the whole machine";
const CONTAINERS: &str = "the container daemons (dockerd, containerd) start what is stored there, as root: \
     images, and containers' settings, which can mount the whole machine";
const PYTHON: &str = "Python runs `.pth` files there at every start, as whoever runs Python";
const SEARCH_PATH: &str = "puts programs on every user's search path, ahead of the system's own";

/// What may follow from a recipe writing `path`: the reader it feeds, if any, else plain words.
pub fn describe_path(path: &str) -> String {
    describe_path_in(path, "en").unwrap_or_default()
}

/// [`describe_path`] in `lang`, or `None` when the engine has no words for it in that language.
pub fn describe_path_in(path: &str, lang: &str) -> Option<String> {
    let p = Path::new(path);
    let fed: Vec<&'static str> = FEEDS
        .iter()
        .filter(|(place, _)| p.starts_with(place) || Path::new(place).starts_with(p))
        .map(|(_, what)| *what)
        .fold(Vec::new(), |mut acc, what| {
            if !acc.contains(&what) {
                acc.push(what);
            }
            acc
        });
    let words = |phrase| super::french::words(phrase, lang);
    if fed.is_empty() {
        return words("may write here; nothing on the server runs or obeys these files by default")
            .map(str::to_owned);
    }
    let fed = fed.into_iter().map(words).collect::<Option<Vec<_>>>()?;
    words("may write here; {paths}").map(|w| w.replace("{paths}", &fed.join("; ")))
}

/// Every reader's words, for the test that each has its translations.
#[cfg(test)]
pub(super) fn readers() -> impl Iterator<Item = &'static str> {
    FEEDS.iter().map(|(_, what)| *what)
}

#[cfg(test)]
mod tests {
    use super::describe_path;

    #[test]
    fn paths_that_feed_a_reader_say_so() {
        assert!(describe_path("/etc/cron.d/cairn-backup-rsync").contains("cron runs"));
        assert!(describe_path("/etc/profile.d/cairn-rust.sh").contains("login shells"));
        assert!(describe_path("/etc/default/docker").contains("shell code"));
        assert!(describe_path("/usr/local/bin/go").contains("search path"));
        // Docker's data: a container's stored settings are what dockerd starts, as root.
        assert!(describe_path("/var/lib/docker").contains("container daemons"));
        assert!(describe_path("/var/lib/containerd").contains("container daemons"));
        // A folder above a reader's folder feeds it too.
        assert!(describe_path("/var/spool").contains("cron runs"));
        assert!(describe_path("/usr/lib/systemd/system/x.service").contains("systemd"));
        assert!(describe_path("/opt/cairn/go").contains("nothing on the server runs"));
        // Component-wise: /etc/cron.dx is not /etc/cron.d.
        assert!(describe_path("/etc/cron.dx/y").contains("nothing on the server runs"));
    }
}
