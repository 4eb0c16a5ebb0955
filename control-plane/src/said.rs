//! Which sentence a message is: the English sentences that reach the dashboard (the control
//! plane's own, and the agent's and the engine's that it relays), each with a stable code, so
//! that the page says them in its own language (`said.CODE` in `ui/src/lib/i18n/`) and shows
//! the English `message` only for a sentence it does not know.
//!
//! The agent and the engine write their sentences without a code (the agent's `JOB_FAILED` and
//! `ERROR` carry none), so the control plane recognises them here, by their English template,
//! where they leave for the page: HTTP errors (`web::json_error`), the dashboard socket's
//! `ERROR`, and the agent's `JOB_FAILED` and `ERROR` as they are stored and relayed. A
//! template's `{name}` parts are the sentence's variable parts (`args`); `{name:REGEX}` says
//! what such a part looks like when the next part follows it directly.

use std::collections::BTreeMap;
use std::sync::LazyLock;

use cairn_protocol::dashboard::Said;
use regex::Regex;

/// Code → English template. Keep the templates word for word what the sentences say: a
/// sentence that drifts from its template shows in English (the page falls back to it).
pub const SENTENCES: &[(&str, &str)] = &[
    // A job's failure, from the agent (`agent/src/journal.rs`, `agent/src/runner.rs`).
    (
        "job.interrupted",
        "the agent restarted while this job was running; run it again",
    ),
    (
        "job.planOnly",
        "this agent runs in plan-only mode (it was not started as root): it can show what this \
         would change, but not change it; run the agent as root to install",
    ),
    (
        "job.agentInternal",
        "the agent hit an internal error while running this job; see its log",
    ),
    (
        "job.recipeMismatch",
        "the command names recipe {named} but its bundle holds {held}; nothing was run",
    ),
    (
        "job.capabilitiesDiffer",
        "recipe {recipe}: the capabilities its script declares differ from the signed ones; \
         nothing was run",
    ),
    // A job's failure, from the agent's supervisor (`agent/src/supervise.rs`, `procs.rs`).
    (
        "job.cancelledBeforeStart",
        "the job was cancelled before it started; nothing ran",
    ),
    (
        "job.cancelKilled",
        "the job was cancelled; it did not stop within {secs} s of the cancel, so it was killed with everything it had started",
    ),
    (
        "job.workerNotStarted",
        "the agent could not start its worker {program} ({error}); install the agent again with the command from Connect node, which puts cairn-agent-worker next to cairn-agent",
    ),
    (
        "job.workerOutOfMemory",
        "The job needed more memory than its limit of {mib} MiB and was stopped; what it printed before is above. Nothing after that ran.",
    ),
    (
        "job.workerKilled",
        "The job's worker process was killed (SIGKILL) before the job finished, by the kernel when the server ran out of memory or by someone on the server; what it printed before is above. Run the job again.",
    ),
    (
        "job.workerCpu",
        "The job used more processor time than it is allowed and was stopped.",
    ),
    (
        "job.workerSignal",
        "The job's worker process stopped with signal {signal} before the job finished; what it printed before is above. Run the job again; if it happens again, the agent's log on the server says more.",
    ),
    (
        "job.workerExited",
        "The job's worker process exited (code {code:-?[0-9]+}) without saying how the job ended{detail}. Run the job again.",
    ),
    (
        "job.workerGone",
        "The job's worker process ended while the agent was restarting, without saying how the job ended. Run the job again.",
    ),
    // A job's failure, from the engine (`engine/src/error.rs`).
    ("job.cancelled", "the job was cancelled"),
    (
        "job.commandFailed",
        "`{command}` failed with exit code {code:-?[0-9]+}{detail}",
    ),
    (
        "job.timedOut",
        "`{command}` did not finish within {secs} s and was stopped together with every \
         process it started",
    ),
    (
        "job.deadline",
        "the recipe ran past its deadline of {secs} s and was stopped",
    ),
    (
        "job.programNotAllowed",
        "the recipe tried to run `{program}`, which is not among the programs it declared in \
         its capabilities; nothing was started",
    ),
    (
        "job.serviceNotAllowed",
        "the recipe may not control the service `{service}`: it is not among the services it \
         declared in its capabilities",
    ),
    (
        "job.checksum",
        "the file downloaded from {url} does not have the expected checksum (expected sha256 \
         {expected}, got {actual}); it was deleted and nothing was installed",
    ),
    // A job's console lines, from the agent (`agent/src/plans.rs`).
    (
        "log.asPreviewed",
        "The server is as the preview found it: this run makes the changes it listed.",
    ),
    (
        "log.changedSincePreview",
        "The server changed since the preview: {changes}. This run does what is needed now.",
    ),
    (
        "log.notPlannedAgain",
        "The server could not be planned again before this run ({error}); what follows may \
         differ from the preview.",
    ),
    // A job's console lines, from the engine (`engine/src/system/`).
    ("log.alreadyInstalled", "Already installed: {packages}"),
    (
        "log.listsFirst",
        "The package lists have never been downloaded here: running apt-get update first.",
    ),
    ("log.installed", "Installed {name} {version}"),
    (
        "log.waitingForCairn",
        "Waiting for another installation in Cairn to finish…",
    ),
    (
        "log.packageManagerFree",
        "The package manager is free again.",
    ),
    (
        "log.waitingForPackageManager",
        "Waiting for the package manager: {path} is held by {holder}",
    ),
    (
        "log.initScript",
        "systemd is not PID 1 here: using the init script",
    ),
    ("log.downloading", "Downloading {url} to {dest}"),
    // The agent's `ERROR` (`agent/src/agent.rs`).
    ("agent.noJob", "no job {job} is running on this server"),
    (
        "agent.jobExists",
        "job {job} already exists on this server; a job id is used once",
    ),
    // The dashboard socket's `ERROR` (`ws_dashboard/`, `plans.rs`).
    (
        "node.offline",
        "node {node} is offline; wait for its agent to reconnect, then try again",
    ),
    (
        "node.busy",
        "node {node}'s agent is not taking commands as fast as they come; try again in a minute",
    ),
    ("node.unknown", "there is no node \"{node:[^\"]*}\""),
    ("session.ended", "your session has ended; sign in again"),
    (
        "preview.unknown",
        "this preview is no longer known (it is over an hour old, or the control plane \
         restarted); preview the change again, then confirm",
    ),
    (
        "preview.otherTarget",
        "this preview was made for {previewed} on another server or another recipe, not \
         {recipe}; preview the change again, then confirm",
    ),
    (
        "preview.waiting",
        "the preview has not arrived yet: wait for it, then confirm",
    ),
    (
        "preview.failed",
        "the preview failed, so there is nothing to confirm; preview the change again, then \
         confirm",
    ),
    (
        "preview.recipeChanged",
        "the recipe {recipe} changed on the control plane since the preview; preview the \
         change again, then confirm",
    ),
    (
        "preview.settingsChanged",
        "the settings differ from the ones previewed; preview the change again, then confirm",
    ),
    (
        "preview.notFound",
        "there is no preview {job} on node {node}",
    ),
    // A recipe's declared actions (`ws_dashboard/actions.rs`, `agent/src/worker/job.rs`).
    (
        "action.unknown",
        "the recipe \"{recipe}\" has no action \"{action}\"; nothing was run",
    ),
    (
        "action.unconfirmed",
        "\"{action}\" cannot be undone, so it runs only when {param} is typed again exactly as \
         given; it was not, and nothing was run",
    ),
    (
        "job.noAction",
        "recipe {recipe} has no action {action} (its actions: {actions}); nothing was run",
    ),
    // Refused sign-ins as the audit log tallies them (`auth/refusals.rs`), each a part of an
    // entry's result ("3 × wrong username or password; 1 × refused unchecked: …").
    ("audit.wrongPassword", "{n} × wrong username or password"),
    (
        "audit.addressLocked",
        "{n} × refused unchecked: address locked out",
    ),
    (
        "audit.accountLocked",
        "{n} × refused unchecked: account locked out",
    ),
    (
        "audit.busy",
        "{n} × refused unchecked: too many sign-ins at once",
    ),
    // HTTP errors (`http/`, `web/`).
    ("http.signIn", "sign in first"),
    (
        "http.signInRoute",
        "sign in first: this route needs a dashboard session",
    ),
    ("http.wrongPassword", "wrong username or password"),
    (
        "http.tooManyFromAddress",
        "too many failed sign-ins from your address; try again in {secs} seconds",
    ),
    (
        "http.tooManyForAccount",
        "too many failed sign-ins for this account from other addresses; try again in {secs} \
         seconds, or sign in from an address you have signed in from before",
    ),
    (
        "http.tooManyChecks",
        "the control plane is checking too many sign-ins at once; try again in a moment",
    ),
    ("http.noJob", "there is no job with this id"),
    (
        "http.nodeName",
        "a node name is 1 to 64 letters, digits, spaces, dots, dashes or underscores",
    ),
    (
        "http.internal",
        "the control plane could not complete this request; see its log",
    ),
    ("http.failed", "the control plane failed; see its log"),
    ("http.notFound", "there is nothing at this address"),
    ("http.tooLarge", "the request body is too large"),
    (
        "http.publicUrlByFlag",
        "the public address is set by --public-url (or CAIRN_PUBLIC_URL) where the control \
         plane is started; change it there",
    ),
    (
        "http.noAgentBinary",
        "this control plane has no agent binary to serve ({path} does not exist): build it \
         with scripts/build-agent-glibc231 and start the control plane with --agent-binary PATH",
    ),
    (
        "http.noWorkerBinary",
        "this control plane has no agent worker binary to serve ({path} does not exist): the \
         worker must be next to the agent binary; build both with scripts/build-agent-glibc231 \
         and start the control plane with --agent-binary PATH",
    ),
    (
        "http.crossSite",
        "this request came from another site; the control plane accepts changes only from its \
         own pages at {origin}",
    ),
    // Alerts and their channels (`alerts/`, `http/alerts.rs`, `http/alert_channels.rs`).
    ("alerts.httpStatus", "{address} answered HTTP {code}"),
    (
        "alerts.httpTimeout",
        "{address} did not answer within {secs} s",
    ),
    ("alerts.httpNoHost", "the host of {address} was not found"),
    ("alerts.httpConnect", "could not connect to {address}"),
    (
        "alerts.httpTls",
        "the TLS connection to {address} failed (certificate?)",
    ),
    ("alerts.httpFailed", "the request to {address} failed"),
    (
        "alerts.mailRefused",
        "the mail server {server} refused the message",
    ),
    (
        "alerts.mailLater",
        "the mail server {server} could not take the message now",
    ),
    (
        "alerts.mailTimeout",
        "the mail server {server} did not answer in time",
    ),
    (
        "alerts.mailTls",
        "the mail server {server} could not agree on TLS (STARTTLS is required; is its certificate trusted?)",
    ),
    (
        "alerts.mailUnreachable",
        "the mail server {server} could not be reached",
    ),
    (
        "alerts.caCertUnreadable",
        "the channel's CA certificate could not be read",
    ),
    (
        "alerts.kindChange",
        "a channel's kind cannot change: delete it and add a new one",
    ),
    (
        "alerts.kindMissing",
        "say which kind of channel: email, webhook, slack, discord or ntfy",
    ),
    (
        "alerts.channelName",
        "a channel's name is 1 to 64 characters, without control characters",
    ),
    (
        "alerts.smtpHost",
        "give the SMTP server's host name (without port or scheme)",
    ),
    ("alerts.mailFrom", "give the address mail is sent from"),
    (
        "alerts.mailTo",
        "give 1 to 20 addresses to send the alerts to",
    ),
    (
        "alerts.notAnAddress",
        "\"{address}\" is not an email address",
    ),
    (
        "alerts.caCertPem",
        "the CA certificate must be in PEM form (-----BEGIN CERTIFICATE-----)",
    ),
    (
        "alerts.urlForm",
        "give the channel's address as an http:// or https:// URL",
    ),
    ("alerts.urlMissing", "give the channel's address (URL)"),
    (
        "alerts.webhookSecret",
        "give the webhook a secret: its bodies are signed with it (X-Cairn-Signature)",
    ),
    (
        "alerts.tooManyChannels",
        "there are already {n} channels: delete one first",
    ),
    (
        "alerts.noChannel",
        "there is no alert channel \"{id:[^\"]*}\"",
    ),
    (
        "alerts.thresholdRange",
        "the {rule} rule's threshold is from {lo} to {hi}",
    ),
    ("alerts.noThreshold", "the {rule} rule has no threshold"),
    (
        "alerts.durationMax",
        "a rule's duration is at most 7 days (604800 s)",
    ),
    (
        "alerts.muteLength",
        "a mute lasts 1 minute to 30 days (43200 minutes)",
    ),
    (
        "alerts.noNode",
        "there is no node \"{node:[^\"]*}\" (it may have been removed)",
    ),
    (
        "alerts.noRuleOf",
        "there is no alert rule \"{name:[^\"]*}\": the rules are offline, disk, memory, load, \
         service, backup and drill",
    ),
    ("alerts.noRule", "there is no alert rule \"{name:[^\"]*}\""),
    ("alerts.stateWord", "state is firing, resolved or closed"),
    (
        "alerts.ruleJson",
        "send {\"enabled\": true, \"threshold\": 90, \"durationSecs\": 300} (any of them) as JSON",
    ),
    (
        "alerts.overrideJson",
        "send {\"enabled\": false} and/or {\"threshold\": 95} as JSON (null: as the rule says)",
    ),
    (
        "alerts.muteJson",
        "send {\"rule\": \"disk\", \"nodeId\": \"…\" (or none: every node), \"minutes\": 60} as JSON",
    ),
    ("alerts.noMuteNamed", "there is no mute \"{id:[^\"]*}\""),
    ("alerts.noMute", "there is no mute {id} (it may have ended)"),
    (
        "alerts.channelJson",
        "send the channel as JSON: {\"kind\": \"webhook\", \"name\": \"ops\", \"url\": \"https://…\", \
         \"secret\": \"…\"} (email: host, port, username, password, from, to)",
    ),
    ("alerts.testNotRun", "the test could not be run"),
    // A notice's delivery (`alerts/deliver.rs`, `alerts/sender.rs`), stored on the alert and
    // its channel, and the answer to "Send test".
    ("alerts.noAddress", "the channel has no address"),
    ("alerts.noSmtpHost", "the channel has no SMTP host"),
    ("alerts.noSender", "the channel has no sender address"),
    (
        "alerts.messageNotMade",
        "the message could not be made: {error}",
    ),
    ("alerts.tlsSetup", "TLS could not be set up: {error}"),
    (
        "alerts.channelsUnreadable",
        "the channels could not be read; see the control plane's log",
    ),
    // Recipe submissions (`submissions/`, `http/submissions.rs`).
    (
        "submissions.json",
        "send the recipe as JSON: its text as \"source\", its file's name as \"file\" and its \
         companion files as \"files\" (each name with its text)",
    ),
    (
        "submissions.empty",
        "the recipe is empty: send its text as \"source\"",
    ),
    (
        "submissions.checkFailed",
        "the recipe did not pass the check ({n:[0-9]+} error{s:s?}); nothing was stored: {found}",
    ),
    (
        "submissions.unreadable",
        "the recipe did not pass the check; nothing was stored: {error}",
    ),
    (
        "submissions.tooManyFiles",
        "a recipe has at most {max} companion files; this one sent {n}",
    ),
    (
        "submissions.fileName",
        "the companion file \"{name}\" is not named as the registry names them: {id}.NAME \
         (letters, digits, dots, dashes, underscores), not .rhai",
    ),
    (
        "submissions.notNewer",
        "{id} v{published} is published and this is v{version}: a submission must have a \
         higher version, so raise RECIPE.version above {published} and submit it again",
    ),
    // A submission refused by the pending caps (`submissions/quota.rs`).
    (
        "submissions.pendingYours",
        "you already have {held} recipe submissions waiting for review and one account may keep \
         at most {max}; nothing was stored: cancel one of yours, wait until an admin approves \
         or rejects one, or send the next version of a recipe already waiting, which replaces it",
    ),
    (
        "submissions.pendingYoursBytes",
        "your recipe submissions waiting for review already hold {held} KiB and this one has \
         {size} KiB, past the {max} KiB one account may keep pending; nothing was stored: \
         cancel some of yours, wait until an admin approves or rejects some, or send the next \
         version of a recipe already waiting, which replaces it",
    ),
    (
        "submissions.pendingAll",
        "the control plane already keeps {held} recipe submissions waiting for review, the most \
         it keeps ({max}); nothing was stored: ask an admin to approve or reject the ones \
         waiting, then submit again",
    ),
    (
        "submissions.pendingAllBytes",
        "the recipe submissions waiting for review already hold {held} KiB and this one has \
         {size} KiB, past the {max} KiB the control plane keeps pending; nothing was stored: \
         ask an admin to approve or reject the ones waiting, then submit again",
    ),
    (
        "submissions.none",
        "there is no recipe submission with this id",
    ),
    (
        "submissions.approvedAlready",
        "submission {id} is approved already, not pending; nothing was changed",
    ),
    (
        "submissions.rejectedAlready",
        "submission {id} is rejected already, not pending; nothing was changed",
    ),
    (
        "submissions.supersededAlready",
        "submission {id} is superseded by a newer one, not pending; nothing was changed",
    ),
    (
        "submissions.withdrawnAlready",
        "submission {id} was approved and then withdrawn, not pending; nothing was changed",
    ),
    (
        "submissions.cancelledAlready",
        "submission {id} is cancelled already, not pending; nothing was changed",
    ),
    (
        "submissions.decidedMeanwhile",
        "submission {id} was just decided by someone else; reload the page to see how; nothing \
         was changed",
    ),
    (
        "submissions.unreadableNow",
        "the engine no longer reads this recipe; nothing was changed: {error}",
    ),
    (
        "submissions.notPublishedNewer",
        "the registry could not publish {id}; nothing was changed: a recipe in recipes/ is as \
         new or newer",
    ),
    (
        "submissions.notPublished",
        "the registry could not publish {id}; nothing was changed: {error}",
    ),
    ("submissions.noDiff", "the diff could not be made: {error}"),
    (
        "submissions.submitted",
        "{target} is submitted as {id} and waits for an admin: no server gets it until an admin \
         approves it in the dashboard (Recipes, Submissions)",
    ),
    (
        "submissions.approved",
        "Signed {target} and offered it to every server; it gains no capability.",
    ),
    (
        "submissions.approvedGrown",
        "Signed {target} and offered it to every server; it gains: {grown}.",
    ),
    (
        "submissions.rejected",
        "Rejected {target}: no server gets it.",
    ),
    // Cancelling a pending submission (`http/submission_cancel.rs`).
    (
        "submissions.cancelNotYours",
        "submission {id} was sent by {submitter}: only its submitter or an admin may cancel it; \
         nothing was changed",
    ),
    (
        "submissions.cancelByToken",
        "submission {id} was sent by {submitter}: an API token cancels only its own account's \
         submissions, so cancel it in the dashboard; nothing was changed",
    ),
    (
        "submissions.cancelled",
        "Cancelled {target}: it was never published and no longer waits for review.",
    ),
    (
        "alerts.channelConfirm",
        "the confirmation does not match: type the channel's name \"{name}\" to delete it",
    ),
    // A recipe submission's withdrawal (`http/submissions.rs`, `submissions/`).
    (
        "recipe.withdrawJson",
        "send {\"confirm\": \"RECIPE ID\"} as JSON: withdrawing a recipe needs its id typed",
    ),
    (
        "recipe.withdrawConfirm",
        "the confirmation does not match: type the recipe's id \"{recipe}\" to withdraw it",
    ),
    (
        "recipe.withdrawNotPublished",
        "submission {id} is {state} and the registry publishes {recipe} v{version:[0-9]+}: only the \
         version published now can be withdrawn; nothing was changed",
    ),
    (
        "recipe.withdrawNothingPublished",
        "submission {id} is {state} and the registry publishes no version of {recipe}: only the \
         version published now can be withdrawn; nothing was changed",
    ),
    (
        "recipe.withdrawnMeanwhile",
        "submission {id} was withdrawn by someone else meanwhile; nothing was changed",
    ),
    (
        "recipe.belowFloor",
        "{recipe} was withdrawn and servers may have run up to v{ran:[0-9]+}: a submission must be \
         v{floor} or higher, so raise RECIPE.version to {floor} and submit it again",
    ),
];

