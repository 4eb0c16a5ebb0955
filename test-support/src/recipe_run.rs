//! What a successful `cairn-recipe run` prints on stdout: the console (steps, commands, their
//! output, the closing `✔` line), then the job's result as pretty JSON, from a line holding
//! only `{` to the end. The result is the one place a connection string's password may appear,
//! so the tests that prove a password stays secret search the console without it.

/// Splits a run's stdout into its console and its result (the JSON text). A result printed on
/// one line (as `cairn-recipe` did before issue 13) is the last line.
pub fn split(stdout: &str) -> (&str, &str) {
    let start = stdout
        .rfind("\n{\n")
        .map(|i| i + 1)
        .or_else(|| stdout.starts_with("{\n").then_some(0))
        .unwrap_or_else(|| stdout.trim_end().rfind('\n').map_or(0, |i| i + 1));
    stdout.split_at(start)
}

/// The result of a run, parsed; fails the test, showing `stdout`, when there is none.
pub fn result(stdout: &str) -> serde_json::Value {
    serde_json::from_str(split(stdout).1.trim_end())
        .unwrap_or_else(|e| panic!("the run did not end with its JSON result ({e}):\n{stdout}"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_result_is_the_pretty_json_after_the_console() {
        let out =
            "==> [1] Install\n✔ done\n{\n  \"changed\": true,\n  \"a\": {\n    \"b\": 1\n  }\n}\n";
        let (console, json) = split(out);
        assert_eq!(console, "==> [1] Install\n✔ done\n");
        assert_eq!(result(out)["a"]["b"], 1);
        assert!(json.starts_with("{\n"));
    }

    #[test]
    fn a_result_on_one_line_is_the_last_line() {
        let out = "✔ done\n{\"changed\":false}\n";
        assert_eq!(split(out).0, "✔ done\n");
        assert_eq!(result(out)["changed"], false);
    }
}
