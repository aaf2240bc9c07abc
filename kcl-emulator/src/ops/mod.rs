//! One module per Kinesis operation, each with its validation next to it.
//!
//! Every module exposes `execute(&Inner, Input) -> Result<Output, KinesisError>` and implements
//! [`Request`] for its input, which tells the fault injector which operation and stream a call targets.
//! The [`Emulator`](crate::Emulator) methods dispatch here.

use crate::operation::Operation;
use crate::state::Inner;

pub(crate) mod add_tags_to_stream;
pub(crate) mod create_stream;
pub(crate) mod decrease_stream_retention_period;
pub(crate) mod delete_stream;
pub(crate) mod deregister_stream_consumer;
pub(crate) mod describe_stream;
pub(crate) mod describe_stream_consumer;
pub(crate) mod describe_stream_summary;
pub(crate) mod get_records;
pub(crate) mod get_shard_iterator;
pub(crate) mod increase_stream_retention_period;
pub(crate) mod list_shards;
pub(crate) mod list_stream_consumers;
pub(crate) mod list_streams;
pub(crate) mod list_tags_for_stream;
pub(crate) mod merge_shards;
pub(crate) mod put_record;
pub(crate) mod put_records;
pub(crate) mod register_stream_consumer;
pub(crate) mod remove_tags_from_stream;
pub(crate) mod split_shard;
pub(crate) mod subscribe_to_shard;
pub(crate) mod update_shard_count;
pub(crate) mod update_stream_mode;

/// What the dispatcher needs to know about a request before running it.
pub(crate) trait Request {
    /// The operation this request is for.
    const OPERATION: Operation;

    /// The stream the request targets, when it can be told cheaply (for stream-scoped fault rules).
    fn stream_hint(&self, inner: &Inner) -> Option<String>;
}

/// Implements [`Request`] for inputs that name their stream with `stream_name` / `stream_arn` options.
macro_rules! stream_request {
    ($input:ty, $op:ident) => {
        impl $crate::ops::Request for $input {
            const OPERATION: $crate::operation::Operation = $crate::operation::Operation::$op;
            fn stream_hint(&self, inner: &$crate::state::Inner) -> Option<String> {
                $crate::lookup::hint(
                    inner,
                    self.stream_name.as_deref(),
                    self.stream_arn.as_deref(),
                )
            }
        }
    };
}
pub(crate) use stream_request;
