//! A recipe's text with only `RECIPE.version` changed: what the registry publishes when a
//! withdrawal (`http::submissions::withdraw`) brings back an older content. Agents refuse a
//! version lower than one they ran (`cairn_protocol::rollback`), so the content before a
//! withdrawn submission is published again one version above it, and its text says so: the
//! catalogue, the diff and the bundle all read the same version.
//!
//! The change is made on the text (the engine reads `RECIPE` from the AST and keeps no
//! positions), then checked: the changed text must read as the same recipe in every field but
//! the version. A `version: N` in a comment or in another map reads differently and is skipped.

use cairn_engine::Recipe;

/// `source` with `RECIPE.version` set to `version`, or why it cannot be.
pub fn with_version(file: &str, source: &str, version: u64) -> Result<String, String> {
    let old = Recipe::parse(file, source).map_err(|e| e.to_string())?;
    if old.meta.version == version {
        return Ok(source.to_owned());
    }
    let mut wanted = old.meta.clone();
    wanted.version = version;
    let declared = old.meta.version.to_string();
    for (at, _) in source.match_indices("version") {
        let Some(digits) = number_after(source, at, &declared) else {
            continue;
        };
        let changed = format!(
            "{}{version}{}",
            &source[..digits],
            &source[digits + declared.len()..]
        );
        if Recipe::parse(file, &changed).is_ok_and(|r| r.meta == wanted) {
            return Ok(changed);
        }
    }
    Err(format!(
        "its RECIPE.version ({declared}) could not be raised to {version}: write it as \
         `version: {declared},` in the RECIPE map"
    ))
}

/// Where `declared` starts when the word at `at` is a key `version` (quoted or not) followed
/// by `:` and exactly that number.
fn number_after(source: &str, at: usize, declared: &str) -> Option<usize> {
    let ident = |c: char| c.is_ascii_alphanumeric() || c == '_';
    if source[..at].chars().next_back().is_some_and(ident) {
        return None;
    }
    let rest = &source[at + "version".len()..];
    let after_key = rest.strip_prefix('"').unwrap_or(rest);
    let after_colon = after_key.trim_start().strip_prefix(':')?;
    let number = after_colon.trim_start();
    let tail = number.strip_prefix(declared)?;
    if tail.starts_with(|c: char| ident(c) || c == '.') {
        return None;
    }
    Some(source.len() - number.len())
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use super::*;

    const RECIPE: &str = r#"
// version: 3 in a comment is not the version
const RECIPE = #{
    id: "hello",
    title: "Hello",
    category: "runtime",
    version: 3,
    description: "A runtime for tests.",
    estimated_size_mb: 1,
    os: [#{ id: "debian", versions: ["11", "12"] }],
    params: [],
    capabilities: #{ programs: ["true"], paths: [], services: [] },
};

fn detect() { #{ installed: false } }

fn install(params) {
    log("version: 3");
    #{ changed: true, version: "3" }
}
"#;

    #[test]
    fn only_the_recipes_own_version_changes() {
        let raised = with_version("hello.rhai", RECIPE, 7).unwrap();
        assert_eq!(
            Recipe::parse("hello.rhai", &raised).unwrap().meta.version,
            7
        );
        assert_eq!(
            raised,
            RECIPE.replacen("    version: 3,", "    version: 7,", 1),
            "the comment and the log line keep their words"
        );
        assert_eq!(with_version("hello.rhai", RECIPE, 3).unwrap(), RECIPE);
    }

    #[test]
    fn a_version_that_cannot_be_found_is_a_sentence() {
        // A version written as an expression the text change cannot meet.
        let odd = RECIPE.replace("    version: 3,", "    version: 0x3,");
        let Err(why) = with_version("hello.rhai", &odd, 7) else {
            panic!("{odd} was changed");
        };
        assert!(why.contains("could not be raised to 7"), "{why}");
    }
}
