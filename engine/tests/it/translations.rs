//! A French page shows no English a recipe wrote: every shipped recipe carries its French words
//! (title, description, every parameter label, every step title, console line, result message
//! and thrown failure it writes whole), and the
//! engine refuses a recipe whose translation is not whole, naming what is missing.

use cairn_engine::Recipe;

#[test]
fn every_shipped_recipe_speaks_french_whole() {
    let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../recipes");
    let mut checked = 0;
    for entry in std::fs::read_dir(dir).expect("recipes/") {
        let path = entry.expect("entry").path();
        if path.extension().is_none_or(|e| e != "rhai") {
            continue;
        }
        // Loading checks that a translation which is there is whole.
        let recipe = Recipe::load(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
        let fr = recipe
            .meta
            .translations
            .get("fr")
            .unwrap_or_else(|| panic!("{} has no French translation", path.display()));
        assert!(!fr.title.is_empty(), "{}", path.display());
        checked += 1;
    }
    assert!(checked >= 11, "{checked} recipes");
}

#[test]
fn a_translation_missing_a_step_or_a_label_is_refused_with_what_is_missing() {
    let source = r#"
const RECIPE = #{
    id: "test", title: "Test", category: "runtime", version: 1, estimated_size_mb: 1,
    description: "A test.",
    os: [#{ id: "debian", versions: ["12"] }],
    params: [ #{ name: "user", type: "identifier", label: "User name" } ],
    capabilities: #{ programs: [], paths: [], services: [] },
    translations: #{ fr: #{ title: "Essai", description: "Un essai.", steps: #{} } },
};
fn detect() { #{ installed: false } }
fn install(params) { step("Install the thing"); #{ changed: false } }
"#;
    let e = Recipe::parse("t.rhai", source)
        .expect_err("refused")
        .to_string();
    assert!(e.contains("no label for `user`"), "{e}");
    assert!(
        e.contains("no translation of the step \"Install the thing\""),
        "{e}"
    );
}

#[test]
fn a_translation_missing_a_console_line_or_a_result_message_is_refused() {
    let source = r#"
const RECIPE = #{
    id: "test", title: "Test", category: "runtime", version: 1, estimated_size_mb: 1,
    description: "A test.",
    os: [#{ id: "debian", versions: ["12"] }],
    params: [],
    capabilities: #{ programs: [], paths: [], services: [] },
    translations: #{ fr: #{ title: "Essai", description: "Un essai.",
        messages: #{ "Created ${thing}": "Créé" } } },
};
fn detect() { #{ installed: false } }
fn install(params) {
    let thing = "x";
    log(`Created ${thing}`);
    #{ changed: true, message: if thing == "x" { "Installed" } else { "Kept" } }
}
"#;
    let e = Recipe::parse("t.rhai", source)
        .expect_err("refused")
        .to_string();
    assert!(e.contains("must keep its parts ${thing}"), "{e}");
    assert!(
        e.contains("no translation of the message \"Installed\""),
        "{e}"
    );
    assert!(e.contains("no translation of the message \"Kept\""), "{e}");
}

#[test]
fn every_shipped_recipe_translates_its_console_lines_and_result_messages() {
    let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../recipes");
    let mut messages = 0;
    for entry in std::fs::read_dir(dir).expect("recipes/") {
        let path = entry.expect("entry").path();
        if path.extension().is_none_or(|e| e != "rhai") {
            continue;
        }
        let recipe = Recipe::load(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
        let found = cairn_engine::translations::sentences(&recipe.source);
        let fr = &recipe.meta.translations["fr"];
        for m in &found.messages {
            let french = &fr.messages[m];
            // French that is French: a translation that only copies the English is not one,
            // except for lines that are names and versions only.
            assert!(
                french != m || !m.contains(' ') || m.split(", ").count() > 2,
                "{}: \"{m}\" is not translated",
                path.display()
            );
        }
        messages += found.messages.len();
    }
    assert!(
        messages >= 60,
        "only {messages} messages found in the shipped recipes"
    );
}

#[test]
fn a_translation_missing_a_thrown_failure_is_refused() {
    let source = r#"
const RECIPE = #{
    id: "test", title: "Test", category: "runtime", version: 1, estimated_size_mb: 1,
    description: "A test.",
    os: [#{ id: "debian", versions: ["12"] }],
    params: [],
    capabilities: #{ programs: [], paths: [], services: [] },
    translations: #{ fr: #{ title: "Essai", description: "Un essai.",
        messages: #{ "the target is required": "la cible est obligatoire" } } },
};
fn detect() { #{ installed: false } }
fn install(params) {
    let v = "1.0";
    if params.len() == 0 { throw "the target is required"; }
    let e = "kept as is";
    if v == "2" { throw e; }
    throw `Go ${v} is not offered for ${arch()}`
}
"#;
    let e = Recipe::parse("t.rhai", source)
        .expect_err("refused")
        .to_string();
    assert!(
        e.contains("no translation of the message \"Go ${v} is not offered for ${arch()}\""),
        "{e}"
    );
    assert!(!e.contains("\"the target is required\""), "{e}");
    assert!(!e.contains("kept as is"), "{e}");
}

#[test]
fn every_shipped_recipe_translates_the_failures_it_throws() {
    let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../recipes");
    let mut throws = 0;
    for entry in std::fs::read_dir(dir).expect("recipes/") {
        let path = entry.expect("entry").path();
        if path.extension().is_none_or(|e| e != "rhai") {
            continue;
        }
        let recipe = Recipe::load(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
        let fr = &recipe.meta.translations["fr"];
        // Every `throw` of the source is a literal the translation carries, or a variable
        // rethrown (`throw e;`): none is built with `+`, which no translation could match.
        for (at, _) in recipe.source.match_indices("throw ") {
            let rest = recipe.source[at + 6..].trim_start();
            let line = rest.lines().next().unwrap_or_default();
            let literal = rest.starts_with(['"', '`']);
            assert!(
                literal
                    || line
                        .trim_end_matches([';', ','])
                        .chars()
                        .all(|c| c.is_alphanumeric() || c == '_'),
                "{}: `throw {line}` is neither a literal nor a variable",
                path.display()
            );
            if literal {
                let q = rest.as_bytes()[0] as char;
                let end = rest[1..].find(q).expect("closed literal") + 1;
                let english = &rest[1..end];
                let french = fr.messages.get(english).unwrap_or_else(|| {
                    panic!(
                        "{}: no French for the failure \"{english}\"",
                        path.display()
                    )
                });
                assert_ne!(
                    french,
                    english,
                    "{}: \"{english}\" is not translated",
                    path.display()
                );
                throws += 1;
            }
        }
    }
    assert!(
        throws >= 20,
        "only {throws} thrown failures found in the shipped recipes"
    );
}
