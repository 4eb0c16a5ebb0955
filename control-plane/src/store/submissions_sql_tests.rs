//! Recipe submissions in the store: a newer submission supersedes a pending one, a decision is
//! made once, and the overlay is the highest approved version of each recipe.
#![allow(clippy::unwrap_used)]

use super::super::{SqliteStore, Store, Submission, SubmissionState};

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
        st.create_submission(&sub("sub-a", "redis", 2, 10))
            .unwrap()
            .is_empty()
    );
    assert_eq!(
        st.submission("sub-a").unwrap().unwrap(),
        sub("sub-a", "redis", 2, 10)
    );
    let superseded = st.create_submission(&sub("sub-b", "redis", 3, 11)).unwrap();
    assert_eq!(superseded, vec!["sub-a".to_owned()]);
    let a = st.submission("sub-a").unwrap().unwrap();
    assert_eq!(a.state, SubmissionState::Superseded);
    // Another recipe's pending submission is left alone.
    st.create_submission(&sub("sub-c", "go", 2, 12)).unwrap();
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
    st.create_submission(&sub("sub-a", "redis", 2, 10)).unwrap();
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

    st.create_submission(&sub("sub-b", "redis", 3, 30)).unwrap();
    assert!(
        st.decide_submission("sub-b", SubmissionState::Rejected, "ana", 31)
            .unwrap()
    );
    let overlay = st.approved_submissions().unwrap();
    assert_eq!(overlay.len(), 1);
    assert_eq!((overlay[0].id.as_str(), overlay[0].version), ("sub-a", 2));

    st.create_submission(&sub("sub-c", "redis", 4, 40)).unwrap();
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
        st.create_submission(&sub(id, "redis", version, at))
            .unwrap();
        assert!(
            st.decide_submission(id, SubmissionState::Approved, "ana", at + 1)
                .unwrap()
        );
    }
    st.create_submission(&sub("sub-p", "redis", 5, 25)).unwrap();
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
