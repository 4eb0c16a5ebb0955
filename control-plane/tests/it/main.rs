//! Integration tests: each starts a real control plane on 127.0.0.1:0 and talks to it as a
//! browser, a dashboard or an agent would.

mod agents;
mod alert_channels;
mod auth;
mod csrf;
mod detectors;
mod headers;
mod install;
mod jobs;
mod recipes;
mod said;
mod sessions;
mod settings;
mod states;
mod submission_cancel;
mod submission_caps;
mod submissions;
mod system_status;
mod two_factor;
mod users;
mod util;
mod withdraw;
