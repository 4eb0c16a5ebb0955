//! `cairn-recipe check` finding every problem of a recipe before a server sees it: one small
//! broken recipe per diagnostic (its code, place, sentence and hint), one file with several
//! errors all reported in one pass, the `--json` shape, `new` writing a recipe of each category
//! that passes, and `definitions` writing the host API for editors.
#![allow(clippy::unwrap_used)]

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use crate::common::workspace as root;

fn bin() -> Command {
    Command::new(env!("CARGO_BIN_EXE_cairn-recipe"))
}

fn stderr(out: &Output) -> String {
    String::from_utf8_lossy(&out.stderr).into_owned()
}

/// A runtime recipe: `fields` added to RECIPE, `programs` declared, `body` in install().
fn recipe(dir: &Path, fields: &str, programs: &str, rest: &str) -> PathBuf {
    let path = dir.join("t.rhai");
    std::fs::write(
        &path,
        format!(
            r#"const RECIPE = #{{
    id: "t", title: "T", category: "runtime", version: 1, estimated_size_mb: 1,
    os: [#{{ id: "debian", versions: ["12"] }}],
    capabilities: #{{ programs: {programs} }},{fields}
}};
fn detect() {{ #{{ installed: false }} }}
{rest}
"#
        ),
    )
    .unwrap();
    path
}

/// A recipe whose install(params) is `body` (line 8 is its first line).
fn with_install(dir: &Path, programs: &str, body: &str) -> PathBuf {
    recipe(
        dir,
        "",
        programs,
        &format!("fn install(params) {{\n{body}\n}}"),
    )
}

/// Runs `check --json` on `file`: the exit code and the findings.
fn check_json(file: &Path) -> (Option<i32>, Vec<serde_json::Value>) {
    let out = bin().arg("check").arg("--json").arg(file).output().unwrap();
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap_or_else(|e| {
        panic!(
            "{e}: {}{}",
            String::from_utf8_lossy(&out.stdout),
            stderr(&out)
        )
    });
    (
        out.status.code(),
        v["diagnostics"].as_array().unwrap().clone(),
    )
}

/// The one finding of `file`, which must have exactly one, with `code`.
fn only(file: &Path, code: &str) -> serde_json::Value {
    let (status, found) = check_json(file);
    assert_eq!(found.len(), 1, "{found:#?}");
    assert_eq!(found[0]["code"], code, "{found:#?}");
    let severity = found[0]["severity"].as_str().unwrap();
    assert_eq!(status, Some(if severity == "error" { 1 } else { 0 }));
    found[0].clone()
}

fn place(d: &serde_json::Value) -> (u64, u64) {
    (d["line"].as_u64().unwrap(), d["col"].as_u64().unwrap())
}

#[test]
fn an_unknown_function_is_reported_with_the_host_function_it_was_meant_to_be() {
    let dir = tempfile::tempdir().unwrap();
    let f = with_install(dir.path(), "[]", r#"    apt_instal(["redis"]);"#);
    let d = only(&f, "unknown-function");
    assert_eq!(place(&d), (8, 5));
    assert_eq!(d["message"], "no function `apt_instal` exists");
    assert_eq!(d["hint"], "did you mean `apt_install`?");
    // The text form: file:line:col: severity: message, then the hint.
    let out = bin().arg("check").arg(&f).output().unwrap();
    assert_eq!(out.status.code(), Some(1));
    assert_eq!(
        stderr(&out),
        format!(
            "{}:8:5: error: no function `apt_instal` exists\n  hint: did you mean `apt_install`?\n",
            f.display()
        )
    );
}

#[test]
fn a_recipe_function_misspelt_is_suggested_too() {
    let dir = tempfile::tempdir().unwrap();
    let f = recipe(
        dir.path(),
        "",
        "[]",
        "fn packages() { [] }\nfn install(params) { pakages() }",
    );
    let d = only(&f, "unknown-function");
    assert_eq!(d["hint"], "did you mean `packages`?");
}

#[test]
fn a_closure_called_like_a_function_is_reported_as_the_engine_would_refuse_it() {
    let dir = tempfile::tempdir().unwrap();
    let f = with_install(dir.path(), "[]", "    let add = |x| x + 1;\n    add(2)");
    let d = only(&f, "unknown-function");
    assert_eq!(place(&d), (9, 5));
    assert_eq!(
        d["hint"],
        "`add` is a variable: call the function it holds with `add.call(…)`"
    );
    // What the engine says when it runs: the same call refused.
    let out = bin().arg("run").arg(&f).output().unwrap();
    assert_eq!(out.status.code(), Some(1));
    assert!(
        String::from_utf8_lossy(&out.stdout)
            .contains("the recipe calls `add (i64)`, which does not exist"),
        "{}",
        String::from_utf8_lossy(&out.stdout)
    );
}

#[test]
fn a_host_function_called_with_the_wrong_number_of_arguments_says_how_to_call_it() {
    let dir = tempfile::tempdir().unwrap();
    let f = with_install(dir.path(), r#"["true"]"#, r#"    run("true");"#);
    let d = only(&f, "wrong-arity");
    assert_eq!(place(&d), (8, 5));
    assert_eq!(d["message"], "`run` takes 2 or 3 arguments, not 1");
    assert_eq!(
        d["hint"],
        "call it as run(program, args) or run(program, args, options)"
    );
}

#[test]
fn a_recipe_function_called_with_the_wrong_number_of_arguments_is_reported() {
    let dir = tempfile::tempdir().unwrap();
    let f = recipe(
        dir.path(),
        "",
        "[]",
        "fn pair(a, b) { [a, b] }\nfn install(params) { pair(1) }",
    );
    let d = only(&f, "wrong-arity");
    assert_eq!(
        d["message"],
        "the recipe's function `pair` takes 2 arguments, not 1"
    );
}

#[test]
fn a_missing_entry_point_names_the_one_the_category_needs() {
    let dir = tempfile::tempdir().unwrap();
    // A runtime written with a database's entry point.
    let f = recipe(dir.path(), "", "[]", "fn configure(params) { () }");
    let d = only(&f, "missing-entry-point");
    assert_eq!(d["message"], "missing `fn install(params)`");
    assert_eq!(place(&d), (7, 4), "points at `fn configure`");
    assert!(
        d["hint"].as_str().unwrap().starts_with(
            "a runtime recipe's entry point is `install(params)`, not `configure(params)`"
        ),
        "{d:#}"
    );
}

#[test]
fn a_misnamed_entry_point_is_pointed_at_with_its_right_name() {
    let dir = tempfile::tempdir().unwrap();
    let f = recipe(dir.path(), "", "[]", "fn instal(params) { () }");
    let d = only(&f, "missing-entry-point");
    assert_eq!(place(&d), (7, 4));
    assert_eq!(d["hint"], "did you mean to name `fn instal` `install`?");
}

#[test]
fn an_entry_point_with_the_wrong_parameters_is_reported() {
    let dir = tempfile::tempdir().unwrap();
    let f = recipe(dir.path(), "", "[]", "fn install() { () }");
    let d = only(&f, "entry-point-arity");
    assert_eq!(
        d["message"],
        "`fn install` takes 0 parameter(s); the engine calls it as `install(params)`"
    );
}

#[test]
fn a_declared_action_without_its_function_is_reported() {
    let dir = tempfile::tempdir().unwrap();
    let f = recipe(
        dir.path(),
        r#"
    actions: [#{ name: "rotate", title: "Rotate" }],"#,
        "[]",
        "fn install(params) { () }\nfn rotat(params) { () }",
    );
    let d = only(&f, "missing-action");
    assert_eq!(
        d["message"],
        "actions.rotate is declared but the recipe has no `fn rotate(params)`"
    );
    assert_eq!(d["hint"], "did you mean to name `fn rotat` `rotate`?");
}

#[test]
fn recipe_fields_missing_unknown_or_of_the_wrong_shape_are_each_reported() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("t.rhai");
    std::fs::write(
        &path,
        r#"const RECIPE = #{
    id: "t", titel: "T", category: "runtime", version: "one",
    os: [#{ id: "debian", versions: ["12"] }],
    capabilities: #{ programs: [] },
};
fn detect() { #{ installed: false } }
fn install(params) { () }
"#,
    )
    .unwrap();
    let (status, found) = check_json(&path);
    assert_eq!(status, Some(1));
    let by = |code: &str| -> Vec<&serde_json::Value> {
        found.iter().filter(|d| d["code"] == code).collect()
    };
    let unknown = by("unknown-field");
    assert_eq!(unknown.len(), 1, "{found:#?}");
    assert_eq!(unknown[0]["message"], "RECIPE has no field `titel`");
    assert_eq!(unknown[0]["hint"], "did you mean `title`?");
    assert_eq!(place(unknown[0]), (2, 14));
    let wrong = by("invalid-field");
    assert_eq!(wrong.len(), 1, "{found:#?}");
    assert!(
        wrong[0]["message"]
            .as_str()
            .unwrap()
            .starts_with("RECIPE.version: ")
    );
    assert_eq!(place(wrong[0]), (2, 47));
    let missing: Vec<&str> = by("missing-field")
        .iter()
        .map(|d| d["message"].as_str().unwrap())
        .collect();
    assert_eq!(
        missing,
        [
            "RECIPE has no `title`, which every recipe must declare",
            "RECIPE has no `estimated_size_mb`, which every recipe must declare"
        ]
    );
    assert_eq!(found.len(), 4, "{found:#?}");
}

#[test]
fn a_program_run_but_not_declared_is_an_error_naming_what_to_add() {
    let dir = tempfile::tempdir().unwrap();
    let f = with_install(
        dir.path(),
        "[]",
        r#"    run("curl", ["-fsS", "https://example.org/"]);"#,
    );
    let d = only(&f, "undeclared-program");
    assert_eq!(place(&d), (8, 9), "points at the program");
    assert_eq!(
        d["message"],
        "run(\"curl\", …) runs `curl`, which RECIPE.capabilities.programs does not declare; the agent would refuse it"
    );
    assert_eq!(d["hint"], "add \"curl\" to RECIPE.capabilities.programs");
}

#[test]
fn detect_and_apt_helpers_need_their_programs_declared_too() {
    let dir = tempfile::tempdir().unwrap();
    let f = with_install(
        dir.path(),
        "[]",
        "    detect(\"redis-server\", [\"--version\"], \"v=([0-9.]+)\");\n    apt_update();",
    );
    let (status, found) = check_json(&f);
    assert_eq!(status, Some(1));
    let programs: Vec<&str> = found
        .iter()
        .filter(|d| d["code"] == "undeclared-program")
        .map(|d| d["hint"].as_str().unwrap())
        .collect();
    assert_eq!(
        programs,
        [
            "add \"redis-server\" to RECIPE.capabilities.programs",
            "add \"apt-get\" to RECIPE.capabilities.programs"
        ]
    );
}

#[test]
fn a_declared_program_nothing_runs_is_a_warning_and_check_still_passes() {
    let dir = tempfile::tempdir().unwrap();
    let f = with_install(dir.path(), r#"["apt-get", "rm"]"#, "    apt_update();");
    let d = only(&f, "unused-program");
    assert_eq!(d["severity"], "warning");
    assert_eq!(place(&d), (4, 44), "points at the declaration");
    assert_eq!(
        d["message"],
        "`rm` is declared in RECIPE.capabilities.programs but nothing runs it"
    );
    let out = bin().arg("check").arg(&f).output().unwrap();
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    assert!(stderr(&out).contains(":4:44: warning: `rm` is declared"));
    assert!(String::from_utf8_lossy(&out.stdout).contains("t.rhai: ok (t v1, Runtime)"));
}

/// The Docker recipe's start once caught its own failure and went on: a run its plan never
/// showed (threats.md row 40). The submission check shares this finding (`check_source`).
#[test]
fn a_side_effect_inside_try_is_a_warning_that_says_why_and_check_still_passes() {
    let dir = tempfile::tempdir().unwrap();
    let f = with_install(
        dir.path(),
        r#"["apt-get"]"#,
        "    try {\n        apt_update();\n    } catch (e) {\n        log(\"no package lists\");\n    }",
    );
    let d = only(&f, "side-effect-in-try");
    assert_eq!(d["severity"], "warning");
    assert_eq!(place(&d), (9, 9), "points at the call inside try");
    assert!(
        d["message"]
            .as_str()
            .unwrap()
            .starts_with("`apt_update(…)` changes the server inside the `try` block of line 8"),
        "{d}"
    );
    let out = bin().arg("check").arg(&f).output().unwrap();
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    assert!(
        stderr(&out).contains(":9:9: warning: `apt_update(…)` changes the server inside"),
        "{}",
        stderr(&out)
    );
}

#[test]
fn a_parameter_used_but_not_declared_is_reported_with_the_near_one() {
    let dir = tempfile::tempdir().unwrap();
    let f = recipe(
        dir.path(),
        r#"
    params: [#{ name: "version", type: "string", label: "Version", default_value: "1" }],"#,
        "[]",
        "fn install(params) {\n    let v = params.versoin;\n    params.version\n}",
    );
    let d = only(&f, "undeclared-param");
    assert_eq!(place(&d), (9, 20));
    assert_eq!(
        d["message"],
        "`params.versoin` is not a declared parameter of this entry point"
    );
    assert_eq!(d["hint"], "did you mean `params.version`?");
}

#[test]
fn an_action_reads_its_own_parameters_not_the_recipes() {
    let dir = tempfile::tempdir().unwrap();
    let f = recipe(
        dir.path(),
        r#"
    params: [#{ name: "version", type: "string", label: "Version", default_value: "1" }],
    actions: [#{ name: "rotate", title: "Rotate",
                 params: [#{ name: "user", type: "string", label: "User" }] }],"#,
        "[]",
        "fn install(params) { params.version }\nfn rotate(params) { params.user + params.version }",
    );
    let d = only(&f, "undeclared-param");
    assert_eq!(
        d["message"],
        "`params.version` is not a declared parameter of this entry point"
    );
}

#[test]
fn every_error_of_a_file_is_reported_in_one_pass() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("many.rhai");
    std::fs::write(
        &path,
        r#"const RECIPE = #{
    id: "many", title: "Many", category: "database", version: 1,
    os: [#{ id: "debian", versions: ["12"] }],
    capabilities: #{ programs: ["apt-get", "rm"] },
    actions: [#{ name: "drop", title: "Drop" }],
};
fn detect() { #{ installed: false } }
fn install(params) {
    apt_update();
    apt_instal(["x"]);
    run("curl", []);
    write_file("/etc/x");
    params.nope
}
"#,
    )
    .unwrap();
    let (status, found) = check_json(&path);
    assert_eq!(status, Some(1));
    let codes: Vec<&str> = found.iter().map(|d| d["code"].as_str().unwrap()).collect();
    assert_eq!(
        codes,
        [
            // In the order of the file.
            "missing-field",       // estimated_size_mb (at RECIPE, line 1)
            "unused-program",      // rm (line 4)
            "missing-action",      // drop (line 5)
            "missing-entry-point", // configure, where `fn install` is: a database's entry point
            "unknown-function",    // apt_instal
            "undeclared-program",  // curl
            "wrong-arity",         // write_file with 1 argument
            "undeclared-param",    // params.nope
        ],
        "{found:#?}"
    );
    // The text form prints every one of them too, and their hints.
    let out = bin().arg("check").arg(&path).output().unwrap();
    let text = stderr(&out);
    assert_eq!(
        text.lines().filter(|l| l.contains(": error: ")).count(),
        7,
        "{text}"
    );
    assert_eq!(
        text.lines().filter(|l| l.contains(": warning: ")).count(),
        1,
        "{text}"
    );
    assert!(
        text.contains("  hint: did you mean `apt_install`?"),
        "{text}"
    );
}

#[test]
fn json_output_has_each_finding_with_its_place_code_and_hint_and_the_counts() {
    let dir = tempfile::tempdir().unwrap();
    let f = with_install(dir.path(), r#"["rm"]"#, r#"    apt_instal(["x"]);"#);
    let out = bin().arg("check").arg("--json").arg(&f).output().unwrap();
    assert_eq!(out.status.code(), Some(1));
    assert!(out.stderr.is_empty(), "{}", stderr(&out));
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(
        v,
        serde_json::json!({
            "diagnostics": [
                {
                    "file": f.display().to_string(), "line": 4, "col": 33,
                    "severity": "warning", "code": "unused-program",
                    "message": "`rm` is declared in RECIPE.capabilities.programs but nothing runs it",
                    "hint": "remove it: every declared program widens what the recipe may do",
                },
                {
                    "file": f.display().to_string(), "line": 8, "col": 5,
                    "severity": "error", "code": "unknown-function",
                    "message": "no function `apt_instal` exists",
                    "hint": "did you mean `apt_install`?",
                },
            ],
            "errors": 1,
            "warnings": 1,
        })
    );
}

#[test]
fn every_shipped_recipe_and_example_passes_check_without_a_finding() {
    let mut files: Vec<PathBuf> = Vec::new();
    for dir in ["recipes", "docs/examples"] {
        for e in std::fs::read_dir(root().join(dir)).unwrap() {
            let p = e.unwrap().path();
            if p.extension().is_some_and(|x| x == "rhai") {
                files.push(p);
            }
        }
    }
    for f in &files {
        let (status, found) = check_json(f);
        assert_eq!(status, Some(0), "{}: {found:#?}", f.display());
        assert!(found.is_empty(), "{}: {found:#?}", f.display());
    }
}

#[test]
fn new_writes_a_recipe_of_each_category_that_passes_check() {
    let dir = tempfile::tempdir().unwrap();
    for (category, entry) in [
        ("runtime", "fn install(params)"),
        ("database", "fn configure(params)"),
        ("backup", "fn configure(params)"),
    ] {
        let id = format!("my-{category}");
        let out = bin()
            .current_dir(dir.path())
            .args(["new", &id, "--category", category])
            .output()
            .unwrap();
        assert!(out.status.success(), "{}", stderr(&out));
        let file = dir.path().join(format!("{id}.rhai"));
        let text = std::fs::read_to_string(&file).unwrap();
        assert!(text.contains(&format!("id: \"{id}\"")), "{text}");
        assert!(
            text.contains(&format!("category: \"{category}\"")),
            "{text}"
        );
        assert!(text.contains(entry), "{text}");
        assert!(text.starts_with("// "), "it is commented: {text}");
        let (status, found) = check_json(&file);
        assert_eq!(status, Some(0), "{category}: {found:#?}");
        assert!(found.is_empty(), "{category}: {found:#?}");
        // A second `new` never overwrites what the author changed since.
        let again = bin()
            .current_dir(dir.path())
            .args(["new", &id, "--category", category])
            .output()
            .unwrap();
        assert_eq!(again.status.code(), Some(1));
        assert!(stderr(&again).contains("an existing file is never overwritten"));
        assert_eq!(std::fs::read_to_string(&file).unwrap(), text);
    }
}

#[test]
fn new_refuses_an_id_that_cannot_be_one_and_writes_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let out = bin()
        .current_dir(dir.path())
        .args(["new", "My_Recipe", "--category", "runtime"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1));
    assert!(
        stderr(&out).contains("`My_Recipe` cannot be a recipe id"),
        "{}",
        stderr(&out)
    );
    assert_eq!(std::fs::read_dir(dir.path()).unwrap().count(), 0);
}

#[test]
fn definitions_writes_the_host_api_with_parameter_names_for_editors() {
    let dir = tempfile::tempdir().unwrap();
    let out = bin()
        .args(["definitions", "--out"])
        .arg(dir.path())
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", stderr(&out));
    let text = std::fs::read_to_string(dir.path().join("__static__.d.rhai")).unwrap();
    for line in [
        "fn apt_install(packages: array) -> map;",
        "fn apt_install(packages: array, options: map) -> map;",
        "fn run(program: string, args: array, options: map) -> map;",
        "fn wait_for(program: string, args: array, pattern: string, seconds: int) -> ?;",
    ] {
        assert!(text.lines().any(|l| l == line), "{line} missing");
    }
    assert!(text.contains("/// Installs Debian packages"));
    // Rhai's own functions are there too (an editor completes those as well).
    assert!(text.contains("fn len("));
    assert!(dir.path().join("__builtin__.d.rhai").exists());
}
