//! The host API's parameter names and one line of what each function does: what a wrong-arity
//! finding shows (`run(program, args)`, `run(program, args, options)`) and what the editor
//! definitions (`definitions.rs`) carry. Rhai knows the types of a registered function's
//! parameters, not their names. A test holds this table to the registered functions: a host
//! function added without its line here fails it.

/// Name, each overload's parameter names, what it does, and what it returns (in the type
/// names of Rhai's definitions: `?` is any value, often a string or `()`).
pub const HOST: &[(&str, &[&[&str]], &str, &str)] = &[
    (
        "apt_install",
        &[&["packages"], &["packages", "options"]],
        "Installs Debian packages (options: #{ from: \"distribution\" | \"backports\" }); returns #{ changed, installed, already_installed }.",
        "map",
    ),
    (
        "apt_installed",
        &[&["package"]],
        "The installed version of a package, or ().",
        "?",
    ),
    (
        "apt_remove",
        &[&["packages"], &["packages", "options"]],
        "Removes packages (options: #{ purge: bool }); returns #{ changed, removed, orphans, not_installed }.",
        "map",
    ),
    ("apt_update", &[&[]], "Refreshes the package lists.", "()"),
    (
        "apt_upgrade",
        &[&["packages"]],
        "Upgrades packages; returns #{ changed, upgraded, unchanged, orphans }.",
        "map",
    ),
    (
        "apt_version",
        &[&["package"]],
        "The installed upstream version of a package, or ().",
        "?",
    ),
    (
        "arch",
        &[&[]],
        "The machine's architecture (x86_64, aarch64).",
        "string",
    ),
    (
        "backup_paths",
        &[&["text"]],
        "Checks a list of folders to back up, one per line; returns it normalised.",
        "string",
    ),
    (
        "backup_snapshots",
        &[&["path"]],
        "The snapshots a backup script recorded in its state file, newest first.",
        "array",
    ),
    (
        "backup_state",
        &[&["path"]],
        "What a backup script recorded in its state file.",
        "map",
    ),
    (
        "change",
        &[&["kind", "what"]],
        "Announces a change for the plan's summary: kind \"user\", \"database\" or \"port\".",
        "()",
    ),
    (
        "cron_schedule",
        &[&["text"]],
        "Checks a cron schedule; returns it normalised.",
        "string",
    ),
    (
        "cron_schedule_of",
        &[&["path", "program"]],
        "The schedule a cron file gives a program, or ().",
        "?",
    ),
    (
        "cron_text",
        &[&["schedule", "program", "args", "log", "comment"]],
        "The text of a cron file running one of the recipe's own programs.",
        "string",
    ),
    (
        "detect",
        &[
            &["program", "args", "pattern"],
            &["program", "args", "pattern", "options"],
        ],
        "Runs a read-only query and returns the pattern's first group, or ().",
        "?",
    ),
    (
        "dir_is_empty",
        &[&["path"]],
        "Whether a folder is missing or empty.",
        "bool",
    ),
    (
        "download",
        &[&["url", "dest", "sha256"]],
        "Downloads a file under the declared paths, checked against its SHA-256.",
        "()",
    ),
    (
        "file_exists",
        &[&["path"]],
        "Whether a path exists.",
        "bool",
    ),
    ("has_systemd", &[&[]], "Whether systemd is PID 1.", "bool"),
    (
        "installations",
        &[&["tool"]],
        "The installations of a tool found on this server.",
        "array",
    ),
    (
        "kv_read",
        &[&["path"]],
        "Reads a KEY=value settings file into a map.",
        "map",
    ),
    (
        "kv_text",
        &[&["map"]],
        "A map as the text of a KEY=value settings file.",
        "string",
    ),
    (
        "kv_write",
        &[&["path", "map", "mode"]],
        "Writes a KEY=value settings file when it differs; returns whether it changed.",
        "bool",
    ),
    ("log", &[&["message"]], "An info line on the console.", "()"),
    (
        "mariadb_bind",
        &[&["address"]],
        "Sets MariaDB's listen address (\"\" or () removes it); returns whether it changed.",
        "bool",
    ),
    (
        "os_release",
        &[&[]],
        "/etc/os-release as a map (ID, VERSION_ID, …).",
        "map",
    ),
    (
        "progress",
        &[&["percent"]],
        "The job's progress bar, 0 to 100.",
        "()",
    ),
    (
        "read_file",
        &[&["path"]],
        "Reads a file under the declared paths.",
        "string",
    ),
    (
        "read_secret",
        &[&["path"]],
        "Reads a secret kept in a file under the declared paths (masked everywhere).",
        "string",
    ),
    (
        "run",
        &[&["program", "args"], &["program", "args", "options"]],
        "Runs a declared program (options: #{ stdin, check, timeout, env }); returns #{ code, stdout, stderr }.",
        "map",
    ),
    (
        "run_with_state",
        &[&["program", "args", "state", "error_key"]],
        "Runs a declared program, recording how it ended in a state file.",
        "map",
    ),
    (
        "secret",
        &[&["length"]],
        "A new random secret of 16 to 128 characters (masked everywhere).",
        "string",
    ),
    (
        "service_disable",
        &[&["service"]],
        "Disables a declared service at boot.",
        "()",
    ),
    (
        "service_enable",
        &[&["service"]],
        "Enables a declared service at boot.",
        "()",
    ),
    (
        "service_ensure_running",
        &[&["service"]],
        "Starts a declared service unless it runs; returns whether it started it.",
        "bool",
    ),
    (
        "service_restart",
        &[&["service"]],
        "Restarts a declared service.",
        "()",
    ),
    (
        "service_running",
        &[&["service"]],
        "Whether a declared service runs.",
        "bool",
    ),
    (
        "service_start",
        &[&["service"]],
        "Starts a declared service.",
        "()",
    ),
    (
        "service_stop",
        &[&["service"]],
        "Stops a declared service.",
        "()",
    ),
    (
        "sleep",
        &[&["seconds"]],
        "Waits 0 to 60 seconds (not in a plan).",
        "()",
    ),
    (
        "step",
        &[&["title"]],
        "Starts a numbered step on the console.",
        "()",
    ),
    (
        "template",
        &[&["text", "vars"]],
        "Renders a bounded template with the given variables.",
        "string",
    ),
    (
        "version_cmp",
        &[&["a", "b"]],
        "Compares two versions: -1, 0 or 1.",
        "int",
    ),
    (
        "wait_for",
        &[&["program", "args", "pattern", "seconds"]],
        "Repeats a read-only query until the pattern matches, for at most the given seconds.",
        "?",
    ),
    (
        "warn",
        &[&["message"]],
        "A warning line on the console (and in a plan's summary).",
        "()",
    ),
    (
        "which",
        &[&["name"]],
        "Where a program is found on the fixed PATH, or ().",
        "?",
    ),
    (
        "write_file",
        &[&["path", "content"], &["path", "content", "mode"]],
        "Writes a file under the declared paths (mode 0644 unless given).",
        "()",
    ),
    (
        "write_if_changed",
        &[&["path", "content"], &["path", "content", "mode"]],
        "Writes a file under the declared paths when it differs; returns whether it changed.",
        "bool",
    ),
];

