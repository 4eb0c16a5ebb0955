//! The sentences a recipe's source writes whole, found without running it: step titles
//! (`step("…")`), console lines (`log("…")`, `warn("…")`) and result messages (`message: "…"`,
//! `result.message = "…"`, and each branch of `message: if … { "…" } else { "…" }`) and
//! failures (`throw "…"`, which become the job's failure sentence).
//!
//! A sentence is one literal: a plain string, or a template (`` `Created the user ${user}` ``)
//! whose `${…}` parts the page fills with what the recipe printed there. A sentence built with
//! `+` is not one literal and is not found; such a recipe should write it as a template.
//! Comments are skipped, so a commented-out line asks for no translation.

/// One string literal of the source, and where it is.
struct Literal {
    start: usize,
    end: usize,
    text: String,
}

/// What the source writes whole, each sentence once, in source order.
#[derive(Debug, Default, PartialEq, Eq)]
pub struct Sentences {
    pub steps: Vec<String>,
    pub messages: Vec<String>,
}

/// The source with comments blanked and literals' insides replaced (same byte offsets), and
/// its literals. Escapes make a literal inexact, so such a literal is kept out (`None` text).
fn scan(source: &str) -> (String, Vec<Literal>) {
    let bytes = source.as_bytes();
    let mut code = bytes.to_vec();
    let mut literals = Vec::new();
    let mut i = 0;
    while i < bytes.len() {
        match bytes[i] {
            b'/' if bytes.get(i + 1) == Some(&b'/') => {
                while i < bytes.len() && bytes[i] != b'\n' {
                    code[i] = b' ';
                    i += 1;
                }
            }
            b'/' if bytes.get(i + 1) == Some(&b'*') => {
                let end = source[i + 2..]
                    .find("*/")
                    .map_or(bytes.len(), |e| i + 2 + e + 2);
                code[i..end].iter_mut().for_each(|b| *b = b' ');
                i = end;
            }
            q @ (b'"' | b'`' | b'\'') => {
                let mut j = i + 1;
                let mut escaped = false;
                while j < bytes.len() && bytes[j] != q {
                    if bytes[j] == b'\\' {
                        escaped = true;
                        j += 1;
                    }
                    j += 1;
                }
                let end = (j + 1).min(bytes.len());
                code[i + 1..end.saturating_sub(1)]
                    .iter_mut()
                    .for_each(|b| *b = b'x');
                if q != b'\'' && !escaped && j < bytes.len() {
                    literals.push(Literal {
                        start: i,
                        end,
                        text: source[i + 1..j].to_owned(),
                    });
                }
                i = end;
            }
            _ => i += 1,
        }
    }
    // Blanking replaced whole bytes of ASCII delimiters and comment text; what is left outside
    // literals is the source's own (UTF-8) code, and literals' insides are ASCII `x`.
    let code = String::from_utf8_lossy(&code).into_owned();
    (code, literals)
}

/// Whether `before` ends with the call `name(` (not part of a longer name like `my_step(`).
fn ends_with_call(before: &str, name: &str) -> bool {
    before.strip_suffix('(').is_some_and(|b| {
        b.trim_end().strip_suffix(name).is_some_and(|rest| {
            !rest
                .chars()
                .next_back()
                .is_some_and(|c| c.is_alphanumeric() || c == '_')
        })
    })
}

/// Whether `before` ends with `message:` or `message =` (a map's field or an assignment).
fn ends_with_message_field(before: &str) -> bool {
    let Some(rest) = before.strip_suffix(':').or_else(|| {
        before
            .strip_suffix('=')
            .filter(|b| !b.ends_with(['=', '!', '<', '>']))
    }) else {
        return false;
    };
    rest.trim_end().strip_suffix("message").is_some_and(|r| {
        !r.chars()
            .next_back()
            .is_some_and(|c| c.is_alphanumeric() || c == '_')
    })
}

