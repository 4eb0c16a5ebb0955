//! Rollback protection: the highest version of each recipe this server has run, on disk.
//!
//! A validly signed old bundle (say, a redis recipe with a since-fixed bug) must not run once a
//! newer one has. The store records the version *before* the recipe runs, with write-temp,
//! fsync, rename, fsync-directory, so a crash or restart cannot forget it. A corrupt state file
//! is an error, never an empty store: forgetting would re-open the rollback.

use std::collections::BTreeMap;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::sync::Mutex;

use serde::{Deserialize, Serialize};

use crate::error::{ProtocolError, Result};
use crate::strict_json;

const STATE_FORMAT: &str = "cairn-rollback-v1";
const MAX_STATE_BYTES: usize = 1024 * 1024;

#[derive(Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
struct State {
    format: String,
    highest: BTreeMap<String, u64>,
}

/// The persisted highest version run per recipe id. Shareable between threads.
#[derive(Debug)]
pub struct RollbackStore {
    path: PathBuf,
    highest: Mutex<BTreeMap<String, u64>>,
}

impl RollbackStore {
    /// Opens the store at `path`; a missing file is an empty store.
    pub fn open(path: &Path) -> Result<Self> {
        let highest = match std::fs::read(path) {
            Ok(bytes) => {
                let state: State = strict_json::parse(&bytes, "rollback state", MAX_STATE_BYTES)?;
                if state.format != STATE_FORMAT {
                    return Err(ProtocolError::Malformed {
                        what: "rollback state",
                        reason: format!("{} has format \"{}\"", path.display(), state.format),
                    });
                }
                state.highest
            }
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => BTreeMap::new(),
            Err(e) => return Err(ProtocolError::io("could not read", path, e)),
        };
        Ok(Self {
            path: path.to_owned(),
            highest: Mutex::new(highest),
        })
    }

    /// The highest version of `recipe_id` recorded, if any.
    pub fn highest(&self, recipe_id: &str) -> Option<u64> {
        self.lock().get(recipe_id).copied()
    }

    /// Refuses `version` if a higher version of `recipe_id` has run; otherwise records it
    /// durably (re-running the same version is allowed and writes nothing).
    pub fn check_and_record(&self, recipe_id: &str, version: u64) -> Result<()> {
        // Held across the write so that two jobs cannot interleave their updates.
        let mut highest = self.lock();
        match highest.get(recipe_id) {
            Some(&h) if version < h => {
                return Err(ProtocolError::Rollback {
                    recipe_id: recipe_id.to_owned(),
                    version,
                    highest: h,
                });
            }
            Some(&h) if version == h => return Ok(()),
            _ => {}
        }
        let mut next = highest.clone();
        next.insert(recipe_id.to_owned(), version);
        self.persist(&next)?;
        *highest = next;
        Ok(())
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, BTreeMap<String, u64>> {
        // The map is only replaced after a successful write, so a poisoned lock still holds a
        // consistent state.
        self.highest.lock().unwrap_or_else(|e| e.into_inner())
    }

    fn persist(&self, highest: &BTreeMap<String, u64>) -> Result<()> {
        use std::os::unix::fs::OpenOptionsExt;
        let state = State {
            format: STATE_FORMAT.to_owned(),
            highest: highest.clone(),
        };
        let bytes = serde_json::to_vec_pretty(&state).map_err(|e| ProtocolError::Malformed {
            what: "rollback state",
            reason: e.to_string(),
        })?;
        let tmp = self.path.with_extension("tmp");
        let mut file = std::fs::OpenOptions::new()
            .write(true)
            .create(true)
            .truncate(true)
            .mode(0o600)
            .open(&tmp)
            .map_err(|e| ProtocolError::io("could not create", &tmp, e))?;
        file.write_all(&bytes)
            .and_then(|()| file.sync_all())
            .map_err(|e| ProtocolError::io("could not write", &tmp, e))?;
        drop(file);
        std::fs::rename(&tmp, &self.path)
            .map_err(|e| ProtocolError::io("could not replace", &self.path, e))?;
        let dir = match self.path.parent() {
            Some(d) if !d.as_os_str().is_empty() => d,
            _ => Path::new("."),
        };
        std::fs::File::open(dir)
            .and_then(|d| d.sync_all())
            .map_err(|e| ProtocolError::io("could not sync directory", dir, e))
    }
}
