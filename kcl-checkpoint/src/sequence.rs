//! Extended sequence numbers: where a shard consumer has got to.
//!
//! A checkpoint is either a Kinesis sequence number plus a sub-sequence number (the index of a user record
//! inside a KPL-aggregated record; 0 for plain records) or one of the sentinels the Java KCL stores in the
//! same `checkpoint` attribute: `TRIM_HORIZON`, `LATEST`, `AT_TIMESTAMP` (the initial positions of a lease
//! that has not been checkpointed yet) and `SHARD_END` (the shard is closed and fully processed).
//!
//! Kinesis sequence numbers are decimal strings of up to 128 digits, larger than any machine integer, so
//! [`SequenceNumber`] keeps the digits and compares them numerically (ignoring leading zeros).
//!
//! # Ordering
//!
//! [`ExtendedSequenceNumber`] is totally ordered so a checkpointer can test "between the last checkpoint and
//! the largest delivered": `AT_TIMESTAMP < TRIM_HORIZON < LATEST < every sequence number < SHARD_END`
//! (the sentinel order mirrors the Java KCL's); sequence numbers compare numerically, then by sub-sequence.

use std::cmp::Ordering;
use std::fmt;
use std::str::FromStr;

/// The `checkpoint` value for [`ExtendedSequenceNumber::TrimHorizon`].
pub const TRIM_HORIZON: &str = "TRIM_HORIZON";
/// The `checkpoint` value for [`ExtendedSequenceNumber::Latest`].
pub const LATEST: &str = "LATEST";
/// The `checkpoint` value for [`ExtendedSequenceNumber::AtTimestamp`].
pub const AT_TIMESTAMP: &str = "AT_TIMESTAMP";
/// The `checkpoint` value for [`ExtendedSequenceNumber::ShardEnd`].
pub const SHARD_END: &str = "SHARD_END";

/// A checkpoint string that is neither a sentinel nor a decimal sequence number.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("invalid sequence number {value:?}: expected decimal digits or TRIM_HORIZON / LATEST / AT_TIMESTAMP / SHARD_END")]
pub struct ParseSequenceError {
    /// The rejected text.
    pub value: String,
}

/// A Kinesis sequence number: a non-empty string of decimal digits, compared numerically.
#[derive(Clone, Debug, Eq)]
pub struct SequenceNumber(String);

impl SequenceNumber {
    /// Parses decimal digits (1 to 256 of them).
    ///
    /// # Errors
    ///
    /// [`ParseSequenceError`] when the text is empty, too long or not all ASCII digits.
    pub fn new(digits: impl Into<String>) -> Result<Self, ParseSequenceError> {
        let digits = digits.into();
        if digits.is_empty() || digits.len() > 256 || !digits.bytes().all(|b| b.is_ascii_digit()) {
            return Err(ParseSequenceError { value: digits });
        }
        Ok(SequenceNumber(digits))
    }

    /// The digits as given.
    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// The digits without leading zeros ("0" for zero): the canonical form used for comparison.
    fn significant(&self) -> &str {
        let trimmed = self.0.trim_start_matches('0');
        if trimmed.is_empty() {
            "0"
        } else {
            trimmed
        }
    }
}

impl PartialEq for SequenceNumber {
    fn eq(&self, other: &Self) -> bool {
        self.significant() == other.significant()
    }
}

impl std::hash::Hash for SequenceNumber {
    fn hash<H: std::hash::Hasher>(&self, state: &mut H) {
        self.significant().hash(state);
    }
}

impl Ord for SequenceNumber {
    fn cmp(&self, other: &Self) -> Ordering {
        let (a, b) = (self.significant(), other.significant());
        a.len().cmp(&b.len()).then_with(|| a.cmp(b))
    }
}

impl PartialOrd for SequenceNumber {
    fn partial_cmp(&self, other: &Self) -> Option<Ordering> {
        Some(self.cmp(other))
    }
}

impl fmt::Display for SequenceNumber {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl FromStr for SequenceNumber {
    type Err = ParseSequenceError;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        SequenceNumber::new(s)
    }
}

impl From<u128> for SequenceNumber {
    fn from(value: u128) -> Self {
        SequenceNumber(value.to_string())
    }
}