/// Whether `before` ends with the keyword `throw` (not part of a longer name like `rethrow`).
fn ends_with_throw(before: &str) -> bool {
    before.strip_suffix("throw").is_some_and(|rest| {
        !rest
            .chars()
            .next_back()
            .is_some_and(|c| c.is_alphanumeric() || c == '_')
    })
}

/// Whether a literal alone in a block (`{ "…" }`) is a branch of `message: if … { … }`.
fn in_message_branch(before: &str) -> bool {
    let Some(at) = before.rfind("message") else {
        return false;
    };
    let (head, tail) = before.split_at(at);
    let tail = &tail["message".len()..];
    let head_ok = !head
        .chars()
        .next_back()
        .is_some_and(|c| c.is_alphanumeric() || c == '_');
    let tail = tail.trim_start();
    let op = tail
        .strip_prefix(':')
        .or_else(|| tail.strip_prefix('=').filter(|t| !t.starts_with('=')));
    head_ok && !tail.contains(';') && op.is_some_and(|t| t.trim_start().starts_with("if "))
}

/// The step titles and messages `source` writes whole.
pub fn sentences(source: &str) -> Sentences {
    let (code, literals) = scan(source);
    let mut out = Sentences::default();
    for l in literals {
        let before = code[..l.start].trim_end();
        let after = code[l.end..].trim_start();
        let list = if ends_with_call(before, "step") && after.starts_with(')') {
            &mut out.steps
        } else if ((ends_with_call(before, "log") || ends_with_call(before, "warn"))
            && after.starts_with(')'))
            || (ends_with_message_field(before) && after.starts_with([',', ';', '}']))
            || (before.ends_with('{') && after.starts_with('}') && in_message_branch(before))
            || (ends_with_throw(before) && (after.is_empty() || after.starts_with([',', ';', '}'])))
        {
            &mut out.messages
        } else {
            continue;
        };
        if !l.text.trim().is_empty() && !list.contains(&l.text) {
            list.push(l.text);
        }
    }
    out
}

/// The `${…}` parts of a template, in order (none for a plain string).
pub fn placeholders(text: &str) -> Vec<&str> {
    let mut out = Vec::new();
    let mut rest = text;
    while let Some(i) = rest.find("${") {
        let Some(end) = rest[i..].find('}') else {
            break;
        };
        out.push(&rest[i..i + end + 1]);
        rest = &rest[i + end + 1..];
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn finds_steps_lines_and_messages_written_whole_and_skips_built_ones() {
        let src = r#"
            step("Install Redis"); my_step("not this"); step(`Install ${v}`);
            step("Install Redis"); step("Backup to " + target);
            // log("a comment asks for nothing");
            log(`Created the user ${user}`); warn("Careful"); catalog("no");
            let r = #{ changed: true, message: `Redis ${v} is running` };
            r.message = "Done";
            out.message = if a { "First" } else { `Second ${b}` };
            let m = if x == "y" { "not a message" } else { "no" };
            log("The backup to " + target + " ran");
            if a { throw "Nothing to do"; } else { throw `Go ${v} is not offered` }
            let y = match a { 1 => 2, _ => throw `not ${a}`, };
            throw e; throw path + " is wrong"; rethrow("no");
        "#;
        let s = sentences(src);
        assert_eq!(s.steps, ["Install Redis", "Install ${v}"]);
        assert_eq!(
            s.messages,
            [
                "Created the user ${user}",
                "Careful",
                "Redis ${v} is running",
                "Done",
                "First",
                "Second ${b}",
                "Nothing to do",
                "Go ${v} is not offered",
                "not ${a}"
            ]
        );
    }

    #[test]
    fn placeholders_are_listed_in_order() {
        assert_eq!(
            placeholders("Go ${v} in ${dir}, ${v}"),
            ["${v}", "${dir}", "${v}"]
        );
        assert!(placeholders("plain").is_empty());
    }
}
