//! Bundle verification: raw bytes, and edits of a valid signed bundle. An edited bundle that
//! still verifies must hold exactly the original header and files.
#![no_main]

use cairn_fuzz::{NOW, cp_ring, mutate, valid};
use cairn_protocol::SignedBundle;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let ring = cp_ring();
    let _ = SignedBundle::from_bytes(data).and_then(|b| b.verify(&ring, NOW));

    let v = valid();
    let original = SignedBundle::from_bytes(&v.bundle)
        .and_then(|b| b.verify(&ring, NOW))
        .expect("valid bundle");
    let edited = mutate(&v.bundle, data);
    if let Ok(b) = SignedBundle::from_bytes(&edited).and_then(|b| b.verify(&ring, NOW)) {
        assert_eq!(b.header(), original.header(), "an edited bundle changed its header");
        assert_eq!(
            b.recipe().bytes, original.recipe().bytes,
            "an edited bundle changed its recipe"
        );
    }
});
