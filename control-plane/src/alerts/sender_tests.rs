//! The sender against real tables and real HTTP receivers on loopback: notices wait in the
//! database, not in a bounded queue, so more of them than any queue held are all sent or
//! recorded undelivered on their alert; those pending when the process dies are sent after
//! the restart; and a channel that never answers holds back only its own notices.

use std::io::{BufReader, Write};
use std::net::{TcpListener, TcpStream};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use super::super::channels::{Channel, Kind, Public, Secret};
use super::super::db::{AlertRow, Db};
use super::super::rules::RuleId;
use super::super::worker::Wake;
use super::{Names, Pace, send_loop};

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

fn webhook(name: &str, url: Option<String>) -> Channel {
    Channel {
        id: 0,
        kind: Kind::Webhook,
        name: name.into(),
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

fn names() -> Names {
    Arc::new(str::to_owned)
}

/// Three tries, no pause between them.
const QUICK: Pace = Pace {
    attempts: 3,
    first_pause: Duration::ZERO,
    timeout: Duration::from_secs(15),
};

/// How long a try of the channel that never answers lasts where the test waits for it (as
/// long as in production: the other channel has that long to take every notice).
const HANG: Duration = Duration::from_secs(15);

/// Where the test must be done before the hanging channel's try times out (it never waits
/// for it): long, so a loaded machine is far inside, and it costs the test nothing.
const LONG_HANG: Duration = Duration::from_secs(60);

/// Sends what is pending until nothing is, as the sender does, then returns (the evaluator's
/// end of the wake-up is gone).
fn drain(db: &Arc<Db>) {
    let (wake, rx) = Wake::new();
    drop(wake);
    send_loop(&rx, db, &names(), QUICK);
}

/// Waits up to `within` for `done`; false when it did not come.
fn within(within: Duration, done: impl Fn() -> bool) -> bool {
    let start = Instant::now();
    while start.elapsed() < within {
        if done() {
            return true;
        }
        std::thread::sleep(Duration::from_millis(10));
    }
    done()
}

#[test]
fn more_notices_than_the_old_queue_held_are_each_recorded_on_their_alert() {
    // The queue this replaced dropped every notice past 65,536.
    const NOTICES: usize = 65_536 + 64;
    let dir = tempfile::tempdir().expect("tempdir");
    let db = Arc::new(Db::open(dir.path()).expect("db"));
    db.without_fsync();
    // A channel that fails at once (no address), so every notice ends recorded undelivered.
    db.save_channel(&webhook("ops", None)).expect("channel");
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

/// How a [`Receiver`] treats a request.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Mode {
    /// Answers 200.
    Answers,
    /// Reads the request and never answers, the connection held open (until `answers` is set).
    Hangs,
    /// Hangs on the first request and answers every later one: a webhook stuck once.
    HangsOnce,
}

/// A webhook on loopback that keeps each body it is sent, in the order they came, and how
/// many requests `watched` (another receiver) had been sent when each came.
struct Receiver {
    url: String,
    got: Arc<Mutex<Vec<serde_json::Value>>>,
    watched_then: Arc<Mutex<Vec<usize>>>,
    answers: Arc<AtomicBool>,
}

impl Receiver {
    fn start(mode: Mode) -> Self {
        Self::watching(mode, None)
    }

    fn watching(mode: Mode, watched: Option<&Self>) -> Self {
        let listener = TcpListener::bind("127.0.0.1:0").expect("bind");
        let url = format!("http://{}/hook", listener.local_addr().expect("addr"));
        let got = Arc::new(Mutex::new(Vec::new()));
        let watched_then = Arc::new(Mutex::new(Vec::new()));
        let answers = Arc::new(AtomicBool::new(mode == Mode::Answers));
        let (kept, then, answering) = (
            Arc::clone(&got),
            Arc::clone(&watched_then),
            Arc::clone(&answers),
        );
        let watched = watched.map(|w| Arc::clone(&w.got));
        std::thread::spawn(move || {
            let mut held: Vec<TcpStream> = Vec::new();
            for conn in listener.incoming() {
                let Ok(mut conn) = conn else { continue };
                let mut reader = BufReader::new(conn.try_clone().expect("clone"));
                let (_, body) = crate::alerts::test_http::read_request(&mut reader);
                if let Some(w) = &watched {
                    then.lock()
                        .expect("lock")
                        .push(w.lock().expect("lock").len());
                }
                let requests = {
                    let mut kept = kept.lock().expect("lock");
                    kept.push(serde_json::from_slice(&body).unwrap_or_default());
                    kept.len()
                };
                // Stuck once: the second request comes only after the sender gave up on the
                // first, at its timeout.
                if answering.load(Ordering::SeqCst) || (mode == Mode::HangsOnce && requests > 1) {
                    let _ = conn.write_all(
                        b"HTTP/1.1 200 OK\r\nContent-Length: 0\r\nConnection: close\r\n\r\n",
                    );
                } else {
                    held.push(conn);
                }
            }
        });
        Self {
            url,
            got,
            watched_then,
            answers,
        }
    }

    /// What it was sent: each notice's alert and event, in order.
    fn seen(&self) -> Vec<(i64, String)> {
        self.got
            .lock()
            .expect("lock")
            .iter()
            .map(|b| {
                (
                    b["alertId"].as_i64().unwrap_or(0),
                    b["event"].as_str().unwrap_or("").to_owned(),
                )
            })
            .collect()
    }
}

/// Two alerts, the second resolved: three notices, in this order.
fn three_notices(db: &Db) -> Vec<(i64, String)> {
    let fired = db.open_alert(&alert("/", true)).expect("open");
    let resolved = db.open_alert(&alert("/var", true)).expect("open");
    db.resolve_alert(resolved, 1_700_000_100, 40.0, true)
        .expect("resolve");
    vec![
        (fired, "firing".to_owned()),
        (resolved, "firing".to_owned()),
        (resolved, "resolved".to_owned()),
    ]
}

#[test]
fn notices_pending_when_the_process_dies_are_sent_after_the_restart() {
    let dir = tempfile::tempdir().expect("tempdir");
    let hook = Receiver::start(Mode::Answers);
    let expected = {
        let db = Db::open(dir.path()).expect("db");
        db.save_channel(&webhook("ops", Some(hook.url.clone())))
            .expect("channel");
        three_notices(&db)
        // The process dies here: no sender ever ran.
    };
    let db = Arc::new(Db::open(dir.path()).expect("db after the restart"));
    assert_eq!(db.pending_count().expect("count"), 3);
    drain(&db);
    assert_eq!(db.pending_count().expect("count"), 0);
    assert_eq!(hook.seen(), expected);
    for (id, _) in &expected {
        let a = db.alert(*id).expect("read").expect("alert");
        assert_eq!(a.delivery_error, None, "alert {id}");
    }
}

/// A channel that accepts the connection and never answers, first among the channels: the
/// other one gets every notice, in order, before the hanging one's first try has even timed
/// out (told by what the hanging receiver had been sent as each came, not by a clock); the
/// hanging one's first notice, once its try times out, is recorded on its alert as that
/// channel's failure in a sentence with its code, and it then gets the others, in order.
#[test]
fn a_channel_that_never_answers_holds_back_only_its_own_notices() {
    let dir = tempfile::tempdir().expect("tempdir");
    let db = Arc::new(Db::open(dir.path()).expect("db"));
    let hang = Receiver::start(Mode::HangsOnce);
    let ok = Receiver::watching(Mode::Answers, Some(&hang));
    db.save_channel(&webhook("hang", Some(hang.url.clone())))
        .expect("channel");
    db.save_channel(&webhook("ok", Some(ok.url.clone())))
        .expect("channel");
    let expected = three_notices(&db);

    let (wake, rx) = Wake::new();
    let sending = Arc::clone(&db);
    let pace = Pace {
        attempts: 1,
        first_pause: Duration::ZERO,
        timeout: HANG,
    };
    let sender = std::thread::spawn(move || send_loop(&rx, &sending, &names(), pace));

    // Only a deadline so that a broken sender fails the test instead of hanging it.
    let all_tried = HANG * 3 + Duration::from_secs(120);
    assert!(
        within(all_tried, || db.pending_count().ok() == Some(0)),
        "notices still pending after {all_tried:?}"
    );
    assert_eq!(ok.seen(), expected, "the answering channel's order");
    // When each came, the hanging channel had been sent its first notice at most: its second
    // comes only after the first try's timeout.
    let then = ok.watched_then.lock().expect("lock").clone();
    assert!(
        then.iter().all(|&n| n <= 1),
        "the answering channel waited for the hanging one: {then:?}"
    );
    assert_eq!(hang.seen(), expected, "the hanging channel's order");

    let (first, second) = (expected[0].0, expected[1].0);
    let timeout = format!(
        "the channel's address did not answer within {} s",
        HANG.as_secs()
    );
    let a = db.alert(first).expect("read").expect("alert");
    assert_eq!(
        a.delivery_error.as_deref(),
        Some(format!("hang: {timeout}").as_str())
    );
    assert_eq!(a.delivery_failures.len(), 1);
    let f = &a.delivery_failures[0];
    assert_eq!((f.channel.as_str(), f.tries), ("hang", 1));
    assert_eq!(f.said.message_code.as_deref(), Some("alerts.httpTimeout"));
    // The second alert's notices came after the hang: both channels took them.
    let b = db.alert(second).expect("read").expect("alert");
    assert_eq!(b.delivery_error, None);
    drop(wake);
    sender.join().expect("sender");
}

/// Killed while one channel hangs on the first notice and the other has sent all three: after
/// the restart each channel goes on from where it stood. The answering one is sent nothing
/// again; the other (answering now) gets all three, in order.
#[test]
fn a_restart_sends_each_channel_only_the_notices_it_had_not_tried() {
    let dir = tempfile::tempdir().expect("tempdir");
    let (hang, ok) = (Receiver::start(Mode::Hangs), Receiver::start(Mode::Answers));
    let db = Arc::new(Db::open(dir.path()).expect("db"));
    let hang_id = db
        .save_channel(&webhook("hang", Some(hang.url.clone())))
        .expect("channel");
    let ok_id = db
        .save_channel(&webhook("ok", Some(ok.url.clone())))
        .expect("channel");
    let expected = three_notices(&db);
    // Every notice's id, as a channel that tried none sees them.
    let notices: Vec<i64> = db
        .notices_for(i64::MAX, 64)
        .expect("pending")
        .iter()
        .map(|p| p.0)
        .collect();
    let last = *notices.last().expect("notices");

    let (wake, rx) = Wake::new();
    let sending = Arc::clone(&db);
    let pace = Pace {
        attempts: 1,
        first_pause: Duration::ZERO,
        timeout: LONG_HANG,
    };
    std::thread::spawn(move || send_loop(&rx, &sending, &names(), pace));
    assert!(
        within(LONG_HANG / 2, || db.tried_up_to(ok_id) == last),
        "the answering channel tried up to {} of {notices:?}",
        db.tried_up_to(ok_id)
    );
    assert_eq!(db.tried_up_to(hang_id), 0);
    // The process dies: nothing it does from here on is stored.
    db.crash();
    drop(wake);

    hang.answers.store(true, Ordering::SeqCst);
    let db = Arc::new(Db::open(dir.path()).expect("db after the restart"));
    assert_eq!(db.pending_count().expect("count"), 3);
    drain(&db);
    assert_eq!(db.pending_count().expect("count"), 0);
    assert_eq!(
        ok.seen(),
        expected,
        "sent again to the channel that had them"
    );
    let seen = hang.seen();
    // Its first try before the crash, if it got that far, then all three.
    assert_eq!(
        seen[seen.len().saturating_sub(3)..],
        expected[..],
        "{seen:?}"
    );
    assert!(
        seen.len() == 3 || (seen.len() == 4 && seen[0] == expected[0]),
        "{seen:?}"
    );
    for (id, _) in &expected {
        let a = db.alert(*id).expect("read").expect("alert");
        assert_eq!(a.delivery_error, None, "alert {id}");
    }
}

/// A hanging channel deleted while its notices wait: they wait for it no longer.
#[test]
fn a_deleted_channel_no_longer_holds_notices_back() {
    let dir = tempfile::tempdir().expect("tempdir");
    let db = Arc::new(Db::open(dir.path()).expect("db"));
    let (hang, ok) = (Receiver::start(Mode::Hangs), Receiver::start(Mode::Answers));
    let hang_id = db
        .save_channel(&webhook("hang", Some(hang.url.clone())))
        .expect("channel");
    db.save_channel(&webhook("ok", Some(ok.url.clone())))
        .expect("channel");
    let expected = three_notices(&db);
    let (wake, rx) = Wake::new();
    let sending = Arc::clone(&db);
    let pace = Pace {
        attempts: 1,
        first_pause: Duration::ZERO,
        timeout: LONG_HANG,
    };
    std::thread::spawn(move || send_loop(&rx, &sending, &names(), pace));
    assert!(within(LONG_HANG / 2, || ok.seen().len() >= expected.len()));
    assert!(db.delete_channel(hang_id).expect("delete"));
    // The answering channel's last try may still be being recorded; the hanging one's ends
    // only at LONG_HANG, and would record its failure, checked below.
    assert!(within(LONG_HANG / 4, || db.pending_count().ok() == Some(0)));
    for (id, _) in &expected {
        let a = db.alert(*id).expect("read").expect("alert");
        assert_eq!(a.delivery_error, None, "alert {id}");
    }
    drop(wake);
}
