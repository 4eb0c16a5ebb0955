//! `cairn-recipe keygen | sign | verify`, run as a user would, on the built binary.
#![allow(clippy::unwrap_used)]

use std::os::unix::fs::PermissionsExt;
use std::path::Path;
use std::process::{Command, Output};

use cairn_protocol::{Capabilities, KeyPair, SignedBundle, UnsignedBundle};

const RECIPE: &str = r#"const RECIPE = #{
    id: "redis",
    title: "Redis",
    category: "runtime",
    version: 5,
    estimated_size_mb: 8,
    os: [#{ id: "debian", versions: ["12"] }],
    capabilities: #{ programs: ["apt-get", "systemctl"], paths: ["/etc/redis/"], services: ["redis-server"] },
};
fn detect() { #{ installed: false } }
fn install(params) { apt_install(["redis-server"]); }
"#;

fn cairn(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_cairn-recipe"))
        .args(args)
        .output()
        .unwrap()
}

fn text(b: &[u8]) -> String {
    String::from_utf8_lossy(b).into_owned()
}

/// keygen + a recipe and a template on disk; returns (keys dir, recipe, template).
fn setup(dir: &Path) -> (String, String, String) {
    let keys = dir.join("keys");
    let out = cairn(&["keygen", keys.to_str().unwrap()]);
    assert!(out.status.success(), "{}", text(&out.stderr));
    let recipe = dir.join("redis.rhai");
    let template = dir.join("redis.conf.j2");
    std::fs::write(&recipe, RECIPE).unwrap();
    std::fs::write(&template, "port {{ port }}\n").unwrap();
    let s = |p: &Path| p.to_str().unwrap().to_owned();
    (s(&keys), s(&recipe), s(&template))
}

#[test]
fn keygen_writes_a_private_secret_and_a_readable_public_key() {
    let dir = tempfile::tempdir().unwrap();
    let (keys, _, _) = setup(dir.path());
    let secret = Path::new(&keys).join("signing.key");
    let public = Path::new(&keys).join("signing.pub");
    assert_eq!(
        std::fs::metadata(&secret).unwrap().permissions().mode() & 0o777,
        0o600
    );
    assert_eq!(
        std::fs::metadata(&public).unwrap().permissions().mode() & 0o777,
        0o644
    );
    assert_eq!(std::fs::read_to_string(&public).unwrap().trim().len(), 64);
    // A second keygen must not replace the key.
    let before = std::fs::read(&secret).unwrap();
    let out = cairn(&["keygen", &keys]);
    assert!(!out.status.success());
    assert!(
        text(&out.stderr).contains("signing.key"),
        "{}",
        text(&out.stderr)
    );
    assert_eq!(std::fs::read(&secret).unwrap(), before);
}

#[test]
fn sign_then_verify() {
    let dir = tempfile::tempdir().unwrap();
    let (keys, recipe, template) = setup(dir.path());
    let bundle = dir.path().join("redis.bundle.json");
    let out = cairn(&[
        "sign",
        "--key",
        &format!("{keys}/signing.key"),
        "--expires-in",
        "30d",
        &recipe,
        &template,
        "--out",
        bundle.to_str().unwrap(),
    ]);
    assert!(out.status.success(), "{}", text(&out.stderr));
    let out = cairn(&[
        "verify",
        "--pub",
        &format!("{keys}/signing.pub"),
        bundle.to_str().unwrap(),
    ]);
    assert!(out.status.success(), "{}", text(&out.stderr));
    let summary = text(&out.stdout);
    for part in [
        "redis version 5",
        "redis.rhai",
        "redis.conf.j2",
        "apt-get, systemctl",
        "/etc/redis/",
        "redis-server",
    ] {
        assert!(summary.contains(part), "{part:?} missing from: {summary}");
    }
}

#[test]
fn verify_refuses_a_tampered_bundle_and_says_why() {
    let dir = tempfile::tempdir().unwrap();
    let (keys, recipe, _) = setup(dir.path());
    let bundle = dir.path().join("b.json");
    let out = cairn(&[
        "sign",
        "--key",
        &format!("{keys}/signing.key"),
        &recipe,
        "--out",
        bundle.to_str().unwrap(),
    ]);
    assert!(out.status.success(), "{}", text(&out.stderr));
    let mut b = SignedBundle::from_bytes(&std::fs::read(&bundle).unwrap()).unwrap();
    let evil = RECIPE.replace("redis-server\"]);", "redis-server\"]); run(\"bash\", []);");
    b.files
        .insert("redis.rhai".into(), base64_encode(evil.as_bytes()));
    std::fs::write(&bundle, b.to_json()).unwrap();
    let out = cairn(&[
        "verify",
        "--pub",
        &format!("{keys}/signing.pub"),
        bundle.to_str().unwrap(),
    ]);
    assert!(!out.status.success());
    let err = text(&out.stderr);
    assert!(
        err.contains("redis.rhai") && err.contains("does not match the signed manifest"),
        "{err}"
    );
    assert!(out.stdout.is_empty());
}

#[test]
fn verify_refuses_an_expired_bundle_and_says_why() {
    let dir = tempfile::tempdir().unwrap();
    let (keys, _, _) = setup(dir.path());
    let key = KeyPair::read_file(&Path::new(&keys).join("signing.key")).unwrap();
    let now = cairn_protocol::unix_now();
    let expired = UnsignedBundle {
        recipe_id: "redis".into(),
        version: 5,
        capabilities: Capabilities::default(),
        files: vec![("redis.rhai".into(), RECIPE.as_bytes().to_vec())],
        issued_at: now - 10 * 86_400,
        expires_at: now - 86_400,
    }
    .sign(&key)
    .unwrap();
    let bundle = dir.path().join("old.json");
    std::fs::write(&bundle, expired.to_json()).unwrap();
    let out = cairn(&[
        "verify",
        "--pub",
        &format!("{keys}/signing.pub"),
        bundle.to_str().unwrap(),
    ]);
    assert!(!out.status.success());
    assert!(
        text(&out.stderr).contains("expired"),
        "{}",
        text(&out.stderr)
    );
}

#[test]
fn verify_refuses_a_bundle_signed_by_another_key() {
    let dir = tempfile::tempdir().unwrap();
    let (keys, recipe, _) = setup(dir.path());
    let other = dir.path().join("other");
    assert!(cairn(&["keygen", other.to_str().unwrap()]).status.success());
    let bundle = dir.path().join("b.json");
    let out = cairn(&[
        "sign",
        "--key",
        other.join("signing.key").to_str().unwrap(),
        &recipe,
        "--out",
        bundle.to_str().unwrap(),
    ]);
    assert!(out.status.success(), "{}", text(&out.stderr));
    let out = cairn(&[
        "verify",
        "--pub",
        &format!("{keys}/signing.pub"),
        bundle.to_str().unwrap(),
    ]);
    assert!(!out.status.success());
    assert!(
        text(&out.stderr).contains("does not trust"),
        "{}",
        text(&out.stderr)
    );
}

#[test]
fn sign_refuses_a_bad_duration() {
    let dir = tempfile::tempdir().unwrap();
    let (keys, recipe, _) = setup(dir.path());
    let out = cairn(&[
        "sign",
        "--key",
        &format!("{keys}/signing.key"),
        "--expires-in",
        "soon",
        &recipe,
        "--out",
        "/dev/null",
    ]);
    assert!(!out.status.success());
    assert!(
        text(&out.stderr).contains("not a duration"),
        "{}",
        text(&out.stderr)
    );
}

fn base64_encode(bytes: &[u8]) -> String {
    use base64::Engine as _;
    base64::engine::general_purpose::STANDARD.encode(bytes)
}
