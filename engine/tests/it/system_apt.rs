//! The apt helpers against the real dpkg/apt of the machine. Tests that change packages need
//! root and skip (saying so) without it; they run as root in CI.

#![allow(clippy::unwrap_used)]

use crate::common;

use std::sync::{Arc, Barrier, Mutex, MutexGuard, PoisonError};
use std::thread;
use std::time::{Duration, Instant};

use cairn_engine::system::apt;
use cairn_engine::{CancelToken, HostError, PlannedAction, Stream, WaitReason};
use common::RealExec;

/// Tests that change packages or hold dpkg's lock run one at a time: a test holding the lock
/// would otherwise make another test's install wait, and the other way round.
pub(crate) static PACKAGE_TESTS: Mutex<()> = Mutex::new(());

/// `None` (the test is skipped) when not root; otherwise the guard that runs package tests one
/// at a time.
fn root_test(test: &str) -> Option<MutexGuard<'static, ()>> {
    if !common::is_root() {
        eprintln!("skipping {test}: it installs packages and needs root");
        return None;
    }
    let guard = PACKAGE_TESTS.lock().unwrap_or_else(PoisonError::into_inner);
    common::ensure_apt_lists();
    Some(guard)
}

fn strings(items: &[&str]) -> Vec<String> {
    items.iter().map(|s| (*s).to_owned()).collect()
}

#[test]
fn refuses_invalid_package_names_before_running_anything() {
    for bad in [
        "-oAPT::Get::AllowUnauthenticated=1",
        "foo;rm",
        "Foo",
        "a",
        "",
        "curl=;rm",
        "curl=-o",
        "curl wget",
    ] {
        let exec = RealExec::new();
        let err = apt::install(&exec, &strings(&["curl", bad])).unwrap_err();
        match &err {
            HostError::Invalid(msg) => assert!(msg.contains(&format!("`{bad}`")), "{msg}"),
            other => panic!("{bad}: expected Invalid, got {other:?}"),
        }
        assert!(exec.ran.lock().unwrap().is_empty(), "{bad}: a command ran");
        assert!(
            exec.queries.lock().unwrap().is_empty(),
            "{bad}: dpkg was asked"
        );
    }
    assert!(apt::validate_package("redis-server").is_ok());
    assert!(apt::validate_package("libstdc++6=12.2.0-14").is_ok());
    assert!(apt::installed_version(&RealExec::new(), "-oFoo").is_err());
}

#[test]
fn already_installed_package_runs_no_apt_get() {
    let exec = RealExec::new();
    let report = apt::install(&exec, &strings(&["coreutils", "dpkg"])).unwrap();
    assert_eq!(report.already_installed, strings(&["coreutils", "dpkg"]));
    assert!(report.installed.is_empty());
    assert!(exec.ran.lock().unwrap().is_empty(), "a command ran");
    let info = exec.lines_of(Stream::Info);
    assert!(
        info.iter()
            .any(|l| l.starts_with("Already installed: coreutils ")),
        "{info:?}"
    );
}

#[test]
fn installed_version_matches_dpkg() {
    let exec = RealExec::new();
    let version = apt::installed_version(&exec, "coreutils").unwrap().unwrap();
    assert!(
        version.chars().next().unwrap().is_ascii_digit(),
        "{version}"
    );
    assert_eq!(
        apt::installed_version(&exec, "cairn-no-such-package").unwrap(),
        None
    );
    // A pinned version that is not the installed one is not "already installed".
    let plan = RealExec::plan();
    let report = apt::install(&plan, &[format!("coreutils={version}")]).unwrap();
    assert_eq!(
        report.already_installed,
        vec![format!("coreutils={version}")]
    );
    let report = apt::install(&plan, &strings(&["coreutils=0.0.1-cairn"])).unwrap();
    assert_eq!(report.installed, strings(&["coreutils=0.0.1-cairn"]));
}

#[test]
fn plan_mode_records_apt_get_without_running_it() {
    let exec = RealExec::plan();
    let report = apt::install(&exec, &strings(&["coreutils", "cairn-no-such-package"])).unwrap();
    assert_eq!(report.already_installed, strings(&["coreutils"]));
    assert_eq!(report.installed, strings(&["cairn-no-such-package"]));
    assert!(exec.ran.lock().unwrap().is_empty());
    let planned = exec.planned.lock().unwrap().clone();
    let [PlannedAction::Run { program, args, .. }] = planned.as_slice() else {
        panic!("expected one planned command, got {planned:?}");
    };
    assert_eq!(program, "apt-get");
    for expected in [
        "install",
        "-y",
        "--no-install-recommends",
        "Dpkg::Options::=--force-confdef",
        "Dpkg::Options::=--force-confold",
    ] {
        assert!(args.iter().any(|a| a == expected), "{expected} in {args:?}");
    }
    assert!(args.iter().any(|a| a.starts_with("DPkg::Lock::Timeout=")));
    assert_eq!(args.last().unwrap(), "cairn-no-such-package");
    // The dpkg query did run: plans are made from the machine's real state.
    assert_eq!(exec.queries.lock().unwrap()[0].0, "dpkg-query");
}

