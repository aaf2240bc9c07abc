//! The fan-out shard reader: one subscription at a time, resubscribing from the last continuation, or
//! polling once fan-out turned out unavailable.

use std::fmt;
use std::sync::Arc;

use async_trait::async_trait;
use aws_sdk_kinesis::primitives::DateTime;
use aws_sdk_kinesis::types::{self as kt, ShardIteratorType, StartingPosition, SubscribeToShardEventStream};
use kcl_checkpoint::SequenceNumber;
use tokio::sync::mpsc;

use super::errors::{classify, map_stream_error, Unavailable};
use super::{RetrievalMode, Shared};
use crate::error::{Error, Result};
use crate::source::{IteratorPosition, KinesisSource, PollingReader, ReadRequest, ShardBatch, ShardReader};

/// One item a subscription's pump task forwards.
enum Item {
    Event(kt::SubscribeToShardEvent),
    Failed(Error),
}

/// An open subscription of one shard.
struct Subscription {
    events: mpsc::Receiver<Item>,
    pump: tokio::task::JoinHandle<()>,
    /// Whether it delivered an event yet.
    delivered: bool,
}

impl Drop for Subscription {
    fn drop(&mut self) {
        self.pump.abort();
    }
}

impl Shared {
    /// Opens a subscription at `position` and starts the task that forwards its events.
    async fn subscribe(
        &self,
        consumer_arn: &str,
        shard_id: &str,
        position: &IteratorPosition,
    ) -> std::result::Result<Subscription, Unavailable> {
        let mut output = self
            .client
            .subscribe_to_shard()
            .consumer_arn(consumer_arn)
            .shard_id(shard_id)
            .starting_position(starting_position(position).map_err(Unavailable::No)?)
            .send()
            .await
            .map_err(|e| classify("SubscribeToShard", shard_id, self.polling.endpoint(), e))?;
        let (tx, events) = mpsc::channel(self.config.buffered_events.max(1));
        let shard = shard_id.to_owned();
        let pump = tokio::spawn(async move {
            loop {
                let item = match output.event_stream.recv().await {
                    Ok(Some(SubscribeToShardEventStream::SubscribeToShardEvent(event))) => Item::Event(event),
                    Ok(Some(_)) => continue,
                    // The subscription ended (its five minutes are up): the reader resubscribes.
                    Ok(None) => return,
                    Err(e) => Item::Failed(map_stream_error(&shard, e)),
                };
                let failed = matches!(item, Item::Failed(_));
                if tx.send(item).await.is_err() || failed {
                    return;
                }
            }
        });
        Ok(Subscription {
            events,
            pump,
            delivered: false,
        })
    }
}

/// Reads one shard through a subscription, resubscribing from the last continuation; polls instead once
/// fan-out turned out unavailable.
pub(super) struct FanOutReader {
    shared: Arc<Shared>,
    request: ReadRequest,
    /// Where a new subscription starts: after the last event's continuation, else the request's start.
    position: IteratorPosition,
    subscription: Option<Subscription>,
    polling: Option<PollingReader<KinesisSource>>,
}

impl fmt::Debug for FanOutReader {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("FanOutReader")
            .field("shard_id", &self.request.shard_id)
            .field("position", &self.position)
            .field("subscribed", &self.subscription.is_some())
            .field("polling", &self.polling.is_some())
            .finish_non_exhaustive()
    }
}

impl FanOutReader {
    pub(super) fn new(shared: Arc<Shared>, request: ReadRequest) -> Self {
        FanOutReader {
            shared,
            position: request.start.clone(),
            request,
            subscription: None,
            polling: None,
        }
    }

    /// Switches to polling from where the subscription left off.
    fn poll_instead(&mut self) -> &mut PollingReader<KinesisSource> {
        self.subscription = None;
        let request = ReadRequest {
            start: self.position.clone(),
            ..self.request.clone()
        };
        self.polling
            .get_or_insert_with(|| PollingReader::new(self.shared.polling.clone(), request))
    }
}

