//! Recipe metadata: read from the literal `RECIPE` map without running anything, and checked.
#![allow(clippy::unwrap_used)]

use cairn_engine::{Category, Recipe};

fn parse(src: &str) -> Result<Recipe, String> {
    Recipe::parse("r.rhai", src).map_err(|e| e.to_string())
}

const OK: &str = r#"
const RECIPE = #{ id: "redis", title: "Redis", category: "database", version: 3, estimated_size_mb: 8,
  os: [#{ id: "debian", versions: ["12"] }],
  capabilities: #{ programs: ["apt-get"], paths: ["/etc/redis"], services: ["redis-server"] } };
fn detect() { #{ installed: false } }
fn configure(params) { }
"#;

#[test]
fn metadata_is_read_without_running_anything() {
    // A top-level statement that would fail if executed proves nothing ran.
    let src = format!("{OK}\nrun(\"rm\", [\"-rf\", \"/\"]);");
    let r = parse(&src).unwrap();
    assert_eq!(r.meta.id, "redis");
    assert_eq!(r.meta.version, 3);
    assert_eq!(r.meta.category, Category::Database);
    assert_eq!(r.meta.capabilities.services, ["redis-server"]);
}

#[test]
fn bad_metadata_is_reported_with_the_file() {
    for (src, needle) in [
        (
            OK.replace("const RECIPE", "let OTHER"),
            "missing `const RECIPE",
        ),
        (
            OK.replace("version: 3", "version: make_version()"),
            "missing `const RECIPE",
        ),
        (
            OK.replace("version: 3", "version: 0"),
            "version must be 1 or more",
        ),
        (OK.replace("id: \"redis\"", "id: \"Redis!\""), "RECIPE.id"),
        (
            OK.replace("category: \"database\"", "category: \"game\""),
            "RECIPE:",
        ),
        (
            OK.replace("estimated_size_mb: 8,", "estimated_size_mb: 8, colour: 1,"),
            "colour",
        ),
        (
            OK.replace("paths: [\"/etc/redis\"]", "paths: [\"/\"]"),
            "capabilities.paths",
        ),
        (
            OK.replace("fn configure(params) { }", "fn install(params) { }"),
            "fn configure(params)",
        ),
        (
            OK.replace("fn detect()", "fn detected()"),
            "missing `fn detect()`",
        ),
        (
            OK.replace("services: [\"redis-server\"]", "services: [\"-x\"]"),
            "capabilities.services",
        ),
    ] {
        let e = parse(&src).unwrap_err();
        assert!(e.starts_with("r.rhai:"), "{e}");
        assert!(e.contains(needle), "expected `{needle}` in: {e}");
    }
}

#[test]
fn compile_errors_have_line_and_column() {
    let e = parse(&OK.replace(
        "fn configure(params) { }",
        "fn configure(params) { let = 1; }",
    ))
    .unwrap_err();
    assert!(e.starts_with("r.rhai:6:"), "{e}");
}

#[test]
fn typos_in_variable_names_are_caught_when_checking() {
    let e = parse(&OK.replace(
        "fn configure(params) { }",
        "fn configure(params) { let port = 1; prot }",
    ))
    .unwrap_err();
    assert!(e.starts_with("r.rhai:6:"), "{e}");
    assert!(e.contains("prot"), "{e}");
}
