//! Keeps docs/protocol.md true: every JSON example in it parses (strictly) into the type its
//! heading names and survives a round trip, and every message type is documented.

use std::collections::BTreeSet;

use cairn_protocol::bundle::BundleHeader;
use cairn_protocol::{Frame, FrameBody, Message, SignedBundle, limits, strict_json};

/// (heading, first ```json block after it).
fn examples() -> Vec<(String, String)> {
    let doc = include_str!("../../../docs/protocol.md");
    let mut out = Vec::new();
    let mut heading = None;
    let mut lines = doc.lines();
    while let Some(line) = lines.next() {
        if let Some(h) = line.strip_prefix("### ") {
            heading = Some(h.trim().to_owned());
        } else if line.trim() == "```json" {
            let block: Vec<&str> = lines.by_ref().take_while(|l| l.trim() != "```").collect();
            let h = heading
                .take()
                .expect("every JSON example sits under a ### heading");
            out.push((h, block.join("\n")));
        }
    }
    out
}

fn round_trip<T>(h: &str, json: &str)
where
    T: serde::de::DeserializeOwned + serde::Serialize + PartialEq + std::fmt::Debug,
{
    let v: T = strict_json::parse(json.as_bytes(), "doc example", limits::MAX_FRAME_BYTES)
        .unwrap_or_else(|e| panic!("example under {h}: {e}"));
    let again: T = serde_json::from_str(&serde_json::to_string(&v).unwrap()).unwrap();
    assert_eq!(v, again, "{h}");
}

#[test]
fn every_example_parses_and_every_message_is_documented() {
    let mut documented = BTreeSet::new();
    for (h, json) in examples() {
        match h.as_str() {
            "Frame envelope" => round_trip::<Frame>(&h, &json),
            "Frame body" => round_trip::<FrameBody>(&h, &json),
            "Bundle" => round_trip::<SignedBundle>(&h, &json),
            "Bundle header" => round_trip::<BundleHeader>(&h, &json),
            _ => {
                round_trip::<Message>(&h, &json);
                let m: Message = serde_json::from_str(&json).unwrap();
                assert_eq!(m.type_name(), h, "example under {h} has another type");
                // The example must not lose fields on the way (camelCase names right).
                let reserialized: serde_json::Value = serde_json::to_value(&m).unwrap();
                let original: serde_json::Value = serde_json::from_str(&json).unwrap();
                assert_eq!(
                    reserialized, original,
                    "{h}: a field of the example is not in the type"
                );
                assert!(documented.insert(h.clone()), "{h} documented twice");
            }
        }
    }
    let all: BTreeSet<String> = Message::ALL_TYPES.iter().map(|s| s.to_string()).collect();
    assert_eq!(
        documented, all,
        "docs/protocol.md and Message::ALL_TYPES differ"
    );
}
