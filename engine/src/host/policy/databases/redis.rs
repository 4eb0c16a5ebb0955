//! redis-cli and redis-server.
//!
//! redis-cli's options are an allow-list (a loopback host or a socket, a port, a database
//! number, `--user`, output format flags): no `--eval` (Lua), `-x` (an argument from stdin),
//! `--rdb`/`--functions-rdb` (files written), `--pipe`, `--cluster` (which runs commands on
//! other nodes), `-r`/`-i` (repetition), `-u` or `-a` (a password on the command line; use
//! `REDISCLI_AUTH` or `AUTH` on stdin). The password of `--user` comes from `REDISCLI_AUTH`.
//!
//! Its commands, given as arguments or as lines on stdin (split exactly as redis-cli splits
//! them, `sdssplitargs`: quotes, `\xHH` escapes, quotes opening mid-word), are an allow-list:
//! PING, AUTH, INFO, DBSIZE, TIME, ROLE, LASTSAVE, QUIT; ACL SETUSER, DELUSER, LIST, USERS,
//! GETUSER, WHOAMI, SAVE, LOAD, CAT, GENPASS; CONFIG GET, REWRITE, RESETSTAT, and CONFIG SET of
//! [`CONFIG_SET`] only. Absent, so refused: MODULE, EVAL*, FCALL*, FUNCTION, SCRIPT, DEBUG,
//! SLAVEOF/REPLICAOF, MIGRATE, SAVE/BGSAVE, SHUTDOWN, MONITOR, CONFIG SET of `dir`,
//! `dbfilename`, `logfile`, `aclfile`, `unixsocket`, `pidfile`, …, and every data command.
//! No argument may hold a control character (a newline in a value that CONFIG REWRITE or ACL
//! SAVE writes out could add lines such as `loadmodule` to a file Redis reads at start).

use super::{Call, is_loopback, is_plain_path, is_port};

/// Settings a recipe may change: memory, network, persistence schedule, password. None names a
/// file or a directory, a module or a command.
const CONFIG_SET: &[&str] = &[
    "requirepass",
    "maxmemory",
    "maxmemory-policy",
    "bind",
    "protected-mode",
    "port",
    "timeout",
    "tcp-keepalive",
    "maxclients",
    "appendonly",
    "appendfsync",
    "save",
    "loglevel",
];

pub(super) fn server(call: &Call<'_>) -> Result<(), String> {
    match (call.args, call.stdin) {
        ([a], None) if a == "--version" || a == "-v" => Ok(()),
        _ => Err(
            "redis-server may only print its version (--version); the server is \
                  started by the service helpers"
                .into(),
        ),
    }
}

pub(super) fn cli(call: &Call<'_>) -> Result<(), String> {
    let stdin = super::stdin_text(call, "redis-cli")?;
    if matches!(call.args, [a] if a == "--version" || a == "-v") && stdin.is_none() {
        return Ok(());
    }
    let args = call.args;
    let mut i = 0;
    while i < args.len() && args[i].starts_with('-') {
        let a = args[i].as_str();
        let value = args.get(i + 1).map(String::as_str);
        let ok = match a {
            "--no-auth-warning" | "--raw" | "--no-raw" | "-e" => {
                i += 1;
                continue;
            }
            "-h" => value.is_some_and(is_loopback),
            "-p" => value.is_some_and(is_port),
            "-s" => value.is_some_and(is_plain_path),
            "-n" => value.is_some_and(|v| v.parse::<u8>().is_ok()),
            "--user" => value.is_some_and(is_acl_name),
            "-a" | "--pass" | "-u" | "--askpass" => {
                return Err(
                    "redis-cli may not be given a password on its command line (every \
                            user can read it there); set REDISCLI_AUTH or send AUTH on stdin"
                        .into(),
                );
            }
            _ => {
                return Err(format!(
                    "`{a}` is not among the options Cairn lets a recipe give redis-cli \
                     (-h, -p, -s, -n, --user, --raw, --no-raw, --no-auth-warning, -e)"
                ));
            }
        };
        if !ok {
            return Err(format!(
                "redis-cli's {a} needs {}",
                match a {
                    "-h" => "a loopback address (this server only)",
                    "-p" => "a port number",
                    "-s" => "a socket path",
                    "-n" => "a database number",
                    _ => "an ACL user name",
                }
            ));
        }
        i += 2;
    }
    if i < args.len() {
        check_command(&args[i..]).map_err(|e| format!("the redis-cli command: {e}"))?;
    }
    if let Some(text) = stdin {
        for (n, line) in text.split('\n').enumerate() {
            let words = split_args(line)
                .map_err(|e| format!("redis-cli's standard input, line {}: {e}", n + 1))?;
            if !words.is_empty() {
                check_command(&words)
                    .map_err(|e| format!("redis-cli's standard input, line {}: {e}", n + 1))?;
            }
        }
    }
    Ok(())
}

