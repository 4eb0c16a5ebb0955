//! The host API recipes see, registered on a job's Rhai engine. Each function checks
//! capabilities before any side effect, honours plan mode, and turns failures into sentences.
//! The helpers built on these (settings files, cron, backups) are in `helpers.rs`;
//! `host::register` registers both. The reference for recipe authors is `docs/recipes.md`.

use std::path::Path;
use std::rc::Rc;
use std::time::Duration;

use rhai::{Array, Dynamic, Engine, EvalAltResult, Map, Position};

use super::{Host, files, policy};
use crate::error::HostError;
use crate::event::{Event, Stream};
use crate::exec::{Exec, ExecOptions};
use crate::plan::PlannedAction;
use crate::summary::Change;
use crate::system::{apt, download, mariadb_bind, service};

pub(super) type Res<T> = Result<T, Box<EvalAltResult>>;

/// A host error as a Rhai runtime error carrying the sentence.
pub(crate) fn err(e: HostError) -> Box<EvalAltResult> {
    EvalAltResult::ErrorRuntime(Dynamic::from(e.to_string()), Position::NONE).into()
}

pub(super) fn invalid(msg: impl Into<String>) -> Box<EvalAltResult> {
    err(HostError::Invalid(msg.into()))
}

pub(super) fn strings(what: &str, arr: Array) -> Res<Vec<String>> {
    arr.into_iter()
        .map(|v| {
            v.into_immutable_string()
                .map(|s| s.to_string())
                .map_err(|t| invalid(format!("{what} must be a list of strings (found a {t})")))
        })
        .collect()
}

fn output_map(code: i32, stdout: String, stderr: String) -> Map {
    let mut m = Map::new();
    m.insert("code".into(), Dynamic::from(code as i64));
    m.insert("stdout".into(), Dynamic::from(stdout));
    m.insert("stderr".into(), Dynamic::from(stderr));
    m
}

/// `run()` options from the recipe's map: `stdin`, `check`, `timeout` (seconds), `env`.
fn exec_options(opts: Map) -> Res<ExecOptions> {
    let mut out = ExecOptions {
        check: true,
        ..Default::default()
    };
    for (k, v) in opts {
        match k.as_str() {
            "stdin" => {
                let s = v
                    .into_immutable_string()
                    .map_err(|_| invalid("run(): `stdin` must be a string"))?;
                out.stdin = Some(s.as_bytes().to_vec());
            }
            "check" => {
                out.check = v
                    .as_bool()
                    .map_err(|_| invalid("run(): `check` must be true or false"))?
            }
            "timeout" => {
                let secs = v
                    .as_int()
                    .map_err(|_| invalid("run(): `timeout` must be a number of seconds"))?;
                if secs <= 0 {
                    return Err(invalid("run(): `timeout` must be at least 1 second"));
                }
                out.timeout = Some(Duration::from_secs(secs as u64));
            }
            "env" => {
                let env = v
                    .try_cast::<Map>()
                    .ok_or_else(|| invalid("run(): `env` must be a map"))?;
                for (name, value) in env {
                    out.env.push((name.to_string(), value.to_string()));
                }
            }
            other => {
                return Err(invalid(format!(
                    "run(): unknown option `{other}` (known: stdin, check, timeout, env)"
                )));
            }
        }
    }
    Ok(out)
}

/// A recipe's pattern, compiled with a size limit (the regex crate is linear-time, so only the
/// compiled size needs bounding).
fn pattern_regex(func: &str, pattern: &str) -> Res<regex::Regex> {
    regex::RegexBuilder::new(pattern)
        .size_limit(1 << 20)
        .build()
        .map_err(|e| invalid(format!("{func}: the pattern does not compile: {e}")))
}

/// The first capture group of the first match in stdout, then stderr (the whole match when the
/// pattern has no group).
fn first_match(re: &regex::Regex, stdout: &str, stderr: &str) -> Option<String> {
    [stdout, stderr].into_iter().find_map(|text| {
        re.captures(text)
            .and_then(|c| c.get(1).or_else(|| c.get(0)))
            .map(|m| m.as_str().to_owned())
    })
}

