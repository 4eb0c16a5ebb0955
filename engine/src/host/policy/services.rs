//! Service managers and daemons: systemctl, service, memcached.
//!
//! Recipes start, stop and enable services through the service helpers, which check the name
//! against the declared services and build their own argv. Run directly, systemctl may only
//! report state: `link`, `edit` (with `SYSTEMD_EDITOR`), `enable --now FILE`, `set-environment`,
//! `-H`/`--host` (which runs ssh) and the rest are refused. `service NAME status` runs the
//! service's init script, so NAME must be a declared service whose script the recipe cannot
//! have written. A daemon's binary may only print its version: its options load modules and
//! scripts.

use super::argv::{self, Spec, flag, value};
use super::paths::under_declared;
use super::{Call, Policy};

pub(super) const POLICIES: &[Policy] = &[
    Policy {
        names: &["systemctl"],
        power: "reports the state of services (is-active, is-enabled, status, show); starting \
                and stopping goes through the service helpers",
        env: &[],
        reads: super::Reads::Always,
        check: systemctl,
    },
    Policy {
        names: &["service"],
        power: "reports the status of the declared services through their init scripts",
        env: &[],
        reads: super::Reads::Always,
        check: service,
    },
    Policy {
        names: &["memcached"],
        power: "prints its version",
        env: &[],
        reads: super::Reads::Always,
        check: |call| {
            argv::no_stdin("memcached", call.stdin)?;
            argv::exact("memcached", call.args, &[&["-V"], &["--version"]])
        },
    },
];

fn unit_name(s: &str) -> bool {
    crate::host::caps::is_service_name(s)
}

fn systemctl(call: &Call<'_>) -> Result<(), String> {
    const SPECS: &[Spec] = &[
        flag(&["--version"]),
        flag(&["-q", "--quiet"]),
        flag(&["--no-pager"]),
        flag(&["--no-legend"]),
        flag(&["--plain"]),
        flag(&["--value"]),
        flag(&["--full", "-l"]),
        value(&["-p", "--property"]),
        value(&["-n", "--lines"]),
    ];
    const VERBS: &[&str] = &["is-active", "is-enabled", "is-failed", "status", "show"];
    argv::no_stdin("systemctl", call.stdin)?;
    let p = argv::parse("systemctl", call.args, SPECS)?;
    if p.has("--version") {
        return if p.opts.len() == 1 && p.operands.is_empty() {
            Ok(())
        } else {
            Err("systemctl --version takes nothing else".to_owned())
        };
    }
    let Some((verb, units)) = p.operands.split_first() else {
        return Err(format!("systemctl needs one of {}", VERBS.join(", ")));
    };
    if !VERBS.contains(verb) {
        return Err(format!(
            "`{verb}` is not a question Cairn lets systemctl answer (allowed: {}); control \
             services with service_start(), service_stop(), service_restart() and \
             service_enable()",
            VERBS.join(", ")
        ));
    }
    if units.is_empty() {
        return Err(format!("systemctl {verb} needs a unit name"));
    }
    match units.iter().find(|u| !unit_name(u)) {
        Some(bad) => Err(format!("`{bad}` is not a unit name")),
        None => Ok(()),
    }
}

fn service(call: &Call<'_>) -> Result<(), String> {
    argv::no_stdin("service", call.stdin)?;
    if argv::exact("service", call.args, &[&["--version"]]).is_ok() {
        return Ok(());
    }
    let [name, action] = call.args else {
        return Err(
            "Cairn allows service only as `service NAME status` or `service --version`; \
                    control services with the service helpers"
                .to_owned(),
        );
    };
    if action != "status" {
        return Err(format!(
            "`service {name} {action}` is refused: only `status` may be run directly; control \
             services with service_start(), service_stop() and service_restart()"
        ));
    }
    if !call.caps.services.iter().any(|s| s == name) {
        return Err(format!(
            "`{name}` is not among the services the recipe declared"
        ));
    }
    let script = std::path::Path::new("/etc/init.d").join(name);
    if under_declared(call.caps, &script) {
        return Err(format!(
            "{} is a file this recipe may write, so `service {name} status` would run the \
             recipe's own script",
            script.display()
        ));
    }
    Ok(())
}
