//! Users and sessions in the store: roles, groups, a disabled user's sessions, a session from
//! before a password change, and a database from before users had roles.
#![allow(clippy::unwrap_used)]

use rusqlite::Connection;

use super::super::{SqliteStore, Store, User};
use crate::roles::{Access, Role};

fn open() -> (tempfile::TempDir, SqliteStore) {
    let dir = tempfile::tempdir().unwrap();
    let store = SqliteStore::open(&dir.path().join("cairn.db")).unwrap();
    (dir, store)
}

fn user(name: &str, role: Role, groups: &[&str]) -> User {
    User {
        username: name.to_owned(),
        password_hash: "$argon2id$stand-in".to_owned(),
        access: Access {
            role,
            groups: groups.iter().map(|g| (*g).to_owned()).collect(),
            destroy: false,
        },
        disabled: false,
        created_at: 0,
        password_changed_at: 0,
    }
}

#[test]
fn a_session_carries_its_users_role_and_groups() {
    let (_dir, s) = open();
    s.create_user(&user("vera", Role::Viewer, &["web"]), 100)
        .unwrap();
    s.create_session("h1", "vera", 100, 1000).unwrap();
    let live = s.session_user("h1", 200).unwrap().unwrap();
    assert_eq!(live.username, "vera");
    assert_eq!(live.access.role, Role::Viewer);
    assert_eq!(live.access.groups, vec!["web".to_owned()]);
    assert!(
        s.set_user_access(
            "vera",
            &Access {
                role: Role::Operator,
                groups: vec!["db".into()],
                destroy: true
            }
        )
        .unwrap()
    );
    let live = s.session_user("h1", 200).unwrap().unwrap();
    assert_eq!(live.access.role, Role::Operator);
    assert!(live.access.destroy);
    assert!(!s.set_user_access("nobody", &live.access).unwrap());
}

#[test]
fn disabling_a_user_ends_their_sessions_at_once_and_enabling_does_not_revive_them() {
    let (_dir, s) = open();
    s.create_user(&user("olga", Role::Operator, &[]), 100)
        .unwrap();
    s.create_session("h1", "olga", 100, 1000).unwrap();
    assert!(s.set_user_disabled("olga", true).unwrap());
    assert!(s.session_user("h1", 200).unwrap().is_none());
    assert!(s.user("olga").unwrap().unwrap().disabled);
    // A session made while disabled (the login refuses it; the store still does not serve it).
    s.create_session("h2", "olga", 200, 1000).unwrap();
    assert!(s.session_user("h2", 200).unwrap().is_none());
    assert!(s.set_user_disabled("olga", false).unwrap());
    assert!(s.session_user("h1", 300).unwrap().is_none());
}

#[test]
fn a_session_made_before_the_last_password_change_is_refused() {
    let (_dir, s) = open();
    s.create_user(&user("olga", Role::Operator, &[]), 100)
        .unwrap();
    s.create_session("old", "olga", 100, 10_000).unwrap();
    assert!(s.set_user_password("olga", "$argon2id$new", 500).unwrap());
    assert!(s.session_user("old", 600).unwrap().is_none());
    // Even one whose row survived (made before, e.g. restored from a copy) is refused.
    s.create_session("copied", "olga", 400, 10_000).unwrap();
    assert!(s.session_user("copied", 600).unwrap().is_none());
    s.create_session("new", "olga", 500, 10_000).unwrap();
    assert!(s.session_user("new", 600).unwrap().is_some());
    assert_eq!(
        s.user("olga").unwrap().unwrap().password_hash,
        "$argon2id$new"
    );
}

#[test]
fn the_one_admin_of_an_older_database_becomes_the_owner() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("cairn.db");
    {
        let conn = Connection::open(&path).unwrap();
        conn.execute_batch(
            "CREATE TABLE users (username TEXT PRIMARY KEY, password_hash TEXT NOT NULL,
                                 created_at INTEGER NOT NULL);
             INSERT INTO users VALUES ('admin', 'h', 1);",
        )
        .unwrap();
    }
    let s = SqliteStore::open(&path).unwrap();
    let admin = s.user("admin").unwrap().unwrap();
    assert_eq!(admin.access.role, Role::Owner);
    assert!(!admin.disabled);
    s.create_session("h", "admin", 5, 100).unwrap();
    assert_eq!(
        s.session_user("h", 6).unwrap().unwrap().access.role,
        Role::Owner
    );
    assert_eq!(s.users().unwrap().len(), 1);
}

#[test]
fn a_sessions_last_use_is_written_at_most_once_a_minute() {
    let (_dir, s) = open();
    s.create_user(&user("lu", Role::Viewer, &[]), 100).unwrap();
    s.create_session("h", "lu", 100, 10_000).unwrap();
    s.set_session_client("h", "curl/8", "127.0.0.1", 100)
        .unwrap();
    s.touch_session("h", 130).unwrap();
    assert_eq!(s.session_user("h", 130).unwrap().unwrap().last_used, 100);
    s.touch_session("h", 161).unwrap();
    assert_eq!(s.session_user("h", 161).unwrap().unwrap().last_used, 161);
    let listed = s.user_sessions("lu", 200).unwrap();
    assert_eq!(listed.len(), 1);
    assert_eq!(listed[0].user_agent, "curl/8");
    // A revoked session by its listed id (a prefix of its hash, 16 digits at least).
    s.create_session("0123456789abcdef99", "lu", 100, 10_000)
        .unwrap();
    assert!(!s.end_user_session("lu", "0123").unwrap());
    assert!(!s.end_user_session("someone", "0123456789abcdef").unwrap());
    assert!(s.end_user_session("lu", "0123456789abcdef").unwrap());
    assert!(s.session_user("0123456789abcdef99", 200).unwrap().is_none());
    assert_eq!(s.end_user_sessions("lu").unwrap(), 1);
}
