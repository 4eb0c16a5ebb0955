//! Docker's `uninstall` action in a fresh Debian 11 system (docs/day2.md), as the page runs it:
//! Docker installed by its recipe and a volume made in it; the uninstall previewed, then run
//! and held to its preview (`Done::against`, as every install of the suite is: the plan names
//! every command, every package and the service it stops). Keeping the data: dockerd stops,
//! every package the install added goes and no other (the system's package list is what it was
//! before the install), `detect()` says not installed, and `/var/lib/docker` keeps the volume; a
//! second uninstall changes nothing. Installed again, Docker finds its volume. With
//! `delete_data`, the preview names the data folders it deletes, and they are gone after.

use std::collections::BTreeSet;

use cairn_e2e::debian11::{Debian11, Run};
use cairn_engine::PlannedAction;
use cairn_test_support::recipe_run;
use serde_json::Value;

use super::{CASES, Case, apt_of, findings, inside, predownload, prepare, recipe_cmd, run, wanted};

/// The volume made before the first uninstall, which must outlive it.
const VOLUME: &str = "cairn-kept";

/// The daemon's data folders the recipe may delete.
const DATA: [&str; 2] = ["/var/lib/docker", "/var/lib/containerd"];

/// The packages installed inside, by name.
fn installed(deb: &Debian11) -> BTreeSet<String> {
    let r = deb.bash(None, "dpkg-query -W -f '${Package} ${db:Status-Status}\\n'");
    assert!(r.ok, "dpkg-query: {}", r.text());
    r.stdout
        .lines()
        .filter_map(|l| l.strip_suffix(" installed").map(str::to_owned))
        .collect()
}

/// `--action uninstall --param runtime=docker`, with `delete_data=true` when `delete`.
fn action(delete: bool) -> String {
    let mut a = "--action uninstall --param runtime=docker".to_owned();
    if delete {
        a.push_str(" --param delete_data=true");
    }
    a
}

/// The uninstall's preview: its side effects (`plan --json`) and its text (with the `warning:`
/// lines a person reads before confirming). Read only.
fn plan(deb: &Debian11, case: &Case, delete: bool) -> (Vec<PlannedAction>, String) {
    let json = inside(
        deb,
        case,
        &recipe_cmd("plan", case, &format!("{} --json", action(delete))),
    );
    assert!(json.ok, "plan uninstall: {}", json.text());
    let list = serde_json::from_str(&json.stdout)
        .unwrap_or_else(|e| panic!("the plan printed no list ({e}): {}", json.stdout));
    let text = inside(deb, case, &recipe_cmd("plan", case, &action(delete)));
    assert!(text.ok, "plan uninstall: {}", text.text());
    (list, text.stdout)
}

/// The uninstall, recording what it did; must succeed. Its run and its result.
fn uninstall(deb: &Debian11, case: &Case, delete: bool) -> (Run, Value) {
    let extra = format!("{} --record {}", action(delete), findings::RECORD);
    let r = inside(deb, case, &recipe_cmd("run", case, &extra));
    assert!(r.ok, "uninstall failed:\n{}", r.text());
    eprintln!("{}", r.stdout);
    let result = recipe_run::result(&r.stdout);
    (r, result)
}

/// The packages an `apt-get … remove -- PKGS` of the plan names.
fn removed_by(plan: &[PlannedAction]) -> BTreeSet<String> {
    let removes: Vec<&Vec<String>> = plan
        .iter()
        .filter_map(|a| match a {
            PlannedAction::Run { program, args, .. }
                if program == "apt-get" && args.iter().any(|a| a == "remove") =>
            {
                Some(args)
            }
            _ => None,
        })
        .collect();
    assert_eq!(removes.len(), 1, "one removal: {plan:?}");
    let args = removes[0];
    let at = args
        .iter()
        .position(|a| a == "--")
        .expect("`--` before the names");
    args[at + 1..].iter().cloned().collect()
}

/// The paths the plan's `rm -rf -- PATH` commands delete.
fn deleted_by(plan: &[PlannedAction]) -> Vec<String> {
    plan.iter()
        .filter_map(|a| match a {
            PlannedAction::Run { program, args, .. } if program == "rm" => Some(args),
            _ => None,
        })
        .map(|args| {
            assert_eq!(args[..2], ["-rf", "--"], "{args:?}");
            args[2..].join(" ")
        })
        .collect()
}

/// What the daemons of Docker inside are: none must be left after an uninstall.
fn daemons(deb: &Debian11) -> Vec<(u32, String)> {
    deb.processes()
        .into_iter()
        .filter(|(_, c)| c.contains("dockerd") || c.contains("containerd"))
        .collect()
}

