//! Printing a job's events the way the dashboard's console shows them: steps, command echoes,
//! output, progress, and the final result.

use std::io::{IsTerminal, Write};

use cairn_engine::{Event, Outcome, Stream};

/// Prints one line to stdout (a closed pipe is not an error worth a panic).
pub fn out(line: &str) {
    let mut stdout = std::io::stdout().lock();
    let _ = writeln!(stdout, "{line}");
}

/// Turns events into console lines; colours only on a terminal.
#[derive(Debug)]
pub struct Printer {
    color: bool,
}

impl Printer {
    pub fn new() -> Self {
        Self {
            color: std::io::stdout().is_terminal(),
        }
    }

    fn paint(&self, code: &str, text: &str) -> String {
        if self.color {
            format!("\x1b[{code}m{text}\x1b[0m")
        } else {
            text.to_owned()
        }
    }

    pub fn print(&mut self, event: &Event) {
        match event {
            Event::Log { stream, line } => {
                // Child output is shown inert: control characters other than tab are escaped,
                // so a program cannot clear the screen or fake a line.
                let line: String = line
                    .trim_end_matches('\r')
                    .chars()
                    .flat_map(|c| {
                        if c.is_control() && c != '\t' {
                            c.escape_default().collect::<Vec<_>>()
                        } else {
                            vec![c]
                        }
                    })
                    .collect();
                match stream {
                    Stream::Stdout | Stream::Info => out(&line),
                    Stream::Stderr => out(&self.paint("33", &line)),
                    Stream::Warn => out(&self.paint("33;1", &format!("! {line}"))),
                    Stream::Command => out(&self.paint("36", &line)),
                }
            }
            Event::Step { index, title } => {
                out(&self.paint("1", &format!("==> [{index}] {title}")));
            }
            Event::Progress { percent } => out(&format!("[{percent:>3}%]")),
            Event::Finished { outcome } => match outcome {
                Outcome::Succeeded { value, .. } => {
                    let msg = value
                        .get("message")
                        .and_then(|m| m.as_str())
                        .map(str::to_owned)
                        .unwrap_or_else(|| "done".to_owned());
                    out(&self.paint("32;1", &format!("✔ {msg}")));
                    out(&serde_json::to_string(value).unwrap_or_default());
                }
                Outcome::Failed { error } => {
                    out(&self.paint("31;1", &format!("✘ {error}")));
                }
            },
        }
    }
}