/// Refuses a call whose program was not declared or whose arguments, stdin or environment its
/// policy does not allow (`policy.rs`), before anything starts, in plan mode too. `query` for
/// `detect()` and `wait_for()`, which may only ask questions.
pub(super) fn check_call(
    h: &Host,
    program: &str,
    args: &[String],
    opts: &ExecOptions,
    query: bool,
) -> Res<()> {
    policy::check(&policy::Call {
        program,
        args,
        stdin: opts.stdin.as_deref(),
        env: &opts.env,
        caps: &h.caps,
        query,
    })
    .map_err(err)
}

/// `detect()` options: `stdin` and `env` (for a client that must authenticate to a server the
/// recipe administers, e.g. `REDISCLI_AUTH`). Nothing else: a query has its own timeout and
/// never fails on an exit code.
fn query_options(opts: Map) -> Res<ExecOptions> {
    if let Some(k) = opts.keys().find(|k| !matches!(k.as_str(), "stdin" | "env")) {
        return Err(invalid(format!(
            "detect(): unknown option `{k}` (known: stdin, env)"
        )));
    }
    exec_options(opts)
}

pub(super) fn checked_path(host: &Host, path: &str) -> Res<std::path::PathBuf> {
    host.caps.check_write_path(path).map_err(err)
}

/// Registers the primitives on `engine` (`host::register` adds the helpers built on them).
pub fn register(engine: &mut Engine, host: &Rc<Host>) {
    register_commands(engine, host);
    register_console(engine, host);
    register_system(engine, host);
    register_files(engine, host);
    register_helpers(engine, host);
}

fn register_commands(engine: &mut Engine, host: &Rc<Host>) {
    let run = |h: &Host, program: &str, args: Array, opts: ExecOptions| -> Res<Map> {
        let args = strings("run(): the arguments", args)?;
        check_call(h, program, &args, &opts, false)?;
        let out = h.exec(program, &args, opts).map_err(err)?;
        Ok(output_map(out.code, out.stdout, out.stderr))
    };
    let h = host.clone();
    engine.register_fn("run", move |program: &str, args: Array| {
        let _t = h.timings.call("run");
        run(
            &h,
            program,
            args,
            ExecOptions {
                check: true,
                ..Default::default()
            },
        )
    });
    let h = host.clone();
    engine.register_fn("run", move |program: &str, args: Array, opts: Map| {
        let _t = h.timings.call("run");
        run(&h, program, args, exec_options(opts)?)
    });
    let detect = |h: &Host, program: &str, args: Array, pattern: &str, opts: ExecOptions| {
        let re = pattern_regex("detect()", pattern)?;
        let args = strings("detect(): the arguments", args)?;
        check_call(h, program, &args, &opts, true)?;
        let out = h
            .query_with(
                program,
                &args,
                h.limits.query_timeout,
                opts.stdin,
                &opts.env,
            )
            .map_err(err)?;
        if out.code == 127 {
            return Ok(Dynamic::UNIT);
        }
        Ok(first_match(&re, &out.stdout, &out.stderr).map_or(Dynamic::UNIT, Dynamic::from))
    };
    let h = host.clone();
    engine.register_fn(
        "detect",
        move |program: &str, args: Array, pattern: &str| -> Res<Dynamic> {
            let _t = h.timings.call("detect");
            detect(&h, program, args, pattern, ExecOptions::default())
        },
    );
    let h = host.clone();
    engine.register_fn(
        "detect",
        move |program: &str, args: Array, pattern: &str, opts: Map| -> Res<Dynamic> {
            let _t = h.timings.call("detect");
            detect(&h, program, args, pattern, query_options(opts)?)
        },
    );
    let h = host.clone();
    engine.register_fn(
        "wait_for",
        move |program: &str, args: Array, pattern: &str, secs: i64| -> Res<Dynamic> {
            let _t = h.timings.call("wait_for");
            let args = strings("wait_for(): the arguments", args)?;
            check_call(&h, program, &args, &ExecOptions::default(), true)?;
            if !(1..=600).contains(&secs) {
                return Err(invalid("wait_for(): seconds must be between 1 and 600"));
            }
            let re = pattern_regex("wait_for()", pattern)?;
            // Waiting is not a side effect; a plan assumes the wait would succeed.
            if h.plan_mode() {
                return Ok(Dynamic::from(String::new()));
            }
            let until = std::time::Instant::now() + Duration::from_secs(secs as u64);
            loop {
                let left = until.saturating_duration_since(std::time::Instant::now());
                let timeout = h.limits.query_timeout.min(left.max(Duration::from_secs(1)));
                let out = h.query(program, &args, timeout).map_err(err)?;
                if let Some(found) = first_match(&re, &out.stdout, &out.stderr) {
                    return Ok(Dynamic::from(found));
                }
                if std::time::Instant::now() >= until {
                    return Err(invalid(format!(
                        "`{}` did not answer with {pattern} within {secs} s",
                        crate::plan::shell_words(program, &args)
                    )));
                }
                let paused = std::time::Instant::now();
                for _ in 0..10 {
                    h.stopped().map_err(err)?;
                    std::thread::sleep(Duration::from_millis(50));
                }
                h.timings
                    .waited("wait_for, between tries", paused.elapsed());
            }
        },
    );
    engine.register_fn("which", |name: &str| -> Dynamic {
        super::caps::resolve(name).map_or(Dynamic::UNIT, |p| Dynamic::from(p.display().to_string()))
    });
}

