//! Printing a job's events the way the dashboard's console shows them: steps, command echoes,
//! output, progress, and the final result.

use std::io::{IsTerminal, Write};

use cairn_engine::{Event, Outcome, Stream};

/// Whether `c` could act on a terminal rather than show: control characters (C0, DEL, C1,
/// except tab) and the Unicode marks that reorder text (bidi overrides and isolates).
fn acts_on_terminal(c: char) -> bool {
    (c.is_control() && c != '\t')
        || matches!(c, '\u{200e}' | '\u{200f}' | '\u{202a}'..='\u{202e}' | '\u{2066}'..='\u{2069}')
}

/// Text from a recipe, a program or the engine, made inert for a terminal (threats.md row 31):
/// whatever could clear the screen, move the cursor, set the window title, fake a line or
/// reorder text is shown escaped (`\u{1b}`), so what the author of a recipe wrote cannot
/// pass itself off as Cairn's own output.
pub fn inert(text: &str) -> String {
    text.chars()
        .flat_map(|c| {
            if acts_on_terminal(c) {
                c.escape_unicode().collect::<Vec<_>>()
            } else {
                vec![c]
            }
        })
        .collect()
}

/// Prints `text`, made inert, as one line on stdout (a closed pipe is not worth a panic).
pub fn out(text: &str) {
    raw_line(&inert(text));
}

/// Prints `text`, made inert, as one line on stderr.
pub fn err(text: &str) {
    let mut stderr = std::io::stderr().lock();
    let _ = writeln!(stderr, "{}", inert(text));
}

/// Prints a value as pretty JSON (plans, detections). serde_json escapes control characters
/// below U+0020 only; DEL, C1 and bidi marks are escaped here as `\uXXXX`, which keeps the JSON
/// valid (they can only occur inside strings).
pub fn out_json(value: &impl serde::Serialize) -> serde_json::Result<()> {
    raw_line(&json_inert(&serde_json::to_string_pretty(value)?));
    Ok(())
}

/// Prints a value as JSON on one line, escaped like [`out_json`]: a job's result, the last line
/// of `run`, which scripts and tests read.
pub fn out_json_line(value: &impl serde::Serialize) -> serde_json::Result<()> {
    raw_line(&json_inert(&serde_json::to_string(value)?));
    Ok(())
}

fn json_inert(text: &str) -> String {
    text.chars()
        .flat_map(|c| {
            // Raw newlines in pretty JSON are its own layout (strings have theirs escaped).
            if acts_on_terminal(c) && c != '\n' {
                format!("\\u{:04x}", c as u32).chars().collect::<Vec<_>>()
            } else {
                vec![c]
            }
        })
        .collect()
}

fn raw_line(line: &str) {
    let mut stdout = std::io::stdout().lock();
    let _ = writeln!(stdout, "{line}");
}

/// Turns events into console lines; colours only on a terminal.
#[derive(Debug)]
pub struct Printer {
    color: bool,
    /// Print the run's timing summary (on standard error, after the run).
    pub timings: bool,
}

impl Printer {
    pub fn new() -> Self {
        Self {
            color: std::io::stdout().is_terminal(),
            timings: false,
        }
    }

    /// Prints `text`, made inert, in the colour `code` when on a terminal.
    fn paint(&self, code: &str, text: &str) {
        if self.color {
            raw_line(&format!("\x1b[{code}m{}\x1b[0m", inert(text)));
        } else {
            out(text);
        }
    }

    pub fn print(&mut self, event: &Event) {
        match event {
            Event::Log { stream, line } => {
                let line = line.trim_end_matches('\r');
                match stream {
                    Stream::Stdout | Stream::Info => out(line),
                    Stream::Stderr => self.paint("33", line),
                    Stream::Warn => self.paint("33;1", &format!("! {line}")),
                    Stream::Command => self.paint("36", line),
                }
            }
            Event::Step { index, title } => {
                self.paint("1", &format!("==> [{index}] {title}"));
            }
            Event::Progress { percent } => out(&format!("[{percent:>3}%]")),
            // The console line beside it already says what the job waits for.
            Event::Waiting { .. } => {}
            Event::Timings { timings } => {
                if self.timings {
                    let mut stderr = std::io::stderr().lock();
                    for line in timings.lines() {
                        let _ = writeln!(stderr, "{}", inert(&line));
                    }
                }
            }
            Event::Finished { outcome } => match outcome {
                Outcome::Succeeded { value, .. } => {
                    let msg = value
                        .get("message")
                        .and_then(|m| m.as_str())
                        .map(str::to_owned)
                        .unwrap_or_else(|| "done".to_owned());
                    self.paint("32;1", &format!("✔ {msg}"));
                    let _ = out_json_line(value);
                }
                failed @ Outcome::Failed { .. } => {
                    let text = failed.failure_text().unwrap_or_default();
                    self.paint("31;1", &format!("✘ {text}"));
                }
            },
        }
    }
}
