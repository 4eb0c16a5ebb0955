//! How much pending recipe submissions may hold (THREATS row 58): an operator, or an API token
//! of theirs leaked from CI, may upload submissions of up to 1 MiB each, and every one waits
//! in the database until an admin decides it. Without a bound they would fill the control
//! plane's disk. The caps count per account (a user's tokens share their user's), and for the
//! whole control plane; the store checks them in the transaction that would store the
//! submission (`store::PendingCaps`), so two uploads at once cannot both slip under them. A
//! refusal stores nothing and says what to do.
//!
//! Decided submissions are bounded too: the store keeps the newest `HISTORY_KEPT`
//! (`store/submissions_sql.rs`) superseded, rejected or cancelled ones, as sending a new
//! version of a pending recipe supersedes it (and an operator may cancel their own pending
//! ones, which frees their cap at once), so an operator could otherwise grow that history at
//! will.

use crate::store::{Cap, OverCap, PendingCaps};

const MIB: u64 = 1024 * 1024;

/// What pending submissions may hold: 8 and 4 MiB per account, 64 and 32 MiB in all.
pub const CAPS: PendingCaps = PendingCaps {
    per_submitter: 8,
    per_submitter_bytes: 4 * MIB,
    total: 64,
    total_bytes: 32 * MIB,
};

fn kib(bytes: u64) -> u64 {
    bytes.div_ceil(1024)
}

/// The sentence refusing a submission that would pass `over`'s cap of `caps`.
pub fn refusal(over: &OverCap, caps: &PendingCaps) -> String {
    let (held, size) = (kib(over.held_bytes), kib(over.bytes));
    match over.cap {
        Cap::PerSubmitter => format!(
            "you already have {} recipe submissions waiting for review and one account may keep \
             at most {}; nothing was stored: cancel one of yours, wait until an admin approves \
             or rejects one, or send the next version of a recipe already waiting, which \
             replaces it",
            over.held, caps.per_submitter
        ),
        Cap::PerSubmitterBytes => format!(
            "your recipe submissions waiting for review already hold {held} KiB and this one has \
             {size} KiB, past the {} KiB one account may keep pending; nothing was stored: \
             cancel some of yours, wait until an admin approves or rejects some, or send the \
             next version of a recipe already waiting, which replaces it",
            kib(caps.per_submitter_bytes)
        ),
        Cap::Total => format!(
            "the control plane already keeps {} recipe submissions waiting for review, the most \
             it keeps ({}); nothing was stored: ask an admin to approve or reject the ones \
             waiting, then submit again",
            over.held, caps.total
        ),
        Cap::TotalBytes => format!(
            "the recipe submissions waiting for review already hold {held} KiB and this one has \
             {size} KiB, past the {} KiB the control plane keeps pending; nothing was stored: \
             ask an admin to approve or reject the ones waiting, then submit again",
            kib(caps.total_bytes)
        ),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_refusal_is_a_known_sentence_with_its_numbers() {
        for (cap, code) in [
            (Cap::PerSubmitter, "submissions.pendingYours"),
            (Cap::PerSubmitterBytes, "submissions.pendingYoursBytes"),
            (Cap::Total, "submissions.pendingAll"),
            (Cap::TotalBytes, "submissions.pendingAllBytes"),
        ] {
            let over = OverCap {
                cap,
                held: 8,
                held_bytes: 3 * MIB + 1,
                bytes: 1025,
            };
            let why = refusal(&over, &CAPS);
            let said = crate::said::said(&why);
            assert_eq!(said.message_code.as_deref(), Some(code), "{why}");
            assert!(why.contains("nothing was stored"), "{why}");
            let args = said.message_args.unwrap_or_default();
            match cap {
                Cap::PerSubmitter | Cap::Total => assert_eq!(args["held"], "8"),
                Cap::PerSubmitterBytes | Cap::TotalBytes => {
                    assert_eq!(
                        (args["held"].as_str(), args["size"].as_str()),
                        ("3073", "2")
                    );
                }
            }
        }
    }
}
