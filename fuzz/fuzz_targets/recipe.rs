//! Recipe compilation and templates.
//!
//! Any text given to the recipe loader (what `cairn-recipe check` and the control plane's
//! registry run on every `.rhai` file) is either accepted or refused with an error; it never
//! panics or overflows the stack. An input that starts with `{#T#}` is a `template()` call
//! instead (THREATS row 27): whatever the template, it renders or is refused, within the
//! fuzzer's time limit (`-timeout`, set by `scripts/fuzz`) and memory limit (`-rss_limit_mb`),
//! so a template that runs long or grows memory is a finding.
#![no_main]

use std::time::Duration;

use cairn_engine::CancelToken;
use cairn_engine::cancel::Stop;
use libfuzzer_sys::fuzz_target;

const TEMPLATE: &[u8] = b"{#T#}";

fuzz_target!(|data: &[u8]| {
    if let Some(rest) = data.strip_prefix(TEMPLATE) {
        if let Ok(text) = std::str::from_utf8(rest) {
            let mut vars = rhai::Map::new();
            vars.insert("a".into(), "ab".into());
            vars.insert("n".into(), rhai::Dynamic::from_int(3));
            vars.insert(
                "l".into(),
                rhai::Dynamic::from_array(vec!["x".into(), "yz".into(), 7_i64.into()]),
            );
            let mut m = rhai::Map::new();
            m.insert("k".into(), "v".into());
            vars.insert("m".into(), rhai::Dynamic::from_map(m));
            let stop = Stop::new(CancelToken::new(), Duration::from_secs(5));
            let _ = cairn_engine::host::template::render(text, &vars, &stop);
        }
    } else if let Ok(text) = std::str::from_utf8(data) {
        let _ = cairn_engine::Recipe::parse("fuzz.rhai", text);
    }
});
