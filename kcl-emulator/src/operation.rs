//! The Kinesis operations the emulator implements, as a closed set ([`Operation`]).
//!
//! Used to aim fault-injection rules at one operation and by the server face to dispatch
//! `X-Amz-Target: Kinesis_20131202.<Operation>` headers. The enum is generated, with the
//! [`Emulator`](crate::Emulator) methods and the server's routing, from the one list of operations in
//! `ops/mod.rs`.

use std::fmt;

pub use crate::ops::Operation;

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
