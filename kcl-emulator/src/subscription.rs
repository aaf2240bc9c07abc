//! SubscribeToShard subscriptions: a [`Subscription`] is a `Stream` of [`SubscribeToShardEvent`]s.
//!
//! The first event comes at once (possibly empty); later events come when records arrive, or every five
//! seconds as an empty heartbeat. Each carries the records, a `ContinuationSequenceNumber` to resume
//! from, and `MillisBehindLatest`. At the end of a closed shard the last event has no continuation but the
//! shard's `ChildShards`, and the stream ends. A subscription lives five minutes and then ends; a newer
//! subscription of the same consumer to the same shard takes over, ending this one with a
//! `ResourceInUseException` item; a deregistered consumer or deleted stream ends it with
//! `ResourceNotFoundException`.

use std::fmt;
use std::pin::Pin;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::task::{Context, Poll};
use std::time::Duration;

use futures::Stream;
use tokio::sync::Notify;
use tokio::time::Instant;

use crate::bucket::Bucket;
use crate::error::KinesisError;
use crate::read::read;
use crate::shapes::{ConsumerStatus, StreamStatus, SubscribeToShardEvent};
use crate::state::{Inner, ShardState, StreamState};

/// How long a subscription lives.
pub const SUBSCRIPTION_LIFETIME: Duration = Duration::from_secs(300);
/// How often an idle subscription sends an empty event.
pub const HEARTBEAT_INTERVAL: Duration = Duration::from_secs(5);
/// Most records in one event.
const MAX_EVENT_RECORDS: usize = 10_000;
/// Most bytes in one event.
const MAX_EVENT_BYTES: usize = 2 * 1024 * 1024;

type EventStream = Pin<Box<dyn Stream<Item = Result<SubscribeToShardEvent, KinesisError>> + Send>>;

/// The event stream of one SubscribeToShard call.
///
/// Yields `Ok(event)` items, at most one `Err` (after which it ends), and ends by itself after five
/// minutes or at the end of a closed shard.
pub struct Subscription {
    events: EventStream,
}

impl fmt::Debug for Subscription {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Subscription").finish_non_exhaustive()
    }
}

impl Stream for Subscription {
    type Item = Result<SubscribeToShardEvent, KinesisError>;

