//! GetShardIterator: an opaque token naming a position in a shard, valid for five minutes.
//!
//! The token signs (stream epoch, shard index, position, issue time) with the emulator's key, so it
//! survives nothing but honest use: altered, forged or foreign tokens are `InvalidArgumentException`,
//! old ones `ExpiredIteratorException` (checked by GetRecords).
//!
//! Errors: `ValidationException` (shard id, sequence-number format), `InvalidArgumentException` (missing
//! or foreign starting sequence number, missing timestamp), `ResourceNotFoundException` (stream or shard),
//! `ProvisionedThroughputExceededException` (injected).

use crate::error::KinesisError;
use crate::iterator::{encode, starting_counter, IteratorPosition};
use crate::lookup;
use crate::state::Inner;
use crate::types::{GetShardIteratorInput, GetShardIteratorOutput};
use crate::validate;

super::stream_request!(GetShardIteratorInput, GetShardIterator);

pub(crate) async fn execute(
    inner: &Inner,
    input: GetShardIteratorInput,
) -> Result<GetShardIteratorOutput, KinesisError> {
    validate::shard_id(&input.shard_id, "shardId")?;
    let stream = lookup::resolve(inner, input.stream_name.as_deref(), input.stream_arn.as_deref())?;
    lookup::require_usable(inner, &stream)?;
    let now_ms = inner.now_millis();
    let shard = stream
        .shard(&input.shard_id, now_ms)
        .ok_or_else(|| inner.shard_not_found(&stream, &input.shard_id))?;
    inner
        .faults
        .apply(
            crate::operation::Operation::GetShardIterator,
            Some(&stream.name),
            Some(&shard.id),
        )
        .await?;
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
