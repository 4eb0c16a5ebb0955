//! Plans on the agent: the engine's summary of a plan as the protocol carries it, and the check
//! a confirmed run makes before it starts: the recipe is planned again, and what differs from
//! the plan its user confirmed is said in the job's console as a sentence.

use cairn_engine::job::{self, Action, JobOptions, Mode};
use cairn_engine::{EventTx, Recipe, summary};
use cairn_protocol::messages::{PlanBasis, PlanSummary};
use serde_json::{Map, Value};

/// The engine's summary in the protocol's shape (the same JSON, field for field).
pub fn to_protocol(s: &cairn_engine::PlanSummary) -> PlanSummary {
    serde_json::to_value(s)
        .and_then(serde_json::from_value)
        .unwrap_or_default()
}

/// The protocol's summary in the engine's shape.
fn to_engine(s: &PlanSummary) -> cairn_engine::PlanSummary {
    serde_json::to_value(s)
        .and_then(serde_json::from_value)
        .unwrap_or_default()
}

/// Plans `recipe` again with `params` and compares with what the user confirmed: the sentence
/// for the job's console, and whether it is a warning (the server changed since the preview).
/// Planning executes nothing, so this changes nothing either.
pub fn recheck(
    recipe: &Recipe,
    action: Action,
    params: &Map<String, Value>,
    opts: &JobOptions,
    basis: &PlanBasis,
) -> (String, bool) {
    let opts = JobOptions {
        mode: Mode::Plan,
        ..opts.clone()
    };
    let report = job::run(recipe, action, params, &opts, None::<EventTx>);
    if let cairn_engine::Outcome::Failed { error, .. } = &report.outcome {
        return (
            format!(
                "The server could not be planned again before this run ({error}); what follows may differ from the preview."
            ),
            true,
        );
    }
    let said = summary::differences(&to_engine(&basis.summary), &report.summary);
    if said.is_empty() {
        return (
            "The server is as the preview found it: this run makes the changes it listed."
                .to_owned(),
            false,
        );
    }
    (
        format!(
            "The server changed since the preview: {}. This run does what is needed now.",
            said.join("; ")
        ),
        true,
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_summary_crosses_to_the_protocol_and_back_without_losing_a_size() {
        let engine = cairn_engine::PlanSummary {
            packages: vec![summary::PackageChange {
                name: "ruby".into(),
                version: "1:3.1".into(),
                action: summary::PackageAction::Install,
                download_bytes: Some(11_488),
                installed_bytes: Some(30_720),
            }],
            users: vec!["app".into()],
            ports: vec!["127.0.0.1:5432".into()],
            ..Default::default()
        };
        let wire = to_protocol(&engine);
        assert_eq!(wire.packages[0].download_bytes, Some(11_488));
        assert_eq!(wire.packages[0].installed_bytes, Some(30_720));
        assert_eq!(wire.users, vec!["app".to_owned()]);
        assert_eq!(to_engine(&wire), engine);
    }
}
