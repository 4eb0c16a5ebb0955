//! A whole installation: a control plane with one enrolled, connected agent and an admin
//! session, in one temp directory; most end-to-end tests start from one.

use serde_json::{Value, json};

use crate::bins::recipes_dir;
use crate::{Agent, ControlPlane, Dashboard};

/// A control plane with one enrolled, connected agent, and an admin session.
#[derive(Debug)]
pub struct Cluster {
    pub agent: Agent,
    pub cp: ControlPlane,
    pub cookie: String,
    pub node_id: String,
    /// The (used) enrollment token, as the user saw it.
    pub token: String,
    // Last: removed after both processes are dead.
    pub dir: tempfile::TempDir,
}

impl Cluster {
    /// Starts a control plane publishing `recipes`, logs in, creates a token, enrolls an agent
    /// with `cairn-agent enroll`, starts `cairn-agent run` and waits until the node is online.
    pub async fn start(recipes: &[&str]) -> Self {
        Self::start_with(recipes, &[]).await
    }

    /// [`Cluster::start`] with `agent_args` added to `cairn-agent run` (e.g. `--plan-only`).
    pub async fn start_with(recipes: &[&str], agent_args: &[&str]) -> Self {
        Self::start_full(recipes, agent_args, &[], None).await
    }

    /// [`Cluster::start`] with arguments for the agent and for the control plane, and the
    /// control plane under an open-files limit of `nofile` ([`ControlPlane::start_limited`]).
    pub async fn start_full(
        recipes: &[&str],
        agent_args: &[&str],
        cp_args: &[&str],
        nofile: Option<u64>,
    ) -> Self {
        let dir = tempfile::tempdir().expect("temp dir");
        let root = dir.path();
        let recipes_dir = recipes_dir(root, recipes);
        let cp_args: Vec<std::ffi::OsString> = cp_args.iter().map(Into::into).collect();
        let cp = ControlPlane::start_limited(root, &recipes_dir, &cp_args, nofile).await;
        let cookie = cp.login().await;
        let (token, node_id) = cp.token(&cookie, "web-1").await;
        let mut agent = Agent::enroll(
            &cp.url(),
            &token,
            &root.join("agent"),
            &root.join("agent.log"),
        )
        .await;
        assert_eq!(agent.node_id(), node_id);
        agent.start_with(agent_args);
        cp.wait_online(&cookie, &node_id, true).await;
        Self {
            agent,
            cp,
            cookie,
            node_id,
            token,
            dir,
        }
    }

    /// A dashboard socket of the admin session, subscribed to the node.
    pub async fn dashboard(&self) -> Dashboard {
        self.dashboard_of(&self.cookie).await
    }

    /// A dashboard socket of `cookie`'s session, subscribed to the node.
    pub async fn dashboard_of(&self, cookie: &str) -> Dashboard {
        let mut d = Dashboard::connect(self.cp.addr, Some(cookie), &self.cp.origin())
            .await
            .expect("dashboard upgrade");
        d.send(json!({"type": "SUBSCRIBE", "nodeId": self.node_id}))
            .await;
        let status = d.recv_until(|m| m["type"] == "NODE_STATUS").await;
        assert_eq!(status["payload"]["online"], true, "{status}");
        d
    }

    /// The stored events of a job, as `/api/jobs/ID/events` returns them.
    pub async fn stored_events(&self, job_id: &str) -> Vec<Value> {
        let v = self
            .cp
            .get_json(&self.cookie, &format!("/api/jobs/{job_id}/events"))
            .await;
        v.as_array().cloned().expect("an array of events")
    }
}
