//! Helpers of the database policy tests (`policy_databases*.rs`): one call checked against the
//! argument policies exactly as `run()` checks it, and assertions on the refusal.
#![allow(dead_code, clippy::unwrap_used)]

use cairn_engine::Capabilities;
use cairn_engine::host::policy::{self, Call};

/// A password as `secret()` makes them (its alphabet includes `-` and `_`); no refusal may
/// quote it.
pub const PW: &str = "Xy3-_kQ9zz0aB-cD_eF1gH2i";

/// Checks one call by a recipe that declares `program`; the refusal as its message.
pub fn check(
    program: &str,
    args: &[&str],
    stdin: Option<&str>,
    env: &[(&str, &str)],
) -> Result<(), String> {
    let caps = Capabilities {
        programs: vec![program.to_owned()],
        ..Capabilities::default()
    };
    let args: Vec<String> = args.iter().map(|a| (*a).to_owned()).collect();
    let env: Vec<(String, String)> = env
        .iter()
        .map(|(k, v)| ((*k).into(), (*v).into()))
        .collect();
    policy::check(&Call {
        program,
        args: &args,
        stdin: stdin.map(str::as_bytes),
        env: &env,
        caps: &caps,
        query: false,
    })
    .map_err(|e| e.to_string())
}

/// Asserts the call is refused with a message containing `why` and saying nothing started.
pub fn refused(program: &str, args: &[&str], stdin: Option<&str>, why: &str) {
    match check(program, args, stdin, &[]) {
        Ok(()) => panic!("allowed: {program} {args:?} with stdin {stdin:?}"),
        Err(e) => {
            assert!(
                e.contains(why) && e.contains("nothing was started"),
                "{program} {args:?} {stdin:?}: expected “{why}” in: {e}"
            );
            assert!(!e.contains(PW), "the refusal quotes a password: {e}");
        }
    }
}

pub fn allowed(program: &str, args: &[&str], stdin: Option<&str>) {
    if let Err(e) = check(program, args, stdin, &[]) {
        panic!("{program} {args:?} with stdin {stdin:?} was refused: {e}");
    }
}
