//! Withdrawing an approved submission: the undo of an approval. Agents refuse a recipe older
//! than one they ran (`cairn_protocol::rollback`), so a withdrawal cannot send the old version
//! back: it publishes the content that came before — the approved submission below it, else the
//! file shipped in `recipes/` — again, with its text's `RECIPE.version` raised one above the
//! version published now (`crate::reversion`). A recipe that only ever came from submissions
//! has nothing before it: it leaves the catalogue (servers keep what they installed).
//!
//! The submission is marked `withdrawn`, and the version the withdrawal published is its
//! recipe's floor (`store::Withdrawal`), so a restart or a reload publishes the same thing.
//! Withdrawing again goes one step further back. [`plan`] is what the page shows before the
//! admin types the recipe's id; the route (`http::submissions::withdraw`) acts on it.

use std::sync::Arc;

use serde::Serialize;

use super::{diff, layers, load, overlay, published};
use crate::app::App;
use crate::registry::Registry;
use crate::store::{self, Submission, SubmissionState};

/// What a withdrawal publishes instead.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(tag = "kind", rename_all = "lowercase")]
pub enum Restores {
    /// The approved submission below the withdrawn one.
    Submission { id: String, version: u64 },
    /// The recipe shipped in `recipes/`.
    Shipped,
    /// Nothing: the recipe leaves the catalogue.
    Nothing,
}

/// What withdrawing a submission does, before it is done.
#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Plan {
    pub recipe_id: String,
    /// The version published now (the submission's, or its own raised by an earlier
    /// withdrawal).
    pub from_version: u64,
    /// The version servers get from their next job on (`None`: nothing is left).
    pub published_as: Option<u64>,
    pub restores: Restores,
    /// From what is published now to what will be.
    pub diff: Option<diff::Diff>,
}

/// Why a submission cannot be withdrawn now; nothing was changed.
#[derive(Debug)]
pub enum Refused {
    /// It is not the version the registry publishes (409).
    NotPublished(String),
    /// What came before cannot be published again (409).
    Unpublishable(String),
    /// The store or a blocking task failed (500).
    Internal(String),
}

/// What withdrawing `sub` would do, with the registry as it would then be (not put in place).
pub async fn plan(app: &Arc<App>, sub: &Submission) -> Result<(Plan, Registry), Refused> {
    let id = sub.recipe_id.clone();
    let from_version = {
        let reg = app.registry();
        let entry = reg.catalogue.iter().find(|e| e.id == id && e.published);
        match entry {
            Some(e)
                if sub.state == SubmissionState::Approved
                    && e.submission.as_deref() == Some(sub.id.as_str()) =>
            {
                e.version.unwrap_or(sub.version)
            }
            _ => {
                let now = match entry.and_then(|e| e.version) {
                    Some(v) => format!("the registry publishes {id} v{v}"),
                    None => format!("the registry publishes no version of {id}"),
                };
                return Err(Refused::NotPublished(format!(
                    "submission {} is {} and {now}: only the version published now can be \
                     withdrawn; nothing was changed",
                    sub.id,
                    sub.state.as_str()
                )));
            }
        }
    };
    let published_as = from_version + 1;
    let (withdrawn, recipe) = (sub.id.clone(), id.clone());
    let (mut next, below) = store::blocking(&app.store, move |st| {
        // The approved submission below it: the overlay once this one is withdrawn.
        let below = st
            .submissions()?
            .into_iter()
            .filter(|s| {
                s.recipe_id == recipe && s.id != withdrawn && s.state == SubmissionState::Approved
            })
            .max_by_key(|s| s.version);
        Ok((layers(st)?, below))
    })
    .await
    .map_err(|e| Refused::Internal(e.to_string()))?;
    next.overlays.retain(|o| o.recipe_id != id);
    next.overlays.extend(below.as_ref().map(overlay));
    next.floors.insert(id.clone(), published_as);
    let below = below.map(|b| (b.id, b.version));
    let reg = load(app, next)
        .await
        .map_err(|e| Refused::Internal(e.to_string()))?;
    let after = reg.catalogue.iter().find(|e| e.id == id);
    let restores = match after {
        None => Restores::Nothing,
        Some(e) if e.published && e.version == Some(published_as) => match &e.submission {
            Some(s) => Restores::Submission {
                id: s.clone(),
                version: below.filter(|(b, _)| b == s).map_or(0, |(_, v)| v),
            },
            None => Restores::Shipped,
        },
        Some(e) => {
            let why = e.error.clone().unwrap_or_else(|| {
                format!(
                    "recipes/{id}.rhai is v{}, above the v{published_as} a withdrawal publishes",
                    e.version.unwrap_or(0)
                )
            });
            return Err(Refused::Unpublishable(format!(
                "the registry could not publish what came before {}; nothing was changed: {why}",
                sub.id
            )));
        }
    };
    let diff = {
        let now = published(&app.registry(), &id);
        published(&reg, &id).map(|new| diff::diff(now.as_ref(), &new))
    };
    let plan = Plan {
        recipe_id: id,
        from_version,
        published_as: (restores != Restores::Nothing).then_some(published_as),
        restores,
        diff,
    };
    Ok((plan, reg))
}
