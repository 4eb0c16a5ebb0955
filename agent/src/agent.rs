//! The running agent: its identity and state, one authenticated connection ([`Agent::session`]),
//! and the dispatch of what the control plane sends.

use std::sync::Arc;
use std::time::Duration;

use cairn_protocol::messages::{ChallengePurpose, ErrorCode, ErrorMessage, Hello};
use cairn_protocol::{
    FrameSigner, FrameVerifier, KeyRing, Message, PROTOCOL_VERSION, ProtocolError, RollbackStore,
};
use futures_util::{SinkExt, StreamExt};
use tokio::sync::{mpsc, watch};
use tokio::time::Instant;
use tokio_tungstenite::tungstenite::Message as WsMessage;

use crate::cancel::Cancel;
use crate::config::{AgentConfig, ConfigDir};
use crate::detector_cache::DetectorCache;
use crate::error::{AgentError, Result};
use crate::handshake::{recv_message, send_bare, unexpected};
use crate::journal::{BeginError, Outbox, is_valid_job_id};
use crate::runner::{JobContext, JobRequest};
use crate::supervise::{self, JobFiles, Workers};
use crate::transport::{self, Endpoint, Socket};

/// Timings of the connection, adjustable by tests.
#[derive(Debug, Clone)]
pub struct Tuning {
    /// How often the agent pings the control plane.
    pub ping_interval: Duration,
    /// A control plane silent for this long is considered gone.
    pub peer_timeout: Duration,
    /// How long each step of authentication may take.
    pub auth_timeout: Duration,
    /// First reconnection delay; doubles per failure up to `backoff_max` (with jitter).
    pub backoff_base: Duration,
    pub backoff_max: Duration,
    /// How long to wait before dialing again once the control plane said this server was
    /// removed from Cairn: long, since only a new enrollment or an uninstall ends it.
    pub removed_backoff: Duration,
    /// A session that lasted this long resets the backoff.
    pub healthy_after: Duration,
    /// Time limit of each detector.
    pub detect_timeout: Duration,
    /// How often the machine is sampled for `METRICS`.
    pub metrics_interval: Duration,
    /// Only plan: refuse every job that would change the server (an agent not run as root).
    pub plan_only: bool,
    /// How workers (jobs, detectors) are started and limited.
    pub workers: Workers,
}

impl Default for Tuning {
    fn default() -> Self {
        Self {
            ping_interval: Duration::from_secs(20),
            peer_timeout: Duration::from_secs(60),
            auth_timeout: Duration::from_secs(20),
            backoff_base: Duration::from_millis(500),
            backoff_max: Duration::from_secs(30),
            removed_backoff: Duration::from_secs(3600),
            healthy_after: Duration::from_secs(10),
            detect_timeout: Duration::from_secs(20),
            metrics_interval: crate::metrics::DEFAULT_INTERVAL,
            plan_only: false,
            workers: Workers::default(),
        }
    }
}

/// How a session ended.
#[derive(Debug)]
pub struct SessionEnd {
    /// Whether the agent got as far as `AUTH_OK`.
    pub authenticated: bool,
    /// `None` when it ended because the agent is shutting down.
    pub error: Option<AgentError>,
}

/// An enrolled agent.
#[derive(Debug)]
pub struct Agent {
    pub config: AgentConfig,
    pub tuning: Tuning,
    endpoint: Endpoint,
    signer: FrameSigner,
    cp_keys: KeyRing,
    jobs: Arc<JobContext>,
    outbox: Arc<Outbox>,
    /// Metrics samples not yet acknowledged.
    metrics: Arc<crate::metrics::Buffer>,
    /// The detectors of the last `GET_SERVER_STATUS` that carried some (in this connection or
    /// an earlier one), for the requests that say `sameDetectors`.
    detectors: std::sync::Mutex<DetectorCache>,
}

