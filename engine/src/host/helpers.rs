//! The host functions built on the primitives of `api.rs` for recipes that install a script of
//! their own and run it on a schedule (the backup recipes): `KEY='value'` settings and state
//! files (`kv.rs`), files written only when they change, cron files (`cron.rs`), a service kept
//! running, the script run with its state file, and the paths and state of a backup
//! (`backup.rs`).
//!
//! Each checks capabilities exactly as the primitive it stands for: paths under the declared
//! ones (as `read_file`/`write_file`), services declared (as `service_start`), programs and
//! their arguments through the argument policies (as `run`). Reads run for real in plan mode;
//! writes, starts and runs are recorded. Sentences meant for the recipe's user (a schedule or a
//! path that cannot be used) come without a prefix; a recipe's own mistake names the function.

use std::collections::BTreeMap;
use std::os::unix::fs::PermissionsExt;
use std::path::Path;
use std::rc::Rc;

use rhai::{Array, Dynamic, Engine, Map};

use super::api::{
    Res, check_call, checked_mode, checked_path, err, invalid, strings, write_checked,
};
use super::policy::{self, Kind};
use super::{Host, backup, cron, files, kv};
use crate::error::HostError;
use crate::event::Stream;
use crate::exec::{Exec, ExecOptions};
use crate::system::service;

/// Registers the helpers on `engine` (called by `host::register`, after the primitives).
pub(super) fn register(engine: &mut Engine, host: &Rc<Host>) {
    register_files(engine, host);
    register_cron(engine, host);
    register_running(engine, host);
}

/// A `KEY='value'` file under the declared paths; a missing one is empty.
fn read_kv(h: &Host, func: &str, path: &str) -> Res<BTreeMap<String, String>> {
    let p = checked_path(h, path)?;
    let Some(text) = files::read_file_if_exists(&p).map_err(err)? else {
        return Ok(BTreeMap::new());
    };
    kv::parse(&text).map_err(|why| invalid(format!("{func}: {path} cannot be read: {why}")))
}

fn to_map(kv: BTreeMap<String, String>) -> Map {
    kv.into_iter()
        .map(|(k, v)| (k.into(), Dynamic::from(v)))
        .collect()
}

/// A recipe's map as `KEY='value'` text: strings, integers and booleans only.
fn kv_text(func: &str, map: &Map) -> Res<String> {
    let mut pairs = Vec::with_capacity(map.len());
    for (key, value) in map {
        let text = if value.is_string() || value.is_int() || value.is_bool() {
            value.to_string()
        } else {
            return Err(invalid(format!(
                "{func}: the value of `{key}` is {}; values must be strings, integers or booleans",
                value.type_name()
            )));
        };
        pairs.push((key.as_str(), text));
    }
    kv::text(pairs.iter().map(|(k, v)| (*k, v.as_str())))
        .map_err(|why| invalid(format!("{func}: {why}")))
}

/// Writes `content` unless `path` already holds exactly it with exactly `mode`; true when it
/// wrote (or, in plan mode, would write).
fn write_if_changed(h: &Host, func: &str, path: &str, content: &str, mode: i64) -> Res<bool> {
    let p = checked_path(h, path)?;
    let bits = checked_mode(func, mode)?;
    if files::read_file_if_exists(&p).map_err(err)?.as_deref() == Some(content)
        && std::fs::symlink_metadata(&p).is_ok_and(|m| m.permissions().mode() & 0o7777 == bits)
    {
        return Ok(false);
    }
    write_checked(h, func, path, content, mode)?;
    Ok(true)
}

fn register_files(engine: &mut Engine, host: &Rc<Host>) {
    let h = host.clone();
    engine.register_fn("kv_read", move |path: &str| -> Res<Map> {
        read_kv(&h, "kv_read()", path).map(to_map)
    });
    engine.register_fn("kv_text", |map: Map| kv_text("kv_text()", &map));
    let h = host.clone();
    engine.register_fn(
        "kv_write",
        move |path: &str, map: Map, mode: i64| -> Res<bool> {
            let text = kv_text("kv_write()", &map)?;
            write_if_changed(&h, "kv_write()", path, &text, mode)
        },
    );
    let h = host.clone();
    engine.register_fn(
        "write_if_changed",
        move |path: &str, content: &str| -> Res<bool> {
            write_if_changed(&h, "write_if_changed()", path, content, 0o644)
        },
    );
    let h = host.clone();
    engine.register_fn(
        "write_if_changed",
        move |path: &str, content: &str, mode: i64| -> Res<bool> {
            write_if_changed(&h, "write_if_changed()", path, content, mode)
        },
    );
    engine.register_fn("backup_paths", |text: &str| -> Res<String> {
        backup::paths(text, Path::exists).map_err(invalid)
    });
    let h = host.clone();
    engine.register_fn("backup_state", move |path: &str| -> Res<Map> {
        let _t = h.timings.call("backup_state");
        let s = backup::State::from_kv(&read_kv(&h, "backup_state()", path)?);
        let mut m = Map::new();
        let or_unit = |v: Option<Dynamic>| v.unwrap_or(Dynamic::UNIT);
        m.insert(
            "last_run_at".into(),
            or_unit(s.last_run_at.map(Dynamic::from)),
        );
        m.insert(
            "last_run_ok".into(),
            or_unit(s.last_run_ok.map(Dynamic::from)),
        );
        m.insert(
            "last_restore_test_at".into(),
            or_unit(s.last_restore_test_at.map(Dynamic::from)),
        );
        m.insert(
            "last_restore_test_ok".into(),
            or_unit(s.last_restore_test_ok.map(Dynamic::from)),
        );
        m.insert("snapshot".into(), or_unit(s.snapshot.map(Dynamic::from)));
        Ok(m)
    });
    let h = host.clone();
    engine.register_fn("backup_snapshots", move |path: &str| -> Res<Array> {
        let p = checked_path(&h, path)?;
        let text = files::read_file_if_exists(&p)
            .map_err(err)?
            .unwrap_or_default();
        Ok(backup::snapshots(&text)
            .into_iter()
            .map(|s| {
                let mut m = Map::new();
                m.insert("id".into(), Dynamic::from(s.id));
                m.insert("time".into(), Dynamic::from(s.time));
                m.insert("size_bytes".into(), Dynamic::from(s.size_bytes));
                m.insert("files".into(), Dynamic::from(s.files));
                m.insert("duration_s".into(), Dynamic::from(s.duration_s));
                Dynamic::from(m)
            })
            .collect())
    });
    // Like file_exists(), a question about the server needing no capability: whether a restore
    // may go into `path` (missing, or an empty folder).
    engine.register_fn("dir_is_empty", |path: &str| -> bool {
        match std::fs::read_dir(path) {
            Ok(mut entries) => entries.next().is_none(),
            Err(e) => e.kind() == std::io::ErrorKind::NotFound,
        }
    });
}