/// An ACL user name: letters, digits, `_ . -`.
fn is_acl_name(s: &str) -> bool {
    (1..=64).contains(&s.len())
        && !s.starts_with('-')
        && s.chars()
            .all(|c| c.is_ascii_alphanumeric() || "_.-".contains(c))
}

/// Checks one command (its words already split).
fn check_command(words: &[String]) -> Result<(), String> {
    if words.iter().any(|w| w.chars().any(char::is_control)) {
        return Err(
            "an argument contains a control character (a newline could add lines to \
                    redis.conf or the ACL file)"
                .into(),
        );
    }
    let up = |n: usize| {
        words
            .get(n)
            .map(|w| w.to_ascii_uppercase())
            .unwrap_or_default()
    };
    let argc = words.len();
    let refused = || {
        let shown = if matches!(
            up(0).as_str(),
            "ACL" | "CONFIG" | "CLIENT" | "MODULE" | "SCRIPT" | "FUNCTION"
        ) {
            format!("{} {}", up(0), up(1))
        } else {
            up(0)
        };
        Err(format!(
            "`{}` is not among the Redis commands Cairn lets a recipe send (PING, AUTH, INFO, \
             DBSIZE, TIME, ROLE, LASTSAVE, QUIT, ACL SETUSER/DELUSER/LIST/USERS/GETUSER/WHOAMI/\
             SAVE/LOAD/CAT/GENPASS, CONFIG GET/SET/REWRITE/RESETSTAT)",
            shown.trim()
        ))
    };
    match up(0).as_str() {
        "PING" if argc <= 2 => Ok(()),
        "AUTH" if (2..=3).contains(&argc) => Ok(()),
        "INFO" => Ok(()),
        "DBSIZE" | "TIME" | "ROLE" | "LASTSAVE" | "QUIT" if argc == 1 => Ok(()),
        "ACL" => match up(1).as_str() {
            "SETUSER" if argc >= 3 && is_acl_name(&words[2]) => Ok(()),
            "DELUSER" if argc >= 3 && words[2..].iter().all(|w| is_acl_name(w)) => Ok(()),
            "GETUSER" if argc == 3 => Ok(()),
            "LIST" | "USERS" | "WHOAMI" | "SAVE" | "LOAD" if argc == 2 => Ok(()),
            "CAT" | "GENPASS" if argc <= 3 => Ok(()),
            _ => refused(),
        },
        "CONFIG" => match up(1).as_str() {
            "GET" if argc >= 3 => Ok(()),
            "REWRITE" | "RESETSTAT" if argc == 2 => Ok(()),
            "SET" if argc >= 4 && argc.is_multiple_of(2) => {
                for pair in words[2..].chunks(2) {
                    let name = pair[0].to_ascii_lowercase();
                    // Protected mode guards a `default` user without a password; turning it
                    // off would open such a server to the network.
                    if name == "protected-mode" && !pair[1].eq_ignore_ascii_case("yes") {
                        return Err("CONFIG SET protected-mode may only turn it on".into());
                    }
                    if !CONFIG_SET.contains(&name.as_str()) {
                        return Err(format!(
                            "CONFIG SET may change only {}, not `{name}` (file and directory \
                             locations, modules and commands are the server's own)",
                            CONFIG_SET.join(", ")
                        ));
                    }
                }
                Ok(())
            }
            _ => refused(),
        },
        _ => refused(),
    }
}