/// Each template as an anchored pattern, with its parts' names in order.
static PATTERNS: LazyLock<Vec<(&'static str, Regex, Vec<String>)>> = LazyLock::new(|| {
    SENTENCES
        .iter()
        .map(|(code, template)| {
            let (re, names) = pattern(template);
            (*code, re, names)
        })
        .collect()
});

fn pattern(template: &str) -> (Regex, Vec<String>) {
    let mut source = String::from("(?s)^");
    let mut names = Vec::new();
    let mut rest = template;
    // `{name}` is a part; a `{` not followed by a name is the sentence's own (JSON examples).
    while let Some(open) = rest
        .char_indices()
        .find(|&(i, c)| {
            c == '{'
                && rest[i + 1..]
                    .chars()
                    .next()
                    .is_some_and(|n| n.is_ascii_alphabetic())
        })
        .map(|(i, _)| i)
    {
        let Some(close) = rest[open..].find('}').map(|c| open + c) else {
            break;
        };
        source.push_str(&regex::escape(&rest[..open]));
        let part = &rest[open + 1..close];
        let (name, shape) = part.split_once(':').unwrap_or((part, ".*?"));
        source.push_str(&format!("({shape})"));
        names.push(name.to_owned());
        rest = &rest[close + 1..];
    }
    source.push_str(&regex::escape(rest));
    source.push('$');
    let re = Regex::new(&source).expect("a template of SENTENCES is a valid pattern");
    (re, names)
}

