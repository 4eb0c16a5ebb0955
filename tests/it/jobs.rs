//! Installing recipes for real: every log line reaches the dashboard, in order.

use cairn_e2e::{Cluster, TERMINAL, lines, seqs};
use serde_json::{Value, json};

/// Asserts the job's events run seq 1..=n without gap, start with JOB_STARTED and end with
/// exactly one terminal event of type `terminal`.
fn assert_complete(events: &[Value], terminal: &str) {
    let seq = seqs(events);
    let want: Vec<u64> = (1..=events.len() as u64).collect();
    assert_eq!(seq, want, "seq numbers are not 1..=n in order");
    assert_eq!(events[0]["type"], "JOB_STARTED", "{}", events[0]);
    let ends: Vec<&Value> = events
        .iter()
        .filter(|e| TERMINAL.iter().any(|t| e["type"] == *t))
        .collect();
    assert_eq!(ends.len(), 1, "terminal events: {ends:?}");
    assert_eq!(events.last().map(|e| &e["type"]), Some(&json!(terminal)));
}

fn numbers(n: u64) -> Vec<String> {
    (1..=n).map(|i| i.to_string()).collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn five_hundred_lines_reach_the_dashboard_in_order() {
    let c = Cluster::start(&["lines"]).await;
    let mut d = c.dashboard().await;
    let job = d.start_lines(&c.node_id, 500).await;
    let end = d.wait_terminal(&job).await;
    assert_eq!(end["type"], "RUNTIME_INSTALLED", "{end}");
    assert_eq!(end["payload"]["success"], true, "{end}");

    let events = d.job_messages(&job);
    assert_complete(&events, "RUNTIME_INSTALLED");
    assert_eq!(lines(&events, "stdout"), numbers(500));
    assert_eq!(lines(&events, "command"), vec!["$ seq 1 500".to_owned()]);
    // Where the time went comes just before the end, naming the one program the job ran.
    let timings = &events[events.len() - 2];
    assert_eq!(timings["type"], "JOB_TIMINGS", "{timings}");
    assert_eq!(
        timings["payload"]["programs"][0]["what"], "seq",
        "{timings}"
    );
    assert_eq!(timings["payload"]["programs"][0]["count"], 1, "{timings}");
    assert!(
        timings["payload"]["totalMs"].as_u64().is_some(),
        "{timings}"
    );

    // The job history holds the same story.
    let stored = c.stored_events(&job).await;
    assert_eq!(seqs(&stored), seqs(&events));
    assert!(
        stored.iter().any(|e| e["type"] == "JOB_TIMINGS"),
        "not stored"
    );
    assert_eq!(lines(&stored, "stdout"), numbers(500));
    let j = c.cp.wait_job_done(&c.cookie, &job).await;
    assert_eq!(j["status"], "succeeded", "{j}");
    assert_eq!(j["recipe"], "lines", "{j}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_redis_recipe_configures_redis_for_real() {
    let c = Cluster::start(&["redis"]).await;
    let mut d = c.dashboard().await;
    // A fresh ACL user each run, so the recipe really creates one and returns its string.
    let user = format!("e2e_{}", &cairn_protocol::new_id().expect("id")[..12]);
    let job = d
        .start_job(
            "CONFIGURE_DATABASE",
            &c.node_id,
            json!({"type": "redis", "user": user, "params": {"prefix": "e2e:"}}),
        )
        .await;
    let end = d.wait_terminal(&job).await;
    let events = d.job_messages(&job);
    let all: Vec<String> = events
        .iter()
        .filter_map(|e| e["payload"]["message"].as_str().map(str::to_owned))
        .collect();
    assert_eq!(end["type"], "DATABASE_CONFIGURED", "{end}\n{all:#?}");
    let url = end["payload"]["connectionString"]
        .as_str()
        .unwrap_or_default()
        .to_owned();
    assert!(
        url.starts_with(&format!("redis://{user}:")) && url.ends_with("@127.0.0.1:6379"),
        "{end}"
    );
    assert_complete(&events, "DATABASE_CONFIGURED");
    // Steps arrive in the recipe's order.
    let steps: Vec<&str> = events
        .iter()
        .filter(|e| e["type"] == "JOB_STEP")
        .filter_map(|e| e["payload"]["title"].as_str())
        .collect();
    let create = format!("Create the ACL user {user}");
    assert_eq!(
        steps,
        [
            "Install Redis",
            "Start Redis",
            "Keep an administrator password for Cairn",
            create.as_str(),
            "Turn off access without a password"
        ]
    );
    let redis = |args: &[&str]| {
        let out = std::process::Command::new("redis-cli")
            .arg("--no-auth-warning")
            .args(args)
            .output()
            .expect("redis-cli");
        String::from_utf8_lossy(&out.stdout).trim().to_owned()
    };
    // Redis answers the new user with the string the dashboard got, within its prefix only.
    assert_eq!(redis(&["-u", &url, "ping"]), "PONG");
    assert_eq!(redis(&["-u", &url, "SET", "e2e:k", "v"]), "OK");
    assert!(redis(&["-u", &url, "SET", "k", "v"]).contains("NOPERM"));
    // And nobody gets in without a password any more.
    assert!(redis(&["-h", "127.0.0.1", "ping"]).starts_with("NOAUTH"));
    // Leave no test user behind (as the recipe's administrator, the only way in left).
    let admin = std::fs::read_to_string("/etc/cairn/redis/admin").expect("the admin file");
    for args in [
        vec!["ACL", "DELUSER", user.as_str()],
        vec!["DEL", "e2e:k"],
        vec!["CONFIG", "REWRITE"],
    ] {
        let _ = std::process::Command::new("redis-cli")
            .args([
                "-h",
                "127.0.0.1",
                "--no-auth-warning",
                "--user",
                "cairn-admin",
            ])
            .env("REDISCLI_AUTH", admin.trim())
            .args(&args)
            .output();
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_installs_started_back_to_back_both_complete_in_order() {
    let c = Cluster::start(&["lines", "ticks"]).await;
    let mut d = c.dashboard().await;
    let a = d.start_ticks(&c.node_id, 10).await;
    let b = d.start_lines(&c.node_id, 2000).await;
    assert_ne!(a, b);
    let ea = d.wait_terminal(&a).await;
    let eb = d.wait_terminal(&b).await;
    assert_eq!(ea["type"], "RUNTIME_INSTALLED", "{ea}");
    assert_eq!(eb["type"], "RUNTIME_INSTALLED", "{eb}");

    let ticks = d.job_messages(&a);
    assert_complete(&ticks, "RUNTIME_INSTALLED");
    let want: Vec<String> = (1..=10).map(|i| format!("tick {i}")).collect();
    assert_eq!(lines(&ticks, "info"), want);

    let numbers_job = d.job_messages(&b);
    assert_complete(&numbers_job, "RUNTIME_INSTALLED");
    assert_eq!(lines(&numbers_job, "stdout"), numbers(2000));

    // They really ran at the same time: b's lines arrived before a ended.
    let pos = |pred: &dyn Fn(&Value) -> bool| d.seen.iter().position(pred);
    let a_end = pos(&|v| v["jobId"] == a.as_str() && v["type"] == "RUNTIME_INSTALLED");
    let b_first = pos(&|v| v["jobId"] == b.as_str() && v["type"] == "INFRASTRUCTURE_LOG");
    assert!(b_first < a_end, "the second job waited for the first");

    for job in [&a, &b] {
        let j = c.cp.wait_job_done(&c.cookie, job).await;
        assert_eq!(j["status"], "succeeded", "{j}");
    }
}
