//! The bounded capture kept for the caller. A package manager can print hundreds of megabytes;
//! the console already received every line, and what a recipe inspects (an error message, a
//! version) is almost always at the end, so only the tail is kept.

/// Text that keeps at most `limit` bytes, dropping from the front.
///
/// Trimming waits until the buffer holds twice the limit, so each byte is moved at most once
/// on average instead of shifting a megabyte for every line.
#[derive(Debug)]
pub(super) struct Tail {
    text: String,
    limit: usize,
}

impl Tail {
    pub(super) fn new(limit: usize) -> Self {
        Self {
            text: String::new(),
            limit,
        }
    }

    pub(super) fn push(&mut self, s: &str) {
        self.text.push_str(s);
        if self.text.len() > self.limit.saturating_mul(2) {
            self.trim();
        }
    }

    /// The last `limit` bytes (or slightly fewer, so as not to cut a character in half).
    pub(super) fn into_string(mut self) -> String {
        self.trim();
        self.text
    }

    fn trim(&mut self) {
        if self.text.len() <= self.limit {
            return;
        }
        let mut start = self.text.len() - self.limit;
        while !self.text.is_char_boundary(start) {
            start += 1;
        }
        self.text.drain(..start);
    }
}

#[cfg(test)]
mod tests {
    use super::Tail;

    #[test]
    fn keeps_the_tail_within_the_limit() {
        let mut t = Tail::new(10);
        for i in 0..100 {
            t.push(&format!("{i}\n"));
        }
        assert_eq!(t.into_string(), "\n97\n98\n99\n");
    }

    #[test]
    fn never_cuts_a_character() {
        let mut t = Tail::new(4);
        t.push("aéé"); // 1 + 2 + 2 bytes
        assert_eq!(t.into_string(), "éé");
    }
}