/// The host functions that change the server: run a program, install or remove packages,
/// write a file, download, start or stop a service. A plan records them instead (as if each
/// succeeded); a run makes them. What a `try` block must not catch and carry on from
/// (`caught.rs`). Every other host function reads or computes (a test holds every one of
/// them to one side or the other).
pub const ACTS: &[&str] = &[
    "apt_install",
    "apt_remove",
    "apt_update",
    "apt_upgrade",
    "download",
    "kv_write",
    "mariadb_bind",
    "run",
    "run_with_state",
    "service_disable",
    "service_enable",
    "service_ensure_running",
    "service_restart",
    "service_start",
    "service_stop",
    "write_file",
    "write_if_changed",
];

/// Each way `name` can be called, as `name(a, b)`; empty for a function not in the table.
pub fn forms(name: &str) -> Vec<String> {
    HOST.iter()
        .filter(|(n, _, _, _)| *n == name)
        .flat_map(|(n, overloads, _, _)| {
            overloads
                .iter()
                .map(move |p| format!("{n}({})", p.join(", ")))
        })
        .collect()
}

/// The parameter names of `name` called with `arity` arguments.
pub fn params(name: &str, arity: usize) -> Option<&'static [&'static str]> {
    HOST.iter()
        .find(|(n, _, _, _)| *n == name)
        .and_then(|(_, overloads, _, _)| overloads.iter().find(|p| p.len() == arity).copied())
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeSet;

    use super::*;

    #[test]
    fn every_registered_host_function_has_its_parameter_names_and_no_other() {
        let registered = &super::super::names::known().host;
        let table: BTreeSet<(String, usize)> = HOST
            .iter()
            .flat_map(|(n, o, _, _)| o.iter().map(|p| ((*n).to_owned(), p.len())))
            .collect();
        let host: BTreeSet<(String, usize)> = registered
            .iter()
            .flat_map(|(n, a)| a.iter().map(|a| (n.clone(), *a)))
            .collect();
        assert_eq!(table, host);
    }

    /// Host functions that only read or compute (or speak to the console): the other side of
    /// [`ACTS`]. A new host function fails the test below until it is put on one side.
    const READS: &[&str] = &[
        "apt_installed",
        "apt_version",
        "arch",
        "backup_paths",
        "backup_snapshots",
        "backup_state",
        "change",
        "cron_schedule",
        "cron_schedule_of",
        "cron_text",
        "detect",
        "dir_is_empty",
        "file_exists",
        "has_systemd",
        "installations",
        "kv_read",
        "kv_text",
        "log",
        "os_release",
        "progress",
        "read_file",
        "read_secret",
        "secret",
        "service_running",
        "sleep",
        "step",
        "template",
        "version_cmp",
        "wait_for",
        "warn",
        "which",
    ];

    #[test]
    fn every_host_function_either_acts_or_only_reads() {
        let host: BTreeSet<&str> = HOST.iter().map(|(n, _, _, _)| *n).collect();
        let acts: BTreeSet<&str> = ACTS.iter().copied().collect();
        let reads: BTreeSet<&str> = READS.iter().copied().collect();
        assert_eq!(acts.intersection(&reads).count(), 0);
        assert_eq!(
            acts.union(&reads).copied().collect::<BTreeSet<_>>(),
            host,
            "put each host function in ACTS (it changes the server) or READS"
        );
    }
}
