//! Cron: a schedule's five fields checked and normalised, the text of an `/etc/cron.d` file
//! that runs one program as root on it, and the schedule read back from such a file.
//!
//! Cron hands the command line of an entry to `/bin/sh` and turns every `%` in it into a
//! newline, so each word of the command (the program, its arguments, the log file) is limited
//! to characters neither reads specially: letters, digits and `. _ - + = : , @ /`. Which
//! program may be scheduled is the caller's check (`helpers.rs`: only the recipe's own).

use crate::host::caps::SAFE_PATH;

/// Each field's name and range, in order.
const FIELDS: [(&str, u32, u32); 5] = [
    ("minute", 0, 59),
    ("hour", 0, 23),
    ("day of month", 1, 31),
    ("month", 1, 12),
    ("day of week", 0, 7),
];

/// The longest schedule text looked at (a sentence quoting more would not help anyone).
const MAX_SCHEDULE_LEN: usize = 200;

/// `text` as a 5-field cron expression with single spaces, or a sentence saying what is wrong.
pub fn schedule(text: &str) -> Result<String, String> {
    if text.len() > MAX_SCHEDULE_LEN {
        return Err(format!(
            "the schedule is {} characters long; a cron expression has 5 short fields (minute \
             hour day month weekday)",
            text.len()
        ));
    }
    let fields: Vec<&str> = text.split_ascii_whitespace().collect();
    if fields.len() != 5 {
        return Err(format!(
            "the schedule `{text}` is not a cron expression of 5 fields (minute hour day month weekday)"
        ));
    }
    for (field, (name, lo, hi)) in fields.iter().zip(FIELDS) {
        field_ok(field, lo, hi).map_err(|why| {
            format!("the schedule `{text}` is not valid: the {name} field `{field}` {why}")
        })?;
    }
    Ok(fields.join(" "))
}

/// One field: a list of `*`, `n` or `a-b`, each optionally with a step `/n`.
fn field_ok(field: &str, lo: u32, hi: u32) -> Result<(), String> {
    let bad =
        || format!("must use numbers from {lo} to {hi}, *, ranges a-b, lists a,b and steps /n");
    for part in field.split(',') {
        let (range, step) = match part.split_once('/') {
            Some((range, step)) => (range, Some(step)),
            None => (part, None),
        };
        if step.is_some_and(|s| number(s).is_none_or(|n| n < 1)) {
            return Err(bad());
        }
        if range == "*" {
            continue;
        }
        let (a, b) = range.split_once('-').unwrap_or((range, range));
        let in_range = |s: &str| number(s).filter(|n| (lo..=hi).contains(n));
        let (Some(a), Some(b)) = (in_range(a), in_range(b)) else {
            return Err(bad());
        };
        if a > b {
            return Err(format!("has a range that ends before it starts ({a}-{b})"));
        }
    }
    Ok(())
}

/// A field's number: ASCII digits only, so no sign, space or letter slips through.
fn number(s: &str) -> Option<u32> {
    if s.is_empty() || s.len() > 9 || !s.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    s.parse().ok()
}

/// Refuses a word of the command line that the shell or cron would read as more than text.
pub fn check_word(what: &str, word: &str) -> Result<(), String> {
    let ok = !word.is_empty()
        && word
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || "._-+=:,@/".contains(c));
    if ok {
        Ok(())
    } else {
        Err(format!(
            "{what} `{word}` may contain only letters, digits and . _ - + = : , @ / (cron hands \
             the line to the shell and reads % as a line break)"
        ))
    }
}

/// What one cron entry runs.
#[derive(Debug)]
pub struct Entry<'a> {
    pub schedule: &'a str,
    pub program: &'a str,
    pub args: &'a [String],
    /// Where cron appends the program's output.
    pub log: &'a str,
    /// One line, written as the file's first line after `# `.
    pub comment: &'a str,
}

/// The text of an `/etc/cron.d` file that runs `entry` as root, with cron's shell and the
/// engine's PATH. The schedule is checked and normalised here; the words and the comment too.
pub fn file_text(entry: &Entry<'_>) -> Result<String, String> {
    let schedule = schedule(entry.schedule)?;
    check_word("the program", entry.program)?;
    for arg in entry.args {
        check_word("the argument", arg)?;
    }
    check_word("the log file", entry.log)?;
    if entry.comment.chars().any(char::is_control) {
        return Err(
            "the comment contains a line break or another control character; it must be one line"
                .into(),
        );
    }
    let mut command = entry.program.to_owned();
    for arg in entry.args {
        command.push(' ');
        command.push_str(arg);
    }
    Ok(format!(
        "# {}\nSHELL=/bin/sh\nPATH={SAFE_PATH}\n{schedule} root {command} >>{} 2>&1\n",
        entry.comment, entry.log
    ))
}

/// The schedule of the first entry of a cron file's `text` that runs `program`, or `None`.
pub fn schedule_of(text: &str, program: &str) -> Option<String> {
    text.lines()
        .filter(|l| !l.trim_start().starts_with('#'))
        .map(|l| l.split_ascii_whitespace().collect::<Vec<_>>())
        .find(|fields| fields.len() >= 7 && fields[6] == program)
        .map(|fields| fields[..5].join(" "))
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    #[test]
    fn schedules_are_checked_field_by_field_and_normalised() {
        assert_eq!(schedule(" 0  3 * * *").unwrap(), "0 3 * * *");
        assert_eq!(
            schedule("*/15 1-5/2 1,15 * 0-7").unwrap(),
            "*/15 1-5/2 1,15 * 0-7"
        );
        for (bad, why) in [
            ("61 * * * *", "the minute field `61`"),
            ("*/0 3 * * *", "the minute field `*/0`"),
            ("0 24 * * *", "the hour field `24`"),
            ("0 3 0 * *", "the day of month field `0`"),
            ("0 3 * 13 *", "the month field `13`"),
            ("0 3 * * 8", "the day of week field `8`"),
            ("0 5-1 * * *", "ends before it starts"),
            ("+1 3 * * *", "the minute field `+1`"),
            ("1,,2 3 * * *", "the minute field `1,,2`"),
            ("0 3 * *", "5 fields"),
            ("0 3 * * * root", "5 fields"),
            ("@daily", "5 fields"),
        ] {
            let e = schedule(bad).unwrap_err();
            assert!(e.contains(why), "{bad}: {e}");
        }
    }

    #[test]
    fn the_file_runs_the_program_and_reads_back() {
        let args = ["run".to_owned()];
        let entry = Entry {
            schedule: "15 2  * * *",
            program: "/usr/local/lib/cairn/x",
            args: &args,
            log: "/var/log/cairn-x.log",
            comment: "Cairn: x",
        };
        let text = file_text(&entry).unwrap();
        assert!(
            text.ends_with(
                "\n15 2 * * * root /usr/local/lib/cairn/x run >>/var/log/cairn-x.log 2>&1\n"
            ),
            "{text}"
        );
        assert_eq!(
            schedule_of(&text, "/usr/local/lib/cairn/x").as_deref(),
            Some("15 2 * * *")
        );
        assert_eq!(schedule_of(&text, "/usr/local/lib/cairn/y"), None);
        for arg in ["a b", "a;b", "%", "$(id)", "`id`", "a\nb", ""] {
            let args = [arg.to_owned()];
            assert!(
                file_text(&Entry {
                    args: &args,
                    ..entry
                })
                .is_err(),
                "{arg}"
            );
        }
        assert!(
            file_text(&Entry {
                comment: "a\n* * * * * root id",
                ..entry
            })
            .is_err()
        );
    }
}
