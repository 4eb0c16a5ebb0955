//! threats.md row 27: one `template()` call is bounded in work, output and memory, and cannot
//! outlive cancel or the deadline. Bombs that used to run for years on one host call (nested
//! `range()` loops, doubling with `set`, string repetition, `join` with a huge separator) are
//! stopped with a sentence; what config templates need still renders.
#![allow(clippy::unwrap_used)]

use crate::util;

use std::time::{Duration, Instant};

use cairn_engine::Limits;
use cairn_engine::job::JobOptions;
use util::{recipe, run, run_opts};

/// Runs `template(text, vars)` (both Rhai source) and returns the job's error.
fn template_error(text: &str, vars: &str) -> String {
    template_error_after("", text, vars)
}

/// Runs the Rhai statements `prelude`, then `template(text, vars)`.
fn template_error_after(prelude: &str, text: &str, vars: &str) -> String {
    let r = recipe(
        "[]",
        "[]",
        &format!("{prelude}\ntemplate({text:?}, {vars})"),
    );
    run(&r, serde_json::json!({})).error().to_owned()
}

/// Rhai statements that make `big`, a string of `n` bytes.
fn big(n: usize) -> String {
    format!(r#"let big = "a"; big.pad({n}, "b");"#)
}

#[test]
fn nested_range_loops_run_out_of_fuel_instead_of_spinning() {
    let started = Instant::now();
    let e = template_error(
        "{% for a in range(10000) %}{% for b in range(10000) %}{% for c in range(10000) %}\
         {% endfor %}{% endfor %}{% endfor %}",
        "#{}",
    );
    assert!(e.contains("steps of work"), "{e}");
    // Generous: the point is that it ends at all (it used to take years).
    assert!(
        started.elapsed() < Duration::from_secs(30),
        "{:?}",
        started.elapsed()
    );
}

#[test]
fn output_is_capped() {
    let line = "x".repeat(200);
    let e = template_error(
        &format!(
            "{{% for a in range(10000) %}}{{% for b in range(100) %}}{line}{{% endfor %}}{{% endfor %}}"
        ),
        "#{}",
    );
    assert!(e.contains("larger than 4 MiB"), "{e}");
}

#[test]
fn set_with_and_growing_operators_are_refused_before_anything_runs() {
    for (text, what) in [
        (
            "{% set x = 'xx' %}{% set x = x ~ x %}{{ x }}",
            "`{% set %}`",
        ),
        ("{% set x %}a{% endset %}", "`{% set %}`"),
        ("{{ 'x' * 100000000 }}", "the `+`, `*` and `**` operators"),
        (
            "{{ ('x' * 99999999) ~ ('x' * 99999999) }}",
            "the `~` operator",
        ),
        ("{{ a ~ a }}", "the `~` operator"),
        ("{{ a + a }}", "the `+`, `*` and `**` operators"),
        ("{{ 2 ** 100000 }}", "the `+`, `*` and `**` operators"),
        ("{% with y = a %}{{ y }}{% endwith %}", "`{% with %}`"),
        ("{% filter upper %}{{ a }}{% endfilter %}", "`{% filter %}`"),
        ("{{ a|replace('', a) }}", "the filter `replace`"),
        ("{{ a|indent(100000000) }}", "the filter `indent`"),
        ("{{ a|center(100000000) }}", "the filter `center`"),
        ("{{ a[::1] }}", "slicing"),
        ("{{ a.upper() }}", "calling anything but `range()`"),
        (
            "{% for x in range(3) recursive %}{{ loop(x) }}{% endfor %}",
            "a recursive loop",
        ),
        ("{{ lipsum(100000) }}", "calling anything but `range()`"),
    ] {
        let e = template_error(text, r#"#{ a: "ab" }"#);
        assert!(
            e.contains(what) && e.contains("is not allowed in Cairn templates"),
            "{text}: {e}"
        );
    }
}

#[test]
fn filters_share_one_output_budget() {
    let e = template_error_after(
        &format!("{} let l = []; l.pad(5000, \"item\");", big(60000)),
        "{% for i in range(1000) %}{% if (l|join(sep)) == '' %}{% endif %}{% endfor %}",
        "#{ l: l, sep: big }",
    );
    assert!(e.contains("larger than 4 MiB"), "{e}");
    let e = template_error_after(
        &big(60000),
        "{% for i in range(10000) %}{% if (s|upper) == '' %}{% endif %}{% endfor %}",
        "#{ s: big }",
    );
    assert!(e.contains("larger than 4 MiB"), "{e}");
}

#[test]
fn variables_and_ranges_are_bounded() {
    let e = template_error_after(&big(70000), "{{ s }}", "#{ s: big }");
    assert!(e.contains("a string of 70000 bytes"), "{e}");
    // Shared strings count each time they appear: the copy would hold them all.
    let e = template_error_after(
        &format!("{} let l = []; l.pad(10000, big);", big(100)),
        "{{ l|length }}",
        "#{ l: l }",
    );
    assert!(e.contains("larger than 1 MiB"), "{e}");
    let e = template_error("{% for i in range(10001) %}{% endfor %}", "#{}");
    assert!(e.contains("at most 10000 elements"), "{e}");
}

/// A script that renders a costly template again and again: cancel and the deadline still
/// stop the job (each call is short, and the writer checks the stop).
const TEMPLATE_LOOP: &str = r#"loop { template("{% for a in range(10000) %}{% for b in range(10000) %}{{ a }}{% endfor %}{% endfor %}", #{}); }"#;

#[test]
fn cancel_and_the_deadline_stop_a_job_that_renders_templates() {
    let r = recipe(
        "[]",
        "[]",
        &format!("try {{ {TEMPLATE_LOOP} }} catch {{ }} {TEMPLATE_LOOP}"),
    );
    let opts = JobOptions {
        limits: Limits {
            deadline: Duration::from_millis(300),
            ..Limits::default()
        },
        os_release_path: util::debian12(),
        ..JobOptions::default()
    };
    let ran = run_opts(&r, serde_json::json!({}), &opts);
    assert!(
        ran.error().contains("deadline") || ran.error().contains("steps of work"),
        "{}",
        ran.error()
    );

    let r = recipe(
        "[]",
        "[]",
        r#"loop { try { template("{% for a in range(10000) %}{% for b in range(10000) %}{{ a }}{% endfor %}{% endfor %}", #{}); } catch { } }"#,
    );
    let opts = JobOptions {
        limits: Limits {
            max_operations: 0,
            deadline: Duration::from_secs(3600),
            ..Limits::default()
        },
        os_release_path: util::debian12(),
        ..JobOptions::default()
    };
    let cancel = opts.cancel.clone();
    std::thread::spawn(move || {
        std::thread::sleep(Duration::from_millis(200));
        cancel.cancel();
    });
    let ran = run_opts(&r, serde_json::json!({}), &opts);
    assert_eq!(ran.error(), "the job was cancelled");
}

#[test]
fn what_config_templates_need_still_renders() {
    let r = recipe(
        "[]",
        "[]",
        r#"template("{# redis #}\nbind {{ hosts|join(' ') }}\nport {{ port }}\n{% if tls %}tls yes\n{% else %}tls no\n{% endif %}{% for u in users if u.on %}user {{ u.name|upper }} {{ loop.index }}/{{ loop.length }}\n{% endfor %}{% for k, v in opts|items %}{% endfor %}json {{ opts|tojson }}\nmax {{ port // 2 - 1 }} {{ missing|default('none') }} {{ users|length }} {{ users|first|tojson }}",
                    #{ hosts: ["127.0.0.1", "::1"], port: 6380, tls: false, users: [#{ name: "a", on: true }, #{ name: "b", on: false }], opts: #{ x: 1 } })"#,
    );
    let ran = run(&r, serde_json::json!({}));
    let e = match &ran.outcome {
        cairn_engine::Outcome::Failed { error, .. } => error.clone(),
        _ => String::new(),
    };
    assert!(e.contains("the filter `items`"), "{e}");
    let r = recipe(
        "[]",
        "[]",
        r#"template("{# redis #}\nbind {{ hosts|join(' ') }}\nport {{ port }}\n{% if tls %}tls yes\n{% else %}tls no\n{% endif %}{% for u in users if u.on %}user {{ u.name|upper }} {{ loop.index }}/{{ loop.length }}\n{% endfor %}json {{ opts|tojson }}\nmax {{ port // 2 - 1 }} {{ missing|default('none') }} {{ users|length }} {{ (users|first).name }}",
                    #{ hosts: ["127.0.0.1", "::1"], port: 6380, tls: false, users: [#{ name: "a", on: true }, #{ name: "b", on: false }], opts: #{ x: 1 } })"#,
    );
    assert_eq!(
        run(&r, serde_json::json!({})).value(),
        "\nbind 127.0.0.1 ::1\nport 6380\ntls no\nuser A 1/1\njson {\"x\":1}\nmax 3189 none 2 a"
    );
}

#[test]
fn the_costliest_steps_still_end_quickly() {
    // Each step compares two 60 KB strings: the fuel bounds the number of such steps.
    let started = Instant::now();
    let e = template_error_after(
        &format!("{} let t = big; t.pad(61000, \"c\");", big(60000)),
        "{% for a in range(10000) %}{% for b in range(10000) %}{% if t in s %}{% endif %}{% endfor %}{% endfor %}",
        "#{ s: big, t: t }",
    );
    eprintln!("costliest template: {:?}", started.elapsed());
    assert!(e.contains("steps of work"), "{e}");
}