/// A position in a shard: a sequence number with its sub-sequence, or a sentinel.
///
/// See the [module docs](self) for the ordering.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub enum ExtendedSequenceNumber {
    /// Before the oldest record of an `AT_TIMESTAMP` initial position (not yet checkpointed).
    AtTimestamp,
    /// Before the oldest untrimmed record (not yet checkpointed).
    TrimHorizon,
    /// After the newest record at the time the lease was first processed (not yet checkpointed).
    Latest,
    /// A record (or a user record inside an aggregated record).
    Sequence {
        /// The Kinesis sequence number.
        sequence: SequenceNumber,
        /// The index of the user record inside a KPL-aggregated record; 0 for plain records.
        sub_sequence: u64,
    },
    /// The shard is closed and every record of it has been processed.
    ShardEnd,
}

impl ExtendedSequenceNumber {
    /// A record position with sub-sequence 0.
    pub fn sequence(sequence: SequenceNumber) -> Self {
        ExtendedSequenceNumber::Sequence {
            sequence,
            sub_sequence: 0,
        }
    }

    /// A record position with a sub-sequence.
    pub fn with_sub_sequence(sequence: SequenceNumber, sub_sequence: u64) -> Self {
        ExtendedSequenceNumber::Sequence {
            sequence,
            sub_sequence,
        }
    }

    /// Reads the two stored attributes: the `checkpoint` string (a sentinel or decimal digits) and the
    /// sub-sequence number (ignored for sentinels).
    ///
    /// # Errors
    ///
    /// [`ParseSequenceError`] when the string is neither a sentinel nor decimal digits.
    pub fn from_parts(checkpoint: &str, sub_sequence: u64) -> Result<Self, ParseSequenceError> {
        Ok(match checkpoint {
            TRIM_HORIZON => ExtendedSequenceNumber::TrimHorizon,
            LATEST => ExtendedSequenceNumber::Latest,
            AT_TIMESTAMP => ExtendedSequenceNumber::AtTimestamp,
            SHARD_END => ExtendedSequenceNumber::ShardEnd,
            digits => ExtendedSequenceNumber::Sequence {
                sequence: SequenceNumber::new(digits)?,
                sub_sequence,
            },
        })
    }

    /// The stored `checkpoint` string: the sentinel name or the sequence digits.
    pub fn checkpoint_str(&self) -> &str {
        match self {
            ExtendedSequenceNumber::AtTimestamp => AT_TIMESTAMP,
            ExtendedSequenceNumber::TrimHorizon => TRIM_HORIZON,
            ExtendedSequenceNumber::Latest => LATEST,
            ExtendedSequenceNumber::ShardEnd => SHARD_END,
            ExtendedSequenceNumber::Sequence { sequence, .. } => sequence.as_str(),
        }
    }

    /// The stored sub-sequence number (0 for sentinels).
    pub fn sub_sequence(&self) -> u64 {
        match self {
            ExtendedSequenceNumber::Sequence { sub_sequence, .. } => *sub_sequence,
            _ => 0,
        }
    }

    /// The sequence number, when this is a record position.
    pub fn sequence_number(&self) -> Option<&SequenceNumber> {
        match self {
            ExtendedSequenceNumber::Sequence { sequence, .. } => Some(sequence),
            _ => None,
        }
    }

    /// True for the sentinels that mean "not checkpointed yet" (`TRIM_HORIZON`, `LATEST`, `AT_TIMESTAMP`).
    pub fn is_initial_position(&self) -> bool {
        matches!(
            self,
            ExtendedSequenceNumber::TrimHorizon
                | ExtendedSequenceNumber::Latest
                | ExtendedSequenceNumber::AtTimestamp
        )
    }

    /// True for `SHARD_END`.
    pub fn is_shard_end(&self) -> bool {
        matches!(self, ExtendedSequenceNumber::ShardEnd)
    }

    fn rank(&self) -> u8 {
        match self {
            ExtendedSequenceNumber::AtTimestamp => 0,
            ExtendedSequenceNumber::TrimHorizon => 1,
            ExtendedSequenceNumber::Latest => 2,
            ExtendedSequenceNumber::Sequence { .. } => 3,
            ExtendedSequenceNumber::ShardEnd => 4,
        }
    }
}

