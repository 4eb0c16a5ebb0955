//! The dashboard's TypeScript types are generated from the protocol's Rust types; this test
//! fails when the committed file is stale. `CAIRN_UPDATE_TS=1` rewrites it.

use std::path::Path;

#[test]
fn typescript_declarations_are_current() {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("../ui/src/lib/protocol.generated.ts");
    let generated = cairn_protocol::typescript::declarations();
    if std::env::var_os("CAIRN_UPDATE_TS").is_some() {
        std::fs::write(&path, &generated).unwrap();
    }
    let committed = std::fs::read_to_string(&path).unwrap_or_default();
    assert!(
        committed == generated,
        "{} is stale: run `CAIRN_UPDATE_TS=1 cargo test -p cairn-protocol typescript`",
        path.display()
    );
    // Every message type of the enum is in the union, tagged as on the wire.
    for name in cairn_protocol::Message::ALL_TYPES {
        assert!(
            generated.contains(&format!("\"type\": \"{name}\"")),
            "{name} missing"
        );
    }
}
