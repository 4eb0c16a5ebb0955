//! Recipe submissions in the store: a newer submission supersedes a pending one, a decision is
//! made once, and the overlay is the highest approved version of each recipe.
#![allow(clippy::unwrap_used)]

use super::super::{PendingCaps, SqliteStore, Store, Submission, SubmissionState};

/// Caps no test of this file reaches (the caps' own test sets its own).
const ROOMY: PendingCaps = PendingCaps {
    per_submitter: 1000,
    per_submitter_bytes: u64::MAX / 4,
    total: 1000,
    total_bytes: u64::MAX / 4,
};

fn open() -> (tempfile::TempDir, SqliteStore) {
    let dir = tempfile::tempdir().unwrap();
    let store = SqliteStore::open(&dir.path().join("cairn.db")).unwrap();
    (dir, store)
}

fn sub(id: &str, recipe: &str, version: u64, at: u64) -> Submission {
    Submission {
        id: id.to_owned(),
        recipe_id: recipe.to_owned(),
        version,
        source: format!("// {recipe} v{version}"),
        files: vec![(format!("{recipe}.conf.j2"), "x = 1".to_owned())],
        warnings: vec!["3:1: warning: unused".to_owned()],
        grown: vec!["program curl".to_owned()],
        base_version: Some(1),
        submitted_by: "olga (token ci)".to_owned(),
        submitter: "olga".to_owned(),
        submitted_at: at,
        state: SubmissionState::Pending,
        decided_by: None,
        decided_at: None,
        withdrawn: None,
    }
}

#[test]
fn a_submission_is_kept_whole_and_a_newer_one_supersedes_it() {
    let (_d, st) = open();
    assert!(
        st.create_submission(&sub("sub-a", "redis", 2, 10), &ROOMY)
            .unwrap()
            .unwrap()
            .is_empty()
    );
    assert_eq!(
        st.submission("sub-a").unwrap().unwrap(),
        sub("sub-a", "redis", 2, 10)
    );
    let superseded = st
        .create_submission(&sub("sub-b", "redis", 3, 11), &ROOMY)
        .unwrap()
        .unwrap();
    assert_eq!(superseded, vec!["sub-a".to_owned()]);
    let a = st.submission("sub-a").unwrap().unwrap();
    assert_eq!(a.state, SubmissionState::Superseded);
    // Another recipe's pending submission is left alone.
    st.create_submission(&sub("sub-c", "go", 2, 12), &ROOMY)
        .unwrap()
        .unwrap();
    let ids: Vec<_> = st
        .submissions()
        .unwrap()
        .into_iter()
        .map(|s| s.id)
        .collect();
    assert_eq!(ids, ["sub-c", "sub-b", "sub-a"]);
    assert!(st.approved_submissions().unwrap().is_empty());
}

#[test]
fn a_decision_is_made_once_and_the_overlay_is_the_highest_approved_version() {
    let (_d, st) = open();
    st.create_submission(&sub("sub-a", "redis", 2, 10), &ROOMY)
        .unwrap()
        .unwrap();
    assert!(
        st.decide_submission("sub-a", SubmissionState::Approved, "ana", 20)
            .unwrap()
    );
    // Decided: a second decision (of anyone) changes nothing.
    assert!(
        !st.decide_submission("sub-a", SubmissionState::Rejected, "bob", 21)
            .unwrap()
    );
    let a = st.submission("sub-a").unwrap().unwrap();
    assert_eq!(a.state, SubmissionState::Approved);
    assert_eq!(a.decided_by.as_deref(), Some("ana"));
    assert_eq!(a.decided_at, Some(20));

    st.create_submission(&sub("sub-b", "redis", 3, 30), &ROOMY)
        .unwrap()
        .unwrap();
    assert!(
        st.decide_submission("sub-b", SubmissionState::Rejected, "ana", 31)
            .unwrap()
    );
    let overlay = st.approved_submissions().unwrap();
    assert_eq!(overlay.len(), 1);
    assert_eq!((overlay[0].id.as_str(), overlay[0].version), ("sub-a", 2));

    st.create_submission(&sub("sub-c", "redis", 4, 40), &ROOMY)
        .unwrap()
        .unwrap();
    assert!(
        st.decide_submission("sub-c", SubmissionState::Approved, "ana", 41)
            .unwrap()
    );
    let overlay = st.approved_submissions().unwrap();
    assert_eq!(overlay.len(), 1);
    assert_eq!((overlay[0].id.as_str(), overlay[0].version), ("sub-c", 4));
    assert!(
        !st.decide_submission("nope", SubmissionState::Approved, "ana", 50)
            .unwrap()
    );
}

