//! The loop check (issue 14): no module of the control plane, the engine or the protocol imports
//! a module that imports it back, in two steps or in ten. A loop means neither module can be
//! read, tested or moved without the other; each such knot was untied once and this keeps them
//! untied.
//!
//! A module is a file of `src/` (`a/b.rs` and `a/b/mod.rs` are `a::b`) together with the modules
//! below it: `a` imports `c` when any file under `a` names `crate::c…` (or reaches `c` through
//! `super::`) in a `use` or in code. Comments, doc links and string literals are left out. A
//! name re-exported with `pub use` counts as the module that defines it, so `use crate::App`
//! through a re-export in `lib.rs` still names `app`. A module and its own ancestors or
//! descendants never form a loop: a child using its parent's items is the normal tree.
//!
//! Self-contained on purpose (only the standard library), so it can move as one file.

use std::collections::{BTreeMap, BTreeSet, VecDeque};
use std::path::{Path, PathBuf};

/// A module's path below its crate root (`[]` is `lib.rs`).
type ModPath = Vec<String>;

/// One place where a module names another: the raw import before subtrees are considered.
#[derive(Debug, Clone)]
struct Import {
    from: ModPath,
    to: ModPath,
    file: String,
    line: usize,
    path: String,
}

/// The crates whose `src/` must stay free of loops.
const CRATES: &[&str] = &["control-plane", "engine", "protocol"];

#[test]
fn no_module_imports_a_module_that_imports_it_back() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("..");
    let mut loops = Vec::new();
    for krate in CRATES {
        let src = root.join(krate).join("src");
        let files = read_sources(&src);
        assert!(
            !files.is_empty(),
            "no sources found under {}",
            src.display()
        );
        for report in find_loops(&files) {
            loops.push(format!("{krate}: {report}"));
        }
    }
    assert!(
        loops.is_empty(),
        "modules import each other in a loop; move what both need into a module below them \
         (a leaf), or move the function to the module that owns its data:\n\n{}",
        loops.join("\n\n")
    );
}

/// The check finds a loop of any length, through a re-export, and only real code.
#[test]
fn the_loop_check_sees_loops_of_three_and_through_re_exports_but_not_comments_or_the_tree() {
    let file = |p: &str, s: &str| (p.to_owned(), s.to_owned());
    let three = [
        file("lib.rs", "mod a; mod b; mod c;"),
        file("a.rs", "use crate::b::X;"),
        file("b.rs", "fn f() { crate::c::g(); }"),
        file("c.rs", "use crate::{a::{self, Y}, b as _};"),
    ];
    let found = find_loops(&three);
    assert_eq!(found.len(), 1, "{found:?}");
    assert!(found[0].contains("a → b → c → a"), "{found:?}");
    assert!(found[0].contains("b.rs:1"), "{found:?}");

    let re_exported = [
        file("lib.rs", "mod d; mod e; pub use d::D;"),
        file("d.rs", "use crate::e::E;"),
        file("e.rs", "fn f() -> crate::D { todo!() }"),
    ];
    let found = find_loops(&re_exported);
    assert!(
        found.len() == 1 && found[0].contains("d → e → d"),
        "{found:?}"
    );

    let not_code = [
        file("lib.rs", "mod a; mod b; pub(crate) mod p;"),
        file("a.rs", "use crate::b::X;"),
        file(
            "b.rs",
            "//! See [`crate::a`].\n/// [`crate::a::X`]\n// crate::a\n/* crate::a /* nested */ crate::a */\n\
             const S: &str = \"crate::a\"; const R: &str = r#\"crate::a\"#; const C: char = '\"';\n\
             pub(in crate::a) fn f<'a>(x: &'a str) {}",
        ),
        file("p/mod.rs", "mod q; use crate::p::q::Z;"),
        file("p/q.rs", "use super::W; use crate::p::V;"),
    ];
    assert_eq!(find_loops(&not_code), Vec::<String>::new());
}