#[test]
fn installs_a_missing_package_for_real() {
    let Some(_serial) = root_test("installs_a_missing_package_for_real") else {
        return;
    };
    common::purge(&["sl"]);
    let exec = RealExec::new();
    let report = apt::install(&exec, &strings(&["sl", "coreutils"])).unwrap();
    assert_eq!(report.installed, strings(&["sl"]));
    assert_eq!(report.already_installed, strings(&["coreutils"]));
    assert!(common::dpkg_installed("sl"));
    let version = apt::installed_version(&exec, "sl").unwrap();
    assert!(version.is_some());

    let apt_get = exec.ran_program("apt-get");
    assert_eq!(apt_get.len(), 1, "{apt_get:?}");
    assert!(
        apt_get[0]
            .env
            .contains(&("DEBIAN_FRONTEND".to_owned(), "noninteractive".to_owned()))
    );
    assert_eq!(apt_get[0].args.last().unwrap(), "sl");
    let info = exec.lines_of(Stream::Info);
    assert!(
        info.iter().any(|l| l.starts_with("Installed sl ")),
        "{info:?}"
    );

    // Idempotent: a second run changes nothing and runs nothing.
    let again = RealExec::new();
    let report = apt::install(&again, &strings(&["sl"])).unwrap();
    assert_eq!(report.already_installed, strings(&["sl"]));
    assert!(again.ran.lock().unwrap().is_empty());
    common::purge(&["sl"]);
}

#[test]
fn waits_for_a_dpkg_lock_held_by_another_process() {
    let Some(_serial) = root_test("waits_for_a_dpkg_lock_held_by_another_process") else {
        return;
    };
    common::purge(&["hello"]);
    let mut holder = common::hold_dpkg_lock(3);
    let locked_at = Instant::now();
    let pid = holder.id();

    let exec = RealExec::new();
    let report = apt::install(&exec, &strings(&["hello"])).unwrap();
    holder.wait().unwrap();

    assert_eq!(report.installed, strings(&["hello"]));
    assert!(common::dpkg_installed("hello"));
    let expected = format!(
        "Waiting for the package manager: /var/lib/dpkg/lock-frontend is held by process {pid} (python3)"
    );
    let warnings = exec.lines_of(Stream::Warn);
    assert!(warnings.contains(&expected), "{warnings:?}");
    // The same wait as a state, then its end, for the page.
    let waits = exec.waits.lock().unwrap().clone();
    assert_eq!(
        waits.first(),
        Some(&(
            Some(WaitReason::PackageManager),
            Some(format!("process {pid} (python3)"))
        )),
        "{waits:?}"
    );
    assert_eq!(waits.last(), Some(&(None, None)), "{waits:?}");
    // apt-get started only once the holder had let go (it held the lock for 3 s).
    let apt_get = exec.ran_program("apt-get");
    assert_eq!(apt_get.len(), 1);
    assert!(apt_get[0].started >= locked_at + Duration::from_millis(2900));
    common::purge(&["hello"]);
}

#[test]
fn cancel_ends_the_wait_for_a_dpkg_lock() {
    let Some(_serial) = root_test("cancel_ends_the_wait_for_a_dpkg_lock") else {
        return;
    };
    let mut holder = common::hold_dpkg_lock(30);
    let cancel = CancelToken::new();
    let exec = RealExec::with_cancel(cancel.clone(), false);
    let canceller = thread::spawn(move || {
        thread::sleep(Duration::from_millis(500));
        cancel.cancel();
    });
    let started = Instant::now();
    let err = apt::install(&exec, &strings(&["cairn-no-such-package"])).unwrap_err();
    let waited = started.elapsed();
    holder.kill().unwrap();
    holder.wait().unwrap();
    canceller.join().unwrap();

    assert!(matches!(err, HostError::Cancelled), "{err:?}");
    assert!(waited < Duration::from_secs(5), "{waited:?}");
    assert!(exec.ran_program("apt-get").is_empty());
}