#[async_trait]
impl ShardReader for FanOutReader {
    async fn next_batch(&mut self) -> Result<ShardBatch> {
        loop {
            if let Some(polling) = &mut self.polling {
                return polling.next_batch().await;
            }
            let consumer_arn = match self.shared.ensure_mode().await? {
                RetrievalMode::FanOut { consumer_arn } => consumer_arn,
                _ => return self.poll_instead().next_batch().await,
            };
            if self.subscription.is_none() {
                let shard_id = &self.request.shard_id;
                match self
                    .shared
                    .subscribe(&consumer_arn, shard_id, &self.position)
                    .await
                {
                    Ok(subscription) => self.subscription = Some(subscription),
                    Err(Unavailable::Yes(reason)) => {
                        tracing::warn!(%shard_id, %reason, "SubscribeToShard unavailable; polling instead");
                        *self.shared.mode.lock().await = RetrievalMode::Polling;
                        return self.poll_instead().next_batch().await;
                    }
                    Err(Unavailable::No(error)) => return Err(error),
                }
            }
            let Some(subscription) = self.subscription.as_mut() else {
                continue;
            };
            match subscription.events.recv().await {
                Some(Item::Event(event)) => {
                    subscription.delivered = true;
                    let (batch, continuation) = convert_event(event)?;
                    match continuation {
                        Some(seq) => self.position = IteratorPosition::AfterSequence(seq),
                        None => self.subscription = None,
                    }
                    return Ok(batch);
                }
                Some(Item::Failed(error)) => {
                    self.subscription = None;
                    return Err(error);
                }
                // Ended without reaching the end of the shard (its five minutes are up, or another
                // subscription took over): resubscribe from the continuation at once. One that ended
                // before any event is reported, so the caller backs off before the next attempt.
                None => {
                    let delivered = subscription.delivered;
                    self.subscription = None;
                    if !delivered {
                        return Err(Error::Source {
                            operation: "SubscribeToShard",
                            code: "SubscriptionEnded".into(),
                            message: format!(
                                "the subscription of {} ended before delivering an event",
                                self.request.shard_id
                            ),
                            retryable: true,
                            source: None,
                        });
                    }
                }
            }
        }
    }
}

fn starting_position(position: &IteratorPosition) -> Result<StartingPosition> {
    let builder = StartingPosition::builder();
    let builder = match position {
        IteratorPosition::TrimHorizon => builder.r#type(ShardIteratorType::TrimHorizon),
        IteratorPosition::Latest => builder.r#type(ShardIteratorType::Latest),
        IteratorPosition::AtSequence(s) => builder
            .r#type(ShardIteratorType::AtSequenceNumber)
            .sequence_number(s.as_str()),
        IteratorPosition::AfterSequence(s) => builder
            .r#type(ShardIteratorType::AfterSequenceNumber)
            .sequence_number(s.as_str()),
        IteratorPosition::AtTimestamp(at) => builder
            .r#type(ShardIteratorType::AtTimestamp)
            .timestamp(DateTime::from(*at)),
    };
    builder.build().map_err(|e| Error::Source {
        operation: "SubscribeToShard",
        code: "InvalidStartingPosition".into(),
        message: e.to_string(),
        retryable: false,
        source: Some(Box::new(e)),
    })
}

/// One event as a batch, with its continuation sequence number (absent at the end of a closed shard,
/// whose batch then carries the children).
fn convert_event(event: kt::SubscribeToShardEvent) -> Result<(ShardBatch, Option<SequenceNumber>)> {
    let records = event
        .records
        .into_iter()
        .map(crate::source::kinesis::record)
        .collect::<Result<Vec<_>>>()?;
    let continuation = SequenceNumber::new(event.continuation_sequence_number).ok();
    let mut batch = match continuation {
        Some(_) => ShardBatch::new(records),
        None => ShardBatch::shard_end(records, crate::source::kinesis::child_shards(event.child_shards)),
    };
    batch.millis_behind_latest = u64::try_from(event.millis_behind_latest).ok();
    Ok((batch, continuation))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn events_become_batches_and_the_shard_end_has_no_continuation() {
        let event = kt::SubscribeToShardEvent::builder()
            .records(
                kt::Record::builder()
                    .sequence_number("5")
                    .data(aws_sdk_kinesis::primitives::Blob::new("x"))
                    .partition_key("k")
                    .build()
                    .unwrap(),
            )
            .continuation_sequence_number("5")
            .millis_behind_latest(0)
            .build()
            .unwrap();
        let (out, continuation) = convert_event(event).unwrap();
        assert_eq!(out.records.len(), 1);
        assert!(!out.at_shard_end);
        assert_eq!(continuation, Some(SequenceNumber::new("5").unwrap()));

        let end = kt::SubscribeToShardEvent::builder()
            .set_records(Some(Vec::new()))
            .continuation_sequence_number("")
            .millis_behind_latest(0)
            .child_shards(
                kt::ChildShard::builder()
                    .shard_id("child")
                    .parent_shards("s")
                    .hash_key_range(
                        kt::HashKeyRange::builder()
                            .starting_hash_key("0")
                            .ending_hash_key("10")
                            .build()
                            .unwrap(),
                    )
                    .build()
                    .unwrap(),
            )
            .build()
            .unwrap();
        let (out, continuation) = convert_event(end).unwrap();
        assert_eq!(continuation, None);
        assert!(out.at_shard_end);
        assert_eq!(out.child_shards.len(), 1);
        assert_eq!(
            out.child_shards[0].hash_key_range,
            kcl_checkpoint::HashKeyRange::new(0, 10)
        );
    }
}
