//! What a new server downloads: `install.sh` (rendered with minijinja from
//! `install.sh.j2` with this control plane's URL, key id and both binaries' sha256) and the
//! agent's two binaries, built for glibc 2.31 by `scripts/build-agent-glibc231`: the agent
//! (`cairn-agent-x86_64-linux-gnu`, the resident supervisor) and its worker
//! (`cairn-agent-worker-x86_64-linux-gnu`, started by the agent for every job and every batch
//! of detectors, from the agent's own directory). The worker is looked for next to the agent
//! binary, so one `--agent-binary PATH` names both.
//!
//! The binaries are read from disk at request time, so rebuilding them needs no restart; their
//! sha256 is cached by size and modification time.

use std::path::{Path, PathBuf};
use std::sync::Mutex;
use std::time::SystemTime;

use sha2::{Digest, Sha256};

/// The download's file name (and the default file name looked for next to the control plane's
/// executable and in its data directory).
pub const AGENT_FILE: &str = "cairn-agent-x86_64-linux-gnu";

/// The worker's download file name, looked for in the agent binary's directory.
pub const WORKER_FILE: &str = "cairn-agent-worker-x86_64-linux-gnu";

/// The template of `install.sh`.
const TEMPLATE: &str = include_str!("install.sh.j2");

/// Which of the agent's two binaries.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Part {
    /// `cairn-agent`, the resident supervisor.
    Agent,
    /// `cairn-agent-worker`, which the agent starts for every job and batch of detectors.
    Worker,
}

impl Part {
    /// The download's file name.
    pub fn file_name(self) -> &'static str {
        match self {
            Part::Agent => AGENT_FILE,
            Part::Worker => WORKER_FILE,
        }
    }
}

/// One binary this control plane serves, and its cached sha256.
#[derive(Debug)]
pub struct AgentBinary {
    part: Part,
    path: PathBuf,
    cache: Mutex<Option<(u64, SystemTime, String)>>,
}

impl AgentBinary {
    /// The agent binary at `path`.
    pub fn new(path: PathBuf) -> Self {
        Self::of(Part::Agent, path)
    }

    /// The worker that goes with the agent binary at `agent`: [`WORKER_FILE`] in its directory
    /// (the agent runs its worker from its own directory, so the two ship side by side).
    pub fn worker_next_to(agent: &Path) -> Self {
        let dir = agent.parent().unwrap_or_else(|| Path::new(""));
        Self::of(Part::Worker, dir.join(WORKER_FILE))
    }

    fn of(part: Part, path: PathBuf) -> Self {
        Self {
            part,
            path,
            cache: Mutex::new(None),
        }
    }

    pub fn part(&self) -> Part {
        self.part
    }

    pub fn path(&self) -> &Path {
        &self.path
    }

    /// The sentence a user gets when there is no binary to serve (codes `http.noAgentBinary`
    /// and `http.noWorkerBinary` in `said.rs`).
    pub fn missing_sentence(&self) -> String {
        match self.part {
            Part::Agent => format!(
                "this control plane has no agent binary to serve ({} does not exist): build it \
                 with scripts/build-agent-glibc231 and start the control plane with \
                 --agent-binary PATH",
                self.path.display()
            ),
            Part::Worker => format!(
                "this control plane has no agent worker binary to serve ({} does not exist): \
                 the worker must be next to the agent binary; build both with \
                 scripts/build-agent-glibc231 and start the control plane with --agent-binary \
                 PATH",
                self.path.display()
            ),
        }
    }

    /// The binary's sha256 (hex), or `None` if the file does not exist. Blocking: hashes the
    /// file when its size or modification time changed since the last call.
    pub fn sha256(&self) -> std::io::Result<Option<String>> {
        let meta = match std::fs::metadata(&self.path) {
            Ok(m) if m.is_file() => m,
            Ok(_) => return Ok(None),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
            Err(e) => return Err(e),
        };
        let key = (meta.len(), meta.modified()?);
        let mut cache = self.cache.lock().unwrap_or_else(|e| e.into_inner());
        if let Some((len, modified, sha)) = cache.as_ref()
            && (*len, *modified) == key
        {
            return Ok(Some(sha.clone()));
        }
        let mut file = std::fs::File::open(&self.path)?;
        let mut hasher = Sha256::new();
        std::io::copy(&mut file, &mut hasher)?;
        let sha = hex::encode(hasher.finalize());
        *cache = Some((key.0, key.1, sha.clone()));
        Ok(Some(sha))
    }
}