/// Every `.rs` file under `src` as (path relative to `src`, contents), binaries left out
/// (`main.rs` and `bin/` are crates of their own).
fn read_sources(src: &Path) -> Vec<(String, String)> {
    let mut out = Vec::new();
    let mut dirs = vec![PathBuf::from(src)];
    while let Some(dir) = dirs.pop() {
        let Ok(entries) = std::fs::read_dir(&dir) else {
            continue;
        };
        for entry in entries.flatten() {
            let path = entry.path();
            let rel = path.strip_prefix(src).unwrap_or(&path).to_string_lossy();
            if path.is_dir() {
                if rel != "bin" {
                    dirs.push(path);
                }
            } else if rel.ends_with(".rs") && rel != "main.rs" {
                let text = std::fs::read_to_string(&path).unwrap_or_default();
                out.push((rel.into_owned(), text));
            }
        }
    }
    out.sort();
    out
}

/// The module a file defines: `a/b.rs` and `a/b/mod.rs` are `a::b`, `lib.rs` the root.
fn module_of(rel: &str) -> ModPath {
    let mut parts: ModPath = rel
        .trim_end_matches(".rs")
        .split('/')
        .map(String::from)
        .collect();
    if matches!(parts.last().map(String::as_str), Some("mod" | "lib")) {
        parts.pop();
    }
    parts
}

/// One sentence per loop found among `files` (paths relative to `src`).
fn find_loops(files: &[(String, String)]) -> Vec<String> {
    let modules: BTreeSet<ModPath> = files.iter().map(|(p, _)| module_of(p)).collect();
    let mut raw = Vec::new();
    let mut reexports: BTreeMap<(ModPath, String), ModPath> = BTreeMap::new();
    for (rel, text) in files {
        let module = module_of(rel);
        let tokens = tokens(&strip(text));
        for found in paths(&tokens) {
            let Some(target) = anchor(&module, &found.segments, &modules) else {
                continue;
            };
            if let Some(name) = found.reexported_as {
                reexports.insert((module.clone(), name), target.clone());
            }
            raw.push(Import {
                from: module.clone(),
                to: target,
                file: rel.clone(),
                line: found.line,
                path: found.segments.join("::"),
            });
        }
    }
    // Follow re-exports: `crate::App` is the module that defines `App`.
    for import in &mut raw {
        for _ in 0..8 {
            let (base, rest) = split_module(&import.to, &modules);
            let Some(first) = rest.first() else { break };
            match reexports.get(&(base, first.clone())) {
                Some(target) if *target != import.to => import.to = target.clone(),
                _ => break,
            }
        }
        import.to = split_module(&import.to, &modules).0;
    }
    // A module stands for its subtree: an import from `a::x` to `b::y` is also one from `a` to
    // `b`. Pairs where one contains the other are the tree, not imports.
    let mut edges: BTreeMap<ModPath, BTreeMap<ModPath, Import>> = BTreeMap::new();
    for import in &raw {
        for a in lineage(&import.from) {
            for b in lineage(&import.to) {
                if !a.starts_with(&b) && !b.starts_with(&a) {
                    edges
                        .entry(a.clone())
                        .or_default()
                        .entry(b)
                        .or_insert_with(|| import.clone());
                }
            }
        }
    }
    let mut reports = Vec::new();
    for component in strongly_connected(&edges) {
        let Some(start) = component.iter().next() else {
            continue;
        };
        let cycle = shortest_cycle(start, &component, &edges);
        let names: Vec<String> = cycle.iter().map(name).collect();
        let mut report = names.join(" → ");
        for pair in cycle.windows(2) {
            let i = &edges[&pair[0]][&pair[1]];
            report.push_str(&format!("\n  {}:{} names {}", i.file, i.line, i.path));
        }
        if component.len() > cycle.len() - 1 {
            let all: Vec<String> = component.iter().map(name).collect();
            report.push_str(&format!("\n  (all in the loop: {})", all.join(", ")));
        }
        reports.push(report);
    }
    reports
}

