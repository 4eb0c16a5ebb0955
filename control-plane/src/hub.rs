//! The hub routes between connections: node id → the agent's connection, node id → the
//! dashboard connections watching it, and job id → the login session that started it (the only
//! one that may see the job's secret result).
//!
//! Connections own their sockets; the hub only holds the sending half of a bounded queue to each,
//! so routing never waits on a slow peer: a dashboard's queue ([`crate::outbox`]) closes its
//! socket when it overflows, an agent's refuses what does not fit (threats.md 35). A dropped
//! sender closes the connection. A message for several dashboards is built and stored once.
//!
//! It also counts the answers to a status fan-out (`POST /api/nodes/status`): one request id
//! sent to every connected agent, a counter of the `SERVER_STATUS` answers carrying it.

use std::collections::{HashMap, HashSet};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};

use cairn_protocol::Message;
use cairn_protocol::dashboard::{DashboardEvent, DashboardEventBody, NodeStatus};
use cairn_protocol::messages::ServiceLog;
use tokio::sync::mpsc::Sender;
use tokio::sync::mpsc::error::TrySendError;
use tokio::sync::watch;

use crate::{mask, outbox};

/// Commands (batches of messages) waiting for one agent's socket. Commands are few (status
/// requests, jobs, cancels); an agent that leaves this many unsent is not reading its socket.
pub const AGENT_QUEUE: usize = 256;

/// What became of a command for an agent.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Delivery {
    Queued,
    /// No live connection of the node.
    Offline,
    /// Its queue is full: the agent is not reading what it is sent.
    Busy,
}

#[derive(Debug)]
struct AgentLink {
    conn: u64,
    tx: Sender<Arc<[Message]>>,
}

#[derive(Debug)]
struct DashLink {
    session: String,
    tx: outbox::Sender,
}

#[derive(Debug, Default)]
struct State {
    agents: HashMap<String, AgentLink>,
    dashboards: HashMap<u64, DashLink>,
    watchers: HashMap<String, HashSet<u64>>,
    job_owner: HashMap<String, String>,
    /// Preview id → the dashboard connection that asked for it, the only one that sees it.
    plan_asker: HashMap<String, u64>,
    /// Fan-out request id → number of answers so far.
    status_waits: HashMap<String, watch::Sender<usize>>,
    /// `GET_SERVICE_LOG` request id → the dashboard connection that asked and the node asked.
    log_asker: HashMap<String, (u64, String)>,
    /// Nodes removed while this control plane runs: a connection that authenticated just
    /// before the removal is refused when it registers (the store refuses the later ones).
    removed: HashSet<String>,
}

/// Service logs asked for and not yet answered, at most: an agent that never answers cannot
/// grow the map (the oldest requests are the ones it forgets).
const LOG_REQUESTS: usize = 1024;

/// See the module documentation.
#[derive(Debug, Default)]
pub struct Hub {
    state: Mutex<State>,
    next_conn: AtomicU64,
}

/// An event as the dashboards' queues hold it: its JSON text, written once however many
/// dashboards it goes to.
fn text(event: &DashboardEvent) -> Option<outbox::Text> {
    match serde_json::to_string(event) {
        Ok(text) => Some(Arc::new(text)),
        Err(error) => {
            tracing::error!(%error, node_id = %event.node_id, "could not write a dashboard event");
            None
        }
    }
}

impl Hub {
    fn lock(&self) -> MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// A new connection id.
    pub fn next_conn(&self) -> u64 {
        self.next_conn.fetch_add(1, Ordering::Relaxed) + 1
    }

    /// Routes `node_id`'s commands to `tx`; a previous connection of the node is dropped.
    /// `false` (nothing registered) when the node was removed.
    pub fn register_agent(&self, node_id: &str, conn: u64, tx: Sender<Arc<[Message]>>) -> bool {
        {
            let mut st = self.lock();
            if st.removed.contains(node_id) {
                return false;
            }
            st.agents.insert(node_id.to_owned(), AgentLink { conn, tx });
        }
        self.notify_online(node_id, true);
        true
    }

    /// The node was removed: `last` (the refusal) goes to its live connection, if any, which
    /// then closes (its queue's sender is dropped); no connection of it registers again.
    pub fn remove_agent(&self, node_id: &str, last: Message) {
        let link = {
            let mut st = self.lock();
            st.removed.insert(node_id.to_owned());
            st.agents.remove(node_id)
        };
        if let Some(link) = link {
            let _ = link.tx.try_send(Arc::from(vec![last]));
            drop(link);
            self.notify_online(node_id, false);
        }
    }

