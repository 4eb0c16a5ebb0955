//! `cairn-recipe publish RECIPE --url URL`: sends a recipe to a control plane's registry (issue
//! 22). The local check runs first (the same `check_source` the registry runs), then the recipe
//! and its companion files (`ID.NAME` beside it, as the registry names them) are uploaded with
//! an API token; the answer is a pending submission, its capability changes (grown ones marked)
//! and the reminder that an admin approves it in the dashboard before any server gets it.
//!
//! The token comes from `$CAIRN_TOKEN` or `--token-file`, never from an argument: a command
//! line is readable by every user of the machine (`/proc/*/cmdline`) and kept in shell history.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::time::Duration;

use anyhow::{Context, bail};
use cairn_engine::Recipe;
use cairn_engine::diagnostics::{self, Severity};
use serde_json::{Value, json};

use crate::console;

/// The variable the token is read from when no `--token-file` is given.
pub const TOKEN_VAR: &str = "CAIRN_TOKEN";

const TIMEOUT: Duration = Duration::from_secs(60);

/// The API token: the first line of `file`, else `$CAIRN_TOKEN`.
fn token(file: Option<&Path>) -> anyhow::Result<String> {
    let token = match file {
        Some(f) => std::fs::read_to_string(f)
            .with_context(|| format!("could not read the token file {}", f.display()))?
            .lines()
            .next()
            .unwrap_or_default()
            .trim()
            .to_owned(),
        None => std::env::var(TOKEN_VAR)
            .unwrap_or_default()
            .trim()
            .to_owned(),
    };
    if token.is_empty() {
        bail!(
            "no API token: set {TOKEN_VAR} or pass --token-file PATH (a file holding the token \
             made on your account page in the dashboard; an operator's token or higher); \
             nothing was sent"
        );
    }
    Ok(token)
}

/// The recipe's companion files: `ID.*` beside it, except `.rhai` files.
fn companions(file: &Path, id: &str) -> anyhow::Result<BTreeMap<String, String>> {
    let dir = file
        .parent()
        .filter(|d| !d.as_os_str().is_empty())
        .unwrap_or(Path::new("."));
    let prefix = format!("{id}.");
    let mut out = BTreeMap::new();
    let mut paths: Vec<PathBuf> = std::fs::read_dir(dir)
        .with_context(|| format!("could not list {}", dir.display()))?
        .filter_map(|e| e.ok().map(|e| e.path()))
        .collect();
    paths.sort();
    for p in paths {
        let Some(name) = p.file_name().and_then(|n| n.to_str()) else {
            continue;
        };
        if name.starts_with(&prefix) && !name.ends_with(".rhai") && p.is_file() {
            let text = std::fs::read_to_string(&p).with_context(|| {
                format!("could not read the companion file {} as text", p.display())
            })?;
            out.insert(name.to_owned(), text);
        }
    }
    Ok(out)
}

/// Runs the local check; the recipe when it has no error.
fn check(file: &Path) -> anyhow::Result<(Recipe, String)> {
    let source = std::fs::read_to_string(file)
        .with_context(|| format!("could not read {}", file.display()))?;
    let shown = file.display().to_string();
    let found = diagnostics::check_source(&shown, &source);
    for d in &found {
        console::err(&d.to_string());
        if let Some(hint) = &d.hint {
            console::err(&format!("  hint: {hint}"));
        }
    }
    let errors = found
        .iter()
        .filter(|d| d.severity == Severity::Error)
        .count();
    if errors > 0 {
        bail!(
            "{shown} did not pass the check ({errors} error{} above); nothing was sent",
            if errors == 1 { "" } else { "s" }
        );
    }
    Ok((Recipe::parse(&shown, &source)?, source))
}

/// Refuses an address the token would cross in the clear: `http://` only to this machine
/// (a control plane on loopback, or behind an SSH tunnel), `https://` anywhere.
fn safe_url(url: &str) -> anyhow::Result<()> {
    let Some(rest) = url.strip_prefix("http://") else {
        return Ok(());
    };
    let authority = rest.split(['/', '?', '#']).next().unwrap_or_default();
    let host = match authority.strip_prefix('[') {
        Some(v6) => v6.split(']').next().unwrap_or_default(),
        None => authority.rsplit_once(':').map_or(authority, |(h, _)| h),
    };
    let loopback = host == "localhost"
        || host
            .parse::<std::net::IpAddr>()
            .is_ok_and(|ip| ip.is_loopback());
    if !loopback {
        bail!(
            "{url} is plain HTTP to another machine: the API token would cross the network \
             unencrypted. Use the control plane's https:// address (http:// is accepted only for \
             this machine, e.g. through an SSH tunnel); nothing was sent"
        );
    }
    Ok(())
}

