//! Previews are not jobs: a `PLAN_REQUEST` gets an id of its own (`plan-…`), its events are
//! relayed to the page that asked and never stored, and it is kept here, in memory only, until
//! it is confirmed, replaced or too old. A run that confirms a preview names it (`planId`) and
//! must be for the same node, the same signed bundle and the same parameters; it then carries
//! what the preview said would change ([`PlanBasis`]) so that the agent can say whether the
//! server changed in between.
//!
//! Parameters are compared by a keyed SHA-256 digest (the key is random per process and never
//! leaves it), secret ones left out: a preview never carries a secret (the page sends a
//! placeholder in its place), and none is kept here.

use std::collections::{BTreeMap, HashMap};
use std::sync::Mutex;
use std::time::{Duration, Instant};

use cairn_protocol::SignedBundle;
use cairn_protocol::messages::{PlanBasis, PlanSummary};
use serde_json::{Map, Value};
use sha2::{Digest, Sha256};

/// The prefix of a preview's id (a job's is `job-`).
pub const PREFIX: &str = "plan-";
/// Previews kept at most; the oldest goes first.
const MAX_PLANS: usize = 1024;
/// How long a preview can be confirmed.
const PLAN_TTL: Duration = Duration::from_secs(60 * 60);

/// Whether `id` names a preview rather than a job.
pub fn is_plan(id: &str) -> bool {
    id.starts_with(PREFIX)
}

#[derive(Debug, Clone)]
enum State {
    Waiting,
    Ready(PlanSummary),
    Failed,
}

#[derive(Debug, Clone)]
struct Record {
    node_id: String,
    recipe: String,
    bundle: [u8; 32],
    params: [u8; 32],
    /// The declared action previewed; `None`: the entry point.
    action: Option<String>,
    created: Instant,
    state: State,
}

/// The previews waiting to be confirmed.
#[derive(Debug)]
pub struct Plans {
    key: String,
    inner: Mutex<HashMap<String, Record>>,
}

impl Default for Plans {
    fn default() -> Self {
        Self {
            key: format!(
                "{}{}",
                cairn_protocol::new_id().unwrap_or_default(),
                cairn_protocol::new_id().unwrap_or_default()
            ),
            inner: Mutex::default(),
        }
    }
}

/// What a run names of itself, to be checked against its preview.
#[derive(Debug)]
pub struct RunOf<'a> {
    pub node_id: &'a str,
    pub recipe: &'a str,
    pub bundle: &'a SignedBundle,
    /// The recipe's parameters as the agent will see them.
    pub params: &'a Map<String, Value>,
    /// The names of the parameters compared: those the recipe declares (others never reach
    /// it), secret ones excepted.
    pub declared: &'a [String],
    /// The recipe's declared action it runs; `None`: its entry point.
    pub action: Option<&'a str>,
}

impl Plans {
    fn lock(&self) -> std::sync::MutexGuard<'_, HashMap<String, Record>> {
        self.inner.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// The keyed digest of the declared parameters, each value as text (a form sends `"7"`
    /// where a plan may have had `7`).
    fn digest_params(&self, params: &Map<String, Value>, declared: &[String]) -> [u8; 32] {
        let canonical: BTreeMap<&str, String> = params
            .iter()
            .filter(|(k, _)| declared.iter().any(|d| d == *k))
            .map(|(k, v)| {
                let text = match v {
                    Value::String(s) => s.clone(),
                    other => other.to_string(),
                };
                (k.as_str(), text)
            })
            .collect();
        let mut h = Sha256::new();
        h.update(self.key.as_bytes());
        h.update(serde_json::to_vec(&canonical).unwrap_or_default());
        h.finalize().into()
    }

    fn digest_bundle(bundle: &SignedBundle) -> [u8; 32] {
        Sha256::digest(serde_json::to_vec(bundle).unwrap_or_default()).into()
    }

    /// Keeps a new preview of `run` under `id`.
    pub fn insert(&self, id: &str, run: &RunOf<'_>) {
        let record = Record {
            node_id: run.node_id.to_owned(),
            recipe: run.recipe.to_owned(),
            bundle: Self::digest_bundle(run.bundle),
            params: self.digest_params(run.params, run.declared),
            action: run.action.map(str::to_owned),
            created: Instant::now(),
            state: State::Waiting,
        };
        let mut plans = self.lock();
        plans.retain(|_, r| r.created.elapsed() < PLAN_TTL);
        while plans.len() >= MAX_PLANS {
            let Some(oldest) = plans
                .iter()
                .min_by_key(|(_, r)| r.created)
                .map(|(k, _)| k.clone())
            else {
                break;
            };
            plans.remove(&oldest);
        }
        plans.insert(id.to_owned(), record);
    }

    /// Whether `id` is a preview of `node_id` this control plane made (and still keeps).
    pub fn knows(&self, id: &str, node_id: &str) -> bool {
        self.lock().get(id).is_some_and(|r| r.node_id == node_id)
    }

    /// The preview ended: with its summary, or failed (`None`).
    pub fn finished(&self, id: &str, summary: Option<PlanSummary>) {
        if let Some(r) = self.lock().get_mut(id) {
            r.state = summary.map_or(State::Failed, State::Ready);
        }
    }

    /// Checks that `run` is what preview `id` showed, and uses the preview up: what the run
    /// carries to the agent. The refusal is a sentence for the user.
    pub fn confirm(&self, id: &str, run: &RunOf<'_>) -> Result<PlanBasis, String> {
        let mut plans = self.lock();
        let again = "; preview the change again, then confirm";
        let Some(r) = plans
            .get(id)
            .filter(|r| r.created.elapsed() < PLAN_TTL)
            .cloned()
        else {
            return Err(format!(
                "this preview is no longer known (it is over an hour old, or the control plane restarted){again}"
            ));
        };
        if r.node_id != run.node_id || r.recipe != run.recipe || r.action.as_deref() != run.action {
            return Err(format!(
                "this preview was made for {} on another server or another recipe, not {}{again}",
                r.recipe, run.recipe
            ));
        }
        let summary = match r.state {
            State::Ready(summary) => summary,
            State::Waiting => {
                return Err("the preview has not arrived yet: wait for it, then confirm".to_owned());
            }
            State::Failed => {
                return Err(format!(
                    "the preview failed, so there is nothing to confirm{again}"
                ));
            }
        };
        if r.bundle != Self::digest_bundle(run.bundle) {
            return Err(format!(
                "the recipe {} changed on the control plane since the preview{again}",
                run.recipe
            ));
        }
        if r.params != self.digest_params(run.params, run.declared) {
            return Err(format!(
                "the settings differ from the ones previewed{again}"
            ));
        }
        plans.remove(id);
        Ok(PlanBasis {
            plan_id: id.to_owned(),
            summary,
        })
    }
}