fn name(m: &ModPath) -> String {
    if m.is_empty() {
        "crate".to_owned()
    } else {
        m.join("::")
    }
}

/// `m` and its ancestors, the root left out (it contains everything).
fn lineage(m: &ModPath) -> Vec<ModPath> {
    (1..=m.len()).map(|n| m[..n].to_vec()).collect()
}

/// The longest prefix of `path` that is a module, and the rest (items in it).
fn split_module(path: &ModPath, modules: &BTreeSet<ModPath>) -> (ModPath, ModPath) {
    let mut n = path.len();
    while n > 0 && !modules.contains(&path[..n].to_vec()) {
        n -= 1;
    }
    (path[..n].to_vec(), path[n..].to_vec())
}

/// The crate-absolute path `segments` names when written in `module`: `crate::…`, `super::…`,
/// `self::…`, or a child module's name. `None` for other crates and local names.
fn anchor(module: &ModPath, segments: &[String], modules: &BTreeSet<ModPath>) -> Option<ModPath> {
    let mut base = module.clone();
    let mut rest = segments;
    match segments.first().map(String::as_str) {
        Some("crate") => {
            base.clear();
            rest = &segments[1..];
        }
        Some("self") => rest = &segments[1..],
        Some("super") => {
            while rest.first().map(String::as_str) == Some("super") {
                base.pop()?;
                rest = &rest[1..];
            }
        }
        Some(first) => {
            let mut child = module.clone();
            child.push(first.to_owned());
            if !modules.contains(&child) {
                return None;
            }
        }
        None => return None,
    }
    base.extend(rest.iter().cloned());
    Some(base)
}

/// Tarjan's strongly connected components with more than one module.
fn strongly_connected(
    edges: &BTreeMap<ModPath, BTreeMap<ModPath, Import>>,
) -> Vec<BTreeSet<ModPath>> {
    struct State<'a> {
        edges: &'a BTreeMap<ModPath, BTreeMap<ModPath, Import>>,
        index: BTreeMap<ModPath, usize>,
        low: BTreeMap<ModPath, usize>,
        stack: Vec<ModPath>,
        on_stack: BTreeSet<ModPath>,
        out: Vec<BTreeSet<ModPath>>,
    }
    fn visit(s: &mut State<'_>, v: &ModPath) {
        let i = s.index.len();
        s.index.insert(v.clone(), i);
        s.low.insert(v.clone(), i);
        s.stack.push(v.clone());
        s.on_stack.insert(v.clone());
        let next: Vec<ModPath> = s
            .edges
            .get(v)
            .map(|e| e.keys().cloned().collect())
            .unwrap_or_default();
        for w in next {
            if !s.index.contains_key(&w) {
                visit(s, &w);
                let low = s.low[v].min(s.low[&w]);
                s.low.insert(v.clone(), low);
            } else if s.on_stack.contains(&w) {
                let low = s.low[v].min(s.index[&w]);
                s.low.insert(v.clone(), low);
            }
        }
        if s.low[v] == s.index[v] {
            let mut component = BTreeSet::new();
            while let Some(w) = s.stack.pop() {
                s.on_stack.remove(&w);
                let done = w == *v;
                component.insert(w);
                if done {
                    break;
                }
            }
            if component.len() > 1 {
                s.out.push(component);
            }
        }
    }
    let mut s = State {
        edges,
        index: BTreeMap::new(),
        low: BTreeMap::new(),
        stack: Vec::new(),
        on_stack: BTreeSet::new(),
        out: Vec::new(),
    };
    for v in edges.keys() {
        if !s.index.contains_key(v) {
            visit(&mut s, v);
        }
    }
    s.out
}