/// The uninstall did what its plan named and nothing else, and left the system's packages as
/// they were before Docker was installed, without Docker running or detected.
fn assert_uninstalled(
    deb: &Debian11,
    plan: &[PlannedAction],
    before: &BTreeSet<String>,
    added: &BTreeSet<String>,
) {
    findings::assert_plan_named_everything("docker uninstall", plan, &findings::last_done(deb));
    // Exactly what the install added, no more and no less.
    assert_eq!(
        &removed_by(plan),
        added,
        "the removal is not what the install added"
    );
    let now = installed(deb);
    let lost: Vec<&String> = before.difference(&now).collect();
    let left: Vec<&String> = now.difference(before).collect();
    assert!(
        lost.is_empty(),
        "the uninstall removed packages Docker's install did not add: {lost:?}"
    );
    assert!(
        left.is_empty(),
        "the uninstall left packages Docker's install added: {left:?}"
    );
    let d = findings::detect(deb, "docker");
    assert_eq!(d["installed"], false, "detect() after the uninstall: {d}");
    assert_eq!(daemons(deb), vec![], "Docker's daemons still run");
}

#[test]
fn docker_uninstalls_keeping_its_data_then_deleting_it_on_debian_11() {
    if !wanted("docker") {
        return;
    }
    let case = CASES
        .iter()
        .find(|c| c.recipe == "docker")
        .expect("the docker case");
    let deb = prepare(case);
    let before = installed(&deb);
    // The install's packages, downloaded with this host's network (the daemon's own has none);
    // the reinstall finds them in the same cache.
    predownload(&deb, case, &apt_of(case, &findings::plan(&deb, case)));

    // 1. Installed, with a volume in its data.
    let (_, result, _) = run(&deb, case);
    assert_eq!(result["changed"], true, "{result}");
    let made = inside(
        &deb,
        case,
        &format!("/usr/bin/docker volume create {VOLUME}"),
    );
    assert!(made.ok, "docker volume create: {}", made.text());
    let volume = format!("/var/lib/docker/volumes/{VOLUME}");
    assert!(deb.path(&volume).is_dir(), "no {volume}");
    let added: BTreeSet<String> = installed(&deb).difference(&before).cloned().collect();
    for p in ["docker.io", "docker-compose", "containerd", "runc", "tini"] {
        assert!(added.contains(p), "the install did not add {p}: {added:?}");
    }

    // 2. The preview keeping the data: the daemon stopped, the packages, nothing deleted.
    let (keep, text) = plan(&deb, case, false);
    assert!(
        keep.iter()
            .any(|a| a.to_string() == "run    service docker stop"),
        "the plan does not stop the daemon: {text}"
    );
    assert_eq!(deleted_by(&keep), Vec::<String>::new(), "{text}");
    assert!(
        text.contains(
            "warning: Docker's images, containers and volumes in /var/lib/docker stay: \
             installing Docker again uses them"
        ) && text.contains("warning: The Docker daemon stops, and with it every container it runs"),
        "{text}"
    );
    assert!(!daemons(&deb).is_empty(), "a plan stopped Docker");

    // 3. The uninstall keeping the data: what the plan said, the data kept.
    let (_, done) = uninstall(&deb, case, false);
    assert_eq!(done["changed"], true, "{done}");
    let said = done["message"].as_str().unwrap_or_default();
    assert!(
        said.starts_with("Docker is removed (docker.io, docker-compose, ")
            && said.ends_with(
                "its images, containers and volumes stay in /var/lib/docker: installing Docker \
                 again uses them"
            ),
        "{said}"
    );
    assert_uninstalled(&deb, &keep, &before, &added);
    assert!(deb.path(&volume).is_dir(), "{volume} was not kept");

    // 4. Again: nothing to remove, nothing done, and it says so.
    let (_, again) = uninstall(&deb, case, false);
    findings::assert_changed_nothing("docker uninstall", &findings::last_done(&deb), &again);
    assert_eq!(
        again["message"], "Docker was not installed by this recipe; nothing changed",
        "{again}"
    );

    // 5. Installed again: the daemon finds the volume it kept.
    let (_, result, _) = run(&deb, case);
    assert_eq!(result["changed"], true, "{result}");
    let volumes = inside(&deb, case, "/usr/bin/docker volume ls -q");
    assert!(
        volumes.ok && volumes.stdout.lines().any(|l| l == VOLUME),
        "the reinstalled Docker lost its volume: {}",
        volumes.text()
    );

    // 6. The preview deleting the data names each folder that goes, and only those that exist
    //    (containerd's only where its own service ran: not in this system without systemd).
    let (delete, text) = plan(&deb, case, true);
    let there: Vec<String> = DATA
        .iter()
        .filter(|p| deb.path(p).exists())
        .map(|p| (*p).to_owned())
        .collect();
    assert!(there.contains(&"/var/lib/docker".to_owned()), "{there:?}");
    assert_eq!(deleted_by(&delete), there, "{text}");
    for path in &there {
        assert!(
            text.contains(&format!(
                "warning: {path} will be deleted for good, with every image, container and \
                 volume in it"
            )),
            "{text}"
        );
    }
    assert!(deb.path(&volume).is_dir(), "a plan deleted {volume}");

    // 7. The uninstall deleting the data: what the plan said, the data gone.
    let (_, done) = uninstall(&deb, case, true);
    let said = done["message"].as_str().unwrap_or_default();
    assert!(
        said.ends_with(&format!(
            "and its images, containers and volumes are deleted ({})",
            there.join(", ")
        )),
        "{said}"
    );
    assert_uninstalled(&deb, &delete, &before, &added);
    for path in DATA {
        assert!(!deb.path(path).exists(), "{path} is still there");
    }
}