impl Ord for ExtendedSequenceNumber {
    fn cmp(&self, other: &Self) -> Ordering {
        match (self, other) {
            (
                ExtendedSequenceNumber::Sequence {
                    sequence: a,
                    sub_sequence: sa,
                },
                ExtendedSequenceNumber::Sequence {
                    sequence: b,
                    sub_sequence: sb,
                },
            ) => a.cmp(b).then(sa.cmp(sb)),
            _ => self.rank().cmp(&other.rank()),
        }
    }
}

impl PartialOrd for ExtendedSequenceNumber {
    fn partial_cmp(&self, other: &Self) -> Option<Ordering> {
        Some(self.cmp(other))
    }
}

impl fmt::Display for ExtendedSequenceNumber {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ExtendedSequenceNumber::Sequence {
                sequence,
                sub_sequence,
            } => write!(f, "{sequence}.{sub_sequence}"),
            sentinel => f.write_str(sentinel.checkpoint_str()),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn seq(s: &str, sub: u64) -> ExtendedSequenceNumber {
        ExtendedSequenceNumber::from_parts(s, sub).unwrap()
    }

    #[test]
    fn sequence_numbers_compare_numerically_beyond_u128() {
        let big = "49590338271490256608559692538361571095921575989136588898";
        let bigger = "49590338271490256608559692538361571095921575989136588899";
        assert!(seq(big, 0) < seq(bigger, 0));
        assert!(seq("9", 0) < seq("10", 0));
        assert_eq!(seq("007", 1), seq("7", 1));
        assert!(seq(big, 0) < seq(big, 1));
        assert!(seq("2", 0) > seq("1", 99));
    }

    #[test]
    fn sentinels_order_around_sequences() {
        let s = seq("1", 0);
        assert!(ExtendedSequenceNumber::AtTimestamp < ExtendedSequenceNumber::TrimHorizon);
        assert!(ExtendedSequenceNumber::TrimHorizon < ExtendedSequenceNumber::Latest);
        assert!(ExtendedSequenceNumber::Latest < s);
        assert!(s < ExtendedSequenceNumber::ShardEnd);
        assert!(seq("0", 0) > ExtendedSequenceNumber::TrimHorizon);
    }

    #[test]
    fn parts_round_trip() {
        for (text, sub) in [
            ("TRIM_HORIZON", 0),
            ("LATEST", 0),
            ("AT_TIMESTAMP", 0),
            ("SHARD_END", 0),
            ("123", 4),
        ] {
            let parsed = seq(text, sub);
            assert_eq!(parsed.checkpoint_str(), text);
            assert_eq!(parsed.sub_sequence(), sub);
        }
        assert!(ExtendedSequenceNumber::from_parts("", 0).is_err());
        assert!(ExtendedSequenceNumber::from_parts("12a", 0).is_err());
        assert!(ExtendedSequenceNumber::from_parts("-1", 0).is_err());
        assert!(ExtendedSequenceNumber::from_parts("trim_horizon", 0).is_err());
    }
}

#[cfg(test)]
mod proptests {
    use super::*;
    use proptest::prelude::*;

    proptest! {
        #[test]
        fn order_matches_numeric_order(a in any::<u128>(), b in any::<u128>(), sa in 0u64..4, sb in 0u64..4, zeros in 0usize..5) {
            let x = ExtendedSequenceNumber::with_sub_sequence(SequenceNumber::from(a), sa);
            let padded = format!("{}{}", "0".repeat(zeros), b);
            let y = ExtendedSequenceNumber::from_parts(&padded, sb).unwrap();
            prop_assert_eq!(x.cmp(&y), (a, sa).cmp(&(b, sb)));
            prop_assert!(ExtendedSequenceNumber::Latest < x && x < ExtendedSequenceNumber::ShardEnd);
        }

        #[test]
        fn parsing_never_panics(text in ".{0,80}", sub in any::<u64>()) {
            if let Ok(parsed) = ExtendedSequenceNumber::from_parts(&text, sub) {
                prop_assert_eq!(parsed.checkpoint_str(), text.as_str());
            }
        }
    }
}
