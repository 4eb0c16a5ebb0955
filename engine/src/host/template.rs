//! `template()`: minijinja, restricted to a subset in which one call cannot run for long, grow
//! memory or write without bound (threats.md row 27).
//!
//! A template is an expression language with loops, so a few lines (`{% for %}` nested over
//! `range()`, `{% set x = x ~ x %}` doubling, `"x" * 100000000`) could otherwise spin or allocate
//! for years inside one host call, where neither the script's operation checks nor cancel
//! reach. Four bounds together:
//!
//! * **An allow-list of the language**, checked on the parsed template before it is compiled
//!   (minijinja folds constants while compiling, so `"x" * 100000000` would already allocate):
//!   output, `if`, `for` over variables and `range()`, comparisons, `and`/`or`/`not`,
//!   attribute and item access, and the filters and tests listed below. No `set`, `with`,
//!   macros, filter blocks, slices, or `+ - * / ~ **` operators: nothing can build a value
//!   bigger than the variables it was given.
//! * **Fuel**: at most [`FUEL`] instructions per call.
//! * **One output budget** of [`MAX_OUTPUT`] bytes shared by the text written and every string
//!   a filter makes (`join`, `tojson`, `upper`, …), so repeated filters in a loop cannot
//!   materialise more than that in total.
//! * **Bounded variables**: at most [`MAX_VARS_BYTES`] in all, strings of at most
//!   [`MAX_VAR_STRING`] bytes, so one instruction's work is small.
//!
//! The job's cancel flag and deadline are checked at every write.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};

use minijinja::machinery::ast::{self, CallArg, Expr, Stmt};
use minijinja::machinery::{WhitespaceConfig, parse};
use minijinja::syntax::SyntaxConfig;
use minijinja::value::Rest;
use minijinja::{Environment, Error, ErrorKind, State, UndefinedBehavior, Value};
use rhai::Dynamic;

use crate::cancel::Stop;
use crate::error::HostError;

/// Instructions one `template()` call may execute.
pub const FUEL: u64 = 200_000;
/// Bytes one call may produce: its output plus every string its filters make.
pub const MAX_OUTPUT: usize = super::files::MAX_FILE_BYTES;
/// Bytes of all the variables given to one call together (strings, keys, and 16 per value).
pub const MAX_VARS_BYTES: usize = 1 << 20;
/// Bytes of one string among the variables.
pub const MAX_VAR_STRING: usize = 64 << 10;
/// Elements of one `range()`.
pub const MAX_RANGE: i64 = 10_000;

/// Filters a template may use; each is either O(1) or charged to the output budget.
pub const FILTERS: &[&str] = &[
    "default",
    "d",
    "upper",
    "lower",
    "capitalize",
    "trim",
    "length",
    "count",
    "first",
    "last",
    "int",
    "join",
    "tojson",
];
/// Tests a template may use (all O(1) or linear in one variable).
pub const TESTS: &[&str] = &[
    "defined",
    "undefined",
    "none",
    "string",
    "number",
    "sequence",
    "mapping",
    "true",
    "false",
    "odd",
    "even",
    "startingwith",
    "endingwith",
    "eq",
    "ne",
];

/// Renders `text` with `vars` inside every bound above.
pub fn render(text: &str, vars: &rhai::Map, stop: &Stop) -> Result<String, HostError> {
    stop.check()?;
    check_source(text)?;
    measure_vars(vars)?;
    let vars = rhai::serde::from_dynamic::<serde_json::Value>(&Dynamic::from_map(vars.clone()))
        .map_err(|e| invalid(format!("the variables cannot be used: {e}")))?;
    let budget = Budget::new(MAX_OUTPUT);
    let env = environment(&budget);
    let tmpl = env
        .template_from_str(text)
        .map_err(|e| invalid(format!("the template does not render: {e}")))?;
    let mut out = Output {
        text: Vec::new(),
        budget: budget.clone(),
        stop,
        stopped: None,
    };
    let rendered = tmpl.render_captured_to(&vars, &mut out);
    if let Some(why) = out.stopped.take() {
        return Err(why);
    }
    match rendered {
        Ok(_) => String::from_utf8(out.text)
            .map_err(|_| invalid("the template produced text that is not UTF-8")),
        Err(_) if budget.exceeded() => Err(invalid(format!(
            "the rendered template would be larger than {} MiB",
            MAX_OUTPUT >> 20
        ))),
        Err(e) if e.kind() == ErrorKind::OutOfFuel => Err(invalid(format!(
            "the template did more than {FUEL} steps of work and was stopped; is a loop too large?"
        ))),
        Err(e) => Err(invalid(format!("the template does not render: {e}"))),
    }
}

