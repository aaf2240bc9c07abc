//! SubscribeToShard: push records of one shard to a registered, ACTIVE consumer as a
//! [`Subscription`] event stream (see [`crate::subscription`] for the event rules).
//!
//! At most one call per second per consumer and shard (`LimitExceededException`); a new subscription
//! takes over an older one of the same consumer and shard.
//!
//! Errors: `ValidationException` (ARN, shard id, sequence format), `ResourceNotFoundException` (consumer,
//! stream, shard), `ResourceInUseException` (consumer not ACTIVE), `InvalidArgumentException` (starting
//! position), `LimitExceededException`.

use std::collections::hash_map::Entry;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::Duration;

use serde::{Deserialize, Serialize};
use tokio::sync::Notify;
use tokio::time::Instant;

use crate::bucket::Bucket;
use crate::consumer::{find, parse_consumer_arn};
use crate::dispatch::AtShard;
use crate::error::KinesisError;
use crate::iterator::starting_counter;
use crate::lookup;
use crate::shapes::{ConsumerStatus, ShardIteratorType, Timestamp};
use crate::state::{ConsumerState, Inner, SubscriptionSlot};
pub(crate) use crate::subscription::Subscription;
use crate::subscription::{SlotHandle, Sub, SUBSCRIPTION_LIFETIME};
use crate::validate;

/// Where a SubscribeToShard subscription starts.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase", default)]
pub struct StartingPosition {
    /// Same meaning as for GetShardIterator.
    #[serde(rename = "Type")]
    pub position_type: ShardIteratorType,
    /// For AT_/AFTER_SEQUENCE_NUMBER.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub sequence_number: Option<String>,
    /// For AT_TIMESTAMP.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub timestamp: Option<Timestamp>,
}

/// SubscribeToShard request.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase", default)]
pub struct SubscribeToShardInput {
    /// The (ACTIVE) consumer subscribing.
    #[serde(rename = "ConsumerARN")]
    pub consumer_arn: String,
    /// The shard to read.
    pub shard_id: String,
    /// Where to start.
    pub starting_position: StartingPosition,
}

impl crate::dispatch::Scoped for SubscribeToShardInput {
    fn stream_hint(&self, inner: &Inner) -> Option<String> {
        parse_consumer_arn(inner, &self.consumer_arn).ok().map(|(s, _)| s)
    }
}

/// What `execute` needs besides the stream and shard.
#[derive(Debug)]
pub(crate) struct Plan {
    consumer: ConsumerState,
    starting_position: StartingPosition,
    now_ms: i64,
}

/// Validates the request and finds the (ACTIVE) consumer, its stream and the shard.
pub(crate) fn locate(inner: &Inner, input: SubscribeToShardInput) -> Result<AtShard<Plan>, KinesisError> {
    validate::shard_id(&input.shard_id, "shardId")?;
    let (stream, consumer) = find(inner, None, None, Some(&input.consumer_arn))?;
    if consumer.status != ConsumerStatus::Active {
        return Err(KinesisError::in_use(format!(
            "Consumer {} is not in ACTIVE state.",
            consumer.arn
        )));
    }
    lookup::require_usable(inner, &stream)?;
    let now_ms = inner.now_millis();
    let shard = stream
        .shard(&input.shard_id, now_ms)
        .ok_or_else(|| inner.shard_not_found(&stream, &input.shard_id))?;
    Ok(AtShard {
        stream,
        shard,
        plan: Plan {
            consumer,
            starting_position: input.starting_position,
            now_ms,
        },
    })
}

/// Subscribes the consumer to the located shard, taking over an older subscription of the pair.
pub(crate) async fn execute(inner: &Arc<Inner>, at: AtShard<Plan>) -> Result<Subscription, KinesisError> {
    let AtShard {
        stream,
        shard,
        plan: Plan {
            consumer,
            starting_position: p,
            now_ms,
        },
    } = at;
    let position = {
        let mut data = shard.data.lock();
        data.trim(now_ms.saturating_sub(stream.retention_ms()));
        starting_counter(
            inner,
            &stream,
            &shard,
            &data,
            p.position_type,
            p.sequence_number.as_deref(),
            p.timestamp,
        )?
    };
    let now = Instant::now();
    let (slot, generation) = {
        let mut slots = inner.subscriptions.lock();
        match slots.entry((consumer.arn.clone(), shard.id.clone())) {
            Entry::Occupied(mut e) => {
                let slot = e.get_mut();
                if now < slot.last_call + Duration::from_secs(1) {
                    return Err(KinesisError::limit(format!(
                        "LimitExceededException: consumer {} subscribed to shard {} less than one second \
                         ago.",
                        consumer.arn, shard.id
                    )));
                }
                slot.last_call = now;
                let generation = slot.generation.fetch_add(1, Ordering::AcqRel) + 1;
                slot.wake.notify_waiters();
                (
                    SlotHandle {
                        generation: slot.generation.clone(),
                        wake: slot.wake.clone(),
                    },
                    generation,
                )
            }
            Entry::Vacant(e) => {
                let slot = e.insert(SubscriptionSlot {
                    generation: Arc::new(AtomicU64::new(0)),
                    last_call: now,
                    wake: Arc::new(Notify::new()),
                });
                (
                    SlotHandle {
                        generation: slot.generation.clone(),
                        wake: slot.wake.clone(),
                    },
                    0,
                )
            }
        }
    };
    Ok(Subscription::new(Sub {
        inner: inner.clone(),
        stream,
        shard,
        consumer_name: consumer.name,
        consumer_arn: consumer.arn,
        slot,
        generation,
        position,
        deadline: now + SUBSCRIPTION_LIFETIME,
        first: true,
        done: false,
        last_event: now,
        bucket: Bucket::default(),
    }))
}