/// The code and variable parts of `message`, when it is a sentence of [`SENTENCES`].
pub fn said(message: &str) -> Said {
    for (code, re, names) in PATTERNS.iter() {
        if let Some(caps) = re.captures(message) {
            let args: BTreeMap<String, String> = names
                .iter()
                .enumerate()
                .map(|(i, n)| {
                    (
                        n.clone(),
                        caps.get(i + 1).map_or("", |m| m.as_str()).to_owned(),
                    )
                })
                .collect();
            return Said {
                message_code: Some((*code).to_owned()),
                message_args: (!args.is_empty()).then_some(args),
            };
        }
    }
    Said::default()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_known_sentence_gets_its_code_and_its_parts() {
        let s = said("`apt-get install -y redis` failed with exit code 100: E: no space left");
        assert_eq!(s.message_code.as_deref(), Some("job.commandFailed"));
        let args = s.message_args.expect("args");
        assert_eq!(args["command"], "apt-get install -y redis");
        assert_eq!(args["code"], "100");
        assert_eq!(args["detail"], ": E: no space left");
        let s = said("the agent restarted while this job was running; run it again");
        assert_eq!(s.message_code.as_deref(), Some("job.interrupted"));
        assert_eq!(s.message_args, None);
    }

    #[test]
    fn an_unknown_sentence_gets_no_code() {
        assert_eq!(said("Go 9.9 is not offered for amd64"), Said::default());
        // Whole sentences only: a known one inside a longer one is not it.
        assert_eq!(said("the job was cancelled, then resumed"), Said::default());
    }

    #[test]
    fn every_template_is_a_valid_pattern_with_one_code() {
        for (i, (code, template)) in SENTENCES.iter().enumerate() {
            let _ = pattern(template);
            assert!(
                !SENTENCES[..i].iter().any(|(c, _)| c == code),
                "{code} twice"
            );
        }
    }

    /// Files whose sentences reach the page (answers, and what is stored to be shown later).
    const SPEAKING: &[&str] = &[
        "src/http/submissions.rs",
        "src/http/submission_cancel.rs",
        "src/submissions/mod.rs",
        "src/submissions/quota.rs",
        "src/alerts/deliver.rs",
        "src/alerts/sender.rs",
        "src/alerts/channels.rs",
        "src/http/alerts.rs",
        "src/http/alert_channels.rs",
    ];

    /// Every sentence `file` writes where an answer or a stored failure takes it: a literal (or
    /// a `format!`'s, each `{…}` of it as `X`) given to `json_error`, `Err`, `Refused`,
    /// `ok_or`, `map_err`, a `Failure`, a match arm, or bound as `why` or `message`.
    fn written(file: &str) -> Vec<String> {
        let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join(file);
        let text = std::fs::read_to_string(&path).expect("a source file");
        let text = text.split("#[cfg(test)]").next().unwrap_or_default();
        let marker = Regex::new(
            r#"(?:json_error\(\s*StatusCode::\w+,\s*&?|Refused::\w+\(\s*|Err\(\s*|ok_or\(\s*|map_err\(\|[^|]*\|\s*|Failure::new\(\s*(?:""|[^",]*),\s*[^,]*,\s*|=>\s*|let (?:why|message) =\s*)(format!\(\s*)?"((?:[^"\\]|\\.)*)""#,
        )
        .expect("pattern");
        let continued = Regex::new(r"\\\n\s*").expect("pattern");
        let placeholder = Regex::new(r"\{[^{}]*\}").expect("pattern");
        marker
            .captures_iter(text)
            .map(|c| {
                let literal = continued.replace_all(&c[2], "");
                let literal = literal.replace("\\\"", "\"").replace("\\n", "\n");
                if c.get(1).is_some() {
                    let holed = literal.replace("{{", "\u{1}").replace("}}", "\u{2}");
                    placeholder
                        .replace_all(&holed, "X")
                        .replace('\u{1}', "{")
                        .replace('\u{2}', "}")
                } else {
                    literal
                }
            })
            // A sentence has words: not an id's prefix (`sub-{}`).
            .filter(|s| s.contains(' '))
            .collect()
    }

    #[test]
    fn every_sentence_submissions_and_alerts_answer_with_has_a_code() {
        let mut seen = 0;
        let mut unknown = Vec::new();
        for file in SPEAKING {
            for sentence in written(file) {
                seen += 1;
                if said(&sentence).message_code.is_none() {
                    unknown.push(format!("{file}: {sentence}"));
                }
            }
        }
        // The scan itself still finds the sentences (a marker that stopped matching would
        // make this test pass on nothing).
        assert!(seen >= 45, "only {seen} sentences found");
        assert!(
            unknown.is_empty(),
            "sentences without a code in said.rs (and so without French):\n{}",
            unknown.join("\n")
        );
    }

    /// `'said.CODE': '…'` of one of the dashboard's dictionaries.
    fn dictionary(lang: &str) -> BTreeMap<String, String> {
        let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
            .join(format!("../ui/src/lib/i18n/{lang}.ts"));
        let text = std::fs::read_to_string(&path).expect("the dashboard's dictionary");
        let re = Regex::new(
            r#"(?m)^\s*'(said\.[\w.]+)':\s*(?:\n\s*)?(?:'((?:\\.|[^'])*)'|"((?:\\.|[^"])*)")"#,
        )
        .expect("pattern");
        re.captures_iter(&text)
            .map(|c| {
                let v = c.get(2).or(c.get(3)).map_or("", |m| m.as_str());
                (c[1].to_owned(), v.replace("\\'", "'").replace("\\\"", "\""))
            })
            .collect()
    }

    fn parts(text: &str) -> Vec<String> {
        let mut p: Vec<String> = Regex::new(r"\{(\w+)[^}]*\}")
            .expect("pattern")
            .captures_iter(text)
            .map(|c| c[1].to_owned())
            .collect();
        p.sort();
        p
    }

    #[test]
    fn the_dashboard_says_every_sentence_in_english_and_in_french() {
        let (en, fr) = (dictionary("en"), dictionary("fr"));
        let shapes = Regex::new(r"\{(\w+):[^}]*\}").expect("pattern");
        for (code, template) in SENTENCES {
            let key = format!("said.{code}");
            let english = en.get(&key).unwrap_or_else(|| panic!("en.ts has no {key}"));
            let french = fr.get(&key).unwrap_or_else(|| panic!("fr.ts has no {key}"));
            let plain = shapes.replace_all(template, "{$1}");
            assert_eq!(
                english, &plain,
                "{key}: en.ts is not the control plane's sentence"
            );
            assert_eq!(
                parts(french),
                parts(template),
                "{key}: fr.ts has other parts"
            );
            assert_ne!(french, english, "{key}: fr.ts is English");
        }
        let known: Vec<String> = SENTENCES.iter().map(|(c, _)| format!("said.{c}")).collect();
        for key in en.keys().chain(fr.keys()) {
            assert!(
                known.contains(key),
                "{key} is no sentence of the control plane"
            );
        }
    }

    #[test]
    fn a_withdrawal_refused_says_which_case_it_is() {
        let some = said(
            "submission sub-1 is approved and the registry publishes stamp v3: only the version \
             published now can be withdrawn; nothing was changed",
        );
        assert_eq!(
            some.message_code.as_deref(),
            Some("recipe.withdrawNotPublished")
        );
        assert_eq!(some.message_args.unwrap_or_default()["version"], "3");
        let none = said(
            "submission sub-1 is withdrawn and the registry publishes no version of stamp: only \
             the version published now can be withdrawn; nothing was changed",
        );
        assert_eq!(
            none.message_code.as_deref(),
            Some("recipe.withdrawNothingPublished")
        );
        assert_eq!(none.message_args.unwrap_or_default()["recipe"], "stamp");
    }
}