pub fn run(file: &Path, url: &str, token_file: Option<&Path>) -> anyhow::Result<ExitCode> {
    safe_url(url)?;
    let token = token(token_file)?;
    let (recipe, source) = check(file)?;
    let files = companions(file, &recipe.meta.id)?;
    let base = url.trim_end_matches('/');
    let endpoint = format!("{base}/api/recipes/submissions");
    let name = file
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    let body = json!({"source": source, "file": name, "files": files}).to_string();
    let agent: ureq::Agent = ureq::Agent::config_builder()
        .timeout_global(Some(TIMEOUT))
        .http_status_as_error(false)
        .max_redirects(0)
        .user_agent("cairn-recipe")
        .build()
        .into();
    let mut reply = agent
        .post(&endpoint)
        .header("Content-Type", "application/json")
        .header("Authorization", &format!("Bearer {token}"))
        .send(body.as_str())
        .map_err(|e| unreachable(base, &e))?;
    let status = reply.status().as_u16();
    let text = reply.body_mut().read_to_string().unwrap_or_default();
    let answer: Value = serde_json::from_str(&text).unwrap_or(Value::Null);
    let said = answer["error"].as_str().unwrap_or("").to_owned();
    match status {
        201 => {
            print_submitted(&answer);
            Ok(ExitCode::SUCCESS)
        }
        401 => bail!(
            "the control plane at {base} refused the token: {said}; check that {TOKEN_VAR} (or \
             --token-file) holds a live API token from your account page"
        ),
        403 => bail!(
            "the control plane at {base} does not let this token submit recipes: {said}; \
             submitting needs an operator's token or higher"
        ),
        422 => {
            for d in answer["diagnostics"].as_array().into_iter().flatten() {
                console::err(&format!("{name}:{}", d["at"].as_str().unwrap_or_default()));
            }
            bail!("the control plane's check refused the recipe; nothing was stored: {said}")
        }
        409 => bail!("the control plane refused the version: {said}"),
        404 => bail!(
            "{base} has no recipe registry at /api/recipes/submissions: is this the address of \
             a Cairn control plane (and is it up to date)?"
        ),
        _ if !said.is_empty() => bail!("the control plane answered HTTP {status}: {said}"),
        _ => bail!(
            "{base} answered HTTP {status}, not as a Cairn control plane does: is the address \
             right?"
        ),
    }
}

/// A sentence for a request that got no answer (never ureq's own words, which may quote more).
fn unreachable(base: &str, e: &ureq::Error) -> anyhow::Error {
    let why = match e {
        ureq::Error::HostNotFound => "its host name was not found".to_owned(),
        ureq::Error::ConnectionFailed | ureq::Error::Io(_) => {
            "nothing answered there (is the address right and the control plane running?)"
                .to_owned()
        }
        ureq::Error::Timeout(_) => format!("it did not answer within {} s", TIMEOUT.as_secs()),
        ureq::Error::Tls(_) | ureq::Error::Rustls(_) => {
            "the TLS connection failed (is its certificate trusted here?)".to_owned()
        }
        ureq::Error::BadUri(_) => {
            "the address is not a URL such as https://cairn.example.com".to_owned()
        }
        _ => "the request failed".to_owned(),
    };
    anyhow::anyhow!("could not reach the control plane at {base}: {why}; nothing was sent")
}

fn print_submitted(answer: &Value) {
    let sub = &answer["submission"];
    let diff = &answer["diff"];
    let (id, recipe, version) = (
        sub["id"].as_str().unwrap_or_default(),
        sub["recipeId"].as_str().unwrap_or_default(),
        sub["version"].as_u64().unwrap_or_default(),
    );
    console::out(&format!(
        "Submitted {recipe} v{version}: submission {id}, pending."
    ));
    match diff["fromVersion"].as_u64() {
        Some(v) => console::out(&format!("Capabilities compared with the published v{v}:")),
        None => console::out("A new recipe: every capability it declares is new."),
    }
    for c in diff["capabilities"].as_array().into_iter().flatten() {
        let change = c["change"].as_str().unwrap_or_default();
        let mark = match change {
            "added" => "+",
            "removed" => "-",
            "changed" => "~",
            _ => " ",
        };
        let grown = if c["grown"] == true { "  [GROWN]" } else { "" };
        let was = c["was"]
            .as_str()
            .map(|w| format!(" (was: {w})"))
            .unwrap_or_default();
        console::out(&format!(
            "  {mark} {} {}: {}{was}{grown}",
            c["kind"].as_str().unwrap_or_default(),
            c["name"].as_str().unwrap_or_default(),
            c["power"].as_str().unwrap_or_default(),
        ));
    }
    let grown: Vec<&str> = diff["grown"]
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(Value::as_str)
        .collect();
    if grown.is_empty() {
        console::out("No capability grew.");
    } else {
        console::out(&format!("Grown: {}.", grown.join(", ")));
    }
    for w in sub["warnings"].as_array().into_iter().flatten() {
        console::out(&format!("warning: {}", w.as_str().unwrap_or_default()));
    }
    console::out(
        "An admin must approve it in the dashboard (Recipes, Submissions) before any server \
         gets it; until then every server keeps the published version.",
    );
}

#[cfg(test)]
mod tests {
    use super::safe_url;

    #[test]
    fn plain_http_only_to_this_machine() {
        for ok in [
            "https://cairn.example.com",
            "http://127.0.0.1:8080",
            "http://localhost:3000/",
            "http://[::1]:8080",
            "http://127.0.0.2",
        ] {
            assert!(safe_url(ok).is_ok(), "{ok}");
        }
        for bad in [
            "http://cairn.example.com",
            "http://192.168.1.10:8080",
            "http://localhost.example.com",
            "http://[2001:db8::1]:80",
        ] {
            let e = safe_url(bad).expect_err(bad).to_string();
            assert!(
                e.contains("unencrypted") && e.contains("nothing was sent"),
                "{e}"
            );
        }
    }
}
