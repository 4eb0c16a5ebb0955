//! A `cairn-control-plane` child process on a free port of 127.0.0.1: started (optionally with
//! TLS, more arguments, or under an open-files limit through `prlimit`), restarted on the same
//! data, killed with SIGKILL, and asked things the way the dashboard asks them.

use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use serde_json::{Value, json};

use crate::bins::{ChildSlot, bin, log_file};
use crate::tls::{TlsCert, https};
use crate::{PASSWORD, Reply, WAIT, eventually, free_port, http};

/// A `cairn-control-plane` child process. Killed on drop (its [`ChildSlot`]).
#[derive(Debug)]
pub struct ControlPlane {
    pub addr: SocketAddr,
    pub data_dir: PathBuf,
    pub recipes_dir: PathBuf,
    /// stdout and stderr of every run, appended.
    pub log: PathBuf,
    /// Set when the control plane serves TLS (`--tls-cert`, `--tls-key`).
    pub tls: Option<TlsCert>,
    workdir: PathBuf,
    extra_args: Vec<std::ffi::OsString>,
    /// The open-files limit (soft and hard) the process starts under, through `prlimit`.
    nofile: Option<u64>,
    child: ChildSlot,
}

impl ControlPlane {
    /// Starts a control plane in `workdir` (data in `workdir/data`, log in `workdir/cp.log`)
    /// on a free port, and waits until `/healthz` answers.
    pub async fn start(workdir: &Path, recipes_dir: &Path) -> Self {
        Self::launch(workdir, recipes_dir, None, &[]).await
    }

    /// [`start`](Self::start), serving TLS with `tls` when given.
    pub async fn start_with(workdir: &Path, recipes_dir: &Path, tls: Option<TlsCert>) -> Self {
        Self::launch(workdir, recipes_dir, tls, &[]).await
    }

    /// [`start`](Self::start) with more command-line arguments (`--agent-binary PATH`, …).
    pub async fn start_with_args(
        workdir: &Path,
        recipes_dir: &Path,
        extra_args: &[std::ffi::OsString],
    ) -> Self {
        Self::launch(workdir, recipes_dir, None, extra_args).await
    }

    /// [`start_with_args`](Self::start_with_args) under an open-files limit of `nofile` (soft
    /// and hard, set by `prlimit`): the control plane cannot raise it.
    pub async fn start_limited(
        workdir: &Path,
        recipes_dir: &Path,
        extra_args: &[std::ffi::OsString],
        nofile: Option<u64>,
    ) -> Self {
        Self::start_opts(workdir, recipes_dir, None, extra_args, nofile).await
    }

    async fn launch(
        workdir: &Path,
        recipes_dir: &Path,
        tls: Option<TlsCert>,
        extra_args: &[std::ffi::OsString],
    ) -> Self {
        Self::start_opts(workdir, recipes_dir, tls, extra_args, None).await
    }

    /// Every way to start one: TLS, more arguments, an open-files limit.
    pub async fn start_opts(
        workdir: &Path,
        recipes_dir: &Path,
        tls: Option<TlsCert>,
        extra_args: &[std::ffi::OsString],
        nofile: Option<u64>,
    ) -> Self {
        let addr: SocketAddr = format!("127.0.0.1:{}", free_port())
            .parse()
            .expect("address");
        let mut cp = Self {
            addr,
            data_dir: workdir.join("data"),
            recipes_dir: recipes_dir.to_path_buf(),
            log: workdir.join("cp.log"),
            tls,
            workdir: workdir.to_path_buf(),
            extra_args: extra_args.to_vec(),
            nofile,
            child: ChildSlot::default(),
        };
        cp.restart().await;
        cp
    }

    /// Starts the process again (same data dir, port, recipes) and waits until it answers.
    pub async fn restart(&mut self) {
        assert!(!self.child.is_set(), "the control plane is still running");
        let (out, err) = log_file(&self.log);
        // prlimit sets the limit, then executes the control plane in its place (same pid).
        let mut cmd = match self.nofile {
            Some(n) => {
                let mut c = Command::new("prlimit");
                c.arg(format!("--nofile={n}:{n}"))
                    .arg("--")
                    .arg(bin("cairn-control-plane"));
                c
            }
            None => Command::new(bin("cairn-control-plane")),
        };
        if let Some(tls) = &self.tls {
            cmd.arg("--tls-cert")
                .arg(&tls.cert)
                .arg("--tls-key")
                .arg(&tls.key);
        }
        let child = cmd
            .arg("--data-dir")
            .arg(&self.data_dir)
            .arg("--listen")
            .arg(self.addr.to_string())
            .arg("--recipes")
            .arg(&self.recipes_dir)
            .arg("--ui")
            .arg(self.workdir.join("no-ui"))
            .args(&self.extra_args)
            .env("CAIRN_ADMIN_PASSWORD", PASSWORD)
            .current_dir(&self.workdir)
            .stdin(Stdio::null())
            .stdout(out)
            .stderr(err)
            .spawn()
            .expect("start cairn-control-plane");
        self.child.set(child);
        let start = Instant::now();
        while self.request("GET", "/healthz", None, None).await.status != 200 {
            if let Some(status) = self.child.exited() {
                panic!("the control plane exited ({status}):\n{}", self.logs());
            }
            assert!(
                start.elapsed() < WAIT,
                "the control plane did not answer:\n{}",
                self.logs()
            );
            tokio::time::sleep(Duration::from_millis(25)).await;
        }
    }

