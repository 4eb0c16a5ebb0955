//! Frame decoding on both sides: raw bytes, and edits of a valid frame. A frame that verifies
//! after an edit must carry exactly the original messages (an edit that leaves the JSON meaning
//! unchanged, like a space between tokens); anything else must be refused, never panic.
#![no_main]

use cairn_fuzz::{NOW, agent_side, cp_side, mutate, valid};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let v = valid();
    let _ = cairn_protocol::parse_bare_message(data);
    let _ = cairn_protocol::strict_json::parse_value(data, "fuzz", 1 << 20);
    let _ = agent_side().verify(data, NOW);
    let _ = cp_side().verify(data, NOW);

    let original = agent_side().verify(&v.to_agent, NOW).expect("valid frame");
    let edited = mutate(&v.to_agent, data);
    if let Ok(frame) = agent_side().verify(&edited, NOW) {
        assert_eq!(frame.messages, original.messages, "an edited frame changed meaning");
    }
    let original = cp_side().verify(&v.to_cp, NOW).expect("valid frame");
    let edited = mutate(&v.to_cp, data);
    if let Ok(frame) = cp_side().verify(&edited, NOW) {
        assert_eq!(frame.messages, original.messages, "an edited frame changed meaning");
    }
});