/// Quotes `s` for a POSIX shell: one single-quoted word.
pub fn shell_quote(s: &str) -> String {
    format!("'{}'", s.replace('\'', r"'\''"))
}

/// What `install.sh` is rendered with.
#[derive(Debug, serde::Serialize)]
pub struct ScriptValues<'a> {
    /// The control plane's base URL, without a trailing slash.
    pub url: &'a str,
    /// The control plane's public key id (the agent refuses any other key at enrollment).
    pub key_id: &'a str,
    /// The control plane's public key (hex), shown in the script's header for the reader.
    pub public_key: &'a str,
    /// sha256 (hex) of the agent binary; empty when there is none to serve.
    pub agent_sha256: &'a str,
    /// `/downloads/<AGENT_FILE>`.
    pub agent_path: &'a str,
    /// sha256 (hex) of the worker binary; empty when there is none to serve.
    pub worker_sha256: &'a str,
    /// `/downloads/<WORKER_FILE>`.
    pub worker_path: &'a str,
}

/// Renders `install.sh`. Every value is shell-quoted by the template's `sh` filter.
pub fn render_script(values: &ScriptValues<'_>) -> Result<String, minijinja::Error> {
    let mut env = minijinja::Environment::new();
    env.set_undefined_behavior(minijinja::UndefinedBehavior::Strict);
    env.add_filter("sh", |s: String| shell_quote(&s));
    env.add_template("install.sh", TEMPLATE)?;
    env.get_template("install.sh")?.render(values)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn quoting_survives_quotes_and_expansions() {
        assert_eq!(shell_quote("a'b"), r"'a'\''b'");
        assert_eq!(shell_quote("$(x) `y`"), "'$(x) `y`'");
    }

    #[test]
    fn the_script_names_the_url_key_and_checksum_quoted() {
        let s = render_script(&ScriptValues {
            url: "http://127.0.0.1:1/x'y",
            key_id: "abc",
            public_key: "00",
            agent_sha256: "ff",
            agent_path: "/downloads/cairn-agent-x86_64-linux-gnu",
            worker_sha256: "ee",
            worker_path: "/downloads/cairn-agent-worker-x86_64-linux-gnu",
        })
        .expect("renders");
        assert!(s.starts_with("#!/usr/bin/env bash\n"), "{s}");
        assert!(s.contains(r"CAIRN_URL='http://127.0.0.1:1/x'\''y'"), "{s}");
        assert!(s.contains("CAIRN_KEY_ID='abc'"), "{s}");
        assert!(s.contains("AGENT_SHA256='ff'"), "{s}");
        assert!(s.contains("WORKER_SHA256='ee'"), "{s}");
        assert!(
            s.contains("WORKER_PATH='/downloads/cairn-agent-worker-x86_64-linux-gnu'"),
            "{s}"
        );
        // The whole body is one function called on the last line, so a partial download
        // runs nothing.
        assert!(s.trim_end().ends_with("main \"$@\""), "{s}");
    }

    #[test]
    fn a_missing_binary_has_no_checksum() {
        let dir = tempfile::tempdir().expect("tmp");
        let bin = AgentBinary::new(dir.path().join(AGENT_FILE));
        assert_eq!(bin.sha256().expect("no error"), None);
        std::fs::write(bin.path(), b"abc").expect("write");
        assert_eq!(
            bin.sha256().expect("hash").as_deref(),
            Some("ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad")
        );
    }

    #[test]
    fn the_worker_is_looked_for_next_to_the_agent_under_its_download_name() {
        let worker = AgentBinary::worker_next_to(Path::new("/opt/cairn/agent-build"));
        assert_eq!(
            worker.path(),
            Path::new("/opt/cairn/cairn-agent-worker-x86_64-linux-gnu")
        );
        assert_eq!(worker.part(), Part::Worker);
        assert!(
            worker
                .missing_sentence()
                .contains("next to the agent binary"),
            "{}",
            worker.missing_sentence()
        );
    }
}
