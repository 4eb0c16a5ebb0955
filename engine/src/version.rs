//! Comparing dotted version strings, for recipes deciding whether what is installed is recent
//! enough (`version_cmp("7.0.15", "6.2") == 1`).

use std::cmp::Ordering;

/// -1, 0 or 1 as `a` is older than, equal to or newer than `b`. Numeric runs compare as numbers,
/// other characters as text; a missing part counts as 0 (`"1.2" == "1.2.0"`).
pub fn compare(a: &str, b: &str) -> i64 {
    let parts = |s: &str| -> Vec<String> {
        s.split(['.', '-', '+', '~', ':'])
            .map(str::to_owned)
            .collect()
    };
    let (pa, pb) = (parts(a), parts(b));
    for i in 0..pa.len().max(pb.len()) {
        let x = pa.get(i).map_or("0", String::as_str);
        let y = pb.get(i).map_or("0", String::as_str);
        let ord = match (x.parse::<u64>(), y.parse::<u64>()) {
            (Ok(x), Ok(y)) => x.cmp(&y),
            _ => x.cmp(y),
        };
        match ord {
            Ordering::Less => return -1,
            Ordering::Greater => return 1,
            Ordering::Equal => {}
        }
    }
    0
}

#[cfg(test)]
mod tests {
    use super::compare;

    #[test]
    fn dotted_versions() {
        assert_eq!(compare("7.0.15", "6.2"), 1);
        assert_eq!(compare("1.2", "1.2.0"), 0);
        assert_eq!(compare("1.9", "1.10"), -1);
    }
}
