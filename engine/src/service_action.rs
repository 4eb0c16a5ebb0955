//! The built-in action `service`: start, stop, restart, enable or disable one of the services a
//! recipe declares (`capabilities.services`), without every recipe writing the same function.
//!
//! The engine adds it to the actions of every recipe that declares a service ([`add_to`], at
//! load time, after the recipe's own checks), so the catalogue, the control plane's
//! `RUN_ACTION`, its audit entries and plan mode treat it like any declared action. It runs no
//! script: [`run`] calls the same helpers as `service_start()` and friends, through the job's
//! [`Host`] and under the recipe's capabilities, so nothing new is trusted: the service must be
//! one the signed recipe declares (a choice among them, checked again against the
//! capabilities), and in plan mode the command is recorded, never run.

use serde_json::{Map, Value};

use crate::actions::ActionSpec;
use crate::error::HostError;
use crate::exec::Exec;
use crate::host::Host;
use crate::params::{ParamSpec, ParamType};
use crate::system::service;
use crate::translations::ActionTranslation;

/// The action's name, reserved: a recipe may not declare an action of its own called so.
pub use crate::actions::SERVICE_ACTION as NAME;

/// What may be done to a service, in the order the dashboard offers them.
pub const OPERATIONS: &[&str] = &["start", "stop", "restart", "enable", "disable"];

/// The action as the catalogue lists it, for a recipe declaring `services`.
pub fn spec(services: &[String]) -> ActionSpec {
    let choice = |name: &str, label: &str, options: Vec<String>| ParamSpec {
        name: name.to_owned(),
        kind: ParamType::Choice,
        label: label.to_owned(),
        default: None,
        pattern: None,
        options,
        option_notes: Default::default(),
        min: None,
        max: None,
        max_len: None,
        secret: false,
        multiline: false,
    };
    ActionSpec {
        name: NAME.to_owned(),
        title: "Control a service".to_owned(),
        description: "Starts, stops or restarts one of the recipe's services, or sets whether \
                      it starts at boot."
            .to_owned(),
        params: vec![
            choice("service", "Service", services.to_vec()),
            choice(
                "operation",
                "Operation",
                OPERATIONS.iter().map(|s| (*s).to_owned()).collect(),
            ),
        ],
        destructive: false,
        confirm: None,
    }
}

/// The action's words in `lang`, for the languages the dashboard speaks besides English.
fn translation(lang: &str) -> Option<ActionTranslation> {
    match lang {
        "fr" => Some(ActionTranslation {
            title: "Piloter un service".to_owned(),
            description: "Démarre, arrête ou redémarre l’un des services de la recette, ou \
                          choisit s’il démarre avec le serveur."
                .to_owned(),
            params: [("service", "Service"), ("operation", "Opération")]
                .into_iter()
                .map(|(k, v)| (k.to_owned(), v.to_owned()))
                .collect(),
        }),
        _ => None,
    }
}

/// Adds the action (and its words in each language the recipe is translated into) to a checked
/// recipe that declares at least one service.
/// Takes the recipe's parts, not the recipe, which is read in `recipe.rs` above this module.
pub(crate) fn add_to(
    services: &[String],
    actions: &mut Vec<ActionSpec>,
    translations: &mut crate::translations::Translations,
) {
    if services.is_empty() {
        return;
    }
    actions.push(spec(services));
    for (lang, words) in translations.iter_mut() {
        if let Some(t) = translation(lang) {
            words.actions.insert(NAME.to_owned(), t);
        }
    }
}

/// Runs the action with `params` already validated against [`spec`]: the service helper for the
/// operation, after checking the service against the capabilities once more. Returns what the
/// job reports: the service and the operation (and, when it ran, whether the service runs now).
pub(crate) fn run(host: &Host, params: &Map<String, Value>) -> Result<Value, String> {
    let text = |k: &str| params.get(k).and_then(Value::as_str).unwrap_or_default();
    let (name, operation) = (text("service"), text("operation"));
    host.caps.check_service(name).map_err(|e| e.to_string())?;
    let helper: fn(&dyn Exec, &str) -> Result<(), HostError> = match operation {
        "start" => service::start,
        "stop" => service::stop,
        "restart" => service::restart,
        "enable" => service::enable,
        "disable" => service::disable,
        other => {
            return Err(format!(
                "`{}` is not something Cairn does to a service (it can {}); nothing was changed",
                other.escape_debug(),
                OPERATIONS.join(", ")
            ));
        }
    };
    helper(host, name).map_err(|e| e.to_string())?;
    let mut report = Map::new();
    report.insert("service".into(), Value::from(name));
    report.insert("operation".into(), Value::from(operation));
    if !host.plan_mode() && matches!(operation, "start" | "stop" | "restart") {
        // The init script's exit code is not the whole story (a daemon may die right after it
        // forked): the job says what the service's own status says.
        let running = service::is_running(host, name).map_err(|e| e.to_string())?;
        if running == (operation == "stop") {
            return Err(format!(
                "the {operation} of {name} finished, but {name} is {} now; its log on the \
                 Services card may say why",
                if running {
                    "still running"
                } else {
                    "not running"
                }
            ));
        }
        report.insert("running".into(), Value::from(running));
    }
    Ok(Value::Object(report))
}
