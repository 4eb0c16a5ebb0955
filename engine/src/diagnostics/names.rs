//! The functions a recipe may call, by name and number of arguments: the host API as registered
//! on a job's engine (`host::register`, so a new host function is known here the day it is
//! added), Rhai's standard packages the sandbox loads, Rhai's keywords, and the recipe's own
//! functions. Also the "did you mean" of an unknown name.

use std::cell::{Cell, RefCell};
use std::collections::{BTreeMap, BTreeSet};
use std::rc::Rc;
use std::sync::LazyLock;
use std::time::Duration;

use crate::cancel::{CancelToken, Stop};
use crate::event::EventSink;
use crate::host::Host;
use crate::host::caps::Capabilities;
use crate::redact::Redactor;
use crate::sandbox::{self, Limits};

/// Name → the numbers of arguments it can be called with.
pub type Arities = BTreeMap<String, BTreeSet<usize>>;

/// Calls Rhai resolves itself, whatever is registered (`print`, `type_of`, `Fn`, …): never
/// reported as unknown.
const KEYWORDS: &[&str] = &[
    "print",
    "debug",
    "type_of",
    "Fn",
    "call",
    "curry",
    "is_def_var",
    "is_def_fn",
    "is_shared",
    "eval",
    "this",
];

/// The host API and the standard functions, collected once per process.
#[derive(Debug)]
pub struct Known {
    /// Registered by `host::register` (the recipe author's API).
    pub host: Arities,
    /// Rhai's standard packages in the sandbox.
    pub standard: Arities,
}

static KNOWN: LazyLock<Known> = LazyLock::new(collect);

/// The host API and the standard functions.
pub fn known() -> &'static Known {
    &KNOWN
}

/// A job's engine with the host API registered on a host that never runs anything: only its
/// function table is read (and, with the `definitions` feature, its definitions).
pub fn host_engine() -> rhai::Engine {
    let limits = Limits::default();
    let stop = Stop::new(CancelToken::new(), Duration::from_secs(1));
    let host = Rc::new(Host {
        caps: Capabilities::default(),
        plan: Some(RefCell::new(Vec::new())),
        changes: RefCell::new(Vec::new()),
        sink: EventSink::discard(Redactor::new()).planning(),
        stop: stop.clone(),
        limits: limits.clone(),
        os_release_path: "/etc/os-release".into(),
        steps: Cell::new(0),
        timings: Rc::new(crate::timing::Timings::new()),
        done: Rc::new(RefCell::new(crate::plan::Done::default())),
    });
    let mut engine = sandbox::runtime(&limits, stop);
    crate::host::register(&mut engine, &host);
    engine
}

fn collect() -> Known {
    let engine = host_engine();
    let host = table(&engine, false);
    let everything = table(&engine, true);
    let standard = everything
        .into_iter()
        .filter_map(|(name, mut arities)| {
            if let Some(h) = host.get(&name) {
                arities.retain(|a| !h.contains(a));
            }
            (!arities.is_empty()).then_some((name, arities))
        })
        .collect();
    Known { host, standard }
}

fn table(engine: &rhai::Engine, standard: bool) -> Arities {
    let mut out = Arities::new();
    for (name, n) in engine.collect_fn_metadata(
        None,
        |info| Some((info.metadata.name.to_string(), info.metadata.num_params)),
        standard,
    ) {
        out.entry(name).or_default().insert(n);
    }
    out
}

impl Known {
    /// The arities `name` can be called with, host API first, then standard, then `own`.
    pub fn arities(&self, name: &str, own: &Arities) -> Option<BTreeSet<usize>> {
        let mut all = BTreeSet::new();
        for table in [&self.host, &self.standard, own] {
            if let Some(a) = table.get(name) {
                all.extend(a.iter().copied());
            }
        }
        (!all.is_empty()).then_some(all)
    }

    /// Whether Rhai resolves `name` itself (`print`, `Fn`, …).
    pub fn is_keyword(name: &str) -> bool {
        KEYWORDS.contains(&name)
    }

    /// The host function or recipe function closest to `name`, if one is close enough to be
    /// what was meant (standard functions are many and short: only the API and the recipe's own
    /// are suggested).
    pub fn did_you_mean(&self, name: &str, own: &Arities) -> Option<String> {
        closest(name, self.host.keys().chain(own.keys()).map(String::as_str))
    }
}

/// The candidate closest to `name` within a distance that fits its length.
pub fn closest<'a>(name: &str, candidates: impl Iterator<Item = &'a str>) -> Option<String> {
    let limit = (name.chars().count() / 3).clamp(1, 3);
    candidates
        .filter(|c| *c != name)
        .map(|c| (distance(name, c), c))
        .filter(|(d, _)| *d <= limit)
        .min()
        .map(|(_, c)| c.to_owned())
}

/// Edits between two names (insert, delete, replace, or swap two neighbours: `titel` is one
/// from `title`), over characters.
fn distance(a: &str, b: &str) -> usize {
    let (a, b): (Vec<char>, Vec<char>) = (a.chars().collect(), b.chars().collect());
    let mut d = vec![vec![0usize; b.len() + 1]; a.len() + 1];
    for (i, row) in d.iter_mut().enumerate() {
        row[0] = i;
    }
    for (j, cell) in d[0].iter_mut().enumerate() {
        *cell = j;
    }
    for i in 1..=a.len() {
        for j in 1..=b.len() {
            let cost = usize::from(a[i - 1] != b[j - 1]);
            let mut best = (d[i - 1][j] + 1)
                .min(d[i][j - 1] + 1)
                .min(d[i - 1][j - 1] + cost);
            if i > 1 && j > 1 && a[i - 1] == b[j - 2] && a[i - 2] == b[j - 1] {
                best = best.min(d[i - 2][j - 2] + 1);
            }
            d[i][j] = best;
        }
    }
    d[a.len()][b.len()]
}

/// How a set of arities reads: "1 argument", "2 or 3 arguments".
pub fn arity_words(arities: &BTreeSet<usize>) -> String {
    let nums: Vec<String> = arities.iter().map(ToString::to_string).collect();
    let last_one = arities.iter().next_back() == Some(&1) && arities.len() == 1;
    let list = match nums.split_last() {
        Some((last, [])) => last.clone(),
        Some((last, rest)) => format!("{} or {last}", rest.join(", ")),
        None => "no".to_owned(),
    };
    format!("{list} argument{}", if last_one { "" } else { "s" })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_host_api_is_read_from_the_registered_functions() {
        let k = known();
        assert_eq!(k.host["apt_install"], BTreeSet::from([1, 2]));
        assert_eq!(k.host["run"], BTreeSet::from([2, 3]));
        assert!(k.standard.contains_key("len"), "{:?}", k.standard.keys());
        assert!(!k.host.contains_key("len"));
    }

    #[test]
    fn a_near_name_is_suggested_and_a_far_one_is_not() {
        let own = Arities::new();
        assert_eq!(
            known().did_you_mean("apt_instal", &own).as_deref(),
            Some("apt_install")
        );
        assert_eq!(known().did_you_mean("frobnicate_all", &own), None);
        assert_eq!(
            closest("titel", ["title", "id"].into_iter()).as_deref(),
            Some("title")
        );
    }

    #[test]
    fn arities_read_as_words() {
        assert_eq!(arity_words(&BTreeSet::from([1])), "1 argument");
        assert_eq!(arity_words(&BTreeSet::from([2, 3])), "2 or 3 arguments");
        assert_eq!(arity_words(&BTreeSet::from([0])), "0 arguments");
    }
}