impl Agent {
    /// Loads an enrolled agent from its configuration directory, and picks up every job the
    /// last run left unfinished: one whose worker still runs is adopted (it goes on, every
    /// line kept); the others are finished from what their worker wrote and reported
    /// interrupted.
    pub fn open(dir: &ConfigDir, tuning: Tuning) -> Result<Self> {
        let config = dir.load()?;
        let cp_keys = config.control_plane_keys(&dir.config_file())?;
        let key = dir.load_key()?;
        dir.create()?;
        let rollback = RollbackStore::open(&dir.rollback_file())?;
        let (outbox, unfinished) = Outbox::open(&dir.journal_dir())?;
        let jobs = Arc::new(JobContext {
            keys: cp_keys.clone(),
            rollback,
            workers: tuning.workers.clone(),
            journal_dir: dir.journal_dir(),
            plan_only: tuning.plan_only,
            detectors: Default::default(),
            services: Default::default(),
        });
        for job in unfinished {
            let files = JobFiles::new(&jobs.journal_dir, &job.job_id);
            let worker = crate::procs::WorkerId::load(&files.worker);
            match worker.filter(crate::procs::WorkerId::alive) {
                Some(id) => {
                    let cancel = Cancel::new();
                    let writer = outbox.resume(&job, Some(cancel.clone()));
                    let ctx = jobs.clone();
                    std::thread::spawn(move || {
                        supervise::adopt(&ctx, writer, id, job.spool, cancel);
                    });
                }
                None => {
                    tracing::warn!(job_id = %job.job_id, "job was interrupted by an agent restart; reporting it");
                    let writer = outbox.resume(&job, None);
                    supervise::finish_orphan(&jobs, writer, job.spool, worker.is_some());
                }
            }
        }
        Ok(Self {
            endpoint: Endpoint::parse(&config.url)?,
            signer: FrameSigner::agent(key, config.node_id.clone()),
            jobs,
            cp_keys,
            outbox,
            metrics: crate::metrics::Buffer::open(&dir.metrics_file(), crate::metrics::MAX_PENDING),
            detectors: std::sync::Mutex::new(DetectorCache::default()),
            config,
            tuning,
        })
    }

    /// The hash of the detector bundles kept from an earlier connection, for `HELLO`.
    fn detectors_hash(&self) -> Option<String> {
        self.detectors
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .hash()
            .map(str::to_owned)
    }

    /// The outbox (jobs still running or not yet acknowledged).
    pub fn outbox(&self) -> &Arc<Outbox> {
        &self.outbox
    }

    /// Samples the machine every `tuning.metrics_interval` until `shutdown` (the dial loop
    /// runs it beside the connections, so sampling goes on while disconnected).
    pub async fn sample_metrics(&self, shutdown: watch::Receiver<bool>) {
        crate::metrics::run(
            self.metrics.clone(),
            self.jobs.clone(),
            self.tuning.metrics_interval,
            shutdown,
        )
        .await;
    }

    /// One connection: connect, authenticate, serve until it fails or `shutdown` is set.
    pub async fn session(&self, shutdown: &mut watch::Receiver<bool>) -> SessionEnd {
        let fail = |authenticated, e| SessionEnd {
            authenticated,
            error: Some(e),
        };
        let mut ws =
            match transport::connect_ws(&self.endpoint, self.config.tls_pin.as_deref()).await {
                Ok(ws) => ws,
                Err(e) => return fail(false, e),
            };
        let (mut verifier, session) = match self.authenticate(&mut ws).await {
            Ok(v) => v,
            Err(e) => return fail(false, e),
        };
        tracing::info!(node_id = %self.config.node_id, url = %self.config.url, "connected to the control plane");
        match self.serve(&mut ws, &mut verifier, &session, shutdown).await {
            Ok(()) => SessionEnd {
                authenticated: true,
                error: None,
            },
            Err(e) => fail(true, e),
        }
    }

    async fn authenticate(&self, ws: &mut Socket) -> Result<(FrameVerifier, String)> {
        let node_id = &self.config.node_id;
        let mut verifier = FrameVerifier::for_agent(
            self.cp_keys.clone(),
            self.config.control_plane_id(),
            node_id,
        );
        send_bare(
            ws,
            &Message::Hello(Hello {
                node_id: node_id.clone(),
                key_id: Some(self.signer.key().key_id().to_string()),
                agent_version: env!("CARGO_PKG_VERSION").to_owned(),
                protocol_version: PROTOCOL_VERSION,
                detectors_hash: self.detectors_hash(),
            }),
        )
        .await?;
        let timeout = self.tuning.auth_timeout;
        let challenge = match recv_message(ws, &mut verifier, timeout).await? {
            Message::AuthChallenge(c) if c.purpose == ChallengePurpose::Auth => c,
            other => return Err(unexpected("AUTH_CHALLENGE (auth)", &other)),
        };
        let skew = challenge.server_time.abs_diff(cairn_protocol::unix_now());
        if skew > 30 {
            tracing::warn!(
                skew_secs = skew,
                "this server's clock differs from the control plane's; signed frames may be refused"
            );
        }
        let response =
            cairn_protocol::sign_auth_response(self.signer.key(), node_id, &challenge.nonce);
        send_bare(ws, &Message::AuthResponse(response)).await?;
        let ok = match recv_message(ws, &mut verifier, timeout).await? {
            Message::AuthOk(ok) => ok,
            other => return Err(unexpected("AUTH_OK", &other)),
        };
        if ok.nonce != challenge.nonce {
            return Err(AgentError::Connection(
                "AUTH_OK answers another challenge".to_owned(),
            ));
        }
        verifier.set_session(Some(ok.session_id.clone()));
        Ok((verifier, ok.session_id))
    }

