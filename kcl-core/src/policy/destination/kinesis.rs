//! [`KinesisStreamDestination`]: placeholder until the destinations change lands.

/// Puts each failed batch as one record into a Kinesis stream.
#[derive(Debug)]
pub struct KinesisStreamDestination {
    _private: (),
}
