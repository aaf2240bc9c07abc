//! The Kinesis operations the server recognises, parsed from `X-Amz-Target`.
//!
//! Every operation of the Kinesis Data Streams API (version 2013-12-02) has a variant, so a real but
//! unsupported operation can be told apart from a typo. Whether an operation changes state decides what
//! persistence does after it (journal the accepted records of a write, snapshot after any other change).

use std::fmt;

/// The target prefix of every Kinesis operation.
pub(crate) const TARGET_PREFIX: &str = "Kinesis_20131202";

macro_rules! operations {
    ($($variant:ident: $mutating:literal),* $(,)?) => {
        /// A Kinesis operation, named as in `X-Amz-Target`.
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
        pub(crate) enum Operation {
            $(
                #[doc = concat!("`", stringify!($variant), "`.")]
                $variant,
            )*
        }

        impl Operation {
            /// Every operation.
            pub(crate) const ALL: &'static [Operation] = &[$(Operation::$variant),*];

            /// The operation's name as it appears in `X-Amz-Target`.
            pub(crate) fn name(self) -> &'static str {
                match self {
                    $(Operation::$variant => stringify!($variant),)*
                }
            }

            /// Whether the operation changes the emulator's state (and so is persisted).
            pub(crate) fn is_mutating(self) -> bool {
                match self {
                    $(Operation::$variant => $mutating,)*
                }
            }
        }
    };
}

operations! {
    AddTagsToStream: true,
    CreateStream: true,
    DecreaseStreamRetentionPeriod: true,
    DeleteResourcePolicy: true,
    DeleteStream: true,
    DeregisterStreamConsumer: true,
    DescribeAccountSettings: false,
    DescribeLimits: false,
    DescribeStream: false,
    DescribeStreamConsumer: false,
    DescribeStreamSummary: false,
    DisableEnhancedMonitoring: true,
    EnableEnhancedMonitoring: true,
    GetRecords: false,
    GetResourcePolicy: false,
    GetShardIterator: false,
    IncreaseStreamRetentionPeriod: true,
    ListShards: false,
    ListStreamConsumers: false,
    ListStreams: false,
    ListTagsForResource: false,
    ListTagsForStream: false,
    MergeShards: true,
    PutRecord: true,
    PutRecords: true,
    PutResourcePolicy: true,
    RegisterStreamConsumer: true,
    RemoveTagsFromStream: true,
    SplitShard: true,
    StartStreamEncryption: true,
    StopStreamEncryption: true,
    SubscribeToShard: false,
    TagResource: true,
    UntagResource: true,
    UpdateAccountSettings: true,
    UpdateMaxRecordSize: true,
    UpdateShardCount: true,
    UpdateStreamMode: true,
    UpdateStreamWarmThroughput: true,
}

impl Operation {
    /// Parses an operation name (`PutRecord`).
    pub(crate) fn from_name(name: &str) -> Option<Self> {
        Self::ALL.iter().copied().find(|op| op.name() == name)
    }

    /// Parses an `X-Amz-Target` value (`Kinesis_20131202.PutRecord`).
    pub(crate) fn from_target(target: &str) -> Option<Self> {
        let (service, name) = target.split_once('.')?;
        if service != TARGET_PREFIX {
            return None;
        }
        Self::from_name(name)
    }
}

impl fmt::Display for Operation {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn targets_parse_and_round_trip() {
        for op in Operation::ALL {
            let target = format!("{TARGET_PREFIX}.{}", op.name());
            assert_eq!(Operation::from_target(&target), Some(*op));
        }
        assert_eq!(Operation::from_target("Kinesis_20131202.Nope"), None);
        assert_eq!(Operation::from_target("DynamoDB_20120810.PutRecord"), None);
        assert_eq!(Operation::from_target("PutRecord"), None);
        assert!(Operation::PutRecord.is_mutating());
        assert!(!Operation::GetRecords.is_mutating());
    }
}