    async fn serve(
        &self,
        ws: &mut Socket,
        verifier: &mut FrameVerifier,
        session: &str,
        shutdown: &mut watch::Receiver<bool>,
    ) -> Result<()> {
        // Whatever the last connection did not get acknowledged goes again.
        self.outbox.rewind();
        self.flush_outbox(ws, session).await?;
        self.metrics.rewind();
        self.flush_metrics(ws, session).await?;
        let (replies, mut reply_rx) = mpsc::channel::<Message>(8);
        let mut ping = tokio::time::interval(self.tuning.ping_interval);
        ping.tick().await;
        let mut last_heard = Instant::now();
        loop {
            tokio::select! {
                incoming = ws.next() => {
                    last_heard = Instant::now();
                    match incoming {
                        None => return Err(AgentError::Connection("the control plane closed the connection".into())),
                        Some(Err(e)) => return Err(AgentError::Connection(e.to_string())),
                        Some(Ok(WsMessage::Text(text))) => {
                            self.on_frame(ws, verifier, session, text.as_bytes(), &replies).await?;
                        }
                        Some(Ok(WsMessage::Binary(_))) => {
                            self.send_error(ws, session, ErrorCode::BadFrame, "binary frames are not part of the protocol".into(), None).await?;
                        }
                        Some(Ok(WsMessage::Close(_))) => return Err(AgentError::Connection("the control plane closed the connection".into())),
                        Some(Ok(_)) => {}
                    }
                }
                () = self.outbox.changed() => self.flush_outbox(ws, session).await?,
                () = self.metrics.changed() => self.flush_metrics(ws, session).await?,
                Some(reply) = reply_rx.recv() => {
                    self.send(ws, session, vec![reply]).await?;
                    // A status answer (its detectors' requests and replies, its JSON and its
                    // frame) was freed below what lives on, and its code ran: hand both back.
                    cairn_heap::give_back();
                    cairn_heap::drop_code_pages();
                }
                _ = ping.tick() => {
                    if last_heard.elapsed() >= self.tuning.peer_timeout {
                        return Err(AgentError::Timeout(self.tuning.peer_timeout.as_secs()));
                    }
                    ws.send(WsMessage::Ping(Vec::new().into())).await.map_err(|e| AgentError::Connection(e.to_string()))?;
                }
                _ = shutdown.changed() => {
                    let _ = ws.close(None).await;
                    return Ok(());
                }
            }
        }
    }

    async fn on_frame(
        &self,
        ws: &mut Socket,
        verifier: &mut FrameVerifier,
        session: &str,
        bytes: &[u8],
        replies: &mpsc::Sender<Message>,
    ) -> Result<()> {
        let frame = match verifier.verify(bytes, cairn_protocol::unix_now()) {
            Ok(f) => f,
            Err(e) => {
                tracing::warn!(error = %e, "refused a frame from the control plane");
                let code = match e {
                    ProtocolError::TooLarge { .. }
                    | ProtocolError::Json { .. }
                    | ProtocolError::DuplicateKey { .. }
                    | ProtocolError::TooDeep { .. }
                    | ProtocolError::Malformed { .. } => ErrorCode::BadFrame,
                    _ => ErrorCode::Unauthenticated,
                };
                return self
                    .send_error(ws, session, code, e.to_string(), None)
                    .await;
            }
        };
        for message in frame.messages {
            self.dispatch(ws, session, message, replies).await?;
        }
        Ok(())
    }

