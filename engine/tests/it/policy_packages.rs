//! Argument policies of the package managers: apt-get, apt, apt-cache, dpkg, dpkg-query
//! (threats.md row 30). Hooks (`-o APT::Update::Pre-Invoke::=`, `-c FILE`, `--pre-invoke`),
//! local packages (`./x.deb`, `dpkg -i`), other roots and every installing form are refused
//! before apt or dpkg start; the apt helpers still refuse names that would be read as options
//! or files; read-only questions are allowed.
#![allow(clippy::unwrap_used)]

use crate::util;

use util::policy::{allows, assert_refused, lit, payload_is_live, refuses_all, run_call};

#[test]
fn apt_get_hooks_and_local_packages_never_run() {
    let tmp = util::tempdir();
    let marker = tmp.path().join("marker");
    let m = marker.display().to_string();
    let hook = format!("APT::Update::Pre-Invoke::=touch {m}");
    // Outside Cairn the hook runs as root (no sources: nothing is downloaded). Into lists of its
    // own: an update without sources deletes every list it does not know, and the machine's are
    // what other tests' plans read.
    let lists = tmp.path().join("lists");
    std::fs::create_dir_all(lists.join("partial")).unwrap();
    let lists = format!("Dir::State::Lists={}", lists.display());
    payload_is_live(
        "apt-get",
        &[
            "-o",
            &hook,
            "-o",
            "Dir::Etc::SourceList=/dev/null",
            "-o",
            "Dir::Etc::SourceParts=/nonexistent",
            "-o",
            &lists,
            "update",
        ],
        &marker,
    );
    let conf = tmp.path().join("apt.conf");
    std::fs::write(&conf, format!("Dpkg::Pre-Invoke {{\"touch {m}\";}};\n")).unwrap();
    let c = conf.display().to_string();
    let variants: &[&[&str]] = &[
        &["-o", &hook, "update"],
        &["update", "-o", &hook],
        &[&format!("-o{hook}")],
        &[&format!("--option={hook}"), "update"],
        &["-c", &c, "-y", "install", "sl"],
        &["-y", "install", "./x.deb"],
        &["-y", "install", "/tmp/x.deb"],
        &["-y", "install", "sl"],
        &["update"],
        &["changelog", "apt"],
        &["download", "sl"],
        &["source", "sl"],
        &["-y", "remove", "sl"],
    ];
    for args in variants {
        assert_refused(
            &["apt-get"],
            &[],
            &run_call("apt-get", args, None),
            Some(&marker),
        );
    }
    let env = format!("#{{ env: #{{ APT_CONFIG: {} }} }}", lit(&c));
    let e = assert_refused(
        &["apt-get"],
        &[],
        &run_call("apt-get", &["--version"], Some(&env)),
        Some(&marker),
    );
    assert!(e.contains("APT_CONFIG"), "{e}");
    allows("apt-get", &[], &["--version"]);
}

#[test]
fn the_apt_helpers_take_package_names_only() {
    for bad in [
        "./x.deb",
        "/tmp/x.deb",
        "-oAPT::Update::Pre-Invoke::=touch /tmp/x",
        "--reinstall",
        "sl=-o",
        "x deb",
        "openssh-server-",
    ] {
        let body = format!("apt_install([{}])", lit(bad));
        let r = util::recipe(r#"["apt-get"]"#, "[]", &body);
        let planned = util::plan(&r, serde_json::json!({}));
        assert!(
            planned.error().contains("not a valid Debian package name")
                || planned.error().contains("valid Debian version"),
            "{bad}: {}",
            planned.error()
        );
        assert!(planned.plan.is_empty());
        let body = format!("apt_installed({})", lit(bad));
        let r = util::recipe(r#"["apt-get"]"#, "[]", &body);
        assert!(
            util::run(&r, serde_json::json!({}))
                .error()
                .contains("Debian"),
            "{bad}"
        );
    }
}

#[test]
fn apt_and_apt_cache_only_answer_questions() {
    refuses_all(
        "apt",
        &[],
        &[
            &["update", "-o", "APT::Update::Pre-Invoke::=sh"],
            &["install", "./x.deb"],
            &["-y", "install", "sl"],
            &["changelog", "apt"],
            &["policy", "-o", "Dir::Etc=/tmp"],
            &["-c", "/tmp/apt.conf", "list"],
            &["show", "./x.deb"],
            &["show", "--", "-oFoo=1"],
        ],
    );
    allows("apt", &[], &["policy", "sl"]);
    allows("apt", &[], &["list", "--installed", "libc6"]);
    refuses_all(
        "apt-cache",
        &[],
        &[
            &["-o", "Dir::Cache=/tmp", "policy", "sl"],
            &["policy", "-oAPT::X=1", "sl"],
            &["-c", "/tmp/apt.conf", "show", "sl"],
            &["gencaches"],
            &["policy", "/etc/shadow"],
        ],
    );
    allows("apt-cache", &[], &["policy", "sl", "libc6:amd64"]);
    allows("apt-cache", &[], &["search", "--names-only", "^redis"]);
}

#[test]
fn dpkg_installs_nothing_and_runs_no_hook() {
    let tmp = util::tempdir();
    let marker = tmp.path().join("marker");
    let m = marker.display().to_string();
    let pre = format!("--pre-invoke=touch {m}");
    let variants: &[&[&str]] = &[
        &["-i", "./x_1.0_all.deb"],
        &["--install", "/tmp/x.deb"],
        &["--unpack", "/tmp/x.deb"],
        &["--force-all", "-i", "/tmp/x.deb"],
        &["--root=/tmp", "-l"],
        &["--admindir=/tmp", "-l"],
        &["--instdir=/tmp", "-l"],
        &[&pre, "-l"],
        &["--configure", "-a"],
        &["-P", "sl"],
        &["-r", "sl"],
        &["-l", "-i"],
        &["-S", "--", "-x"],
        &["--compare-versions", "1", "lt", "-x"],
        &["-l", "-s", "sl"],
    ];
    for args in variants {
        assert_refused(&["dpkg"], &[], &run_call("dpkg", args, None), Some(&marker));
    }
    allows("dpkg", &[], &["-l", "libc6"]);
    allows("dpkg", &[], &["-s", "libc6"]);
    allows("dpkg", &[], &["-S", "/usr/bin/tar"]);
    allows("dpkg", &[], &["--print-architecture"]);
    allows(
        "dpkg",
        &[],
        &["--compare-versions", "1:2.0-1", "lt", "1:2.1"],
    );
    refuses_all(
        "dpkg-query",
        &[],
        &[
            &["--admindir=/tmp/x", "-W"],
            &["--root=/tmp", "-W", "sl"],
            &["--load-avail", "-p", "sl"],
            &["-W", "-f", "${Status}", "./x.deb"],
            &["-W", "-s", "sl"],
            &[],
        ],
    );
    allows("dpkg-query", &[], &["-W", "-f=${Status}", "libc6"]);
    allows(
        "dpkg-query",
        &[],
        &["--showformat", "${Version}", "-W", "libc6", "redis-*"],
    );
}
