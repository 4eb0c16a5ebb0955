//! Unit tests of the journal and outbox: line coalescing and the memory budget.
#![allow(clippy::unwrap_used)]
use super::*;

fn lines_of(m: &Message) -> (LogStream, Vec<String>) {
    match m {
        Message::InfrastructureLog(l) => {
            (l.stream, l.message.split('\n').map(str::to_owned).collect())
        }
        other => panic!("not a log event: {}", other.type_name()),
    }
}

#[test]
fn consecutive_lines_of_a_stream_share_one_event_and_its_seq() {
    let dir = tempfile::tempdir().unwrap();
    let (outbox, _) = Outbox::open(dir.path()).unwrap();
    let mut w = outbox.begin("job-1", Cancel::new()).unwrap();
    for i in 1..=3 {
        w.emit_line(LogStream::Stdout, format!("out {i}"));
    }
    w.emit_line(LogStream::Stderr, "err".to_owned());
    w.emit_line(LogStream::Stdout, "out 4".to_owned());
    assert_eq!(w.queued(), 3);
    w.flush();
    // A new batch starts a new event even for the same stream.
    w.emit_line(LogStream::Stdout, "out 5".to_owned());
    w.flush();
    let sent: Vec<Message> = outbox.take_unsent().into_iter().flatten().collect();
    let seqs: Vec<u64> = sent
        .iter()
        .filter_map(|m| m.job_event())
        .map(|e| e.1)
        .collect();
    assert_eq!(seqs, vec![1, 2, 3, 4]);
    assert_eq!(
        lines_of(&sent[0]),
        (
            LogStream::Stdout,
            vec!["out 1".into(), "out 2".into(), "out 3".into()]
        )
    );
    assert_eq!(lines_of(&sent[1]), (LogStream::Stderr, vec!["err".into()]));
    assert_eq!(
        lines_of(&sent[2]),
        (LogStream::Stdout, vec!["out 4".into()])
    );
    assert_eq!(
        lines_of(&sent[3]),
        (LogStream::Stdout, vec!["out 5".into()])
    );
    // The journal holds the same events, as a restart would read them.
    let journal = read_journal(&dir.path().join("job-1.jsonl")).unwrap();
    assert!(!journal.torn);
    assert_eq!(journal.events.into_iter().collect::<Vec<_>>(), sent);
}

#[test]
fn an_event_stops_growing_at_its_byte_cap() {
    let dir = tempfile::tempdir().unwrap();
    let (outbox, _) = Outbox::open(dir.path()).unwrap();
    let mut w = outbox.begin("job-1", Cancel::new()).unwrap();
    let line = "x".repeat(1000);
    for _ in 0..40 {
        w.emit_line(LogStream::Stdout, line.clone());
    }
    w.flush();
    let sent: Vec<Message> = outbox.take_unsent().into_iter().flatten().collect();
    let mut total = 0;
    for m in &sent {
        let (_, lines) = lines_of(m);
        total += lines.len();
        if let Message::InfrastructureLog(l) = m {
            assert!(
                l.message.len() <= MAX_LOG_EVENT_BYTES,
                "{}",
                l.message.len()
            );
        }
    }
    assert_eq!(total, 40);
    assert!(
        sent.len() >= 3,
        "40 kB in 16 KiB events: {} events",
        sent.len()
    );
}

#[test]
fn a_job_over_its_unacknowledged_budget_waits_for_an_ack() {
    let dir = tempfile::tempdir().unwrap();
    let (outbox, _) = Outbox::open(dir.path()).unwrap();
    let mut w = outbox.begin("job-1", Cancel::new()).unwrap();
    let line = "y".repeat(MAX_LOG_EVENT_BYTES);
    let events = MAX_UNACKED_BYTES / MAX_LOG_EVENT_BYTES + 8;
    let (done_tx, done_rx) = std::sync::mpsc::channel();
    let writer = std::thread::spawn(move || {
        for _ in 0..events {
            w.emit_line(LogStream::Stdout, line.clone());
            w.flush();
        }
        done_tx.send(()).unwrap();
        w
    });
    // The writer stops once over budget...
    assert!(
        done_rx
            .recv_timeout(std::time::Duration::from_millis(500))
            .is_err(),
        "the writer did not wait for acknowledgements"
    );
    // ...and goes on as acknowledgements come back.
    let mut acked = 0;
    while done_rx.try_recv().is_err() {
        let sent: u64 = outbox
            .take_unsent()
            .into_iter()
            .flatten()
            .filter_map(|m| m.job_event().map(|e| e.1))
            .max()
            .unwrap_or(acked);
        acked = sent;
        outbox.ack("job-1", acked);
        std::thread::sleep(std::time::Duration::from_millis(5));
    }
    writer.join().unwrap();
    let last = outbox
        .take_unsent()
        .into_iter()
        .flatten()
        .filter_map(|m| m.job_event().map(|e| e.1))
        .max()
        .unwrap_or(acked);
    assert_eq!(last as usize, events, "every event was sent, in order");
}

#[test]
fn a_cancelled_job_does_not_wait_for_room() {
    let dir = tempfile::tempdir().unwrap();
    let (outbox, _) = Outbox::open(dir.path()).unwrap();
    let cancel = Cancel::new();
    let mut w = outbox.begin("job-1", cancel.clone()).unwrap();
    cancel.cancel();
    let line = "z".repeat(MAX_LOG_EVENT_BYTES);
    for _ in 0..(MAX_UNACKED_BYTES / MAX_LOG_EVENT_BYTES + 8) {
        w.emit_line(LogStream::Stdout, line.clone());
        w.flush();
    }
}

#[test]
fn a_restart_finds_an_unfinished_job_with_its_next_seq_and_how_far_its_spool_was_journaled() {
    let dir = tempfile::tempdir().unwrap();
    let (outbox, _) = Outbox::open(dir.path()).unwrap();
    let mut w = outbox.begin("job-1", Cancel::new()).unwrap();
    w.emit_line(LogStream::Stdout, "one".into());
    w.set_spool(120);
    w.flush();
    w.emit_line(LogStream::Stderr, "two".into());
    w.set_spool(250);
    w.flush();
    drop((w, outbox));

    let (outbox, unfinished) = Outbox::open(dir.path()).unwrap();
    assert_eq!(
        unfinished,
        vec![Unfinished {
            job_id: "job-1".into(),
            next_seq: 3,
            spool: 250
        }]
    );
    // Going on: the next event has the next seq, and ending it makes it finished.
    outbox.finish_interrupted(&unfinished[0], INTERRUPTED_MESSAGE);
    let journal = read_journal(&dir.path().join("job-1.jsonl")).unwrap();
    let last = journal.events.back().unwrap();
    assert!(
        matches!(last, Message::JobFailed(f) if f.seq == 3 && f.kind == FailureKind::Interrupted)
    );
    assert_eq!(journal.spool, 250, "the mark is kept");
    drop(outbox);
    let (_, unfinished) = Outbox::open(dir.path()).unwrap();
    assert!(unfinished.is_empty());
}