    async fn dispatch(
        &self,
        ws: &mut Socket,
        session: &str,
        message: Message,
        replies: &mpsc::Sender<Message>,
    ) -> Result<()> {
        match message {
            Message::GetServerStatus(mut req) => {
                let not_held = if req.system_only {
                    // Runs no detector: the kept ones stay as they are.
                    None
                } else {
                    let mut kept = self.detectors.lock().unwrap_or_else(|e| e.into_inner());
                    if !req.same_detectors || !req.detectors.is_empty() {
                        // A full request (perhaps of no detectors at all): what it carries is
                        // what the control plane now means by its detectors.
                        kept.store(&req.detectors, &self.jobs, cairn_protocol::unix_now());
                        None
                    } else {
                        match kept.bundles_for(req.detectors_hash.as_deref()) {
                            Ok(bundles) => {
                                req.detectors = bundles;
                                None
                            }
                            Err(not_held) => {
                                kept.forget();
                                Some(not_held)
                            }
                        }
                    }
                };
                if let Some(not_held) = not_held {
                    // Reconnect naming none: the control plane then sends the bundles.
                    let why = format!(
                        "the detectors {} are not kept on this server; reconnecting to get them",
                        not_held.wanted
                    );
                    self.send_error(ws, session, ErrorCode::Internal, why.clone(), None)
                        .await?;
                    return Err(AgentError::Connection(why));
                }
                let (ctx, replies, timeout) = (
                    self.jobs.clone(),
                    replies.clone(),
                    self.tuning.detect_timeout,
                );
                tokio::spawn(async move {
                    let status = crate::status::collect(ctx, req, timeout).await;
                    let _ = replies.send(Message::ServerStatus(status)).await;
                });
            }
            Message::GetServiceLog(req) => {
                let bundles = self
                    .detectors
                    .lock()
                    .unwrap_or_else(|e| e.into_inner())
                    .bundles_for(None)
                    .unwrap_or_default();
                let (ctx, replies) = (self.jobs.clone(), replies.clone());
                tokio::spawn(async move {
                    let log = crate::service_log::read(ctx, bundles, req).await;
                    let _ = replies.send(Message::ServiceLog(log)).await;
                });
            }
            Message::CancelJob(c) => {
                if self.outbox.cancel(&c.job_id) {
                    tracing::info!(job_id = %c.job_id, "cancelling job");
                } else {
                    let msg = format!("no job {} is running on this server", c.job_id);
                    self.send_error(ws, session, ErrorCode::UnknownJob, msg, Some(c.job_id))
                        .await?;
                }
            }
            Message::LogAck(ack) => self.outbox.ack(&ack.job_id, ack.seq),
            Message::Error(e) if e.code == ErrorCode::NodeRemoved => {
                return Err(AgentError::Removed(e.message));
            }
            Message::MetricsAck(ack) => self.metrics.ack(ack.batch),
            Message::Error(e) => {
                tracing::warn!(code = ?e.code, message = %e.message, "the control plane reported an error");
            }
            other => match JobRequest::from_message(other) {
                Some(req) => self.start_job(ws, session, req).await?,
                None => {
                    tracing::debug!("ignoring a message that is not for an authenticated session");
                }
            },
        }
        Ok(())
    }

    async fn start_job(&self, ws: &mut Socket, session: &str, req: JobRequest) -> Result<()> {
        if !is_valid_job_id(&req.job_id) {
            let msg = "a job id may hold only letters, digits, '-', '_' and '.'".to_owned();
            return self
                .send_error(ws, session, ErrorCode::BadFrame, msg, Some(req.job_id))
                .await;
        }
        let cancel = Cancel::new();
        let writer = match self.outbox.begin(&req.job_id, cancel.clone()) {
            Ok(w) => w,
            Err(BeginError::Busy) => {
                let msg = format!(
                    "job {} already exists on this server; a job id is used once",
                    req.job_id
                );
                return self
                    .send_error(ws, session, ErrorCode::Busy, msg, Some(req.job_id))
                    .await;
            }
        };
        let ctx = self.jobs.clone();
        tokio::task::spawn_blocking(move || {
            supervise::run_job(&ctx, req, writer, cancel);
            // The job's request, spool reads and journal buffers are freed now, and the code
            // that followed it is not needed until the next one.
            cairn_heap::give_back();
            cairn_heap::drop_code_pages();
        });
        Ok(())
    }

    async fn flush_outbox(&self, ws: &mut Socket, session: &str) -> Result<()> {
        for batch in self.outbox.take_unsent() {
            self.send(ws, session, batch).await?;
        }
        Ok(())
    }

    /// Sends the next batch of samples, unless one is waiting for its acknowledgement.
    async fn flush_metrics(&self, ws: &mut Socket, session: &str) -> Result<()> {
        match self.metrics.next_batch() {
            Some(batch) => self.send(ws, session, vec![Message::Metrics(batch)]).await,
            None => Ok(()),
        }
    }

    async fn send_error(
        &self,
        ws: &mut Socket,
        session: &str,
        code: ErrorCode,
        message: String,
        job_id: Option<String>,
    ) -> Result<()> {
        let error = Message::Error(ErrorMessage {
            code,
            message,
            frame_id: None,
            job_id,
        });
        self.send(ws, session, vec![error]).await
    }

    async fn send(&self, ws: &mut Socket, session: &str, messages: Vec<Message>) -> Result<()> {
        let text = self.signer.sign(
            self.config.control_plane_id(),
            Some(session),
            messages,
            cairn_protocol::unix_now(),
        )?;
        ws.send(WsMessage::Text(text.into()))
            .await
            .map_err(|e| AgentError::Connection(e.to_string()))
    }
}
