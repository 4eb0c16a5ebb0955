//! Comparing version strings the way dpkg does, for recipes deciding whether what is installed is
//! recent enough (`version_cmp("7.0.15", "6.2") == 1`). Debian package versions
//! (`5:7.0.15-1~deb12u1`) and upstream ones (`1.22.5`, `3.11.2`) both order correctly: epochs
//! first, numeric runs as numbers, `~` before anything (so `7.0~rc1` < `7.0`).

use std::cmp::Ordering;

/// -1, 0 or 1 as `a` is older than, equal to or newer than `b`.
pub fn compare(a: &str, b: &str) -> i64 {
    match cmp(a, b) {
        Ordering::Less => -1,
        Ordering::Equal => 0,
        Ordering::Greater => 1,
    }
}

/// dpkg's ordering of two versions.
pub fn cmp(a: &str, b: &str) -> Ordering {
    let (ea, ua, ra) = split(a);
    let (eb, ub, rb) = split(b);
    ea.cmp(&eb)
        .then_with(|| verrevcmp(ua, ub))
        .then_with(|| verrevcmp(ra, rb))
}

/// `epoch:upstream-revision`; a missing epoch is 0, a missing revision empty.
fn split(v: &str) -> (u64, &str, &str) {
    let v = v.trim();
    let (epoch, rest) = match v.split_once(':') {
        Some((e, rest)) if !e.is_empty() && e.bytes().all(|b| b.is_ascii_digit()) => {
            (e.parse().unwrap_or(u64::MAX), rest)
        }
        _ => (0, v),
    };
    match rest.rsplit_once('-') {
        Some((upstream, revision)) => (epoch, upstream, revision),
        None => (epoch, rest, ""),
    }
}

/// The weight of one non-digit character: `~` sorts before the end of the string, letters
/// before other characters.
fn order(c: Option<u8>) -> i32 {
    match c {
        None => 0,
        Some(b'~') => -1,
        Some(c) if c.is_ascii_digit() => 0,
        Some(c) if c.is_ascii_alphabetic() => i32::from(c),
        Some(c) => i32::from(c) + 256,
    }
}

fn verrevcmp(a: &str, b: &str) -> Ordering {
    let (a, b) = (a.as_bytes(), b.as_bytes());
    let (mut i, mut j) = (0, 0);
    let digit = |s: &[u8], k: usize| s.get(k).is_some_and(u8::is_ascii_digit);
    while i < a.len() || j < b.len() {
        // A run of non-digits, character by character.
        while (i < a.len() && !digit(a, i)) || (j < b.len() && !digit(b, j)) {
            let (x, y) = (order(a.get(i).copied()), order(b.get(j).copied()));
            if x != y {
                return x.cmp(&y);
            }
            i += 1;
            j += 1;
        }
        // A run of digits, as a number: skip leading zeros, then the longer run is larger.
        while a.get(i) == Some(&b'0') {
            i += 1;
        }
        while b.get(j) == Some(&b'0') {
            j += 1;
        }
        let mut first_diff = Ordering::Equal;
        while digit(a, i) && digit(b, j) {
            if first_diff == Ordering::Equal {
                first_diff = a[i].cmp(&b[j]);
            }
            i += 1;
            j += 1;
        }
        if digit(a, i) {
            return Ordering::Greater;
        }
        if digit(b, j) {
            return Ordering::Less;
        }
        if first_diff != Ordering::Equal {
            return first_diff;
        }
    }
    Ordering::Equal
}

#[cfg(test)]
mod tests {
    use super::compare;

    #[test]
    fn upstream_versions() {
        assert_eq!(compare("7.0.15", "6.2"), 1);
        assert_eq!(compare("1.9", "1.10"), -1);
        assert_eq!(compare("10a", "9a"), 1);
        assert_eq!(compare("1.22.5", "1.22.5"), 0);
        assert_eq!(
            compare("1.2", "1.2.0"),
            -1,
            "dpkg: a longer version is newer"
        );
    }

    #[test]
    fn debian_versions() {
        assert_eq!(compare("1:2.0", "3.0"), 1, "the epoch wins");
        assert_eq!(
            compare("7.0~rc1", "7.0"),
            -1,
            "a tilde sorts before the release"
        );
        assert_eq!(compare("5:7.0.15-1~deb12u1", "5:7.0.15-1"), -1);
        assert_eq!(compare("5:7.0.15-1~deb12u10", "5:7.0.15-1~deb12u9"), 1);
        assert_eq!(compare("2.36-9+deb12u4", "2.36-9"), 1);
    }
}