    /// kill -9, and reap.
    pub fn kill(&mut self) {
        self.child.kill();
    }

    pub fn pid(&self) -> u32 {
        self.child.pid()
    }

    /// Whether the process is still running.
    pub fn running(&mut self) -> bool {
        self.child.running()
    }

    pub fn url(&self) -> String {
        let scheme = if self.tls.is_some() { "https" } else { "http" };
        format!("{scheme}://{}", self.addr)
    }

    /// One request to this control plane, over TLS when it serves TLS.
    pub async fn request(
        &self,
        method: &str,
        path: &str,
        cookie: Option<&str>,
        body: Option<&str>,
    ) -> Reply {
        match &self.tls {
            Some(tls) => https(self.addr, &tls.pin, method, path, cookie, body).await,
            None => http(self.addr, method, path, cookie, body).await,
        }
    }

    /// The `Origin` a browser sends for pages served by this control plane.
    pub fn origin(&self) -> String {
        self.url()
    }

    /// Everything the process printed so far.
    pub fn logs(&self) -> String {
        String::from_utf8_lossy(&std::fs::read(&self.log).unwrap_or_default()).into_owned()
    }

    /// The bytes of the SQLite database and its -wal and -shm files.
    pub fn db_bytes(&self) -> Vec<u8> {
        let mut all = Vec::new();
        for entry in std::fs::read_dir(&self.data_dir).into_iter().flatten() {
            let Ok(entry) = entry else { continue };
            let name = entry.file_name().to_string_lossy().into_owned();
            if name.contains(".db") || name.contains("sqlite") {
                all.extend(std::fs::read(entry.path()).unwrap_or_default());
            }
        }
        all
    }

    /// The names of the database files found by [`db_bytes`](Self::db_bytes).
    pub fn db_files(&self) -> Vec<String> {
        std::fs::read_dir(&self.data_dir)
            .into_iter()
            .flatten()
            .flatten()
            .map(|e| e.file_name().to_string_lossy().into_owned())
            .filter(|n| n.contains(".db") || n.contains("sqlite"))
            .collect()
    }

    pub async fn login(&self) -> String {
        let body = json!({ "username": "admin", "password": PASSWORD }).to_string();
        let r = self.request("POST", "/api/login", None, Some(&body)).await;
        assert_eq!(r.status, 200, "admin login refused: {r:?}");
        r.cookie().expect("a session cookie")
    }

    /// GET `path` with `cookie`; the body as JSON (panics unless 200).
    pub async fn get_json(&self, cookie: &str, path: &str) -> Value {
        let r = self.request("GET", path, Some(cookie), None).await;
        assert_eq!(r.status, 200, "GET {path}: {}", r.body);
        r.json()
    }

    /// Creates an enrollment token; returns (token as the user sees it, node id).
    pub async fn token(&self, cookie: &str, name: &str) -> (String, String) {
        let r = self
            .request(
                "POST",
                "/api/enrollment-tokens",
                Some(cookie),
                Some(&json!({ "name": name }).to_string()),
            )
            .await;
        assert_eq!(r.status, 200, "{}", r.body);
        let v = r.json();
        (
            v["token"].as_str().expect("token").to_owned(),
            v["nodeId"].as_str().expect("node id").to_owned(),
        )
    }

    /// Waits until `/api/nodes` shows `node_id` with `online == want`.
    pub async fn wait_online(&self, cookie: &str, node_id: &str, want: bool) -> Value {
        eventually(&format!("{node_id} online == {want}"), || async {
            let nodes = self.get_json(cookie, "/api/nodes").await;
            nodes
                .as_array()?
                .iter()
                .find(|n| n["id"] == node_id && n["online"] == want)
                .cloned()
        })
        .await
    }

    /// Waits until the job's stored status is final; returns the job.
    pub async fn wait_job_done(&self, cookie: &str, job_id: &str) -> Value {
        eventually(&format!("job {job_id} to finish"), || async {
            let job = self.get_json(cookie, &format!("/api/jobs/{job_id}")).await;
            matches!(job["status"].as_str(), Some("succeeded" | "failed")).then_some(job)
        })
        .await
    }
}