fn register_console(engine: &mut Engine, host: &Rc<Host>) {
    let h = host.clone();
    engine.register_fn("log", move |msg: &str| h.sink.log(Stream::Info, msg));
    let h = host.clone();
    engine.register_fn("warn", move |msg: &str| {
        // A plan's console stays silent (`EventSink::planning`); its warnings go to its summary.
        h.note(Change::Note(msg.to_owned()));
        h.sink.log(Stream::Warn, msg);
    });
    let h = host.clone();
    engine.register_fn("change", move |kind: &str, what: &str| -> Res<()> {
        if what.trim().is_empty() || what.len() > 200 {
            return Err(invalid(
                "change(): name what changes in 1 to 200 characters",
            ));
        }
        let what = what.to_owned();
        let change = match kind {
            "user" => Change::User(what),
            "database" => Change::Database(what),
            "port" => Change::Port(what),
            other => {
                return Err(invalid(format!(
                    "change(): unknown kind `{other}` (known: user, database, port)"
                )));
            }
        };
        h.note(change);
        Ok(())
    });
    let h = host.clone();
    engine.on_print(move |msg| h.sink.log(Stream::Info, msg));
    let h = host.clone();
    engine.on_debug(move |msg, _, _| h.sink.log(Stream::Info, msg));
    let h = host.clone();
    engine.register_fn("step", move |title: &str| {
        h.timings.step(title);
        let index = h.steps.get() + 1;
        h.steps.set(index);
        h.done.borrow_mut().step(index, title);
        h.sink.send(Event::Step {
            index,
            title: title.to_owned(),
        });
    });
    let h = host.clone();
    engine.register_fn("progress", move |percent: i64| {
        h.sink.send(Event::Progress {
            percent: percent.clamp(0, 100) as u8,
        });
    });
    let h = host.clone();
    engine.register_fn("sleep", move |secs: i64| -> Res<()> {
        if !(0..=60).contains(&secs) {
            return Err(invalid("sleep(): seconds must be between 0 and 60"));
        }
        // A plan waits for nothing.
        if h.plan_mode() {
            return Ok(());
        }
        let _t = h.timings.call("sleep");
        let started = std::time::Instant::now();
        let until = started + Duration::from_secs(secs as u64);
        while std::time::Instant::now() < until {
            h.stopped().map_err(err)?;
            std::thread::sleep(Duration::from_millis(50));
        }
        h.timings.waited("sleep", started.elapsed());
        Ok(())
    });
}

