//! Notices that reach a real mail server and a real webhook receiver, once; deliveries that
//! fail, retried and recorded; a firing alert across a crash; channel secrets kept secret.

use cairn_e2e::{ControlPlane, eventually};
use serde_json::{Value, json};

use super::receivers::{Smtp, Webhook};
use super::{SECRET, alert, notices, send, set_rule, start, status, wait_notice, webhook_channel};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_disk_over_its_threshold_is_mailed_over_starttls_and_posted_signed_once_and_so_is_its_resolution()
 {
    let dir = tempfile::tempdir().expect("temp dir");
    let smtp = match Smtp::start(dir.path()) {
        Ok(s) => s,
        Err(why) => {
            eprintln!("skipped: {why}");
            return;
        }
    };
    let hook = Webhook::start().await;
    let c = start(&[]).await;
    let h = webhook_channel(&c, &hook).await;
    let mail = json!({"kind": "email", "name": "mail", "host": "127.0.0.1", "port": smtp.port,
        "from": "cairn@example.test", "to": ["ops@example.test"], "caCert": smtp.ca_pem});
    let m = send(&c.cp, &c.cookie, "POST", "/api/alert-channels", mail).await;

    // Send test reaches both, for real.
    for id in [&h["id"], &m["id"]] {
        let r = send(
            &c.cp,
            &c.cookie,
            "POST",
            &format!("/api/alert-channels/{id}/test"),
            json!({}),
        )
        .await;
        assert_eq!(r["sent"], true, "{r}");
    }
    assert_eq!(hook.hits().len(), 1);
    assert_eq!(hook.hits()[0].json()["event"], "test");
    let mails = smtp.mails();
    assert_eq!(mails.len(), 1, "{mails:?}");
    assert_eq!(
        mails[0]["tls"], true,
        "the test mail crossed without STARTTLS"
    );

    // Under the root file system's real usage: it fires, once, to both.
    set_rule(&c, "disk", json!({"threshold": 1})).await;
    status(&c).await;
    let fired = alert(&c, "disk", "firing").await;
    assert_eq!(fired["subject"], "/");
    assert!(fired["value"].as_f64().expect("value") > 1.0, "{fired}");
    let n = wait_notice(&hook, "disk", "firing").await;
    assert_eq!(n["nodeId"], c.node_id.as_str());
    assert_eq!(n["node"], "web-1");
    let firing_mail = eventually("the firing mail", || async {
        smtp.mails().into_iter().find(|m| {
            m["data"]
                .as_str()
                .is_some_and(|d| d.contains("Firing on web-1"))
        })
    })
    .await;
    assert_eq!(firing_mail["tls"], true);
    assert_eq!(firing_mail["to"], json!(["ops@example.test"]));

    // More statuses while it stays over: no second notice.
    status(&c).await;
    status(&c).await;

    // Over 100 % is impossible: it resolves, and that is sent once.
    set_rule(&c, "disk", json!({"threshold": 100})).await;
    status(&c).await;
    let resolved = alert(&c, "disk", "resolved").await;
    assert_eq!(resolved["id"], fired["id"]);
    wait_notice(&hook, "disk", "resolved").await;
    eventually("the resolution mail", || async {
        smtp.mails().into_iter().find(|m| {
            m["data"]
                .as_str()
                .is_some_and(|d| d.contains("Resolved on web-1"))
        })
    })
    .await;

    // A later alert goes through the same queue: once it is delivered, anything sent twice
    // before it would have been seen.
    set_rule(&c, "memory", json!({"threshold": 1, "durationSecs": 0})).await;
    status(&c).await;
    wait_notice(&hook, "memory", "firing").await;
    assert_eq!(notices(&hook, "disk", "firing").len(), 1);
    assert_eq!(notices(&hook, "disk", "resolved").len(), 1);
    let count = |word: &str| {
        smtp.mails()
            .iter()
            .filter(|m| {
                m["data"]
                    .as_str()
                    .is_some_and(|d| d.contains(word) && d.contains("disk /"))
            })
            .count()
    };
    eventually("the memory mail", || async {
        smtp.mails()
            .into_iter()
            .find(|m| m["data"].as_str().is_some_and(|d| d.contains("memory is")))
    })
    .await;
    assert_eq!((count("Firing on"), count("Resolved on")), (1, 1));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn channel_secrets_are_sealed_in_the_database_and_never_in_answers_logs_or_the_audit() {
    let dir = tempfile::tempdir().expect("temp dir");
    let recipes = cairn_e2e::recipes_dir(dir.path(), &[]);
    let cp = ControlPlane::start_with_args(dir.path(), &recipes, &[]).await;
    let cookie = cp.login().await;
    let url = "http://127.0.0.1:9/hooks/T0K3N-in-the-url-zzzz";
    let created = send(
        &cp,
        &cookie,
        "POST",
        "/api/alert-channels",
        json!({"kind": "webhook", "name": "hook", "url": url, "secret": SECRET}),
    )
    .await;
    send(
        &cp,
        &cookie,
        "POST",
        "/api/alert-channels",
        json!({"kind": "email", "name": "mail",
        "host": "127.0.0.1", "username": "u", "password": "pa55-w0rd-secret",
        "from": "a@example.test", "to": ["b@example.test"]}),
    )
    .await;
    // A failed test says why, without the URL's token.
    let r = cp
        .request(
            "POST",
            &format!("/api/alert-channels/{}/test", created["id"]),
            Some(&cookie),
            Some("{}"),
        )
        .await;
    assert_eq!(r.status, 502, "{}", r.body);
    assert!(r.body.contains("could not connect"), "{}", r.body);
    // Coded, so the page says it in its language.
    assert_eq!(r.json()["code"], "alerts.httpConnect", "{}", r.body);
    let list = cp.get_json(&cookie, "/api/alert-channels").await;
    assert_eq!(list[0]["url"], "http://127.0.0.1:9/…zzzz");
    assert_eq!(
        (list[0]["secret"].clone(), list[1]["password"].clone()),
        (json!("set"), json!("set"))
    );
    let audit = cp.get_json(&cookie, "/api/audit").await.to_string();
    let db = String::from_utf8_lossy(&cp.db_bytes()).into_owned();
    for secret in [SECRET, "T0K3N-in-the-url", "pa55-w0rd-secret"] {
        for (what, text) in [
            ("answers", list.to_string()),
            ("test answer", r.body.clone()),
            ("audit", audit.clone()),
            ("log", cp.logs()),
            ("database", db.clone()),
        ] {
            assert!(!text.contains(secret), "{secret} is in the {what}");
        }
    }
    let key = cp.data_dir.join("alerts.key");
    use std::os::unix::fs::PermissionsExt;
    assert_eq!(
        std::fs::metadata(key)
            .expect("alerts.key")
            .permissions()
            .mode()
            & 0o777,
        0o600
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_failed_delivery_is_retried_a_few_times_and_recorded_on_the_alert_in_a_sentence() {
    let flaky = Webhook::failing_first(2).await;
    let c = start(&[]).await;
    webhook_channel(&c, &flaky).await;
    let dead =
        json!({"kind": "slack", "name": "dead", "url": "http://127.0.0.1:9/services/T0/B0/x"});
    send(&c.cp, &c.cookie, "POST", "/api/alert-channels", dead).await;
    set_rule(&c, "disk", json!({"threshold": 1})).await;
    status(&c).await;
    let path = format!("/api/alerts?node={}&state=firing", c.node_id);
    let failed = eventually("the delivery failure on the alert", || async {
        let all = c.cp.get_json(&c.cookie, &path).await;
        all.as_array()?
            .iter()
            .find(|a| a["rule"] == "disk" && a["deliveryError"].is_string())
            .cloned()
    })
    .await;
    // The flaky receiver answered 500 twice, then took the third try; the dead one never did.
    let hits: Vec<Value> = flaky.hits().iter().map(|h| h.json()).collect();
    assert_eq!(hits.len(), 3, "{hits:#?}");
    assert!(hits.iter().all(|h| h["event"] == "firing"), "{hits:#?}");
    assert_eq!(
        failed["deliveryError"],
        "dead: could not connect to http://127.0.0.1:9/…B0/x (tried 3 times)"
    );
    let channels = c.cp.get_json(&c.cookie, "/api/alert-channels").await;
    assert_eq!(channels[0]["lastError"], Value::Null, "{channels}");
    assert!(
        channels[1]["lastError"]
            .as_str()
            .is_some_and(|e| e.contains("could not connect"))
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_alert_firing_when_the_control_plane_restarts_is_not_notified_again() {
    let hook = Webhook::start().await;
    let mut c = start(&[]).await;
    webhook_channel(&c, &hook).await;
    set_rule(&c, "disk", json!({"threshold": 1})).await;
    status(&c).await;
    let fired = alert(&c, "disk", "firing").await;
    wait_notice(&hook, "disk", "firing").await;
    // Killed (as a crash would), then started again on the same data.
    c.cp.kill();
    c.cp.restart().await;
    c.cookie = c.cp.login().await;
    c.cp.wait_online(&c.cookie, &c.node_id, true).await;
    status(&c).await;
    // A later alert through the same queue: anything sent again would have come before it.
    set_rule(&c, "memory", json!({"threshold": 1, "durationSecs": 0})).await;
    status(&c).await;
    wait_notice(&hook, "memory", "firing").await;
    assert_eq!(notices(&hook, "disk", "firing").len(), 1);
    assert_eq!(alert(&c, "disk", "firing").await["id"], fired["id"]);
}
