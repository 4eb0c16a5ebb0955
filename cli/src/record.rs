//! What `cairn-recipe run --record FILE` writes after a run: how it ended, its result (secret
//! fields masked), every side effect it made in a plan's terms (`cairn_engine::Done`) and where
//! its time went. `cairn-recipe test` reads it back from the fresh system it ran in.

use std::path::Path;

use anyhow::Context;
use cairn_engine::timing::JobTimings;
use cairn_engine::{Done, JobReport, Outcome};
use serde::{Deserialize, Serialize};

/// One run, as recorded.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct RunRecord {
    pub succeeded: bool,
    /// The failure's sentence (with its place in the recipe), when it failed.
    #[serde(default)]
    pub error: Option<String>,
    /// The recipe's result, each field holding a secret made in the run replaced by `"********"`.
    #[serde(default)]
    pub result: serde_json::Value,
    pub done: Done,
    #[serde(default)]
    pub timings: Option<JobTimings>,
}

impl RunRecord {
    pub fn new(report: &JobReport, timings: Option<JobTimings>) -> Self {
        let (succeeded, error, result) = match &report.outcome {
            Outcome::Succeeded {
                value,
                secret_fields,
            } => {
                let mut value = value.clone();
                if let serde_json::Value::Object(map) = &mut value {
                    for f in secret_fields {
                        if let Some(v) = map.get_mut(f) {
                            *v = serde_json::Value::from(cairn_engine::redact::MASK);
                        }
                    }
                } else if !secret_fields.is_empty() {
                    value = serde_json::Value::from(cairn_engine::redact::MASK);
                }
                (true, None, value)
            }
            failed @ Outcome::Failed { .. } => {
                (false, failed.failure_text(), serde_json::Value::Null)
            }
        };
        Self {
            succeeded,
            error,
            result,
            done: report.done.clone(),
            timings,
        }
    }

    /// Writes the record as JSON to `path` (mode 0600: a result may name a user).
    pub fn write(&self, path: &Path) -> anyhow::Result<()> {
        use std::io::Write;
        use std::os::unix::fs::OpenOptionsExt;
        let text = serde_json::to_vec_pretty(self)?;
        let mut file = std::fs::OpenOptions::new()
            .write(true)
            .create(true)
            .truncate(true)
            .mode(0o600)
            .open(path)
            .with_context(|| format!("cannot write the run's record to {}", path.display()))?;
        file.write_all(&text)
            .with_context(|| format!("cannot write the run's record to {}", path.display()))
    }

    pub fn read(path: &Path) -> anyhow::Result<Self> {
        let text = std::fs::read(path)
            .with_context(|| format!("the run left no record in {}", path.display()))?;
        serde_json::from_slice(&text)
            .with_context(|| format!("the run's record {} is not readable", path.display()))
    }
}