fn register_system(engine: &mut Engine, host: &Rc<Host>) {
    let h = host.clone();
    engine.register_fn("os_release", move || -> Res<Map> {
        let text = std::fs::read_to_string(&h.os_release_path).map_err(|e| {
            err(HostError::io(
                format!("failed to read {}", h.os_release_path.display()),
                e,
            ))
        })?;
        Ok(parse_os_release(&text))
    });
    engine.register_fn("arch", || std::env::consts::ARCH.to_owned());
    engine.register_fn("has_systemd", service::has_systemd);
    let h = host.clone();
    engine.register_fn("secret", move |len: i64| -> Res<String> {
        if !(16..=128).contains(&len) {
            return Err(invalid("secret(): the length must be between 16 and 128"));
        }
        let s = crate::secret::generate(len as usize).map_err(err)?;
        h.sink.redactor().add(&s);
        Ok(s)
    });
    engine.register_fn("version_cmp", crate::version::compare);
    // Reads names and small metadata files only, never runs what it finds: the same in plans.
    engine.register_fn("installations", |tool: &str| -> Res<Array> {
        let found = super::installs::find(tool, Path::new("/")).map_err(invalid)?;
        Ok(super::installs::to_array(&found))
    });
}

/// A file mode of permission bits only: setuid, setgid and sticky are refused.
pub(super) fn checked_mode(func: &str, mode: i64) -> Res<u32> {
    if !(0..=0o777).contains(&mode) {
        return Err(invalid(format!(
            "{func}: mode {mode:o} is refused: only permission bits (at most 0777) may be set"
        )));
    }
    Ok(mode as u32)
}

/// Writes `content` to `path` for `func` (`"write_file()"`): the path under the declared
/// prefixes, permission bits only; recorded in plan mode, logged when written.
pub(super) fn write_checked(h: &Host, func: &str, path: &str, content: &str, mode: i64) -> Res<()> {
    let p = checked_path(h, path)?;
    let bits = checked_mode(func, mode)?;
    if h.plan_mode() {
        h.record(PlannedAction::WriteFile {
            path: path.to_owned(),
            mode: bits,
            bytes: content.len(),
        });
        return Ok(());
    }
    h.stopped().map_err(err)?;
    files::write_file(&p, content.as_bytes(), bits).map_err(err)?;
    h.did(PlannedAction::WriteFile {
        path: path.to_owned(),
        mode: bits,
        bytes: content.len(),
    });
    h.sink.log(
        Stream::Info,
        &format!("wrote {path} ({} bytes, mode {mode:04o})", content.len()),
    );
    Ok(())
}

fn register_files(engine: &mut Engine, host: &Rc<Host>) {
    let h = host.clone();
    engine.register_fn("write_file", move |path: &str, content: &str| {
        write_checked(&h, "write_file()", path, content, 0o644)
    });
    let h = host.clone();
    engine.register_fn("write_file", move |path: &str, content: &str, mode: i64| {
        write_checked(&h, "write_file()", path, content, mode)
    });
    let h = host.clone();
    engine.register_fn("read_file", move |path: &str| -> Res<String> {
        let p = checked_path(&h, path)?;
        files::read_file(&p).map_err(err)
    });
    // A secret kept on this server (an administrator password in a 0600 file): read like
    // read_file, without its trailing newline, and masked in every event like a secret().
    let h = host.clone();
    engine.register_fn("read_secret", move |path: &str| -> Res<String> {
        let p = checked_path(&h, path)?;
        let text = files::read_file(&p).map_err(err)?;
        let secret = text.trim_end_matches(['\n', '\r']).to_owned();
        if secret.len() < 16 || secret.contains(['\n', '\r']) {
            return Err(invalid(format!(
                "read_secret(): {path} does not hold one secret of at least 16 characters on one line"
            )));
        }
        h.sink.redactor().add(&secret);
        Ok(secret)
    });
    engine.register_fn("file_exists", |path: &str| Path::new(path).exists());
    let h = host.clone();
    engine.register_fn("template", move |text: &str, vars: Map| -> Res<String> {
        super::template::render(text, &vars, &h.stop).map_err(err)
    });
}

