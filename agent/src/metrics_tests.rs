#![allow(clippy::unwrap_used)]

use cairn_protocol::messages::Sample;

use super::*;

fn sample(t: u64) -> Sample {
    Sample {
        t,
        cpu: Some(1.0),
        mem: [1, 2],
        swap: [0, 0],
        load: [0.0; 3],
        disks: Vec::new(),
        nets: Vec::new(),
        svcs: Vec::new(),
    }
}

fn times(m: &Metrics) -> Vec<u64> {
    m.samples.iter().map(|s| s.t).collect()
}

#[test]
fn an_acknowledged_batch_is_deleted_and_an_unacknowledged_one_goes_again_after_a_reconnect() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("metrics.jsonl");
    let buf = Buffer::open(&path, 100);
    for t in 1..=3 {
        buf.push(&sample(t));
    }
    let first = buf.next_batch().unwrap();
    assert_eq!(times(&first), [1, 2, 3]);
    // One batch in flight at a time.
    assert!(buf.next_batch().is_none());
    buf.push(&sample(4));
    // The connection drops before the acknowledgement: everything goes again.
    buf.rewind();
    let again = buf.next_batch().unwrap();
    assert_eq!(times(&again), [1, 2, 3, 4]);
    // The first connection's late acknowledgement deletes nothing.
    buf.ack(first.batch);
    assert_eq!(buf.pending(), 4);
    buf.ack(again.batch);
    assert_eq!(buf.pending(), 0);
    assert!(buf.next_batch().is_none());
    // An agent restart finds what is pending.
    buf.push(&sample(5));
    drop(buf);
    let reopened = Buffer::open(&path, 100);
    assert_eq!(times(&reopened.next_batch().unwrap()), [5]);
}

#[test]
fn a_sample_taken_while_a_batch_is_in_flight_survives_its_acknowledgement() {
    let dir = tempfile::tempdir().unwrap();
    let buf = Buffer::open(&dir.path().join("m.jsonl"), 100);
    buf.push(&sample(10));
    let b = buf.next_batch().unwrap();
    buf.push(&sample(20));
    buf.ack(b.batch);
    assert_eq!(times(&buf.next_batch().unwrap()), [20]);
}

#[test]
fn a_full_buffer_drops_the_oldest_tenth_and_reports_the_count() {
    let dir = tempfile::tempdir().unwrap();
    let buf = Buffer::open(&dir.path().join("m.jsonl"), 100);
    for t in 1..=101 {
        buf.push(&sample(t));
    }
    // 101 > 100: 11 dropped, the newest 90 kept.
    assert_eq!(buf.pending(), 90);
    let batch = buf.next_batch().unwrap();
    assert_eq!(batch.samples.first().unwrap().t, 12);
    assert_eq!(batch.dropped, 11);
    buf.ack(batch.batch);
    assert_eq!(buf.dropped(), 0);
}

#[test]
fn a_line_cut_by_a_crash_is_skipped_and_cleared_with_the_batch() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("m.jsonl");
    let line = serde_json::to_string(&sample(7)).unwrap();
    std::fs::write(&path, format!("{line}\n{{\"t\":8,\"cp")).unwrap();
    let buf = Buffer::open(&path, 100);
    let b = buf.next_batch().unwrap();
    assert_eq!(times(&b), [7]);
    buf.ack(b.batch);
    buf.push(&sample(9));
    assert_eq!(times(&buf.next_batch().unwrap()), [9]);
}

#[test]
fn batches_hold_at_most_the_protocol_s_limit() {
    let dir = tempfile::tempdir().unwrap();
    let buf = Buffer::open(&dir.path().join("m.jsonl"), 1000);
    for t in 1..=(MAX_SAMPLES_PER_BATCH as u64 + 5) {
        buf.push(&sample(t));
    }
    let b = buf.next_batch().unwrap();
    assert_eq!(b.samples.len(), MAX_SAMPLES_PER_BATCH);
    buf.ack(b.batch);
    assert_eq!(buf.next_batch().unwrap().samples.len(), 5);
}
