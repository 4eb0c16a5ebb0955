//! Recipe compilation: any text given to the recipe loader (what `cairn-recipe check` and the
//! control plane's registry run on every `.rhai` file) is either accepted or refused with an
//! error; it never panics or overflows the stack.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    if let Ok(text) = std::str::from_utf8(data) {
        let _ = cairn_engine::Recipe::parse("fuzz.rhai", text);
    }
});
