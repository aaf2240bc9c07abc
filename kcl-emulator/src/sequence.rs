//! Sequence numbers: 56-digit decimal strings that identify their stream, shard and position.
//!
//! Layout (all fixed width, so numeric order equals string order within a shard):
//!
//! ```text
//! 49 | stream epoch (16 digits) | shard index (10 digits) | reserved (8 zeros) | counter (20 digits)
//! ```
//!
//! The stream epoch is unique per stream incarnation (a deleted and re-created stream gets a new one), so a
//! sequence number from another stream or shard is recognised and rejected. The counter is the record's
//! position in its shard: 0 is the shard's starting sequence number, records are numbered from 1.

use std::fmt::Write as _;

/// Total number of digits.
pub(crate) const LEN: usize = 56;
const PREFIX_LEN: usize = 36;

/// The parts of a parsed sequence number.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct SeqParts {
    pub(crate) epoch: u64,
    pub(crate) shard: u32,
    pub(crate) counter: u64,
}

/// The fixed first 36 digits of every sequence number of one shard.
pub(crate) fn prefix(epoch: u64, shard: u32) -> String {
    let mut s = String::with_capacity(LEN);
    // Writing to a String cannot fail.
    let _ = write!(s, "49{:016}{:010}00000000", epoch % 10_000_000_000_000_000, shard);
    s
}

/// The sequence number with `prefix` (from [`prefix`]) and `counter`.
pub(crate) fn format(prefix: &str, counter: u64) -> String {
    // Two digits per division, into a fixed buffer that starts as the 20 zero-padded digits.
    const PAIRS: &[u8; 200] = b"0001020304050607080910111213141516171819\
        2021222324252627282930313233343536373839\
        4041424344454647484950515253545556575859\
        6061626364656667686970717273747576777879\
        8081828384858687888990919293949596979899";
    let mut buf = [b'0'; 20];
    let mut n = counter;
    let mut i = buf.len();
    while n >= 100 && i >= 2 {
        let pair = (n % 100) as usize * 2;
        n /= 100;
        i -= 2;
        buf[i..i + 2].copy_from_slice(&PAIRS[pair..pair + 2]);
    }
    if n >= 10 && i >= 2 {
        i -= 2;
        buf[i..i + 2].copy_from_slice(&PAIRS[n as usize * 2..n as usize * 2 + 2]);
    } else if n > 0 && i >= 1 {
        buf[i - 1] = b'0' + n as u8;
    }
    let mut s = String::with_capacity(LEN);
    s.push_str(prefix);
    // The buffer holds ASCII digits only.
    s.push_str(std::str::from_utf8(&buf).unwrap_or("00000000000000000000"));
    s
}

/// Parses a sequence number this emulator issued; `None` for anything else.
pub(crate) fn parse(s: &str) -> Option<SeqParts> {
    let b = s.as_bytes();
    if b.len() != LEN || !b.iter().all(u8::is_ascii_digit) || &b[..2] != b"49" || &b[28..36] != b"00000000" {
        return None;
    }
    let epoch = s[2..18].parse().ok()?;
    let shard = s[18..28].parse().ok()?;
    let counter = s[PREFIX_LEN..].parse().ok()?;
    Some(SeqParts {
        epoch,
        shard,
        counter,
    })
}

/// Whether `s` satisfies the API's sequence-number pattern `0|([1-9]\d{0,128})`.
pub(crate) fn is_well_formed(s: &str) -> bool {
    let b = s.as_bytes();
    match b {
        [b'0'] => true,
        [first, rest @ ..] => {
            (b'1'..=b'9').contains(first) && rest.len() <= 128 && rest.iter().all(u8::is_ascii_digit)
        }
        [] => false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trip_and_order() {
        let p = prefix(1234, 7);
        let a = format(&p, 9);
        let b = format(&p, 10);
        let c = format(&p, u64::MAX);
        assert_eq!(a.len(), LEN);
        assert!(a < b && b < c);
        assert_eq!(
            parse(&b),
            Some(SeqParts {
                epoch: 1234,
                shard: 7,
                counter: 10
            })
        );
        assert_eq!(parse(&c).map(|p| p.counter), Some(u64::MAX));
        assert!(parse("123").is_none());
        assert!(parse(&a.replace("49", "48")).is_none());
        assert!(is_well_formed(&a) && is_well_formed("0") && !is_well_formed("01") && !is_well_formed(""));
        for counter in [
            0,
            1,
            9,
            10,
            99,
            100,
            101,
            12_345,
            1_000_000,
            u64::MAX / 3,
            u64::MAX - 1,
        ] {
            assert_eq!(format(&p, counter), format!("{p}{counter:020}"), "{counter}");
        }
    }
}