#[test]
fn a_withdrawn_submission_leaves_the_overlay_once_and_raises_its_recipes_floor() {
    let (_d, st) = open();
    for (id, version, at) in [("sub-a", 2, 10), ("sub-b", 3, 20)] {
        st.create_submission(&sub(id, "redis", version, at), &ROOMY)
            .unwrap()
            .unwrap();
        assert!(
            st.decide_submission(id, SubmissionState::Approved, "ana", at + 1)
                .unwrap()
        );
    }
    st.create_submission(&sub("sub-p", "redis", 5, 25), &ROOMY)
        .unwrap()
        .unwrap();
    assert!(st.recipe_floors().unwrap().is_empty());
    // A pending submission is not withdrawn: only an approved one is.
    assert!(!st.withdraw_submission("sub-p", "ana", 30, 4).unwrap());
    assert!(st.withdraw_submission("sub-b", "ana", 30, 4).unwrap());
    // Of two withdrawals, the second changes nothing.
    assert!(!st.withdraw_submission("sub-b", "bob", 31, 5).unwrap());
    let b = st.submission("sub-b").unwrap().unwrap();
    assert_eq!(b.state, SubmissionState::Withdrawn);
    assert_eq!(
        b.withdrawn,
        Some(super::Withdrawal {
            by: "ana".to_owned(),
            at: 30,
            published_as: 4
        })
    );
    // The approved one below it is the overlay again, published at the floor (4) at least.
    let overlay = st.approved_submissions().unwrap();
    assert_eq!((overlay[0].id.as_str(), overlay[0].version), ("sub-a", 2));
    assert_eq!(st.recipe_floors().unwrap().get("redis"), Some(&4));
    assert!(st.withdraw_submission("sub-a", "ana", 40, 5).unwrap());
    assert!(st.approved_submissions().unwrap().is_empty());
    assert_eq!(st.recipe_floors().unwrap().get("redis"), Some(&5));
}

/// `recipe` `version` sent by `who` (`olga (token ci)`: account `olga`) with a text of `len`
/// bytes and no companion file.
fn sized(id: &str, recipe: &str, version: u64, who: &str, len: usize) -> Submission {
    let mut s = sub(id, recipe, version, 10);
    s.submitted_by = who.to_owned();
    s.submitter = who.split(' ').next().unwrap_or(who).to_owned();
    s.source = "x".repeat(len);
    s.files = Vec::new();
    s
}

fn ids(st: &SqliteStore) -> Vec<String> {
    let mut all: Vec<String> = st
        .submissions()
        .unwrap()
        .into_iter()
        .map(|s| s.id)
        .collect();
    all.sort();
    all
}

/// THREATS row 58: an account's pending submissions (whichever of its tokens sent them) and
/// all pending ones are capped in number and bytes, checked as the submission is stored; a
/// refused one stores nothing and supersedes nothing; a new version of a recipe already
/// waiting replaces it, so it is not held back by its own predecessor.
#[test]
fn pending_submissions_are_capped_per_account_and_in_all_and_a_refusal_stores_nothing() {
    use super::super::{Cap, OverCap};
    let (_d, st) = open();
    let caps = PendingCaps {
        per_submitter: 2,
        per_submitter_bytes: 1000,
        total: 3,
        total_bytes: 1500,
    };
    let create = |s: &Submission| st.create_submission(s, &caps).unwrap();
    assert!(create(&sized("sub-1", "redis", 2, "olga (token ci)", 100)).is_ok());
    assert!(create(&sized("sub-2", "go", 2, "olga", 100)).is_ok());
    // A third recipe of olga's, from another token of hers: refused, nothing stored.
    let before = ids(&st);
    assert_eq!(
        create(&sized("sub-3", "php", 2, "olga (token other)", 100)),
        Err(OverCap {
            cap: Cap::PerSubmitter,
            held: 2,
            held_bytes: 200 + 4,
            bytes: 102,
        })
    );
    assert_eq!(ids(&st), before);
    // The next version of redis replaces hers: accepted.
    assert_eq!(
        create(&sized("sub-4", "redis", 3, "olga (token ci)", 100)),
        Ok(vec!["sub-1".to_owned()])
    );
    // Her bytes: go's 102 held (redis is replaced), 802 more fit under 1000.
    match create(&sized("sub-5", "redis", 4, "olga", 800)) {
        Ok(_) => {}
        Err(over) => panic!("redis v4 replaces v3 and fits: {over:?}"),
    }
    let before = ids(&st);
    let over = create(&sized("sub-6", "ruby", 2, "olga", 900)).unwrap_err();
    assert_eq!(
        over.cap,
        Cap::PerSubmitter,
        "olga holds 2 recipes: count first"
    );
    let over = create(&sized("sub-6b", "go", 3, "olga", 200)).unwrap_err();
    assert_eq!(
        (over.cap, over.held_bytes),
        (Cap::PerSubmitterBytes, 802),
        "go v3 replaces go, but redis's 802 bytes and its 202 pass 1000"
    );
    // Bob's own caps are free; all pending ones then hold 3, the most, and 1500 bytes in all.
    assert!(create(&sized("sub-7", "php", 2, "bob", 100)).is_ok());
    let over = create(&sized("sub-8", "node", 2, "carl", 10)).unwrap_err();
    assert_eq!((over.cap, over.held), (Cap::Total, 3));
    let over = create(&sized("sub-9", "php", 3, "carl", 600)).unwrap_err();
    assert_eq!(over.cap, Cap::TotalBytes, "{over:?}");
    assert_eq!(
        over.held, 2,
        "bob's php would be replaced, so it is not counted"
    );
    assert_eq!(ids(&st), [&before[..], &["sub-7".to_owned()]].concat());
    let php = st.submission("sub-7").unwrap().unwrap();
    assert_eq!(
        php.state,
        SubmissionState::Pending,
        "a refusal supersedes nothing"
    );
}

