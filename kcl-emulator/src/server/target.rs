//! The operation a request names in `X-Amz-Target`, parsed.
//!
//! The operations the emulator implements are [`Operation`]s (from the crate's one list of operations);
//! every other operation of the Kinesis Data Streams API (version 2013-12-02) is listed here by name, so
//! that a real but unimplemented operation can be told apart from a typo: it passes the request checks
//! and is then answered with `UnknownOperationException`.

use std::fmt;

use crate::Operation;

/// The target prefix of every Kinesis operation.
pub(crate) const TARGET_PREFIX: &str = "Kinesis_20131202";

/// Operations of the Kinesis API the emulator does not implement.
/// (Empty since the settings, tagging, policy and channel operations were implemented; kept so that a
/// newly published operation can be told apart from a typo until the emulator implements it.)
const UNIMPLEMENTED: &[&str] = &[];

/// A Kinesis operation, named as in `X-Amz-Target`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub(crate) enum Target {
    /// An operation the emulator implements.
    Implemented(Operation),
    /// A real operation the emulator does not implement.
    Unimplemented(&'static str),
}

impl Target {
    /// Parses an operation name (`PutRecord`).
    pub(crate) fn from_name(name: &str) -> Option<Self> {
        Operation::from_name(name).map(Self::Implemented).or_else(|| {
            UNIMPLEMENTED
                .iter()
                .find(|n| **n == name)
                .map(|n| Self::Unimplemented(n))
        })
    }

    /// Parses an `X-Amz-Target` value (`Kinesis_20131202.PutRecord`).
    pub(crate) fn from_target(target: &str) -> Option<Self> {
        let (service, name) = target.split_once('.')?;
        if service != TARGET_PREFIX {
            return None;
        }
        Self::from_name(name)
    }

    /// The operation's name as it appears in `X-Amz-Target`.
    pub(crate) fn name(self) -> &'static str {
        match self {
            Self::Implemented(op) => op.name(),
            Self::Unimplemented(name) => name,
        }
    }

    /// Whether the operation changes the emulator's state (and so is persisted); an unimplemented one
    /// changes nothing.
    pub(crate) fn is_mutating(self) -> bool {
        matches!(self, Self::Implemented(op) if op.is_mutating())
    }
}

impl From<Operation> for Target {
    fn from(op: Operation) -> Self {
        Self::Implemented(op)
    }
}

impl fmt::Display for Target {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn targets_parse_and_round_trip() {
        let all = Operation::ALL
            .iter()
            .map(|op| Target::Implemented(*op))
            .chain(UNIMPLEMENTED.iter().map(|n| Target::Unimplemented(n)));
        let mut count = 0;
        for t in all {
            let target = format!("{TARGET_PREFIX}.{}", t.name());
            assert_eq!(Target::from_target(&target), Some(t));
            count += 1;
        }
        assert!(
            count >= 45,
            "every operation of the 2013-12-02 API the emulator knows"
        );
        assert_eq!(Target::from_target("Kinesis_20131202.Nope"), None);
        assert_eq!(Target::from_target("DynamoDB_20120810.PutRecord"), None);
        assert_eq!(Target::from_target("PutRecord"), None);
        assert!(Target::Implemented(Operation::PutRecord).is_mutating());
        assert!(!Target::Implemented(Operation::GetRecords).is_mutating());
        assert!(!Target::Unimplemented("Frobnicate").is_mutating());
    }
}