    /// Forgets the agent connection `conn` (not a newer one of the same node).
    pub fn unregister_agent(&self, node_id: &str, conn: u64) {
        let removed = {
            let mut st = self.lock();
            if st.agents.get(node_id).is_some_and(|a| a.conn == conn) {
                st.agents.remove(node_id);
                true
            } else {
                false
            }
        };
        if removed {
            self.notify_online(node_id, false);
        }
    }

    fn notify_online(&self, node_id: &str, online: bool) {
        let body = DashboardEventBody::NodeStatus(NodeStatus { online });
        self.broadcast(&DashboardEvent::new(node_id, None, body));
    }

    /// Whether the node was removed while this control plane runs.
    pub fn was_removed(&self, node_id: &str) -> bool {
        self.lock().removed.contains(node_id)
    }

    /// Whether the node has a live, authenticated connection.
    pub fn is_online(&self, node_id: &str) -> bool {
        self.lock()
            .agents
            .get(node_id)
            .is_some_and(|a| !a.tx.is_closed())
    }

    /// Queues `messages` for the node's agent, unless it is offline or its queue is full.
    pub fn send_to_agent(&self, node_id: &str, messages: Vec<Message>) -> Delivery {
        let st = self.lock();
        let Some(agent) = st.agents.get(node_id) else {
            return Delivery::Offline;
        };
        match agent.tx.try_send(messages.into()) {
            Ok(()) => Delivery::Queued,
            Err(TrySendError::Full(_)) => Delivery::Busy,
            Err(TrySendError::Closed(_)) => Delivery::Offline,
        }
    }

    /// Queues `message` for every connected agent (one shared copy); returns how many it was
    /// queued for.
    pub fn send_to_all_agents(&self, message: Message) -> usize {
        let shared: Arc<[Message]> = Arc::from(vec![message]);
        let st = self.lock();
        st.agents
            .values()
            .filter(|a| a.tx.try_send(Arc::clone(&shared)).is_ok())
            .count()
    }

    /// Starts counting the answers to status request `request_id`.
    pub fn expect_status(&self, request_id: &str) -> watch::Receiver<usize> {
        let (tx, rx) = watch::channel(0);
        self.lock().status_waits.insert(request_id.to_owned(), tx);
        rx
    }

    /// Counts an answer to status request `request_id` (if someone waits for it).
    pub fn status_answered(&self, request_id: &str) {
        if let Some(tx) = self.lock().status_waits.get(request_id) {
            tx.send_modify(|n| *n += 1);
        }
    }

    /// Stops counting the answers to `request_id`.
    pub fn forget_status(&self, request_id: &str) {
        self.lock().status_waits.remove(request_id);
    }

    pub fn register_dashboard(&self, conn: u64, session: &str, tx: outbox::Sender) {
        self.lock().dashboards.insert(
            conn,
            DashLink {
                session: session.to_owned(),
                tx,
            },
        );
    }

    pub fn unregister_dashboard(&self, conn: u64) {
        let mut st = self.lock();
        st.dashboards.remove(&conn);
        st.log_asker.retain(|_, (c, _)| *c != conn);
        for set in st.watchers.values_mut() {
            set.remove(&conn);
        }
        st.watchers.retain(|_, s| !s.is_empty());
    }

    /// Stops sending dashboard connection `conn` the events of the nodes `keep` refuses (its
    /// user's role or groups no longer reach them).
    pub fn unwatch_unless(&self, conn: u64, keep: impl Fn(&str) -> bool) {
        let mut st = self.lock();
        for (node_id, set) in st.watchers.iter_mut() {
            if !keep(node_id) {
                set.remove(&conn);
            }
        }
        st.watchers.retain(|_, s| !s.is_empty());
    }

    /// Makes dashboard connection `conn` receive every event of `node_id`.
    pub fn subscribe(&self, conn: u64, node_id: &str) {
        self.lock()
            .watchers
            .entry(node_id.to_owned())
            .or_default()
            .insert(conn);
    }

    /// Records the login session that started `job_id`.
    pub fn set_job_owner(&self, job_id: &str, session: &str) {
        self.lock()
            .job_owner
            .insert(job_id.to_owned(), session.to_owned());
    }