fn invalid(msg: impl Into<String>) -> HostError {
    HostError::Invalid(format!("template(): {}", msg.into()))
}

/// Bytes left for the output and for strings made by filters, shared by both.
#[derive(Debug, Clone)]
struct Budget {
    left: Arc<AtomicUsize>,
    exceeded: Arc<AtomicBool>,
}

impl Budget {
    fn new(bytes: usize) -> Self {
        Self {
            left: Arc::new(AtomicUsize::new(bytes)),
            exceeded: Arc::new(AtomicBool::new(false)),
        }
    }

    /// Takes `n` bytes from the budget, or fails (for good) when there are not that many left.
    fn charge(&self, n: usize) -> Result<(), Error> {
        let ok = self
            .left
            .fetch_update(Ordering::Relaxed, Ordering::Relaxed, |left| {
                left.checked_sub(n)
            })
            .is_ok();
        if ok {
            Ok(())
        } else {
            self.exceeded.store(true, Ordering::Relaxed);
            Err(Error::new(
                ErrorKind::InvalidOperation,
                "the output budget of the template is spent",
            ))
        }
    }

    fn exceeded(&self) -> bool {
        self.exceeded.load(Ordering::Relaxed)
    }
}

/// Where the text goes: charged to the budget, and the job's stop checked at every write.
struct Output<'a> {
    text: Vec<u8>,
    budget: Budget,
    stop: &'a Stop,
    stopped: Option<HostError>,
}

impl std::io::Write for Output<'_> {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        if let Err(e) = self.stop.check() {
            self.stopped = Some(e);
            return Err(std::io::Error::other("stopped"));
        }
        self.budget
            .charge(buf.len())
            .map_err(|_| std::io::Error::other("too large"))?;
        self.text.extend_from_slice(buf);
        Ok(buf.len())
    }

    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

/// An environment with only the allowed filters, tests and `range`, strict about undefined
/// variables (a typo fails the recipe instead of writing an empty value into a config file).
fn environment(budget: &Budget) -> Environment<'static> {
    use minijinja::{filters, tests};
    let mut env = Environment::empty();
    env.set_undefined_behavior(UndefinedBehavior::Strict);
    env.set_recursion_limit(32);
    env.set_fuel(Some(FUEL));
    env.add_filter("default", filters::default);
    env.add_filter("d", filters::default);
    env.add_filter("length", filters::length);
    env.add_filter("count", filters::length);
    env.add_filter("first", filters::first);
    env.add_filter("last", filters::last);
    env.add_filter("int", filters::int);
    for (name, f) in [
        ("upper", str::to_uppercase as fn(&str) -> String),
        ("lower", str::to_lowercase),
        ("trim", |s: &str| s.trim().to_owned()),
        ("capitalize", capitalize),
    ] {
        let b = budget.clone();
        env.add_filter(name, move |s: &str| -> Result<String, Error> {
            b.charge(s.len())?;
            Ok(f(s))
        });
    }
    let b = budget.clone();
    env.add_filter("join", move |v: Value, sep: Option<&str>| join(&b, &v, sep));
    let b = budget.clone();
    env.add_filter("tojson", move |v: Value| tojson(&b, &v));
    env.add_test("defined", tests::is_defined);
    env.add_test("undefined", tests::is_undefined);
    env.add_test("none", tests::is_none);
    env.add_test("string", tests::is_string);
    env.add_test("number", tests::is_number);
    env.add_test("sequence", tests::is_sequence);
    env.add_test("mapping", tests::is_mapping);
    env.add_test("true", tests::is_true);
    env.add_test("false", tests::is_false);
    env.add_test("odd", tests::is_odd);
    env.add_test("even", tests::is_even);
    env.add_test("startingwith", tests::is_startingwith);
    env.add_test("endingwith", tests::is_endingwith);
    env.add_test("eq", tests::is_eq);
    env.add_test("ne", tests::is_ne);
    env.add_function("range", range);
    env
}

fn capitalize(s: &str) -> String {
    let mut chars = s.chars();
    match chars.next() {
        Some(c) => c
            .to_uppercase()
            .chain(chars.flat_map(char::to_lowercase))
            .collect(),
        None => String::new(),
    }
}

fn join(budget: &Budget, v: &Value, sep: Option<&str>) -> Result<String, Error> {
    let sep = sep.unwrap_or("");
    let mut out = String::new();
    for (i, item) in v.try_iter()?.enumerate() {
        let piece = item.to_string();
        let n = piece.len() + if i > 0 { sep.len() } else { 0 };
        budget.charge(n)?;
        if i > 0 {
            out.push_str(sep);
        }
        out.push_str(&piece);
    }
    Ok(out)
}

