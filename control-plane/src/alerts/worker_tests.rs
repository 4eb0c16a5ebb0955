//! The sender against real tables: notices wait in the database, not in a bounded queue, so
//! more of them than any queue held are all sent or recorded undelivered on their alert, and
//! those pending when the process dies are sent after the restart.

use std::io::{BufReader, Write};
use std::net::TcpListener;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use super::super::channels::{Channel, Kind, Public, Secret};
use super::super::db::{AlertRow, Db};
use super::super::rules::RuleId;
use super::{Wake, send_loop};

fn alert(subject: &str, notified: bool) -> AlertRow {
    AlertRow {
        id: 0,
        rule: RuleId::Disk,
        node_id: "node-1".into(),
        subject: subject.into(),
        state: "firing".into(),
        value: 95.0,
        threshold: 90.0,
        fired_at: 1_700_000_000,
        resolved_at: None,
        notified,
        delivery_error: None,
        delivery_failures: Vec::new(),
    }
}

fn webhook(url: Option<String>) -> Channel {
    Channel {
        id: 0,
        kind: Kind::Webhook,
        name: "ops".into(),
        public: Public::default(),
        secret: Secret {
            url,
            secret: Some("k".into()),
            ..Secret::default()
        },
        created_at: 1,
        last_error: None,
    }
}

/// Sends what is pending until nothing is, as the sender thread does, then returns (the
/// evaluator's end of the wake-up is gone).
fn drain(db: &Db) {
    let (wake, rx) = Wake::new();
    drop(wake);
    send_loop(&rx, db, str::to_owned, Duration::ZERO);
}

#[test]
fn more_notices_than_the_old_queue_held_are_each_recorded_on_their_alert() {
    // The queue this replaced dropped every notice past 65,536.
    const NOTICES: usize = 65_536 + 64;
    let dir = tempfile::tempdir().expect("tempdir");
    let db = Db::open(dir.path()).expect("db");
    db.without_fsync();
    // A channel that fails at once (no address), so every notice ends recorded undelivered.
    db.save_channel(&webhook(None)).expect("channel");
    let mut ids = Vec::with_capacity(NOTICES);
    for i in 0..NOTICES {
        ids.push(
            db.open_alert(&alert(&format!("/d{i}"), true))
                .expect("open"),
        );
    }
    // A muted one has no notice.
    let muted = db.open_alert(&alert("/muted", false)).expect("open");
    assert_eq!(db.pending_count().expect("count"), NOTICES as u64);

    drain(&db);

    assert_eq!(db.pending_count().expect("count"), 0);
    for id in ids.iter().step_by(997).chain(ids.last()) {
        let a = db.alert(*id).expect("read").expect("alert");
        assert_eq!(
            a.delivery_error.as_deref(),
            Some("ops: the channel has no address (tried 3 times)"),
            "alert {id}"
        );
        let f = &a.delivery_failures[0];
        assert_eq!(f.said.message_code.as_deref(), Some("alerts.noAddress"));
    }
    let a = db.alert(muted).expect("read").expect("alert");
    assert_eq!(a.delivery_error, None);
}

/// A webhook on loopback that answers 200 and keeps each body.
fn receiver() -> (String, Arc<Mutex<Vec<serde_json::Value>>>) {
    let listener = TcpListener::bind("127.0.0.1:0").expect("bind");
    let url = format!("http://{}/hook", listener.local_addr().expect("addr"));
    let got = Arc::new(Mutex::new(Vec::new()));
    let kept = Arc::clone(&got);
    std::thread::spawn(move || {
        for conn in listener.incoming() {
            let Ok(mut conn) = conn else { continue };
            let mut reader = BufReader::new(conn.try_clone().expect("clone"));
            let (_, body) = crate::alerts::test_http::read_request(&mut reader);
            if !body.is_empty() {
                let v = serde_json::from_slice(&body).unwrap_or_default();
                kept.lock().expect("lock").push(v);
            }
            let _ = conn
                .write_all(b"HTTP/1.1 200 OK\r\nContent-Length: 0\r\nConnection: close\r\n\r\n");
        }
    });
    (url, got)
}

#[test]
fn notices_pending_when_the_process_dies_are_sent_after_the_restart() {
    let dir = tempfile::tempdir().expect("tempdir");
    let (url, got) = receiver();
    let (fired, resolved) = {
        let db = Db::open(dir.path()).expect("db");
        db.save_channel(&webhook(Some(url))).expect("channel");
        let fired = db.open_alert(&alert("/", true)).expect("open");
        let resolved = db.open_alert(&alert("/var", true)).expect("open");
        db.resolve_alert(resolved, 1_700_000_100, 40.0, true)
            .expect("resolve");
        (fired, resolved)
        // The process dies here: no sender ever ran.
    };
    let db = Db::open(dir.path()).expect("db after the restart");
    assert_eq!(db.pending_count().expect("count"), 3);
    drain(&db);
    assert_eq!(db.pending_count().expect("count"), 0);
    let got = got.lock().expect("lock").clone();
    let seen: Vec<(i64, String)> = got
        .iter()
        .map(|b| {
            (
                b["alertId"].as_i64().unwrap_or(0),
                b["event"].as_str().unwrap_or("").to_owned(),
            )
        })
        .collect();
    assert_eq!(
        seen,
        vec![
            (fired, "firing".to_owned()),
            (resolved, "firing".to_owned()),
            (resolved, "resolved".to_owned()),
        ]
    );
    for id in [fired, resolved] {
        let a = db.alert(id).expect("read").expect("alert");
        assert_eq!(a.delivery_error, None, "alert {id}");
    }
}