fn register_helpers(engine: &mut Engine, host: &Rc<Host>) {
    let apt_cap = |h: &Host| h.caps.check_program("apt-get").map_err(err);
    let h = host.clone();
    engine.register_fn("apt_update", move || -> Res<()> {
        let _t = h.timings.call("apt_update");
        apt_cap(&h)?;
        apt::update(&*h).map_err(err)
    });
    let h = host.clone();
    engine.register_fn("apt_install", move |packages: Array| -> Res<Map> {
        let _t = h.timings.call("apt_install");
        apt_cap(&h)?;
        let packages = strings("apt_install(): the packages", packages)?;
        let report = apt::install(&*h, &packages).map_err(err)?;
        let mut m = Map::new();
        let list = |v: Vec<String>| Dynamic::from_array(v.into_iter().map(Dynamic::from).collect());
        m.insert(
            "changed".into(),
            Dynamic::from(!report.installed.is_empty()),
        );
        m.insert("installed".into(), list(report.installed));
        m.insert("already_installed".into(), list(report.already_installed));
        Ok(m)
    });
    let removed = |r: apt::RemoveReport| {
        let list = |v: Vec<String>| Dynamic::from_array(v.into_iter().map(Dynamic::from).collect());
        let mut m = Map::new();
        m.insert("changed".into(), Dynamic::from(r.changed()));
        m.insert("removed".into(), list(r.removed));
        m.insert("orphans".into(), list(r.orphans));
        m.insert("not_installed".into(), list(r.not_installed));
        m
    };
    let switched = |r: apt::SwitchReport| {
        let list = |v: Vec<String>| Dynamic::from_array(v.into_iter().map(Dynamic::from).collect());
        let mut m = Map::new();
        m.insert("changed".into(), Dynamic::from(!r.changed.is_empty()));
        m.insert("upgraded".into(), list(r.changed));
        m.insert("unchanged".into(), list(r.unchanged));
        m.insert("orphans".into(), list(r.orphans));
        m
    };
    let h = host.clone();
    engine.register_fn(
        "apt_install",
        move |packages: Array, options: Map| -> Res<Map> {
            let _t = h.timings.call("apt_install");
            apt_cap(&h)?;
            let packages = strings("apt_install(): the packages", packages)?;
            let mut from = None;
            for (k, v) in options {
                match (k.as_str(), v.into_string()) {
                    ("from", Ok(s)) => from = Some(apt::Source::parse(&s).map_err(err)?),
                    (other, _) => {
                        return Err(invalid(format!(
                            "apt_install(): unknown option `{other}`; the options are: from (\"distribution\" or \"backports\")"
                        )));
                    }
                }
            }
            let Some(from) = from else {
                return Err(invalid(
                    "apt_install(): the options map needs `from` (\"distribution\" or \"backports\")".to_owned(),
                ));
            };
            let mut m = switched(apt::switch(&*h, &packages, from).map_err(err)?);
            let upgraded = m.remove("upgraded").unwrap_or_default();
            m.insert("installed".into(), upgraded);
            m.insert("already_installed".into(), m.get("unchanged").cloned().unwrap_or_default());
            m.remove("unchanged");
            Ok(m)
        },
    );
    let h = host.clone();
    engine.register_fn("apt_upgrade", move |packages: Array| -> Res<Map> {
        let _t = h.timings.call("apt_upgrade");
        apt_cap(&h)?;
        let packages = strings("apt_upgrade(): the packages", packages)?;
        Ok(switched(apt::upgrade(&*h, &packages).map_err(err)?))
    });
    let h = host.clone();
    engine.register_fn("apt_remove", move |packages: Array| -> Res<Map> {
        let _t = h.timings.call("apt_remove");
        apt_cap(&h)?;
        let packages = strings("apt_remove(): the packages", packages)?;
        Ok(removed(apt::remove(&*h, &packages).map_err(err)?))
    });
    let h = host.clone();
    engine.register_fn(
        "apt_remove",
        move |packages: Array, opts: Map| -> Res<Map> {
            let _t = h.timings.call("apt_remove");
            apt_cap(&h)?;
            let packages = strings("apt_remove(): the packages", packages)?;
            let mut purge = false;
            for (key, value) in opts {
                match (key.as_str(), value.as_bool()) {
                    ("purge", Ok(b)) => purge = b,
                    ("purge", Err(_)) => {
                        return Err(invalid("apt_remove(): `purge` must be true or false"));
                    }
                    (other, _) => {
                        return Err(invalid(format!(
                            "apt_remove(): unknown option `{other}` (the one option is `purge`)"
                        )));
                    }
                }
            }
            let report = if purge {
                apt::purge(&*h, &packages)
            } else {
                apt::remove(&*h, &packages)
            };
            Ok(removed(report.map_err(err)?))
        },
    );
    let h = host.clone();
    engine.register_fn("apt_installed", move |package: &str| -> Res<Dynamic> {
        let _t = h.timings.call("apt_installed");
        Ok(apt::installed_version(&*h, package)
            .map_err(err)?
            .map_or(Dynamic::UNIT, Dynamic::from))
    });
    let h = host.clone();
    engine.register_fn("apt_version", move |package: &str| -> Res<Dynamic> {
        let _t = h.timings.call("apt_version");
        Ok(apt::installed_version(&*h, package)
            .map_err(err)?
            .map_or(Dynamic::UNIT, |v| {
                Dynamic::from(apt::upstream(&v).to_owned())
            }))
    });
    type Action = fn(&dyn Exec, &str) -> Result<(), HostError>;
    for (name, action) in [
        ("service_start", service::start as Action),
        ("service_stop", service::stop as Action),
        ("service_restart", service::restart as Action),
        ("service_enable", service::enable as Action),
        ("service_disable", service::disable as Action),
    ] {
        let h = host.clone();
        engine.register_fn(name, move |svc: &str| -> Res<()> {
            let _t = h.timings.call(name);
            h.caps.check_service(svc).map_err(err)?;
            action(&*h, svc).map_err(err)
        });
    }
    let h = host.clone();
    engine.register_fn("service_running", move |svc: &str| -> Res<bool> {
        let _t = h.timings.call("service_running");
        h.caps.check_service(svc).map_err(err)?;
        service::is_running(&*h, svc).map_err(err)
    });
    // The listen address of MariaDB: one fixed file of one line (system/mariadb_bind.rs),
    // only for a recipe that declares MariaDB's service. "" or () removes the file.
    for remove in [false, true] {
        let h = host.clone();
        let bind = move |address: &str| -> Res<bool> {
            if !h
                .caps
                .services
                .iter()
                .any(|s| mariadb_bind::SERVICES.contains(&s.as_str()))
            {
                return Err(invalid(
                    "mariadb_bind() is only for a recipe that declares the service mariadb or mysql in its capabilities",
                ));
            }
            let address = Some(address).filter(|a| !a.is_empty());
            mariadb_bind::bind(&*h, address).map_err(err)
        };
        if remove {
            engine.register_fn("mariadb_bind", move |_: ()| bind(""));
        } else {
            engine.register_fn("mariadb_bind", bind);
        }
    }
    let h = host.clone();
    engine.register_fn(
        "download",
        move |url: &str, dest: &str, sha256: &str| -> Res<()> {
            let _t = h.timings.call("download");
            let p = checked_path(&h, dest)?;
            download::download(&*h, url, &p, sha256).map_err(err)
        },
    );
}

/// Parses os-release `KEY=value` lines (values optionally quoted) into a map.
pub fn parse_os_release(text: &str) -> Map {
    let mut m = Map::new();
    for line in text.lines() {
        let line = line.trim();
        if line.starts_with('#') {
            continue;
        }
        if let Some((k, v)) = line.split_once('=') {
            let v = v.trim();
            let v = v
                .strip_prefix('"')
                .and_then(|v| v.strip_suffix('"'))
                .or_else(|| v.strip_prefix('\'').and_then(|v| v.strip_suffix('\'')))
                .unwrap_or(v);
            m.insert(k.trim().into(), Dynamic::from(v.to_owned()));
        }
    }
    m
}