/// The shortest way from `start` back to itself inside `component` (start repeated at the end).
fn shortest_cycle(
    start: &ModPath,
    component: &BTreeSet<ModPath>,
    edges: &BTreeMap<ModPath, BTreeMap<ModPath, Import>>,
) -> Vec<ModPath> {
    let mut came_from: BTreeMap<ModPath, ModPath> = BTreeMap::new();
    let mut queue = VecDeque::from([start.clone()]);
    while let Some(v) = queue.pop_front() {
        for w in edges.get(&v).into_iter().flat_map(|e| e.keys()) {
            if !component.contains(w) {
                continue;
            }
            if w == start {
                let mut cycle = vec![start.clone()];
                let mut at = v.clone();
                while at != *start {
                    cycle.push(at.clone());
                    at = came_from[&at].clone();
                }
                cycle.push(start.clone());
                cycle.reverse();
                return cycle;
            }
            if !came_from.contains_key(w) {
                came_from.insert(w.clone(), v.clone());
                queue.push_back(w.clone());
            }
        }
    }
    vec![start.clone(), start.clone()]
}

/// `text` with comments, string and character literals blanked out (line breaks kept, so
/// line numbers stay right).
fn strip(text: &str) -> String {
    let c: Vec<char> = text.chars().collect();
    let mut out = String::with_capacity(text.len());
    let blank = |out: &mut String, ch: char| out.push(if ch == '\n' { '\n' } else { ' ' });
    let mut i = 0;
    while i < c.len() {
        let next = c.get(i + 1).copied();
        if c[i] == '/' && next == Some('/') {
            while i < c.len() && c[i] != '\n' {
                i += 1;
            }
        } else if c[i] == '/' && next == Some('*') {
            let mut depth = 0;
            while i < c.len() {
                if c[i] == '/' && c.get(i + 1) == Some(&'*') {
                    depth += 1;
                    i += 2;
                } else if c[i] == '*' && c.get(i + 1) == Some(&'/') {
                    depth -= 1;
                    i += 2;
                    if depth == 0 {
                        break;
                    }
                } else {
                    blank(&mut out, c[i]);
                    i += 1;
                }
            }
        } else if c[i] == 'r'
            && matches!(next, Some('"' | '#'))
            && !ident_char(c.get(i.wrapping_sub(1)).copied())
        {
            // A raw string: r"…", r#"…"#.
            let mut j = i + 1;
            let mut hashes = 0;
            while c.get(j) == Some(&'#') {
                hashes += 1;
                j += 1;
            }
            if c.get(j) != Some(&'"') {
                out.push(c[i]);
                i += 1;
                continue;
            }
            j += 1;
            while j < c.len() {
                if c[j] == '"' && (1..=hashes).all(|k| c.get(j + k) == Some(&'#')) {
                    j += 1 + hashes;
                    break;
                }
                blank(&mut out, c[j]);
                j += 1;
            }
            i = j;
        } else if c[i] == '"' {
            i += 1;
            while i < c.len() && c[i] != '"' {
                if c[i] == '\\' {
                    i += 1;
                }
                if let Some(&ch) = c.get(i) {
                    blank(&mut out, ch);
                }
                i += 1;
            }
            i += 1;
        } else if c[i] == '\'' {
            // A character literal ('x', '\n', '\u{…}'); otherwise a lifetime, kept.
            if next == Some('\\') {
                i += 2;
                while i < c.len() && c[i] != '\'' {
                    i += 1;
                }
                i += 1;
            } else if c.get(i + 2) == Some(&'\'') {
                i += 3;
            } else {
                out.push(c[i]);
                i += 1;
            }
        } else {
            out.push(c[i]);
            i += 1;
        }
    }
    out
}

fn ident_char(c: Option<char>) -> bool {
    c.is_some_and(|c| c.is_alphanumeric() || c == '_')
}

/// A token and its line: an identifier, `::`, or one punctuation character.
fn tokens(code: &str) -> Vec<(String, usize)> {
    let c: Vec<char> = code.chars().collect();
    let mut out = Vec::new();
    let (mut i, mut line) = (0, 1);
    while i < c.len() {
        if c[i] == '\n' {
            line += 1;
            i += 1;
        } else if c[i].is_whitespace() {
            i += 1;
        } else if ident_char(Some(c[i])) {
            let start = i;
            while ident_char(c.get(i).copied()) {
                i += 1;
            }
            out.push((c[start..i].iter().collect(), line));
        } else if c[i] == ':' && c.get(i + 1) == Some(&':') {
            out.push(("::".to_owned(), line));
            i += 2;
        } else {
            out.push((c[i].to_string(), line));
            i += 1;
        }
    }
    out
}

