//! Reading one output pipe on its own thread and cutting it into lines.
//!
//! The pipe is read on a thread rather than by the caller because the caller must keep an eye on
//! the clock and the cancel flag while the child is silent. Lines, not chunks, go to the caller
//! because the console and the redactor work per line; a secret split across two chunks would
//! slip past the redactor.
//!
//! A line is cut at 64 KiB even without a newline: a child printing a progress bar or a binary
//! blob must not make us buffer without bound.

use std::io::{ErrorKind, Read};
use std::sync::mpsc::SyncSender;

use crate::event::Stream;

/// The longest line delivered in one piece; longer ones arrive in pieces of this size.
pub(super) const MAX_LINE: usize = 64 * 1024;

/// What a reader thread tells the caller.
#[derive(Debug)]
pub(super) enum Msg {
    /// One line, without its line break, lossily converted to UTF-8. `broken` says whether a
    /// line break followed it (as opposed to end of output or a cut at [`MAX_LINE`]), so the
    /// capture can reassemble the text faithfully.
    Line {
        stream: Stream,
        text: String,
        broken: bool,
    },
    /// The pipe reached end of file: every process holding its write end has closed it.
    Eof,
}

/// Reads `pipe` to end of file, sending each line to `tx`.
///
/// Once the caller stops listening (it returned, e.g. because a daemon the command started still
/// holds the pipe), the thread keeps draining and discarding until end of file: closing the read
/// end would kill that daemon with SIGPIPE the next time it writes to its inherited stdout.
pub(super) fn pump(stream: Stream, mut pipe: impl Read, tx: SyncSender<Msg>) {
    let mut splitter = Splitter::default();
    let mut buf = vec![0u8; 16 * 1024];
    let mut listening = true;
    loop {
        let n = match pipe.read(&mut buf) {
            Ok(0) => break,
            Ok(n) => n,
            Err(e) if e.kind() == ErrorKind::Interrupted => continue,
            Err(_) => break,
        };
        if listening {
            splitter.feed(&buf[..n], &mut |text, broken| {
                listening = listening
                    && tx
                        .send(Msg::Line {
                            stream,
                            text,
                            broken,
                        })
                        .is_ok();
            });
        }
    }
    if listening {
        splitter.finish(&mut |text, broken| {
            let _ = tx.send(Msg::Line {
                stream,
                text,
                broken,
            });
        });
        let _ = tx.send(Msg::Eof);
    }
}

/// Cuts a byte stream into lines at `\n` (dropping a `\r` just before it) and at [`MAX_LINE`].
#[derive(Debug, Default)]
pub(super) struct Splitter {
    pending: Vec<u8>,
}

impl Splitter {
    /// Adds bytes, calling `emit(line, broken)` for every complete line.
    pub(super) fn feed(&mut self, mut bytes: &[u8], emit: &mut dyn FnMut(String, bool)) {
        while !bytes.is_empty() {
            let room = MAX_LINE - self.pending.len();
            let window = &bytes[..bytes.len().min(room)];
            if let Some(i) = window.iter().position(|&b| b == b'\n') {
                self.pending.extend_from_slice(&window[..i]);
                if self.pending.last() == Some(&b'\r') {
                    self.pending.pop();
                }
                emit(String::from_utf8_lossy(&self.pending).into_owned(), true);
                self.pending.clear();
                bytes = &bytes[i + 1..];
            } else {
                self.pending.extend_from_slice(window);
                bytes = &bytes[window.len()..];
                if self.pending.len() == MAX_LINE {
                    self.cut(emit);
                }
            }
        }
    }

    /// Emits whatever is left after end of file: a last line without a newline still counts.
    pub(super) fn finish(&mut self, emit: &mut dyn FnMut(String, bool)) {
        if !self.pending.is_empty() {
            emit(String::from_utf8_lossy(&self.pending).into_owned(), false);
            self.pending.clear();
        }
    }

    /// Emits a full buffer as a piece of a longer line, keeping back the start of a UTF-8
    /// character that straddles the cut so it is not turned into replacement characters.
    fn cut(&mut self, emit: &mut dyn FnMut(String, bool)) {
        let rest = self.pending.split_off(cut_point(&self.pending));
        emit(String::from_utf8_lossy(&self.pending).into_owned(), false);
        self.pending = rest;
    }
}

/// Where to cut `bytes` so that no multi-byte character is split: before an incomplete last
/// character, otherwise at the end.
fn cut_point(bytes: &[u8]) -> usize {
    let len = bytes.len();
    for i in (len.saturating_sub(4)..len).rev() {
        let width = match bytes[i] {
            b if is_continuation(b) => continue,
            0xC0..=0xDF => 2,
            0xE0..=0xEF => 3,
            0xF0..=0xF7 => 4,
            _ => 1,
        };
        return if i + width > len && i > 0 { i } else { len };
    }
    len
}

fn is_continuation(b: u8) -> bool {
    b & 0xC0 == 0x80
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::{MAX_LINE, Splitter};

    fn split(chunks: &[&[u8]]) -> Vec<(String, bool)> {
        let mut s = Splitter::default();
        let mut out = Vec::new();
        for c in chunks {
            s.feed(c, &mut |t, b| out.push((t, b)));
        }
        s.finish(&mut |t, b| out.push((t, b)));
        out
    }

    #[test]
    fn lines_across_chunks_with_crlf_and_unterminated_tail() {
        let got = split(&[b"one\r\ntw", b"o\n\nthr", b"ee"]);
        let want = [("one", true), ("two", true), ("", true), ("three", false)];
        assert_eq!(
            got,
            want.map(|(t, b)| (t.to_owned(), b)).to_vec(),
            "lines must be rebuilt across chunk borders"
        );
    }

    #[test]
    fn invalid_utf8_is_replaced() {
        assert_eq!(split(&[b"a\xffb\n"]), vec![("a\u{fffd}b".to_owned(), true)]);
    }

    #[test]
    fn long_lines_are_cut_on_character_boundaries() {
        // One ASCII byte shifts every two-byte 'é' so that one straddles the cut.
        let line = format!("x{}", "é".repeat(MAX_LINE));
        let got = split(&[line.as_bytes(), b"\n"]);
        assert!(got.len() >= 2, "a line over MAX_LINE must be cut");
        assert!(got.iter().all(|(t, _)| t.len() <= MAX_LINE));
        assert!(got.iter().all(|(t, _)| !t.contains('\u{fffd}')));
        let joined: String = got.iter().map(|(t, _)| t.as_str()).collect();
        assert_eq!(joined, line);
        assert!(
            got.last().unwrap().1,
            "the last piece carries the line break"
        );
    }
}