#[test]
fn parallel_installs_are_serialized() {
    let Some(_serial) = root_test("parallel_installs_are_serialized") else {
        return;
    };
    common::purge(&["figlet"]);
    common::purge(&["cmatrix"]);
    let barrier = Arc::new(Barrier::new(2));
    let jobs: Vec<_> = ["figlet", "cmatrix"]
        .into_iter()
        .map(|package| {
            let barrier = Arc::clone(&barrier);
            thread::spawn(move || {
                let exec = RealExec::new();
                barrier.wait();
                let report = apt::install(&exec, &strings(&[package]));
                (exec, report)
            })
        })
        .collect();
    let results: Vec<_> = jobs.into_iter().map(|j| j.join().unwrap()).collect();

    for (exec, report) in &results {
        let report = report.as_ref().unwrap();
        assert_eq!(report.installed.len(), 1, "{report:?}");
        assert_eq!(exec.ran_program("apt-get").len(), 1);
    }
    let (a, b) = (
        &results[0].0.ran_program("apt-get")[0],
        &results[1].0.ran_program("apt-get")[0],
    );
    assert!(
        a.ended <= b.started || b.ended <= a.started,
        "the two apt-get runs overlapped"
    );
    let waited = results.iter().any(|(exec, _)| {
        exec.lines_of(Stream::Warn)
            .iter()
            .any(|l| l == "Waiting for another installation in Cairn to finish…")
    });
    assert!(waited, "neither job said it was waiting");
    let states: Vec<_> = results
        .iter()
        .flat_map(|(exec, _)| exec.waits.lock().unwrap().clone())
        .collect();
    assert_eq!(
        states,
        vec![(Some(WaitReason::CairnJob), None), (None, None)],
        "the waiting job reports the wait as a state, then its end"
    );
    assert!(common::dpkg_installed("figlet") && common::dpkg_installed("cmatrix"));
    common::purge(&["figlet"]);
    common::purge(&["cmatrix"]);
}

/// Whether `package` is installed here (dpkg says so).
fn installed(package: &str) -> bool {
    std::process::Command::new("dpkg-query")
        .args(["-W", "-f", "${Status}", package])
        .output()
        .map(|o| String::from_utf8_lossy(&o.stdout).ends_with(" installed"))
        .unwrap_or(false)
}

#[test]
fn a_plan_lists_the_packages_apt_would_install_with_apts_own_sizes() {
    // `cowsay` is in Debian's lists and installed by no test (the helpers' tests install
    // `hello`, `sl`, `figlet`): apt's simulation is real. Not beside a test that changes the
    // package lists, which would make apt's answer unreadable for a moment.
    let _guard = PACKAGE_TESTS.lock().unwrap_or_else(PoisonError::into_inner);
    if installed("cowsay") {
        eprintln!("skipped: the package cowsay is installed here");
        return;
    }
    let expected = std::process::Command::new("apt-cache")
        .args(["show", "--no-all-versions", "cowsay"])
        .output()
        .map(|o| String::from_utf8_lossy(&o.stdout).into_owned())
        .unwrap_or_default();
    let Some(size) = expected
        .lines()
        .find_map(|l| l.strip_prefix("Size: "))
        .and_then(|v| v.trim().parse::<u64>().ok())
    else {
        eprintln!("skipped: the package lists here do not know cowsay");
        return;
    };
    let r = crate::util::recipe(r#"["apt-get"]"#, "[]", r#"apt_install(["cowsay"]);"#);
    let ran = crate::util::plan(&r, serde_json::json!({}));
    ran.value();
    let cowsay = ran
        .summary
        .packages
        .iter()
        .find(|p| p.name == "cowsay")
        .unwrap_or_else(|| panic!("cowsay is not in {:?}", ran.summary.packages));
    assert_eq!(cowsay.action, cairn_engine::summary::PackageAction::Install);
    assert_eq!(cowsay.download_bytes, Some(size));
    assert!(cowsay.installed_bytes.is_some_and(|b| b > size));
    assert!(!installed("cowsay"), "the plan installed cowsay");
    assert!(
        ran.plan.iter().any(
            |a| matches!(a, cairn_engine::PlannedAction::Run { program, args, .. }
            if program == "apt-get" && args.iter().any(|x| x == "cowsay"))
        ),
        "{:?}",
        ran.plan
    );
}

#[test]
fn the_status_file_says_what_dpkg_query_says_for_every_package_here() {
    use cairn_engine::system::apt::status;
    let _guard = PACKAGE_TESTS.lock().unwrap_or_else(PoisonError::into_inner);
    let dir = std::path::Path::new(status::ADMIN_DIR);
    // Another program may install something meanwhile: compare only answers that the status
    // file gave before and after dpkg-query alike.
    for _ in 0..5 {
        let before = status::installed(dir).expect("dpkg's status file is read");
        let expected = dpkg_query_all();
        let after = status::installed(dir).expect("dpkg's status file is read");
        if before != after {
            continue;
        }
        assert!(
            expected.len() > 100,
            "dpkg-query listed {} packages",
            expected.len()
        );
        assert_eq!(after.installed, expected);
        return;
    }
    panic!("dpkg's status file changed during each of five comparisons");
}

/// Every installed package with its version, as `dpkg-query -W` says.
fn dpkg_query_all() -> std::collections::BTreeMap<String, String> {
    let out = std::process::Command::new("dpkg-query")
        .args(["-W", "-f", "${Package} ${Status} ${Version}\\n"])
        .output()
        .expect("dpkg-query runs");
    let mut all = std::collections::BTreeMap::new();
    for line in String::from_utf8_lossy(&out.stdout).lines() {
        let f: Vec<&str> = line.split_whitespace().collect();
        if f.len() >= 4 && f[3] == "installed" {
            all.insert(f[0].to_owned(), f.get(4).copied().unwrap_or("").to_owned());
        }
    }
    all
}