    /// The session (its hash) that asked for job `job_id`, while the job runs.
    pub fn job_owner(&self, job_id: &str) -> Option<String> {
        self.lock().job_owner.get(job_id).cloned()
    }

    /// Sends `event` to every dashboard connection watching its node.
    pub fn broadcast(&self, event: &DashboardEvent) {
        self.broadcast_text(&event.node_id, || text(event));
    }

    /// [`Self::broadcast`] of the event `make` builds, built only if someone watches the node.
    pub fn broadcast_with(&self, node_id: &str, make: impl FnOnce() -> DashboardEvent) {
        self.broadcast_text(node_id, || text(&make()));
    }

    fn broadcast_text(&self, node_id: &str, make: impl FnOnce() -> Option<outbox::Text>) {
        let st = self.lock();
        let Some(set) = st.watchers.get(node_id).filter(|s| !s.is_empty()) else {
            return;
        };
        let Some(text) = make() else {
            return;
        };
        for conn in set {
            if let Some(d) = st.dashboards.get(conn) {
                d.tx.send(Arc::clone(&text));
            }
        }
    }

    /// Sends `event` to one dashboard connection.
    pub fn send_to_dashboard(&self, conn: u64, event: &DashboardEvent) {
        let Some(text) = text(event) else {
            return;
        };
        if let Some(d) = self.lock().dashboards.get(&conn) {
            d.tx.send(text);
        }
    }

    /// Forwards a job event (as the agent sent it) to the node's watchers. One that carries a
    /// secret (`DATABASE_CONFIGURED`) goes unmasked only to the connections of the login session
    /// that started the job; everyone else gets it masked.
    /// Records that dashboard connection `conn` asked `node_id` for a service's log.
    pub fn set_log_asker(&self, request_id: &str, conn: u64, node_id: &str) {
        let mut st = self.lock();
        if st.log_asker.len() >= LOG_REQUESTS {
            st.log_asker.clear();
        }
        st.log_asker
            .insert(request_id.to_owned(), (conn, node_id.to_owned()));
    }

    /// Gives `node_id`'s `SERVICE_LOG` to the page that asked, and to no other: its lines may
    /// hold secrets (connection strings in them masked). Nothing is stored or logged. An
    /// answer nobody asked for (or from another node) is dropped.
    pub fn forward_service_log(&self, node_id: &str, mut log: ServiceLog) {
        let mut st = self.lock();
        let Some((conn, asked)) = st.log_asker.remove(&log.request_id) else {
            return;
        };
        if asked != node_id {
            return;
        }
        for line in &mut log.lines {
            *line = mask::mask_log_line(line);
        }
        let event = DashboardEvent::new(node_id, None, DashboardEventBody::ServiceLog(log));
        if let (Some(d), Some(text)) = (st.dashboards.get(&conn), text(&event)) {
            d.tx.send(text);
        }
    }

    /// Records the dashboard connection that asked for preview `plan_id`.
    pub fn set_plan_asker(&self, plan_id: &str, conn: u64) {
        self.lock().plan_asker.insert(plan_id.to_owned(), conn);
    }

    /// Sends a preview's event to the page that asked for it, and to no other: a preview is
    /// not a job other pages (or other tabs) follow and show in their console.
    pub fn forward_plan_event(&self, event: &DashboardEvent, terminal: bool) {
        let Some(text) = text(event) else {
            return;
        };
        let plan_id = event.job_id.as_deref().unwrap_or("");
        let mut st = self.lock();
        let asker = if terminal {
            st.plan_asker.remove(plan_id)
        } else {
            st.plan_asker.get(plan_id).copied()
        };
        if let Some(d) = asker.and_then(|conn| st.dashboards.get(&conn)) {
            d.tx.send(text);
        }
    }

