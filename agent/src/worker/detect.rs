//! Detectors in a worker: every recipe's `detect()` on its own thread, each result written on
//! stdout as soon as it is known, so the supervisor answers when the slowest one is done.

use std::time::Duration;

use cairn_engine::job::{self, JobOptions};
use cairn_engine::{CancelToken, Category, Recipe};

use super::job::recipe_of;
use crate::work::{Card, Found, Reply, VerifiedRecipe};

/// Runs every detector and reports each; returns when all have reported.
pub fn run(recipes: Vec<VerifiedRecipe>, timeout: Duration, engine_memory: Option<u64>) {
    std::thread::scope(|s| {
        for (index, v) in recipes.iter().enumerate() {
            s.spawn(move || {
                let reply = match recipe_of(v) {
                    Ok(recipe) => {
                        let result = detect(&recipe, timeout, engine_memory);
                        let mut reply = detected(index, &recipe, result);
                        if let Reply::Detected {
                            services,
                            pid_files,
                            ..
                        } = &mut reply
                        {
                            *services = super::services::reports(&recipe, &v.capabilities.services);
                            *pid_files =
                                super::services::pid_files(&recipe, &v.capabilities.services);
                        }
                        reply
                    }
                    Err(e) => Reply::Detected {
                        index,
                        id: v.recipe_id.clone(),
                        card: Card::Runtime,
                        estimated_size_mb: None,
                        result: Err(e),
                        services: Vec::new(),
                        pid_files: Default::default(),
                    },
                };
                super::reply(&reply);
            });
        }
    });
}

/// Reads scripts that failed verification, only to say which card each belongs on.
pub fn identify(recipes: Vec<VerifiedRecipe>) {
    for (index, v) in recipes.iter().enumerate() {
        if let Ok(recipe) = Recipe::parse(&v.file, &v.source) {
            super::reply(&detected(index, &recipe, Err(String::new())));
        }
    }
}

fn detect(recipe: &Recipe, timeout: Duration, engine_memory: Option<u64>) -> Result<Found, String> {
    let mut opts: JobOptions = super::job::options(CancelToken::new(), engine_memory);
    opts.limits.deadline = timeout + Duration::from_secs(5);
    let detection = job::detect(recipe, &opts)?;
    serde_json::to_value(detection)
        .and_then(serde_json::from_value)
        .map_err(|e| {
            format!(
                "{}: detect() returned what the agent cannot read: {e}",
                recipe.file
            )
        })
}

fn detected(index: usize, recipe: &Recipe, result: Result<Found, String>) -> Reply {
    Reply::Detected {
        index,
        id: recipe.meta.id.clone(),
        card: match recipe.meta.category {
            Category::Runtime => Card::Runtime,
            Category::Database => Card::Database,
            Category::Backup => Card::Backup,
        },
        estimated_size_mb: Some(recipe.meta.estimated_size_mb),
        result,
        services: Vec::new(),
        pid_files: Default::default(),
    }
}
