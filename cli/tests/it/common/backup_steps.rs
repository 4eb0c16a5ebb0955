//! The steps every backup provider's end-to-end test (`recipe_backup_rsync.rs`,
//! `recipe_backup_s3.rs`) takes the same way: configure (which runs no backup), the first
//! backup with its restore test, detect() and the schedule, the cron job run as cron runs it,
//! changed settings that forget the previous configuration's results, and the plan and its
//! parameter checks. Each test file keeps only what its provider does differently.
#![allow(dead_code, clippy::unwrap_used, clippy::expect_used)]

use super::backup::{mode, run_as_cron};
use super::{Run, detect, plan, plan_everywhere, run, sh, workspace};

/// Configure with `params`: it changes the server, says the first backup and its restore test
/// run next as their own job, and runs none (`backup_line`, a line only a backup prints, is not
/// on its console; detect() has no run yet).
pub fn configure_runs_no_backup(provider: &str, params: &[&str], backup_line: &str) -> Run {
    let configured = run(provider, params);
    assert!(configured.changed(), "{}", configured.stdout);
    assert_eq!(
        configured.result["first_backup_due"], true,
        "{}",
        configured.stdout
    );
    assert!(
        configured.result["last_run_ok"].is_null(),
        "{}",
        configured.stdout
    );
    let said = configured.result["message"].as_str().unwrap();
    assert!(
        said.contains("the first backup and its restore test run next as their own job"),
        "{said}"
    );
    assert!(
        !configured.stdout.contains(backup_line),
        "configure ran a backup: {}",
        configured.stdout
    );
    assert!(
        detect(provider)["last_run_at"].is_null(),
        "no backup yet: {}",
        configured.stdout
    );
    configured
}

/// `action=first_backup`: it backs up and passes its restore test over the source's five
/// files; the run.
pub fn first_backup_passes(provider: &str) -> Run {
    let first = run(provider, &["action=first_backup"]);
    eprintln!("{}", first.stdout);
    assert!(first.changed(), "{}", first.stdout);
    assert_eq!(first.result["last_run_ok"], true, "{}", first.stdout);
    assert_eq!(
        first.result["last_restore_test_ok"], true,
        "{}",
        first.stdout
    );
    assert!(
        first.result["first_backup_due"].is_null(),
        "{}",
        first.result
    );
    assert!(
        first.stdout.contains("Restore test passed: all 5 files"),
        "{}",
        first.stdout
    );
    first
}

/// detect() after a backup that passed its restore test: installed, on `schedule`, both
/// results good and dated; and the cron file (0644) holds the job at `schedule`, with cron
/// running. Returns detect()'s answer.
pub fn assert_backed_up_on_schedule(provider: &str, schedule: &str) -> serde_json::Value {
    let d = detect(provider);
    assert_eq!(d["installed"], true, "{d}");
    assert_eq!(d["schedule"], schedule, "{d}");
    assert_eq!(d["last_run_ok"], true, "{d}");
    assert_eq!(d["last_restore_test_ok"], true, "{d}");
    assert!(d["last_run_at"].as_u64().unwrap() > 1_600_000_000, "{d}");
    assert!(
        d["last_restore_test_at"].as_u64() >= d["last_run_at"].as_u64(),
        "{d}"
    );
    let file = format!("/etc/cron.d/cairn-backup-{provider}");
    let cron = std::fs::read_to_string(&file).unwrap();
    let job = format!(
        "{schedule} root /usr/local/lib/cairn/backup-{provider} run \
         >>/var/log/cairn-backup-{provider}.log 2>&1"
    );
    assert!(cron.lines().any(|l| l == job), "{cron}");
    assert_eq!(mode(&file), 0o644);
    assert!(sh("service", &["cron", "status"]).0, "cron is not running");
    d
}

/// The schedule's job, run as cron runs it: it saves a snapshot. What it logged.
pub fn cron_job_saves_a_snapshot(provider: &str) -> String {
    let log = run_as_cron(provider);
    assert!(log.contains("Snapshot ") && log.contains(" saved"), "{log}");
    log
}

/// A configure with changed settings: the first backup is due again, and detect() no longer
/// shows the previous configuration's last backup and restore test as this one's.
pub fn changed_settings_forget_the_old_results(
    provider: &str,
    params: &[&str],
) -> serde_json::Value {
    let changed = run(provider, params);
    assert_eq!(
        changed.result["first_backup_due"], true,
        "{}",
        changed.result
    );
    let d = detect(provider);
    for key in [
        "last_run_at",
        "last_run_ok",
        "last_restore_test_at",
        "last_restore_test_ok",
        "snapshot",
    ] {
        assert!(
            d[key].is_null(),
            "{key} still says the old configuration's result: {d}"
        );
    }
    d
}

/// Prints the wall times of the runs a backup test made, for BENCHMARKS.md.
pub fn print_wall_times(
    configure: &Run,
    first: &Run,
    unchanged: &Run,
    run_now: &Run,
    restore: &Run,
) {
    eprintln!(
        "wall times through Cairn: configure {:.1} s, first backup {:.1} s, unchanged configure {:.1} s, run_now {:.1} s, restore_test {:.1} s",
        configure.took.as_secs_f64(),
        first.took.as_secs_f64(),
        unchanged.took.as_secs_f64(),
        run_now.took.as_secs_f64(),
        restore.took.as_secs_f64()
    );
}

/// On every supported system the plan writes `written` (with its mode, as the preview shows it)
/// and the cron file, runs no backup and no restore test, and names the first backup as a job
/// of its own. Returns the plans, for the provider's own checks.
pub fn plans_the_first_backup_as_its_own_job(
    provider: &str,
    params: &[&str],
    written: &str,
) -> Vec<(&'static str, String)> {
    let plans = plan_everywhere(provider, params);
    for (label, plan) in &plans {
        assert!(
            plan.contains(&format!("write  {written}"))
                && plan.contains(&format!(
                    "write  /etc/cron.d/cairn-backup-{provider} (mode 0644"
                ))
                && !plan.contains(&format!(
                    "run    /usr/local/lib/cairn/backup-{provider} run"
                ))
                && !plan.contains(&format!(
                    "run    /usr/local/lib/cairn/backup-{provider} restore-test"
                ))
                && plan.contains("The first backup and its restore test run next as their own job"),
            "{label}: {plan}"
        );
    }
    plans
}

/// Each `(bad, why)`: `params` plus `bad` does not plan on Debian 12, with an error that says
/// `why`. The errors, for the provider's own checks.
pub fn refuses_each(provider: &str, params: &[&str], cases: &[(&str, &str)]) -> Vec<String> {
    let debian = workspace().join("engine/tests/data/os-release-debian12");
    cases
        .iter()
        .map(|(bad, why)| {
            let mut p = params.to_vec();
            p.push(bad);
            let e = plan(provider, &p, &debian).expect_err(bad);
            assert!(e.contains(why), "{bad}: {e}");
            e
        })
        .collect()
}