fn tojson(budget: &Budget, v: &Value) -> Result<Value, Error> {
    struct Charged<'a>(Vec<u8>, &'a Budget);
    impl std::io::Write for Charged<'_> {
        fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
            self.1
                .charge(buf.len())
                .map_err(|_| std::io::Error::other("too large"))?;
            self.0.extend_from_slice(buf);
            Ok(buf.len())
        }
        fn flush(&mut self) -> std::io::Result<()> {
            Ok(())
        }
    }
    let mut w = Charged(Vec::new(), budget);
    serde_json::to_writer(&mut w, v)
        .map_err(|e| Error::new(ErrorKind::InvalidOperation, e.to_string()))?;
    let text =
        String::from_utf8(w.0).map_err(|_| Error::new(ErrorKind::InvalidOperation, "not UTF-8"))?;
    // JSON is already what the config file needs: do not escape it again.
    Ok(Value::from_safe_string(text))
}

/// `range(stop)`, `range(start, stop)`, `range(start, stop, step)` of at most [`MAX_RANGE`]
/// elements.
fn range(_: &State, args: Rest<i64>) -> Result<Value, Error> {
    let (start, stop, step) = match args.as_slice() {
        [stop] => (0, *stop, 1),
        [start, stop] => (*start, *stop, 1),
        [start, stop, step] => (*start, *stop, *step),
        _ => {
            return Err(Error::new(
                ErrorKind::InvalidOperation,
                "range() takes one to three integers",
            ));
        }
    };
    if step == 0 {
        return Err(Error::new(
            ErrorKind::InvalidOperation,
            "range() cannot step by 0",
        ));
    }
    // Elements from start towards stop, in steps of |step|: ceil(distance / |step|).
    let (distance, by) = if step > 0 {
        (stop.saturating_sub(start), step)
    } else {
        (start.saturating_sub(stop), step.saturating_neg())
    };
    let len = if distance <= 0 {
        0
    } else {
        (distance - 1) / by + 1
    };
    if len > MAX_RANGE {
        return Err(Error::new(
            ErrorKind::InvalidOperation,
            format!("range() may have at most {MAX_RANGE} elements"),
        ));
    }
    Ok(Value::from(
        (0..len).map(|i| start + i * step).collect::<Vec<i64>>(),
    ))
}

/// Refuses a template that uses anything outside the allow-list, before it is compiled.
// `SyntaxConfig` is a unit struct unless minijinja's `custom_syntax` feature is on.
#[allow(clippy::default_constructed_unit_structs)]
pub fn check_source(text: &str) -> Result<(), HostError> {
    let stmt = parse(
        text,
        "template",
        SyntaxConfig::default(),
        WhitespaceConfig::default(),
    )
    .map_err(|e| invalid(format!("the template does not parse: {e}")))?;
    check_stmt(&stmt).map_err(|what| {
        invalid(format!(
            "{what} is not allowed in Cairn templates (docs/recipes.md, `template`); compute the \
             value in the recipe and pass it in `vars`"
        ))
    })
}