    pub fn forward_job_event(&self, event: &DashboardEvent, terminal: bool) {
        let (masked, secret) = match mask::masked(&event.body) {
            Some(body) => {
                let masked = DashboardEvent::new(&event.node_id, event.job_id.as_deref(), body);
                (text(&masked), text(event))
            }
            None => (text(event), None),
        };
        let Some(masked) = masked else {
            return;
        };
        let (node_id, job_id) = (
            event.node_id.as_str(),
            event.job_id.as_deref().unwrap_or(""),
        );
        let mut st = self.lock();
        let owner = st.job_owner.get(job_id).cloned();
        let mut targets: HashSet<u64> = st.watchers.get(node_id).cloned().unwrap_or_default();
        if let Some(owner) = &owner {
            // The requester sees its own job even if it stopped watching the node.
            targets.extend(
                st.dashboards
                    .iter()
                    .filter(|(_, d)| &d.session == owner)
                    .map(|(c, _)| *c),
            );
        }
        for conn in targets {
            let Some(d) = st.dashboards.get(&conn) else {
                continue;
            };
            let text = match (&secret, &owner) {
                (Some(s), Some(o)) if &d.session == o => Arc::clone(s),
                _ => Arc::clone(&masked),
            };
            d.tx.send(text);
        }
        if terminal {
            st.job_owner.remove(job_id);
        }
    }

    /// The figures `GET /metrics` reports about the connections.
    pub fn health(&self) -> HubHealth {
        let st = self.lock();
        let mut health = HubHealth {
            agents: st.agents.values().filter(|a| !a.tx.is_closed()).count(),
            dashboards: st.dashboards.len(),
            ..HubHealth::default()
        };
        for a in st.agents.values() {
            health.agent_queue += AGENT_QUEUE.saturating_sub(a.tx.capacity());
        }
        for d in st.dashboards.values() {
            let (messages, bytes) = d.tx.queued();
            health.dashboard_queue += messages;
            health.dashboard_queue_bytes += bytes;
        }
        health
    }
}

/// Connections and what waits in their queues ([`Hub::health`]).
#[derive(Debug, Default, Clone, Copy)]
pub struct HubHealth {
    pub agents: usize,
    pub dashboards: usize,
    /// Commands waiting to be sent to agents.
    pub agent_queue: usize,
    /// Events waiting to be sent to dashboards, and their bytes.
    pub dashboard_queue: usize,
    pub dashboard_queue_bytes: usize,
}

#[cfg(test)]
mod tests {
    use super::*;
    use cairn_protocol::dashboard::DashboardError;
    use cairn_protocol::messages::CancelJob;

    fn cancel() -> Vec<Message> {
        vec![Message::CancelJob(CancelJob {
            job_id: "job-1".into(),
        })]
    }

    #[test]
    fn an_agent_that_reads_nothing_gets_at_most_its_queue_then_busy() {
        let hub = Hub::default();
        let (tx, rx) = tokio::sync::mpsc::channel(AGENT_QUEUE);
        hub.register_agent("node-1", 1, tx);
        for _ in 0..AGENT_QUEUE {
            assert_eq!(hub.send_to_agent("node-1", cancel()), Delivery::Queued);
        }
        assert_eq!(hub.send_to_agent("node-1", cancel()), Delivery::Busy);
        assert_eq!(hub.send_to_all_agents(cancel().remove(0)), 0);
        drop(rx);
        assert_eq!(hub.send_to_agent("node-1", cancel()), Delivery::Offline);
        assert_eq!(hub.send_to_agent("node-2", cancel()), Delivery::Offline);
    }

    #[test]
    fn a_dashboard_that_reads_nothing_is_cut_off_at_its_bytes_and_others_still_get_everything() {
        let hub = Hub::default();
        let (stalled, _stalled_rx) = outbox::channel(1000, outbox::MAX_MESSAGES);
        let (reading, mut reading_rx) = outbox::channel(1 << 20, outbox::MAX_MESSAGES);
        hub.register_dashboard(1, "s1", stalled.clone());
        hub.register_dashboard(2, "s2", reading);
        hub.subscribe(1, "node-1");
        hub.subscribe(2, "node-1");
        for i in 0..100 {
            let body = DashboardEventBody::Error(DashboardError {
                message: format!("message {i:03}"),
                said: Default::default(),
            });
            hub.broadcast(&DashboardEvent::new("node-1", None, body));
        }
        assert!(
            stalled.is_closed(),
            "the stalled queue overflowed and closed"
        );
        let rt = tokio::runtime::Builder::new_current_thread()
            .build()
            .expect("runtime");
        let got = rt
            .block_on(reading_rx.next_batch(1000, 1 << 20))
            .expect("a batch");
        assert_eq!(
            got.messages.len(),
            100,
            "the reading dashboard lost nothing"
        );
    }
}
