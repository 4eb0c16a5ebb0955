//! `cairn-agent enroll`: pin the control plane's key, make the agent's key, and enroll it with
//! the one-time token (contract §5, docs/protocol.md "Connection").

use std::time::Duration;

use cairn_protocol::messages::{ChallengePurpose, Hello};
use cairn_protocol::{FrameVerifier, KeyRing, Message, PROTOCOL_VERSION, PublicKey};
use serde::Deserialize;

use crate::config::{AgentConfig, ConfigDir, DEFAULT_CONTROL_PLANE_ID};
use crate::error::{AgentError, Result};
use crate::handshake::{recv_message, send_bare, unexpected};
use crate::transport::{self, Endpoint};

const ANSWER_TIMEOUT: Duration = Duration::from_secs(20);

/// What `enroll` needs.
#[derive(Debug, Clone)]
pub struct EnrollOptions {
    pub url: String,
    /// `NODEID.SECRET` as the dashboard shows it.
    pub token: String,
    pub dir: ConfigDir,
    /// When given, the control plane's key id must be this one.
    pub cp_key_id: Option<String>,
    pub tls_pin: Option<String>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct ControlPlaneKey {
    public_key: String,
    key_id: String,
}

/// Enrolls this server; returns the written configuration.
pub async fn enroll(opts: EnrollOptions) -> Result<AgentConfig> {
    let (node_id, secret) = opts
        .token
        .split_once('.')
        .filter(|(n, s)| !n.is_empty() && !s.is_empty())
        .ok_or_else(|| {
            AgentError::Enroll(
                "the token must look like NODEID.SECRET, as the dashboard shows it".to_owned(),
            )
        })?;
    // The control plane keeps only hash_token(SECRET); the node id part names the node.
    let (node_id, secret) = (node_id.to_owned(), secret.to_owned());
    if opts.dir.config_file().exists() {
        return Err(AgentError::Enroll(format!(
            "{} already exists: this server is enrolled; remove the directory to enroll again",
            opts.dir.config_file().display()
        )));
    }
    let endpoint = Endpoint::parse(&opts.url)?;
    let pin = opts.tls_pin.as_deref();

    // 1. The control plane's key, pinned from here on.
    let (status, body) = transport::http_get(&endpoint, "/api/control-plane-key", pin).await?;
    if status != 200 {
        return Err(AgentError::Enroll(format!(
            "{} answered HTTP {status}",
            endpoint.url(false, "/api/control-plane-key")
        )));
    }
    let cp: ControlPlaneKey = serde_json::from_slice(&body).map_err(|e| {
        AgentError::Enroll(format!("the control plane key answer is not readable: {e}"))
    })?;
    let cp_key = PublicKey::from_hex(&cp.public_key)?;
    if cp_key.key_id().as_str() != cp.key_id {
        return Err(AgentError::Enroll(format!(
            "the control plane announced key id {} for a key whose id is {}",
            cp.key_id,
            cp_key.key_id()
        )));
    }
    if let Some(expected) = &opts.cp_key_id
        && expected != cp_key.key_id().as_str()
    {
        return Err(AgentError::Enroll(format!(
            "the control plane's key id is {}, not {expected} as given with --cp-key-id; \
                 refusing to trust it (check the URL, or copy the install command again)",
            cp_key.key_id()
        )));
    }

    // 2. Our key (kept if an earlier attempt made one).
    opts.dir.create()?;
    let key = opts.dir.load_or_create_key()?;

    // 3. Enrollment.
    let mut ws = transport::connect_ws(&endpoint, pin).await?;
    let mut verifier = FrameVerifier::for_agent(
        KeyRing::from(cp_key.clone()),
        DEFAULT_CONTROL_PLANE_ID,
        &node_id,
    );
    send_bare(
        &mut ws,
        &Message::Hello(Hello {
            node_id: node_id.clone(),
            key_id: None,
            agent_version: env!("CARGO_PKG_VERSION").to_owned(),
            protocol_version: PROTOCOL_VERSION,
            detectors_hash: None,
        }),
    )
    .await?;
    let challenge = match recv_message(&mut ws, &mut verifier, ANSWER_TIMEOUT).await {
        Ok(Message::AuthChallenge(c)) if c.purpose == ChallengePurpose::Enroll => c,
        Ok(other) => return Err(unexpected("AUTH_CHALLENGE (enroll)", &other)),
        Err(AgentError::Refused(why)) => return Err(AgentError::Enroll(why)),
        Err(e) => return Err(e),
    };
    let hostname = sysinfo::System::host_name().unwrap_or_default();
    let request =
        cairn_protocol::sign_enroll_request(&key, &node_id, &secret, &hostname, &challenge.nonce);
    send_bare(&mut ws, &Message::EnrollRequest(request)).await?;
    let response = match recv_message(&mut ws, &mut verifier, ANSWER_TIMEOUT).await {
        Ok(Message::EnrollResponse(r)) => r,
        Ok(other) => return Err(unexpected("ENROLL_RESPONSE", &other)),
        Err(AgentError::Refused(why)) => return Err(AgentError::Enroll(why)),
        Err(e) => return Err(e),
    };
    let _ = ws.close(None).await;
    if response.node_id != node_id || response.key_id != key.key_id().as_str() {
        return Err(AgentError::Enroll(format!(
            "the control plane enrolled node {} with key {}, not {node_id} with {}",
            response.node_id,
            response.key_id,
            key.key_id()
        )));
    }

    let config = AgentConfig {
        url: opts.url.trim_end_matches('/').to_owned(),
        node_id,
        control_plane_public_key: cp_key.to_hex(),
        control_plane_key_id: cp_key.key_id().to_string(),
        tls_pin: opts.tls_pin.clone(),
        control_plane_id: None,
    };
    opts.dir.save(&config)?;
    Ok(config)
}