fn check_stmts(stmts: &[Stmt<'_>]) -> Result<(), String> {
    stmts.iter().try_for_each(check_stmt)
}

fn check_stmt(stmt: &Stmt<'_>) -> Result<(), String> {
    match stmt {
        Stmt::Template(t) => check_stmts(&t.children),
        Stmt::EmitRaw(_) => Ok(()),
        Stmt::EmitExpr(e) => check_expr(&e.expr),
        Stmt::IfCond(c) => {
            check_expr(&c.expr)?;
            check_stmts(&c.true_body)?;
            check_stmts(&c.false_body)
        }
        Stmt::ForLoop(f) => {
            if f.recursive {
                return Err("a recursive loop".into());
            }
            check_target(&f.target)?;
            check_expr(&f.iter)?;
            if let Some(filter) = &f.filter_expr {
                check_expr(filter)?;
            }
            check_stmts(&f.body)?;
            check_stmts(&f.else_body)
        }
        Stmt::Set(_) | Stmt::SetBlock(_) => Err("`{% set %}`".into()),
        Stmt::WithBlock(_) => Err("`{% with %}`".into()),
        Stmt::FilterBlock(_) => Err("`{% filter %}`".into()),
        Stmt::AutoEscape(_) => Err("`{% autoescape %}`".into()),
        Stmt::Do(_) => Err("`{% do %}`".into()),
        #[allow(unreachable_patterns)]
        _ => Err("this statement".into()),
    }
}

/// A loop variable: a name, or a list of names (`for k, v in …`).
fn check_target(target: &Expr<'_>) -> Result<(), String> {
    match target {
        Expr::Var(_) => Ok(()),
        Expr::List(l) => l.items.iter().try_for_each(check_target),
        _ => Err("this loop variable".into()),
    }
}

fn check_args(args: &[CallArg<'_>]) -> Result<(), String> {
    args.iter().try_for_each(|a| match a {
        CallArg::Pos(e) | CallArg::Kwarg(_, e) => check_expr(e),
        CallArg::PosSplat(_) | CallArg::KwargSplat(_) => Err("`*args`/`**kwargs`".into()),
    })
}

fn check_expr(expr: &Expr<'_>) -> Result<(), String> {
    use ast::BinOpKind as B;
    match expr {
        Expr::Var(_) | Expr::Const(_) => Ok(()),
        Expr::UnaryOp(u) => check_expr(&u.expr),
        Expr::BinOp(b) => match b.op {
            // Comparisons and number arithmetic make values no bigger than their inputs
            // (`-`, `/`, `//`, `%` fail on strings and lists).
            B::Eq
            | B::Ne
            | B::Lt
            | B::Lte
            | B::Gt
            | B::Gte
            | B::ScAnd
            | B::ScOr
            | B::In
            | B::Sub
            | B::Div
            | B::FloorDiv
            | B::Rem => {
                check_expr(&b.left)?;
                check_expr(&b.right)
            }
            // `+` concatenates strings and lists, `*` repeats them, `**` makes huge numbers.
            B::Add | B::Mul | B::Pow => Err("the `+`, `*` and `**` operators".into()),
            B::Concat => Err("the `~` operator".into()),
        },
        Expr::Compare(c) => {
            check_expr(&c.expr)?;
            c.ops.iter().try_for_each(|op| check_expr(&op.expr))
        }
        Expr::IfExpr(i) => {
            check_expr(&i.test_expr)?;
            check_expr(&i.true_expr)?;
            i.false_expr.as_ref().map_or(Ok(()), check_expr)
        }
        Expr::Filter(f) => {
            if !FILTERS.contains(&f.name) {
                return Err(format!("the filter `{}`", f.name));
            }
            f.expr.as_ref().map_or(Ok(()), check_expr)?;
            check_args(&f.args)
        }
        Expr::Test(t) => {
            if !TESTS.contains(&t.name) {
                return Err(format!("the test `{}`", t.name));
            }
            check_expr(&t.expr)?;
            check_args(&t.args)
        }
        Expr::GetAttr(g) => check_expr(&g.expr),
        Expr::GetItem(g) => {
            check_expr(&g.expr)?;
            check_expr(&g.subscript_expr)
        }
        Expr::Call(c) => match &c.expr {
            Expr::Var(v) if v.id == "range" => check_args(&c.args),
            _ => Err("calling anything but `range()`".into()),
        },
        Expr::List(l) => l.items.iter().try_for_each(check_expr),
        Expr::Map(m) => m
            .keys
            .iter()
            .chain(m.values.iter())
            .try_for_each(check_expr),
        Expr::Slice(_) => Err("slicing (`x[a:b]`)".into()),
    }
}

/// Refuses variables larger than [`MAX_VARS_BYTES`] in all, or with a string longer than
/// [`MAX_VAR_STRING`]. Strings shared inside Rhai are counted each time they appear, as they
/// would be copied.
fn measure_vars(vars: &rhai::Map) -> Result<(), HostError> {
    fn walk(v: &Dynamic, depth: usize, total: &mut usize) -> Result<(), String> {
        if depth > 16 {
            return Err("are nested more than 16 levels deep".into());
        }
        *total += 16;
        if let Some(s) = v.read_lock::<rhai::ImmutableString>() {
            if s.len() > MAX_VAR_STRING {
                return Err(format!(
                    "hold a string of {} bytes; the limit is {} KiB",
                    s.len(),
                    MAX_VAR_STRING >> 10
                ));
            }
            *total += s.len();
        } else if let Some(a) = v.read_lock::<rhai::Array>() {
            for item in a.iter() {
                walk(item, depth + 1, total)?;
            }
        } else if let Some(m) = v.read_lock::<rhai::Map>() {
            for (k, item) in m.iter() {
                *total += k.len();
                walk(item, depth + 1, total)?;
            }
        }
        if *total > MAX_VARS_BYTES {
            return Err(format!("are larger than {} MiB", MAX_VARS_BYTES >> 20));
        }
        Ok(())
    }
    let mut total = 0;
    for (k, v) in vars {
        total += k.len();
        walk(v, 1, &mut total).map_err(|why| invalid(format!("the variables {why}")))?;
    }
    Ok(())
}
