//! GetShardIterator: an opaque token naming a position in a shard, valid for five minutes.
//!
//! The token is made and checked by [`crate::iterator`]. Shard-scoped fault rules apply once the shard
//! is found (`locate`), before the position is worked out (`execute`).
//!
//! Errors: `ValidationException` (shard id, sequence-number format), `InvalidArgumentException` (missing
//! or foreign starting sequence number, missing timestamp), `ResourceNotFoundException` (stream or shard),
//! `ProvisionedThroughputExceededException` (injected).

use serde::{Deserialize, Serialize};

use crate::dispatch::AtShard;
use crate::error::KinesisError;
use crate::iterator::{encode, starting_counter, IteratorPosition};
use crate::lookup;
use crate::shapes::{ShardIteratorType, Timestamp};
use crate::state::Inner;
use crate::validate;

/// GetShardIterator request.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase", default)]
pub struct GetShardIteratorInput {
    /// Stream name (or give `stream_arn`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub stream_name: Option<String>,
    /// Stream ARN (or give `stream_name`).
    #[serde(rename = "StreamARN", skip_serializing_if = "Option::is_none")]
    pub stream_arn: Option<String>,
    /// The shard to read.
    pub shard_id: String,
    /// Where to start.
    pub shard_iterator_type: ShardIteratorType,
    /// For AT_/AFTER_SEQUENCE_NUMBER.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub starting_sequence_number: Option<String>,
    /// For AT_TIMESTAMP.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub timestamp: Option<Timestamp>,
}

/// GetShardIterator response.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct GetShardIteratorOutput {
    /// An opaque token valid for five minutes.
    pub shard_iterator: String,
}

crate::dispatch::named_stream!(GetShardIteratorInput);

/// What `execute` needs besides the stream and shard.
#[derive(Debug)]
pub(crate) struct Plan {
    input: GetShardIteratorInput,
    now_ms: i64,
}

/// Validates the request and finds its stream and shard.
pub(crate) fn locate(inner: &Inner, input: GetShardIteratorInput) -> Result<AtShard<Plan>, KinesisError> {
    validate::shard_id(&input.shard_id, "shardId")?;
    let stream = lookup::resolve(inner, input.stream_name.as_deref(), input.stream_arn.as_deref())?;
    lookup::require_usable(inner, &stream)?;
    let now_ms = inner.now_millis();
    let shard = stream
        .shard(&input.shard_id, now_ms)
        .ok_or_else(|| inner.shard_not_found(&stream, &input.shard_id))?;
    Ok(AtShard {
        stream,
        shard,
        plan: Plan { input, now_ms },
    })
}

/// The iterator at the requested position of the located shard.
pub(crate) async fn execute(
    inner: &Inner,
    at: AtShard<Plan>,
) -> Result<GetShardIteratorOutput, KinesisError> {
    let AtShard {
        stream,
        shard,
        plan: Plan { input, now_ms },
    } = at;
    let position = {
        let mut data = shard.data.lock();
        data.trim(now_ms.saturating_sub(stream.retention_ms()));
        starting_counter(
            inner,
            &stream,
            &shard,
            &data,
            input.shard_iterator_type,
            input.starting_sequence_number.as_deref(),
            input.timestamp,
        )?
    };
    Ok(GetShardIteratorOutput {
        shard_iterator: encode(
            inner,
            IteratorPosition {
                epoch: stream.epoch,
                shard: shard.index,
                position,
                issued_ms: now_ms,
            },
        ),
    })
}
