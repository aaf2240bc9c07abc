//! The Kinesis operations the emulator implements, as a closed set ([`Operation`]).
//!
//! Used to aim fault-injection rules at one operation and by the server face to dispatch
//! `X-Amz-Target: Kinesis_20131202.<Operation>` headers.

use std::fmt;

macro_rules! operations {
    ($($variant:ident),+ $(,)?) => {
        /// A Kinesis API operation.
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
        #[non_exhaustive]
        pub enum Operation {
            $(
                #[doc = concat!("The `", stringify!($variant), "` operation.")]
                $variant,
            )+
        }

        impl Operation {
            /// Every operation, in declaration order.
            pub const ALL: &'static [Operation] = &[$(Operation::$variant),+];

            /// The AWS operation name, e.g. `"PutRecords"`.
            pub fn name(self) -> &'static str {
                match self {
                    $(Operation::$variant => stringify!($variant),)+
                }
            }

            /// Parses an AWS operation name (case-sensitive).
            pub fn from_name(name: &str) -> Option<Self> {
                match name {
                    $(stringify!($variant) => Some(Operation::$variant),)+
                    _ => None,
                }
            }
        }
    };
}

operations!(
    CreateStream,
    DeleteStream,
    DescribeStream,
    DescribeStreamSummary,
    ListStreams,
    AddTagsToStream,
    RemoveTagsFromStream,
    ListTagsForStream,
    IncreaseStreamRetentionPeriod,
    DecreaseStreamRetentionPeriod,
    UpdateStreamMode,
    PutRecord,
    PutRecords,
    GetShardIterator,
    GetRecords,
    ListShards,
    SplitShard,
    MergeShards,
    UpdateShardCount,
    RegisterStreamConsumer,
    DescribeStreamConsumer,
    ListStreamConsumers,
    DeregisterStreamConsumer,
    SubscribeToShard,
);

impl fmt::Display for Operation {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_round_trip() {
        assert_eq!(Operation::ALL.len(), 24);
        for op in Operation::ALL {
            assert_eq!(Operation::from_name(op.name()), Some(*op));
        }
        assert_eq!(Operation::from_name("Nope"), None);
    }
}
