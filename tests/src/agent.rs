//! A `cairn-agent` child process with its configuration directory: enrolled with the real
//! `cairn-agent enroll`, started with `cairn-agent run`, killed with SIGKILL, pointed at
//! another URL (a proxy), its journal looked at.

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

use serde_json::Value;

use crate::bins::{ChildSlot, bin, log_file};

/// A `cairn-agent` with its configuration directory. The process is killed on drop (its
/// [`ChildSlot`]).
#[derive(Debug)]
pub struct Agent {
    pub config: PathBuf,
    /// stderr and stdout of every run, appended.
    pub log: PathBuf,
    child: ChildSlot,
}

impl Agent {
    /// Runs `cairn-agent enroll`; returns its exit status and output (stdout + stderr).
    pub async fn enroll_command(
        url: &str,
        token: &str,
        config: &Path,
    ) -> (std::process::ExitStatus, String) {
        Self::enroll_command_with(url, token, config, &[]).await
    }

    /// [`enroll_command`](Self::enroll_command) with more arguments (`--tls-pin PIN`, …).
    pub async fn enroll_command_with(
        url: &str,
        token: &str,
        config: &Path,
        extra: &[&str],
    ) -> (std::process::ExitStatus, String) {
        let mut cmd = Command::new(bin("cairn-agent"));
        cmd.args(["enroll", "--url", url, "--token", token, "--config"])
            .arg(config)
            .args(extra)
            .stdin(Stdio::null());
        let out = tokio::task::spawn_blocking(move || cmd.output())
            .await
            .expect("join")
            .expect("run cairn-agent enroll");
        let mut text = String::from_utf8_lossy(&out.stdout).into_owned();
        text.push_str(&String::from_utf8_lossy(&out.stderr));
        (out.status, text)
    }

    /// Enrolls with `token` into `config` (must succeed); does not start the agent.
    pub async fn enroll(url: &str, token: &str, config: &Path, log: &Path) -> Self {
        let (status, text) = Self::enroll_command(url, token, config).await;
        assert!(status.success(), "cairn-agent enroll failed: {text}");
        std::fs::write(log, &text).expect("write agent log");
        Self {
            config: config.to_path_buf(),
            log: log.to_path_buf(),
            child: ChildSlot::default(),
        }
    }

    /// An agent already enrolled into `config` (not started), logging to `log`.
    pub fn enroll_from(config: &Path, log: &Path) -> Self {
        Self {
            config: config.to_path_buf(),
            log: log.to_path_buf(),
            child: ChildSlot::default(),
        }
    }

    /// Starts `cairn-agent run`.
    pub fn start(&mut self) {
        self.start_with(&[]);
    }

    /// Starts `cairn-agent run` with more arguments (`--plan-only`).
    pub fn start_with(&mut self, extra: &[&str]) {
        assert!(!self.child.is_set(), "the agent is still running");
        let (out, err) = log_file(&self.log);
        let child = Command::new(bin("cairn-agent"))
            .arg("run")
            .arg("--config")
            .arg(&self.config)
            .args(extra)
            .stdin(Stdio::null())
            .stdout(out)
            .stderr(err)
            .spawn()
            .expect("start cairn-agent");
        self.child.set(child);
    }

    /// kill -9, and reap.
    pub fn kill(&mut self) {
        self.child.kill();
    }

    pub fn pid(&self) -> u32 {
        self.child.pid()
    }

    /// The node id from `agent.json`.
    pub fn node_id(&self) -> String {
        let text = std::fs::read_to_string(self.config.join("agent.json")).expect("agent.json");
        let v: Value = serde_json::from_str(&text).expect("agent.json is JSON");
        v["nodeId"].as_str().expect("nodeId").to_owned()
    }

    pub fn logs(&self) -> String {
        String::from_utf8_lossy(&std::fs::read(&self.log).unwrap_or_default()).into_owned()
    }

    /// Points the agent at another control plane URL (a proxy): rewrites `agent.json`. Takes
    /// effect at the next start.
    pub fn set_url(&self, url: &str) {
        let path = self.config.join("agent.json");
        let text = std::fs::read_to_string(&path).expect("agent.json");
        let mut v: Value = serde_json::from_str(&text).expect("agent.json is JSON");
        v["url"] = Value::String(url.to_owned());
        std::fs::write(&path, v.to_string()).expect("write agent.json");
    }

    /// The agent's state directory (rollback record and job journal).
    pub fn state_dir(&self) -> PathBuf {
        self.config.join("state")
    }

    /// The journal files of jobs not yet acknowledged by the control plane.
    pub fn journal_files(&self) -> Vec<String> {
        std::fs::read_dir(self.state_dir().join("journal"))
            .into_iter()
            .flatten()
            .flatten()
            .map(|e| e.file_name().to_string_lossy().into_owned())
            .collect()
    }

    /// Whether the process is still running.
    pub fn running(&mut self) -> bool {
        self.child.running()
    }
}
