//! 128-bit hash keys: MD5 of partition keys, decimal parsing, and even splits of the key space.

use md5::{Digest, Md5};

/// The hash key of a partition key: its MD5 digest read as a big-endian unsigned 128-bit integer.
pub(crate) fn of_partition_key(key: &str) -> u128 {
    let digest = Md5::digest(key.as_bytes());
    u128::from_be_bytes(digest.into())
}

/// Whether `s` satisfies the API's hash-key pattern `0|([1-9]\d{0,38})`.
pub(crate) fn is_well_formed(s: &str) -> bool {
    let b = s.as_bytes();
    match b {
        [b'0'] => true,
        [first, rest @ ..] => {
            (b'1'..=b'9').contains(first) && rest.len() <= 38 && rest.iter().all(u8::is_ascii_digit)
        }
        [] => false,
    }
}

/// Parses a decimal hash key; `None` when malformed or above 2^128 - 1.
pub(crate) fn parse(s: &str) -> Option<u128> {
    if !is_well_formed(s) {
        return None;
    }
    s.parse().ok()
}

/// The first hash key of part `i` of `n` even parts of the 128-bit key space (`i <= n`, `n >= 1`).
pub(crate) fn split_point(i: u128, n: u128) -> u128 {
    if i == 0 || n == 0 {
        return 0;
    }
    // 2^128 = q * n + r, computed without overflowing u128.
    let q = u128::MAX / n + (u128::MAX % n + 1) / n;
    let r = (u128::MAX % n + 1) % n;
    i.saturating_mul(q).saturating_add(i.saturating_mul(r) / n)
}

/// `n` contiguous inclusive ranges covering the whole key space.
pub(crate) fn even_ranges(n: u32) -> Vec<(u128, u128)> {
    let n = u128::from(n.max(1));
    (0..n)
        .map(|i| {
            let start = split_point(i, n);
            let end = if i + 1 == n {
                u128::MAX
            } else {
                split_point(i + 1, n) - 1
            };
            (start, end)
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn md5_of_key() {
        // MD5("a") = 0cc175b9c0f1b6a831c399e269772661
        assert_eq!(of_partition_key("a"), 0x0cc175b9c0f1b6a831c399e269772661);
    }

    #[test]
    fn even_split_matches_aws() {
        let r = even_ranges(2);
        assert_eq!(r[0], (0, (1u128 << 127) - 1));
        assert_eq!(r[1], (1u128 << 127, u128::MAX));
        for n in [1, 3, 7, 16, 1000] {
            let r = even_ranges(n);
            assert_eq!(r.len(), n as usize);
            assert_eq!(r[0].0, 0);
            assert_eq!(r[r.len() - 1].1, u128::MAX);
            for w in r.windows(2) {
                assert_eq!(w[0].1 + 1, w[1].0);
            }
        }
    }

    #[test]
    fn parse_bounds() {
        assert_eq!(parse("340282366920938463463374607431768211455"), Some(u128::MAX));
        assert_eq!(parse("340282366920938463463374607431768211456"), None);
        assert_eq!(parse("01"), None);
        assert_eq!(parse("-1"), None);
    }
}