/// A path found in code: its segments, its line, and the name it is re-exported as (`pub use`).
struct Found {
    segments: Vec<String>,
    line: usize,
    reexported_as: Option<String>,
}

/// Every path that may name a module of this crate: the leaves of `use` trees, and
/// `crate::…`/`super::…` paths in code (not `pub(in crate::…)`, which is a visibility).
fn paths(t: &[(String, usize)]) -> Vec<Found> {
    let word = |i: usize| t.get(i).map(|(s, _)| s.as_str()).unwrap_or("");
    let mut out = Vec::new();
    let mut i = 0;
    while i < t.len() {
        if word(i) == "use" {
            let public = i > 0 && (word(i - 1) == "pub" || word(i - 1) == ")");
            let line = t[i].1;
            let mut leaves = Vec::new();
            i = use_tree(t, i + 1, &mut Vec::new(), &mut leaves);
            for (segments, name) in leaves {
                out.push(Found {
                    segments,
                    line,
                    reexported_as: public.then_some(name),
                });
            }
        } else if matches!(word(i), "crate" | "super")
            && word(i + 1) == "::"
            && !(word(i.wrapping_sub(1)) == "in" && word(i.wrapping_sub(2)) == "(")
            && word(i.wrapping_sub(1)) != "::"
        {
            let line = t[i].1;
            let mut segments = vec![word(i).to_owned()];
            i += 1;
            while word(i) == "::" && ident_char(word(i + 1).chars().next()) {
                segments.push(word(i + 1).to_owned());
                i += 2;
            }
            out.push(Found {
                segments,
                line,
                reexported_as: None,
            });
        } else {
            i += 1;
        }
    }
    out
}

/// Reads one `use` tree from `i`; pushes each leaf's full path and the name it binds. Returns
/// the index after the tree.
fn use_tree(
    t: &[(String, usize)],
    mut i: usize,
    prefix: &mut Vec<String>,
    leaves: &mut Vec<(Vec<String>, String)>,
) -> usize {
    let word = |i: usize| t.get(i).map(|(s, _)| s.as_str()).unwrap_or("");
    let depth = prefix.len();
    if word(i) == "::" {
        i += 1;
    }
    loop {
        let w = word(i);
        if w == "{" {
            i += 1;
            while word(i) != "}" && i < t.len() {
                i = use_tree(t, i, prefix, leaves);
                if word(i) == "," {
                    i += 1;
                }
            }
            i += 1;
            break;
        } else if w == "*" {
            leaves.push((prefix.clone(), "*".to_owned()));
            i += 1;
            break;
        } else if ident_char(w.chars().next()) {
            if w == "self" && !prefix.is_empty() {
                let name = prefix.last().cloned().unwrap_or_default();
                i += 1;
                let name = alias(t, &mut i).unwrap_or(name);
                leaves.push((prefix.clone(), name));
                break;
            }
            prefix.push(w.to_owned());
            i += 1;
            if word(i) == "::" {
                i += 1;
                continue;
            }
            let name = alias(t, &mut i).unwrap_or_else(|| w.to_owned());
            leaves.push((prefix.clone(), name));
            break;
        } else {
            break;
        }
    }
    prefix.truncate(depth);
    i
}

/// `as NAME` after a use leaf, if there.
fn alias(t: &[(String, usize)], i: &mut usize) -> Option<String> {
    if t.get(*i).map(|(s, _)| s.as_str()) == Some("as") {
        let name = t.get(*i + 1).map(|(s, _)| s.clone());
        *i += 2;
        return name;
    }
    None
}