    fn poll_next(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Self::Item>> {
        self.events.as_mut().poll_next(cx)
    }
}

/// The shared slot of one (consumer, shard) pair, see [`crate::state::SubscriptionSlot`].
#[derive(Debug, Clone)]
pub(crate) struct SlotHandle {
    pub(crate) generation: Arc<AtomicU64>,
    pub(crate) wake: Arc<Notify>,
}

/// Everything a running subscription needs.
pub(crate) struct Sub {
    pub(crate) inner: Arc<Inner>,
    pub(crate) stream: Arc<StreamState>,
    pub(crate) shard: Arc<ShardState>,
    pub(crate) consumer_name: String,
    pub(crate) consumer_arn: String,
    pub(crate) slot: SlotHandle,
    pub(crate) generation: u64,
    /// Counter of the next record to deliver.
    pub(crate) position: u64,
    pub(crate) deadline: Instant,
    pub(crate) first: bool,
    pub(crate) done: bool,
    pub(crate) last_event: Instant,
    pub(crate) bucket: Bucket,
}

impl Subscription {
    pub(crate) fn new(sub: Sub) -> Self {
        Self {
            events: Box::pin(futures::stream::unfold(sub, step)),
        }
    }
}

impl Sub {
    /// `Err` when the consumer or stream went away.
    fn check_alive(&self) -> Result<(), KinesisError> {
        let meta = self.stream.meta.read();
        let gone = || {
            KinesisError::not_found(format!(
                "Consumer {}, account {} not found.",
                self.consumer_name, self.inner.config.account_id
            ))
        };
        if self.stream.is_gone() || meta.status == StreamStatus::Deleting {
            return Err(self.inner.stream_not_found(&self.stream.name));
        }
        match meta.consumers.get(&self.consumer_name) {
            Some(c) if c.arn == self.consumer_arn && c.status != ConsumerStatus::Deleting => Ok(()),
            _ => Err(gone()),
        }
    }
}

async fn step(mut s: Sub) -> Option<(Result<SubscribeToShardEvent, KinesisError>, Sub)> {
    if s.done {
        return None;
    }
    loop {
        if s.slot.generation.load(Ordering::Acquire) != s.generation {
            s.done = true;
            let e = KinesisError::in_use(format!(
                "Another active subscription exists for consumer {} and shard {}; this one was taken over.",
                s.consumer_arn, s.shard.id
            ));
            return Some((Err(e), s));
        }
        if Instant::now() >= s.deadline {
            return None;
        }
        if let Err(e) = s.check_alive() {
            s.done = true;
            return Some((Err(e), s));
        }
        let (shard, wake) = (s.shard.clone(), s.slot.wake.clone());
        let shard_changed = shard.notify.notified();
        let woken = wake.notified();
        tokio::pin!(shard_changed, woken);
        shard_changed.as_mut().enable();
        woken.as_mut().enable();

        let rate = s.inner.config.throughput.read_bytes_per_sec;
        let in_credit = rate.is_none_or(|r| s.bucket.has_credit(r, Instant::now()));
        if in_credit {
            let now_ms = s.inner.now_millis();
            // Within the consumer's byte budget (at least one record is always delivered).
            let max_bytes = match rate {
                Some(_) => usize::try_from(s.bucket.available())
                    .unwrap_or(usize::MAX)
                    .min(MAX_EVENT_BYTES),
                None => MAX_EVENT_BYTES,
            };
            let batch = {
                let mut data = s.shard.data.lock();
                data.trim(now_ms.saturating_sub(s.stream.retention_ms()));
                read(&s.shard, &data, s.position, MAX_EVENT_RECORDS, max_bytes, now_ms)
            };
            let heartbeat_due = s.first || Instant::now() >= s.last_event + HEARTBEAT_INTERVAL;
            if !batch.records.is_empty() || batch.end_of_shard.is_some() || heartbeat_due {
                if rate.is_some() {
                    s.bucket.overdraw(batch.bytes as u64);
                }
                s.position = batch.next;
                s.first = false;
                s.last_event = Instant::now();
                let continuation_sequence_number = match batch.end_of_shard {
                    Some(_) => None,
                    None => Some(s.shard.seq(batch.next.saturating_sub(1))),
                };
                s.done = batch.end_of_shard.is_some();
                let event = SubscribeToShardEvent {
                    records: batch.records,
                    continuation_sequence_number,
                    millis_behind_latest: batch.millis_behind_latest,
                    child_shards: batch.end_of_shard,
                };
                return Some((Ok(event), s));
            }
        }
        let mut wake_at = s.deadline.min(s.last_event + HEARTBEAT_INTERVAL);
        if !in_credit {
            if let Some(r) = rate {
                wake_at = wake_at.min(Instant::now() + s.bucket.time_to_credit(r));
            }
        }
        tokio::select! {
            _ = &mut shard_changed => {}
            _ = &mut woken => {}
            _ = tokio::time::sleep_until(wake_at) => {}
        }
    }
}

/// Wakes every subscription reading `stream` (it is being deleted).
pub(crate) fn wake_stream(_inner: &Inner, stream: &StreamState) {
    for shard in stream.meta.read().shards.iter() {
        shard.notify.notify_waiters();
    }
}

/// Wakes and forgets every subscription of consumer `arn` (it is being deregistered).
pub(crate) fn wake_consumer(inner: &Inner, arn: &str) {
    let mut slots = inner.subscriptions.lock();
    slots.retain(|(consumer, _), slot| {
        if consumer == arn {
            slot.wake.notify_waiters();
            false
        } else {
            true
        }
    });
}
