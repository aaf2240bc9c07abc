//! The Kinesis operations the emulator implements, as a closed set ([`Operation`]).
//!
//! Used to aim fault-injection rules at one operation and by the server face to dispatch
//! `X-Amz-Target: Kinesis_20131202.<Operation>` headers. The enum is generated, with the
//! [`Emulator`](crate::Emulator) methods and the server's routing, from the one list of operations in
//! `ops/mod.rs`.

use std::fmt;

/// Generates the enum from the list of operations (`ops/mod.rs`).
macro_rules! operation_enum {
    ($(
        $(#[$doc:meta])*
        $op:ident => $method:ident($input:ident) -> $output:ident [$($flag:ident),+];
    )+) => {
        /// A Kinesis API operation the emulator implements.
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
        #[non_exhaustive]
        pub enum Operation {
            $(
                $(#[$doc])*
                $op,
            )+
        }

        impl Operation {
            /// Every operation, in declaration order.
            pub const ALL: &'static [Operation] = &[$(Operation::$op),+];

            /// The AWS operation name, e.g. `"PutRecords"`.
            pub fn name(self) -> &'static str {
                match self {
                    $(Operation::$op => stringify!($op),)+
                }
            }

            /// Parses an AWS operation name (case-sensitive).
            pub fn from_name(name: &str) -> Option<Self> {
                match name {
                    $(stringify!($op) => Some(Operation::$op),)+
                    _ => None,
                }
            }

            /// Whether the operation changes the emulator's state (and so is persisted by the server).
            #[cfg_attr(not(feature = "server"), allow(dead_code))]
            pub(crate) fn is_mutating(self) -> bool {
                match self {
                    $(Operation::$op => operation_enum!(@writes $($flag),+),)+
                }
            }
        }
    };
    (@writes writes $(, $rest:ident)*) => { true };
    (@writes reads $(, $rest:ident)*) => { false };
}

crate::ops::operations!(operation_enum);

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
        assert_eq!(Operation::ALL.len(), 57, "every operation of the API");
        for op in Operation::ALL {
            assert_eq!(Operation::from_name(op.name()), Some(*op));
        }
        assert_eq!(Operation::from_name("Nope"), None);
    }
}
