//! redis-cli's and redis-server's argument policies (threats.md row 30): GTFOBins' file write
//! (`CONFIG SET dir` + `dbfilename` + `SAVE`), module loading, Lua, replication and the
//! options that read scripts or write files are refused, whether the command comes as
//! arguments or as stdin lines split the way redis-cli splits them; what the shipped
//! `redis.rhai` sends, and what issue 15 will need to turn off unauthenticated access, is
//! allowed.
#![allow(clippy::unwrap_used)]

use crate::util::dbpolicy;

use dbpolicy::{PW, allowed, check, refused};

const H: &[&str] = &["-h", "127.0.0.1"];

fn argv(cmd: &[&'static str]) -> Vec<&'static str> {
    let mut v = H.to_vec();
    v.extend_from_slice(cmd);
    v
}

#[test]
fn what_the_redis_recipe_sends_is_allowed() {
    allowed("redis-server", &["--version"], None);
    allowed("redis-cli", &["--version"], None);
    allowed("redis-cli", &argv(&["ping"]), None);
    allowed("redis-cli", &argv(&["ACL", "LIST"]), None);
    allowed("redis-cli", &argv(&["CONFIG", "GET", "aclfile"]), None);
    for persist in ["ACL SAVE", "CONFIG REWRITE"] {
        let stdin = format!("ACL SETUSER app reset on >{PW} ~* &* +@all -@admin\n{persist}\n");
        allowed("redis-cli", H, Some(&stdin));
    }
    // Issue 15: an administrator, `default` turned off, the recipe authenticating itself.
    let admin = format!(
        "ACL SETUSER cairn-admin reset on >{PW} ~* &* +@all\nAUTH cairn-admin {PW}\n\
         ACL SETUSER default off resetpass\nCONFIG SET protected-mode yes bind \"127.0.0.1 -::1\"\n\
         CONFIG REWRITE\n"
    );
    allowed("redis-cli", H, Some(&admin));
    let env = [("REDISCLI_AUTH", PW)];
    check(
        "redis-cli",
        &[
            "--no-auth-warning",
            "--user",
            "cairn-admin",
            "-h",
            "127.0.0.1",
            "ACL",
            "LIST",
        ],
        None,
        &env,
    )
    .unwrap();
    allowed(
        "redis-cli",
        &[
            "-s",
            "/run/redis/redis-server.sock",
            "--raw",
            "INFO",
            "server",
        ],
        None,
    );
    allowed(
        "redis-cli",
        H,
        Some("'ACL' \"SETUSER\" app on\r\n  config   get  maxmemory  \n\n"),
    );
}

#[test]
fn commands_that_load_code_write_files_or_replicate_are_refused_as_arguments() {
    for (cmd, why) in [
        (&["MODULE", "LOAD", "/tmp/evil.so"][..], "`MODULE LOAD`"),
        (&["module", "load", "/tmp/evil.so"], "`MODULE LOAD`"),
        (&["CONFIG", "SET", "dir", "/etc/cron.d"], "not `dir`"),
        (&["config", "set", "dbfilename", "x"], "not `dbfilename`"),
        (
            &["CONFIG", "SET", "maxmemory", "1gb", "dir", "/tmp"],
            "not `dir`",
        ),
        (&["CONFIG", "SET", "logfile", "/tmp/x"], "not `logfile`"),
        (&["CONFIG", "SET", "aclfile", "/tmp/x"], "not `aclfile`"),
        (
            &["CONFIG", "SET", "unixsocket", "/tmp/x"],
            "not `unixsocket`",
        ),
        (
            &["CONFIG", "SET", "enable-module-command", "yes"],
            "not `enable-module-command`",
        ),
        (
            &[
                "CONFIG",
                "SET",
                "bind",
                "127.0.0.1\nloadmodule /tmp/evil.so",
            ],
            "control character",
        ),
        (&["EVAL", "return 1", "0"], "`EVAL`"),
        (&["EVALSHA", "abc", "0"], "`EVALSHA`"),
        (&["FCALL", "f", "0"], "`FCALL`"),
        (&["FUNCTION", "LOAD", "#!lua name=x"], "`FUNCTION LOAD`"),
        (&["SCRIPT", "LOAD", "return 1"], "`SCRIPT LOAD`"),
        (&["DEBUG", "SLEEP", "0"], "`DEBUG`"),
        (&["SLAVEOF", "10.0.0.1", "6379"], "`SLAVEOF`"),
        (&["REPLICAOF", "10.0.0.1", "6379"], "`REPLICAOF`"),
        (&["MIGRATE", "10.0.0.1", "6379", "k", "0", "1"], "`MIGRATE`"),
        (&["SAVE"], "`SAVE`"),
        (&["BGSAVE"], "`BGSAVE`"),
        (&["SHUTDOWN"], "`SHUTDOWN`"),
        (&["SET", "k", "v"], "`SET`"),
        (
            &["CONFIG", "SET", "protected-mode", "no", "bind", "0.0.0.0"],
            "only turn it on",
        ),
        (&["ACL", "SETUSER", "x\ny"], "control character"),
    ] {
        refused("redis-cli", &argv(cmd), None, why);
    }
}

#[test]
fn commands_on_stdin_are_split_as_redis_cli_splits_them_and_checked_line_by_line() {
    for (text, why) in [
        ("MODULE LOAD /tmp/evil.so", "`MODULE LOAD`"),
        ("PING\nMODULE LOAD /tmp/evil.so\n", "line 2"),
        ("\"MODULE\" LOAD /tmp/evil.so", "`MODULE LOAD`"),
        ("MOD\"ULE\" LOAD /tmp/evil.so", "`MODULE LOAD`"),
        ("\"\\x4dODULE\" LOAD /tmp/evil.so", "`MODULE LOAD`"),
        ("'MOD''ULE' LOAD x", "closing quote"),
        ("\"MODULE LOAD x", "unbalanced"),
        ("   config   SET   dir /tmp", "not `dir`"),
        ("CONFIG SET \"dir\" /tmp", "not `dir`"),
        ("CONFIG SET 'dbfilename' x", "not `dbfilename`"),
        (
            "CONFIG SET bind \"127.0.0.1\\nloadmodule /tmp/evil.so\"",
            "control character",
        ),
        ("1 MODULE LOAD /tmp/evil.so", "`1`"),
        ("connect 10.0.0.1 6379", "`CONNECT`"),
        (
            "EVAL \"return redis.call('CONFIG','SET','dir','/tmp')\" 0",
            "`EVAL`",
        ),
        ("SAVE", "`SAVE`"),
    ] {
        refused("redis-cli", H, Some(text), why);
    }
}

#[test]
fn redis_cli_options_that_run_scripts_or_write_files_are_refused() {
    for (args, why) in [
        (&["--eval", "/tmp/evil.lua"][..], "`--eval`"),
        (&["-x", "SET", "k"], "`-x`"),
        (&["--rdb", "/tmp/dump.rdb"], "`--rdb`"),
        (&["--functions-rdb", "/tmp/f.rdb"], "`--functions-rdb`"),
        (&["--pipe"], "`--pipe`"),
        (
            &[
                "--cluster",
                "call",
                "127.0.0.1:6379",
                "MODULE",
                "LOAD",
                "/tmp/x.so",
            ],
            "`--cluster`",
        ),
        (&["-r", "100", "PING"], "`-r`"),
        (&["-i", "1", "PING"], "`-i`"),
        (&["-a", "secret", "PING"], "command line"),
        (&["--pass", "secret", "PING"], "command line"),
        (&["-u", "redis://:secret@127.0.0.1", "PING"], "command line"),
        (&["-h", "10.0.0.1", "PING"], "loopback"),
        (&["-h"], "loopback"),
        (&["--tls", "PING"], "`--tls`"),
        (&["--user", "bad name", "PING"], "ACL user name"),
    ] {
        refused("redis-cli", args, None, why);
    }
    let e = check(
        "redis-cli",
        &argv(&["PING"]),
        None,
        &[("REDISCLI_HISTFILE", "/etc/cron.d/x")],
    )
    .unwrap_err();
    assert!(e.contains("REDISCLI_HISTFILE"), "{e}");
}

#[test]
fn redis_server_may_only_print_its_version() {
    allowed("redis-server", &["-v"], None);
    for args in [
        &["/etc/redis/redis.conf"][..],
        &["--loadmodule", "/tmp/evil.so"],
        &["--dir", "/tmp", "--dbfilename", "x"],
        &["--version", "--loadmodule", "/tmp/evil.so"],
    ] {
        refused("redis-server", args, None, "only print its version");
    }
}
