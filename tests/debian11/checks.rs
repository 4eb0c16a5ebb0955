//! What the suite checks after a recipe's first run: a database's connection string with its
//! real client, its password kept secret, Docker's daemon and Compose.

use std::collections::BTreeSet;

use cairn_e2e::debian11::{Debian11, Run};
use serde_json::Value;

use super::{Case, assert_secret_absent};

/// `scheme://user:password@host:port/db` → (user, password, db); `None` without a user.
pub(crate) fn url_parts(url: &str) -> Option<(String, String, String)> {
    let rest = url.split_once("://")?.1;
    let (cred, tail) = rest.split_once('@')?;
    let (user, pw) = cred.split_once(':')?;
    let db = tail.split_once('/').map_or("", |(_, d)| d);
    Some((user.to_owned(), pw.to_owned(), db.to_owned()))
}

/// A database's connection string works with the real client inside. The password goes into
/// a 0600 client file named by an option or variable, never on a command line, and the file
/// is removed after. `--defaults-file` makes it the only option file `mariadb` reads (root has
/// a bogus ~/.my.cnf here).
pub(crate) fn assert_connects(deb: &Debian11, case: &Case, url: &str) {
    use std::os::unix::fs::PermissionsExt;
    let secret_file = |path: &str, text: String| {
        let p = deb.path(path);
        std::fs::write(&p, text).expect("write client file");
        std::fs::set_permissions(&p, std::fs::Permissions::from_mode(0o600)).expect("chmod");
    };
    let (script, want) = match case.recipe {
        "redis" => {
            let (user, pw, _) = url_parts(url).expect("user in the URL");
            secret_file("/tmp/cairn-d11.redispass", pw);
            (
                // The user gets in; a client without a password does not.
                format!(
                    "REDISCLI_AUTH=\"$(cat /tmp/cairn-d11.redispass)\" redis-cli --no-auth-warning \
                     -h 127.0.0.1 -p 6379 --user {user} ping; redis-cli -h 127.0.0.1 -p 6379 ping \
                     | cut -d' ' -f1"
                ),
                "PONG\nNOAUTH",
            )
        }
        "postgresql" => {
            let (user, pw, db) = url_parts(url).expect("user in the URL");
            secret_file(
                "/tmp/cairn-d11.pgpass",
                format!("127.0.0.1:5432:{db}:{user}:{pw}\n"),
            );
            (
                format!(
                    "PGPASSFILE=/tmp/cairn-d11.pgpass psql -h 127.0.0.1 -U {user} -d {db} \
                     -tAc 'select 40 + 2'"
                ),
                "42",
            )
        }
        "mysql" => {
            let (user, pw, db) = url_parts(url).expect("user in the URL");
            secret_file(
                "/tmp/cairn-d11.cnf",
                format!("[client]\nuser={user}\npassword={pw}\nhost=127.0.0.1\n"),
            );
            (
                format!("mariadb --defaults-file=/tmp/cairn-d11.cnf -N -e 'select 40 + 2' {db}"),
                "42",
            )
        }
        _ => return,
    };
    let r = deb.bash_isolated(&script);
    for f in [
        "/tmp/cairn-d11.pgpass",
        "/tmp/cairn-d11.cnf",
        "/tmp/cairn-d11.redispass",
    ] {
        let _ = std::fs::remove_file(deb.path(f));
    }
    let namespaces: Vec<String> = deb
        .processes()
        .into_iter()
        .map(|(pid, cmd)| {
            let ns = std::fs::read_link(format!("/proc/{pid}/ns/net")).unwrap_or_default();
            format!("{pid} {} {cmd}", ns.display())
        })
        .collect();
    assert!(
        r.ok && r.stdout.trim() == want,
        "{}: the connection string does not work: {}\nprocesses inside: {namespaces:#?}",
        case.recipe,
        r.text()
    );
}

/// The password of `url` is on no command line sampled during the run (`samples` rounds), in
/// no file under /var/log (nor the case's other files) inside, and not in the console but for
/// the result that carries the connection string.
pub(crate) fn assert_password_secret(
    deb: &Debian11,
    case: &Case,
    url: &str,
    run: &Run,
    cmdlines: &BTreeSet<String>,
    samples: u64,
) {
    let (_, pw, _) = url_parts(url).unwrap_or_else(|| panic!("no password in {url}"));
    assert!(samples > 5, "the sampler ran only {samples} times");
    for l in cairn_test_support::recipe_run::split(&run.stdout).0.lines() {
        assert!(!l.contains(&pw), "the password is on the console: {l}");
    }
    assert!(!run.stderr.contains(&pw), "the password is on stderr");
    let mut files = vec![deb.path("/var/log")];
    files.extend(case.secret_free.iter().map(|f| deb.path(f)));
    let files: Vec<String> = files.iter().map(|p| p.display().to_string()).collect();
    let files: Vec<&str> = files.iter().map(String::as_str).collect();
    assert_secret_absent(&pw, cmdlines, &files);
}

/// Docker's daemon answers inside, with the version of the client, and Compose reports the
/// version the recipe returned.
pub(crate) fn assert_docker(deb: &Debian11, result: &Value) {
    let server = deb.bash_isolated("/usr/bin/docker version --format '{{.Server.Version}}'");
    let version = result["version"].as_str().expect("a version");
    assert!(
        server.ok && server.stdout.trim().starts_with(version),
        "dockerd inside: {}",
        server.text()
    );
    let compose = deb.bash(None, "/usr/bin/docker-compose version --short");
    let want = result["compose"].as_str().expect("the Compose version");
    assert!(
        compose.ok && compose.stdout.contains(want),
        "{}",
        compose.text()
    );
}
