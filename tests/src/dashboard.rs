//! The dashboard's WebSocket as the browser uses it: a client that records every message it
//! receives, sends commands, starts jobs and waits for their ends; and readers of the job
//! events it saw (their lines, their `seq`s).

use std::net::SocketAddr;

use cairn_test_support::dashboard::request;
use futures_util::{SinkExt, StreamExt};
use serde_json::{Value, json};
use tokio_tungstenite::tungstenite::Message as WsMessage;

use crate::{TERMINAL, WAIT, Ws};

/// A dashboard WebSocket client. Every message received through [`recv_until`] is kept in
/// [`seen`](Self::seen), so a test can wait for one thing and later look at everything.
#[derive(Debug)]
pub struct Dashboard {
    pub ws: Ws,
    pub seen: Vec<Value>,
}

impl Dashboard {
    /// Upgrades `/ws/dashboard` with `cookie` and `origin`.
    pub async fn connect(
        addr: SocketAddr,
        cookie: Option<&str>,
        origin: &str,
    ) -> Result<Self, tokio_tungstenite::tungstenite::Error> {
        let ws = cairn_test_support::dashboard::connect(addr, cookie, origin).await?;
        Ok(Self {
            ws,
            seen: Vec::new(),
        })
    }

    /// [`connect`](Self::connect) over TLS (`wss://`), trusting only the certificate `pin`.
    pub async fn connect_tls(
        addr: SocketAddr,
        pin: &str,
        cookie: &str,
        origin: &str,
    ) -> Result<Self, String> {
        let endpoint = cairn_agent::transport::Endpoint::parse(&format!("https://{addr}"))
            .map_err(|e| e.to_string())?;
        let stream = cairn_agent::transport::connect(&endpoint, Some(pin))
            .await
            .map_err(|e| e.to_string())?;
        let req = request(&format!("wss://{addr}/ws/dashboard"), Some(cookie), origin);
        let (ws, _) = tokio_tungstenite::client_async(req, stream)
            .await
            .map_err(|e| e.to_string())?;
        Ok(Self {
            ws,
            seen: Vec::new(),
        })
    }

    pub async fn send(&mut self, v: Value) {
        self.ws
            .send(WsMessage::text(v.to_string()))
            .await
            .expect("send to the dashboard socket");
    }

    /// The next JSON message, not recorded; `None` when the socket closes.
    pub async fn next(&mut self) -> Option<Value> {
        loop {
            let m = tokio::time::timeout(WAIT, self.ws.next())
                .await
                .expect("a dashboard message in time")?;
            match m {
                Ok(WsMessage::Text(t)) => {
                    return Some(serde_json::from_str(t.as_str()).expect("JSON message"));
                }
                Ok(WsMessage::Close(_)) | Err(_) => return None,
                Ok(_) => {}
            }
        }
    }

    /// Reads (and records) messages until one satisfies `pred`; returns it. Messages already
    /// recorded count too.
    pub async fn recv_until(&mut self, pred: impl Fn(&Value) -> bool) -> Value {
        self.recv_from(0, pred).await
    }

    /// Like [`recv_until`](Self::recv_until), looking only at recorded messages from index
    /// `from` on.
    pub async fn recv_from(&mut self, from: usize, pred: impl Fn(&Value) -> bool) -> Value {
        if let Some(v) = self.seen.iter().skip(from).find(|v| pred(v)) {
            return v.clone();
        }
        loop {
            let v = self
                .next()
                .await
                .expect("the dashboard socket closed while waiting");
            self.seen.push(v.clone());
            if pred(&v) {
                return v;
            }
        }
    }

    /// Sends a job command (`INSTALL_RUNTIME`, …) and returns the job id from `JOB_CREATED`.
    pub async fn start_job(&mut self, kind: &str, node_id: &str, payload: Value) -> String {
        let before = self.seen.len();
        self.send(json!({"type": kind, "nodeId": node_id, "payload": payload}))
            .await;
        let reply = self
            .recv_from(before, |v| {
                v["type"] == "JOB_CREATED" || v["type"] == "ERROR"
            })
            .await;
        assert_eq!(reply["type"], "JOB_CREATED", "{kind} refused: {reply}");
        reply["jobId"].as_str().expect("jobId").to_owned()
    }

    /// Starts the `ticks` test recipe (`count` lines `tick N`, a tenth of a second apart) on
    /// `node_id`; returns the job id.
    pub async fn start_ticks(&mut self, node_id: &str, count: u64) -> String {
        self.start_job(
            "INSTALL_RUNTIME",
            node_id,
            json!({"type": "ticks", "params": {"count": count}}),
        )
        .await
    }

    /// Starts the `lines` test recipe (the numbers 1 to `count`, one a line, from one `seq`) on
    /// `node_id`; returns the job id.
    pub async fn start_lines(&mut self, node_id: &str, count: u64) -> String {
        self.start_job(
            "INSTALL_RUNTIME",
            node_id,
            json!({"type": "lines", "params": {"count": count}}),
        )
        .await
    }

    /// Waits for the job's terminal event; returns it.
    pub async fn wait_terminal(&mut self, job_id: &str) -> Value {
        self.recv_until(|v| v["jobId"] == job_id && TERMINAL.iter().any(|t| v["type"] == *t))
            .await
    }

    /// Every recorded event of `job_id` (the agent's messages, which carry a `seq`; not
    /// `JOB_CREATED`), in arrival order.
    pub fn job_messages(&self, job_id: &str) -> Vec<Value> {
        self.seen
            .iter()
            .filter(|v| v["jobId"] == job_id && v["payload"]["seq"].is_u64())
            .cloned()
            .collect()
    }
}

/// The `message` of every `INFRASTRUCTURE_LOG` on `stream` among `events` (dashboard messages
/// or stored events: both carry the protocol payload under `payload`).
pub fn lines(events: &[Value], stream: &str) -> Vec<String> {
    events
        .iter()
        .filter(|e| e["type"] == "INFRASTRUCTURE_LOG" && e["payload"]["stream"] == stream)
        .flat_map(|e| {
            // The agent coalesces consecutive lines into one message, separated by \n.
            let message = e["payload"]["message"].as_str().unwrap_or("");
            message.split('\n').map(str::to_owned).collect::<Vec<_>>()
        })
        .collect()
}

/// The `seq` of every event, in order.
pub fn seqs(events: &[Value]) -> Vec<u64> {
    events
        .iter()
        .map(|e| e["payload"]["seq"].as_u64().expect("seq"))
        .collect()
}