/// THREATS row 58: superseded and rejected submissions (an operator makes one each time they
/// send a recipe again) are kept up to `HISTORY_KEPT`, the newest; approved ones stay.
#[test]
fn only_the_newest_superseded_or_rejected_submissions_are_kept() {
    use super::HISTORY_KEPT;
    let (_d, st) = open();
    st.create_submission(&sub("sub-approved", "redis", 2, 1), &ROOMY)
        .unwrap()
        .unwrap();
    assert!(
        st.decide_submission("sub-approved", SubmissionState::Approved, "ana", 2)
            .unwrap()
    );
    let sent = HISTORY_KEPT as u64 + 20;
    for n in 0..sent {
        let s = sub(&format!("sub-go-{n:03}"), "go", 2 + n, 10 + n);
        st.create_submission(&s, &ROOMY).unwrap().unwrap();
    }
    let last = format!("sub-go-{:03}", sent - 1);
    assert!(
        st.decide_submission(&last, SubmissionState::Rejected, "ana", 1000)
            .unwrap()
    );
    let all = st.submissions().unwrap();
    let decided: Vec<&Submission> = all
        .iter()
        .filter(|s| {
            matches!(
                s.state,
                SubmissionState::Superseded | SubmissionState::Rejected
            )
        })
        .collect();
    assert_eq!(decided.len(), HISTORY_KEPT);
    // The newest are kept: the rejected one and the superseded ones just before it.
    assert_eq!(decided[0].id, last);
    let oldest_kept = sent - HISTORY_KEPT as u64;
    assert_eq!(
        decided.last().map(|s| s.id.clone()),
        Some(format!("sub-go-{oldest_kept:03}"))
    );
    assert!(st.submission("sub-go-000").unwrap().is_none());
    assert_eq!(
        st.submission("sub-approved").unwrap().map(|s| s.state),
        Some(SubmissionState::Approved)
    );
    assert_eq!(st.approved_submissions().unwrap().len(), 1);
}

/// Day 2: a cancelled submission leaves the pending caps at once, and submitting and
/// cancelling again and again keeps only the newest `HISTORY_KEPT` of them (THREATS row 58).
#[test]
fn a_cancelled_submission_frees_its_cap_and_cancelled_ones_are_trimmed_like_rejected_ones() {
    use super::HISTORY_KEPT;
    let (_d, st) = open();
    let one = PendingCaps {
        per_submitter: 1,
        ..ROOMY
    };
    let sent = HISTORY_KEPT as u64 + 10;
    for n in 0..sent {
        let id = format!("sub-c-{n:03}");
        // Under a cap of one pending submission: each fits only because the last was cancelled.
        st.create_submission(&sub(&id, &format!("r{n}"), 2, 10 + n), &one)
            .unwrap()
            .unwrap();
        assert!(
            st.decide_submission(&id, SubmissionState::Cancelled, "olga", 10 + n)
                .unwrap()
        );
        assert!(
            !st.decide_submission(&id, SubmissionState::Approved, "ana", 11 + n)
                .unwrap(),
            "a cancelled submission cannot be decided"
        );
    }
    let all = st.submissions().unwrap();
    assert_eq!(all.len(), HISTORY_KEPT);
    assert!(all.iter().all(|s| s.state == SubmissionState::Cancelled));
    assert_eq!(all[0].decided_by.as_deref(), Some("olga"));
    assert!(st.submission("sub-c-000").unwrap().is_none());
    assert!(st.approved_submissions().unwrap().is_empty());
}
