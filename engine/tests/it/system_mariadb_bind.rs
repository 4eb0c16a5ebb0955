//! `mariadb_bind()`: MariaDB's listen address through one fixed file of exact content, only
//! for a recipe declaring MariaDB's service, removed through `rm` so that a plan shows it.
//! The file tests use a temporary path (`bind_at`); the host function always uses `FILE`.

#![allow(clippy::unwrap_used)]

use crate::{common, util};

use cairn_engine::PlannedAction;
use cairn_engine::system::mariadb_bind;
use common::RealExec;

#[test]
fn a_recipe_without_the_mariadb_service_cannot_set_the_bind_address() {
    for services in [r#"[]"#, r#"["redis-server"]"#] {
        let r = util::recipe_with("[]", "[]", services, "[]", r#"mariadb_bind("0.0.0.0")"#);
        let ran = util::plan(&r, serde_json::json!({}));
        assert!(
            ran.error()
                .contains("only for a recipe that declares the service mariadb or mysql"),
            "{}",
            ran.error()
        );
        assert!(ran.plan.is_empty());
    }
}

#[test]
fn an_address_that_is_not_an_ip_is_refused_and_nothing_is_planned() {
    for bad in ["localhost", "0.0.0.0\\nplugin_load = evil.so", "*"] {
        let r = util::recipe_with(
            "[]",
            "[]",
            r#"["mariadb", "mysql"]"#,
            "[]",
            &format!(r#"mariadb_bind("{bad}")"#),
        );
        let ran = util::plan(&r, serde_json::json!({}));
        assert!(
            ran.error().contains("is not an IP address"),
            "{}",
            ran.error()
        );
        assert!(ran.plan.is_empty());
    }
}

#[test]
fn the_file_holds_exactly_the_bind_address_and_is_removed_with_rm() {
    use std::os::unix::fs::PermissionsExt;
    let dir = util::tempdir();
    let path = dir.path().join("90-cairn-remote.cnf");
    let exec = RealExec::new();
    assert!(mariadb_bind::bind_at(&exec, Some("0.0.0.0"), &path).unwrap());
    assert_eq!(
        std::fs::read_to_string(&path).unwrap(),
        "[mysqld]\nbind-address = 0.0.0.0\n"
    );
    let mode = std::fs::metadata(&path).unwrap().permissions().mode() & 0o777;
    assert_eq!(mode, 0o644);
    assert!(
        !mariadb_bind::bind_at(&exec, Some("0.0.0.0"), &path).unwrap(),
        "the same address a second time is not a change"
    );
    assert!(mariadb_bind::bind_at(&exec, Some("::"), &path).unwrap());
    assert_eq!(
        std::fs::read_to_string(&path).unwrap(),
        "[mysqld]\nbind-address = ::\n"
    );
    assert!(mariadb_bind::bind_at(&exec, None, &path).unwrap());
    assert!(!path.exists());
    assert_eq!(exec.ran_program("rm").len(), 1);
    assert!(!mariadb_bind::bind_at(&exec, None, &path).unwrap());
    assert_eq!(
        exec.ran_program("rm").len(),
        1,
        "nothing to remove runs nothing"
    );
}

#[test]
fn a_plan_shows_the_write_and_the_removal_and_does_neither() {
    let dir = util::tempdir();
    let path = dir.path().join("90-cairn-remote.cnf");
    let exec = RealExec::plan();
    assert!(mariadb_bind::bind_at(&exec, Some("0.0.0.0"), &path).unwrap());
    assert!(!path.exists());
    std::fs::write(&path, "[mysqld]\nbind-address = 0.0.0.0\n").unwrap();
    assert!(mariadb_bind::bind_at(&exec, None, &path).unwrap());
    assert!(path.exists());
    assert_eq!(
        *exec.planned.lock().unwrap(),
        vec![
            PlannedAction::WriteFile {
                path: path.display().to_string(),
                mode: 0o644,
                bytes: "[mysqld]\nbind-address = 0.0.0.0\n".len()
            },
            PlannedAction::Run {
                program: "rm".into(),
                args: vec!["-f".into(), "--".into(), path.display().to_string()],
                stdin: false
            },
        ]
    );
}