/// Cron runs what a cron file names as root, outside the argument policies, so only a program
/// the recipe declares by an absolute path under its declared paths (its own) is scheduled.
fn check_scheduled_program(h: &Host, program: &str) -> Res<()> {
    h.caps.check_program(program).map_err(err)?;
    if Path::new(program).is_absolute()
        && matches!(policy::classify(program, &h.caps), Ok(Kind::Own))
    {
        return Ok(());
    }
    Err(invalid(format!(
        "cron_text(): `{program}` is not one of the recipe's own programs (declared by an \
         absolute path under its declared paths); cron runs what it is given as root, outside \
         the argument policies, so only the recipe's own programs may be scheduled"
    )))
}

/// The log cron appends to: `/var/log/cairn-NAME.log`, or a file under the declared paths.
fn check_log(h: &Host, log: &str) -> Res<()> {
    let in_var_log = log
        .strip_prefix("/var/log/cairn-")
        .is_some_and(|name| !name.contains('/') && name.len() > 4 && name.ends_with(".log"));
    if in_var_log || h.caps.check_write_path(log).is_ok() {
        return Ok(());
    }
    Err(invalid(format!(
        "cron_text(): the log file `{log}` is refused: give /var/log/cairn-NAME.log or a file \
         under the recipe's declared paths"
    )))
}

fn register_cron(engine: &mut Engine, host: &Rc<Host>) {
    engine.register_fn("cron_schedule", |text: &str| -> Res<String> {
        cron::schedule(text).map_err(invalid)
    });
    let h = host.clone();
    engine.register_fn(
        "cron_text",
        move |schedule: &str,
              program: &str,
              args: Array,
              log: &str,
              comment: &str|
              -> Res<String> {
            let args = strings("cron_text(): the arguments", args)?;
            check_scheduled_program(&h, program)?;
            check_log(&h, log)?;
            let schedule = cron::schedule(schedule).map_err(invalid)?;
            cron::file_text(&cron::Entry {
                schedule: &schedule,
                program,
                args: &args,
                log,
                comment,
            })
            .map_err(|why| invalid(format!("cron_text(): {why}")))
        },
    );
    let h = host.clone();
    engine.register_fn(
        "cron_schedule_of",
        move |path: &str, program: &str| -> Res<Dynamic> {
            let _t = h.timings.call("cron_schedule_of");
            let p = checked_path(&h, path)?;
            let text = files::read_file_if_exists(&p).map_err(err)?;
            Ok(text
                .and_then(|t| cron::schedule_of(&t, program))
                .map_or(Dynamic::UNIT, Dynamic::from))
        },
    );
}

fn register_running(engine: &mut Engine, host: &Rc<Host>) {
    let h = host.clone();
    engine.register_fn("service_ensure_running", move |svc: &str| -> Res<bool> {
        let _t = h.timings.call("service_ensure_running");
        h.caps.check_service(svc).map_err(err)?;
        if service::is_running(&*h, svc).map_err(err)? {
            h.sink
                .log(Stream::Info, &format!("{svc} is already running"));
            return Ok(false);
        }
        service::start(&*h, svc).map_err(err)?;
        Ok(true)
    });
    let h = host.clone();
    engine.register_fn(
        "run_with_state",
        move |program: &str, args: Array, state: &str, error_key: &str| -> Res<Map> {
            let _t = h.timings.call("run_with_state");
            let args = strings("run_with_state(): the arguments", args)?;
            check_call(&h, program, &args, &ExecOptions::default(), false)?;
            checked_path(&h, state)?;
            if !kv::is_name(error_key) {
                return Err(invalid(format!(
                    "run_with_state(): the error key `{error_key}` is not a shell variable name"
                )));
            }
            let out = h
                .exec(program, &args, ExecOptions::default())
                .map_err(err)?;
            let st = read_kv(&h, "run_with_state()", state)?;
            if out.code != 0 {
                // The program's own sentence, as it recorded it; else what run() would say.
                return Err(err(
                    match st.get(error_key).filter(|w| !w.trim().is_empty()) {
                        Some(why) => HostError::Invalid(why.clone()),
                        None => HostError::CommandFailed {
                            command: crate::plan::shell_words(program, &args),
                            code: out.code,
                            detail: super::stderr_tail(&out.stderr),
                        },
                    },
                ));
            }
            Ok(to_map(st))
        },
    );
}