/// Splits one line as redis-cli does (`sdssplitargs` in Redis's `sds.c`): blanks separate
/// words; `"…"` understands `\xHH`, `\n`, `\r`, `\t`, `\b`, `\a` and `\` before any other
/// character; `'…'` understands only `\'`; a quote may open in the middle of a word; a closing
/// quote must be followed by a blank or the end. Unbalanced quotes are an error (redis-cli
/// would skip the line; Cairn refuses it).
pub(super) fn split_args(line: &str) -> Result<Vec<String>, String> {
    let b = line.as_bytes();
    if b.contains(&0) {
        return Err("a NUL byte".into());
    }
    let is_space = |c: u8| matches!(c, b' ' | b'\t' | b'\n' | b'\r' | 0x0b | 0x0c);
    let mut out = Vec::new();
    let mut i = 0;
    loop {
        while i < b.len() && is_space(b[i]) {
            i += 1;
        }
        if i >= b.len() {
            break;
        }
        let mut cur: Vec<u8> = Vec::new();
        let (mut inq, mut insq) = (false, false);
        loop {
            let c = b.get(i).copied();
            if inq {
                match c {
                    None => return Err("unbalanced double quotes".into()),
                    Some(b'\\')
                        if b.get(i + 1) == Some(&b'x')
                            && b.get(i + 2).is_some_and(u8::is_ascii_hexdigit)
                            && b.get(i + 3).is_some_and(u8::is_ascii_hexdigit) =>
                    {
                        let hex = &line[i + 2..i + 4];
                        cur.push(u8::from_str_radix(hex, 16).unwrap_or(0));
                        i += 4;
                        continue;
                    }
                    Some(b'\\') if i + 1 < b.len() => {
                        cur.push(match b[i + 1] {
                            b'n' => b'\n',
                            b'r' => b'\r',
                            b't' => b'\t',
                            b'b' => 0x08,
                            b'a' => 0x07,
                            other => other,
                        });
                        i += 2;
                        continue;
                    }
                    Some(b'"') => {
                        if b.get(i + 1).is_some_and(|&n| !is_space(n)) {
                            return Err("a closing quote followed by more text".into());
                        }
                        i += 1;
                        break;
                    }
                    Some(other) => cur.push(other),
                }
            } else if insq {
                match c {
                    None => return Err("unbalanced single quotes".into()),
                    Some(b'\\') if b.get(i + 1) == Some(&b'\'') => {
                        cur.push(b'\'');
                        i += 2;
                        continue;
                    }
                    Some(b'\'') => {
                        if b.get(i + 1).is_some_and(|&n| !is_space(n)) {
                            return Err("a closing quote followed by more text".into());
                        }
                        i += 1;
                        break;
                    }
                    Some(other) => cur.push(other),
                }
            } else {
                match c {
                    None | Some(b' ' | b'\n' | b'\r' | b'\t') => break,
                    Some(b'"') => inq = true,
                    Some(b'\'') => insq = true,
                    Some(other) => cur.push(other),
                }
            }
            i += 1;
        }
        out.push(String::from_utf8_lossy(&cur).into_owned());
    }
    Ok(out)
}

/// redis-cli as a query: every command (in its arguments and on stdin) only reads.
pub(super) fn cli_reads(call: &Call<'_>) -> Result<(), String> {
    let mut commands: Vec<Vec<String>> = Vec::new();
    let mut i = 0;
    while i < call.args.len() && call.args[i].starts_with('-') {
        let flag = matches!(
            call.args[i].as_str(),
            "--no-auth-warning" | "--raw" | "--no-raw" | "-e" | "--version" | "-v"
        );
        i += if flag { 1 } else { 2 };
    }
    if i < call.args.len() {
        commands.push(call.args[i..].to_vec());
    }
    if let Some(text) = super::stdin_text(call, "redis-cli")? {
        for line in text.split('\n') {
            let words = split_args(line)?;
            if !words.is_empty() {
                commands.push(words);
            }
        }
    }
    for words in &commands {
        let up = |n: usize| {
            words
                .get(n)
                .map(|w| w.to_ascii_uppercase())
                .unwrap_or_default()
        };
        let reads = match up(0).as_str() {
            "PING" | "AUTH" | "INFO" | "DBSIZE" | "TIME" | "ROLE" | "LASTSAVE" | "QUIT" => true,
            "ACL" => matches!(
                up(1).as_str(),
                "LIST" | "USERS" | "GETUSER" | "WHOAMI" | "CAT" | "GENPASS"
            ),
            "CONFIG" => up(1) == "GET",
            _ => false,
        };
        if !reads {
            // The command's name only: its arguments may hold a password.
            let name = match up(0).as_str() {
                "ACL" | "CONFIG" => format!("{} {}", up(0), up(1)),
                other => other.to_owned(),
            };
            return Err(format!("the Redis command `{name}` changes the server"));
        }
    }
    Ok(())
}
