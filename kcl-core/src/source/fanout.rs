//! [`FanOutSource`]: enhanced fan-out retrieval (SubscribeToShard) behind the polling-shaped
//! [`RecordSource`] trait, with a fall back to polling (feature `kinesis`).
//!
//! Enhanced fan-out gives each registered consumer its own 2 MB/s per shard, pushed over an HTTP/2 event
//! stream instead of pulled with GetRecords. This source fits it under the same trait as the polling source,
//! so the worker's retrieval layer (prefetch, idle waits, retries) is unchanged:
//!
//! - on first use it registers the stream consumer (or finds the one already registered under the same
//!   name) and waits for it to become ACTIVE;
//! - `get_shard_iterator` makes no call: it returns a token naming the shard and the starting position;
//! - `get_records` opens a subscription for that position (SubscribeToShard), keeps it open across calls, and
//!   returns one event's records per call; the next token resumes *after the event's continuation sequence
//!   number*, so a subscription that ends (they live five minutes), fails, or is replaced is reopened from
//!   exactly where the last delivered event left off;
//! - at the end of a closed shard the last event carries the children: the call returns them with no next
//!   token, as GetRecords does.
//!
//! When fan-out is unavailable — the endpoint does not know RegisterStreamConsumer or SubscribeToShard
//! (kinesalite, for example), or refuses them for lack of permission — the source logs a warning once and
//! serves every call through the wrapped polling [`KinesisSource`] instead. Throttling and server faults are
//! not reasons to fall back: they are returned as retryable errors, like the polling source does.
//!
//! ```no_run
//! # async fn demo(client: aws_sdk_kinesis::Client) {
//! use kcl_core::source::fanout::FanOutSource;
//! let source = FanOutSource::new(client, "orders", "my-application");
//! # let _ = source;
//! # }
//! ```

use std::collections::HashMap;
use std::fmt;
use std::sync::{Arc, Mutex as StdMutex};
use std::time::{Duration, UNIX_EPOCH};

use async_trait::async_trait;
use aws_sdk_kinesis::error::{DisplayErrorContext, ProvideErrorMetadata, SdkError};
use aws_sdk_kinesis::primitives::DateTime;
use aws_sdk_kinesis::types::{
    self as kt, ConsumerStatus, ShardIteratorType, StartingPosition, SubscribeToShardEventStream,
};
use kcl_checkpoint::SequenceNumber;
use tokio::sync::{mpsc, Mutex};

use super::{GetRecordsOutput, IteratorPosition, KinesisSource, RecordSource, ShardDescription, ShardFilter};
use crate::error::{Error, Result};

/// Prefix of the tokens this source hands out as shard iterators.
const TOKEN_PREFIX: &str = "efo|";

/// Error codes that mean "this endpoint or caller cannot use enhanced fan-out": fall back to polling.
const UNAVAILABLE_CODES: &[&str] = &[
    "UnknownOperationException",
    "AccessDeniedException",
    "UnrecognizedClientException",
    "InvalidAction",
    "NotImplemented",
];

/// Settings of a [`FanOutSource`].
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct FanOutConfig {
    /// How long one `get_records` call waits for the next event before returning an empty batch (the
    /// subscription stays open). Default 1 s: short, so the worker stays responsive to shutdown.
    pub event_wait: Duration,
    /// How long to wait for a newly registered consumer to become ACTIVE. Default 60 s.
    pub consumer_ready_timeout: Duration,
    /// How often to poll the consumer's status meanwhile. Default 250 ms.
    pub consumer_poll_interval: Duration,
    /// Events buffered per subscription ahead of the worker. Default 2 (events carry up to 2 MB each).
    pub buffered_events: usize,
}

impl Default for FanOutConfig {
    fn default() -> Self {
        FanOutConfig {
            event_wait: Duration::from_secs(1),
            consumer_ready_timeout: Duration::from_secs(60),
            consumer_poll_interval: Duration::from_millis(250),
            buffered_events: 2,
        }
    }
}

/// Which retrieval the source settled on.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum RetrievalMode {
    /// Not decided yet (no call made).
    Undecided,
    /// Enhanced fan-out through the consumer with this ARN.
    FanOut {
        /// The registered consumer's ARN.
        consumer_arn: String,
    },
    /// Polling with GetRecords (fan-out was unavailable).
    Polling,
}

/// One item a subscription's pump task forwards.
enum Item {
    Event(kt::SubscribeToShardEvent),
    Failed(Error),
}

/// An open subscription of one shard.
struct Subscription {
    /// The token a `get_records` call must present to continue on this subscription.
    token: String,
    events: mpsc::Receiver<Item>,
    pump: tokio::task::JoinHandle<()>,
}

impl Drop for Subscription {
    fn drop(&mut self) {
        self.pump.abort();
    }
}

type Slot = Arc<Mutex<Option<Subscription>>>;

/// Reads a stream with enhanced fan-out (SubscribeToShard), falling back to polling when fan-out is
/// unavailable. See the [module docs](self).
pub struct FanOutSource {
    client: aws_sdk_kinesis::Client,
    polling: KinesisSource,
    stream_name: String,
    consumer_name: String,
    config: FanOutConfig,
    mode: Mutex<RetrievalMode>,
    subscriptions: StdMutex<HashMap<String, Slot>>,
}

impl fmt::Debug for FanOutSource {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("FanOutSource")
            .field("stream_name", &self.stream_name)
            .field("consumer_name", &self.consumer_name)
            .field("config", &self.config)
            .finish_non_exhaustive()
    }
}

impl FanOutSource {
    /// A source for stream `stream_name`, reading as the consumer `consumer_name` (registered on first use;
    /// use one name per application, as the Java KCL uses the application name).
    pub fn new(
        client: aws_sdk_kinesis::Client,
        stream_name: impl Into<String>,
        consumer_name: impl Into<String>,
    ) -> Self {
        Self::with_config(client, stream_name, consumer_name, FanOutConfig::default())
    }

    /// As [`new`](Self::new), with settings.
    pub fn with_config(
        client: aws_sdk_kinesis::Client,
        stream_name: impl Into<String>,
        consumer_name: impl Into<String>,
        config: FanOutConfig,
    ) -> Self {
        let stream_name = stream_name.into();
        FanOutSource {
            polling: KinesisSource::new(client.clone(), stream_name.clone()),
            client,
            stream_name,
            consumer_name: consumer_name.into(),
            config,
            mode: Mutex::new(RetrievalMode::Undecided),
            subscriptions: StdMutex::new(HashMap::new()),
        }
    }

    /// Names the endpoint the client was configured with in connection errors (see
    /// [`KinesisSource::with_endpoint`]).
    pub fn with_endpoint(mut self, endpoint: impl Into<String>) -> Self {
        self.polling = self.polling.with_endpoint(endpoint);
        self
    }

    /// The retrieval mode settled on so far.
    pub async fn mode(&self) -> RetrievalMode {
        self.mode.lock().await.clone()
    }

    /// Registers the consumer if needed and decides between fan-out and polling.
    ///
    /// # Errors
    ///
    /// Retryable errors (throttling, server faults, a consumer that does not become ACTIVE in time) and a
    /// missing stream ([`Error::ResourceNotFound`]); unavailability of fan-out is not an error.
    pub async fn ensure_mode(&self) -> Result<RetrievalMode> {
        let mut mode = self.mode.lock().await;
        if *mode != RetrievalMode::Undecided {
            return Ok(mode.clone());
        }
        *mode = match self.register_consumer().await {
            Ok(consumer_arn) => {
                tracing::info!(stream = %self.stream_name, %consumer_arn, "using enhanced fan-out");
                RetrievalMode::FanOut { consumer_arn }
            }
            Err(Unavailable::Yes(reason)) => {
                tracing::warn!(stream = %self.stream_name, %reason, "enhanced fan-out unavailable; polling instead");
                RetrievalMode::Polling
            }
            Err(Unavailable::No(error)) => return Err(error),
        };
        Ok(mode.clone())
    }

    /// Deregisters the consumer (the Java KCL leaves it registered; call this when the application is gone
    /// for good). Open subscriptions end.
    ///
    /// # Errors
    ///
    /// The mapped error of DeregisterStreamConsumer.
    pub async fn deregister_consumer(&self) -> Result<()> {
        let stream_arn = self.stream_arn().await.map_err(Unavailable::into_error)?;
        self.client
            .deregister_stream_consumer()
            .stream_arn(stream_arn)
            .consumer_name(&self.consumer_name)
            .send()
            .await
            .map_err(|e| {
                map_error(
                    "DeregisterStreamConsumer",
                    &self.consumer_name,
                    self.polling.endpoint(),
                    e,
                )
            })?;
        if let Ok(mut subscriptions) = self.subscriptions.lock() {
            subscriptions.clear();
        }
        *self.mode.lock().await = RetrievalMode::Undecided;
        Ok(())
    }

    async fn stream_arn(&self) -> std::result::Result<String, Unavailable> {
        let out = self
            .client
            .describe_stream_summary()
            .stream_name(&self.stream_name)
            .send()
            .await
            .map_err(|e| {
                classify(
                    "DescribeStreamSummary",
                    &self.stream_name,
                    self.polling.endpoint(),
                    e,
                )
            })?;
        Ok(out
            .stream_description_summary()
            .map(|s| s.stream_arn().to_owned())
            .unwrap_or_default())
    }

    async fn register_consumer(&self) -> std::result::Result<String, Unavailable> {
        let stream_arn = self.stream_arn().await?;
        let registered = self
            .client
            .register_stream_consumer()
            .stream_arn(&stream_arn)
            .consumer_name(&self.consumer_name)
            .send()
            .await;
        let mut consumer_arn = match registered {
            Ok(out) => out.consumer().map(|c| c.consumer_arn().to_owned()),
            // Already registered (by another worker of the application): look it up.
            Err(e) if e.code() == Some("ResourceInUseException") => None,
            Err(e) => {
                return Err(classify(
                    "RegisterStreamConsumer",
                    &self.consumer_name,
                    self.polling.endpoint(),
                    e,
                ))
            }
        };
        let deadline = tokio::time::Instant::now() + self.config.consumer_ready_timeout;
        loop {
            let request = match &consumer_arn {
                Some(arn) => self.client.describe_stream_consumer().consumer_arn(arn),
                None => self
                    .client
                    .describe_stream_consumer()
                    .stream_arn(&stream_arn)
                    .consumer_name(&self.consumer_name),
            };
            let out = request.send().await.map_err(|e| {
                classify(
                    "DescribeStreamConsumer",
                    &self.consumer_name,
                    self.polling.endpoint(),
                    e,
                )
            })?;
            if let Some(description) = out.consumer_description() {
                consumer_arn = Some(description.consumer_arn().to_owned());
                if description.consumer_status() == &ConsumerStatus::Active {
                    return Ok(description.consumer_arn().to_owned());
                }
            }
            if tokio::time::Instant::now() >= deadline {
                return Err(Unavailable::No(Error::Source {
                    operation: "DescribeStreamConsumer",
                    code: "ConsumerNotActive".into(),
                    message: format!(
                        "consumer {} did not become ACTIVE within {:?}",
                        self.consumer_name, self.config.consumer_ready_timeout
                    ),
                    retryable: true,
                    source: None,
                }));
            }
            tokio::time::sleep(self.config.consumer_poll_interval).await;
        }
    }

    fn slot(&self, shard_id: &str) -> Slot {
        let mut subscriptions = self
            .subscriptions
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner());
        Arc::clone(subscriptions.entry(shard_id.to_owned()).or_default())
    }

    /// Opens a subscription at `position` and starts the task that forwards its events.
    async fn subscribe(
        &self,
        consumer_arn: &str,
        shard_id: &str,
        position: &IteratorPosition,
        token: String,
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
        Ok(Subscription { token, events, pump })
    }

    async fn fan_out_records(
        &self,
        consumer_arn: &str,
        shard_id: &str,
        token: &str,
        position: IteratorPosition,
    ) -> Result<GetRecordsOutput> {
        let slot = self.slot(shard_id);
        let mut slot = slot.lock().await;
        if slot.as_ref().is_none_or(|s| s.token != token) {
            *slot = None;
            match self
                .subscribe(consumer_arn, shard_id, &position, token.to_owned())
                .await
            {
                Ok(subscription) => *slot = Some(subscription),
                Err(Unavailable::Yes(reason)) => {
                    drop(slot);
                    tracing::warn!(shard_id, %reason, "SubscribeToShard unavailable; polling instead");
                    *self.mode.lock().await = RetrievalMode::Polling;
                    return self.poll_from(shard_id, &position).await;
                }
                Err(Unavailable::No(error)) => return Err(error),
            }
        }
        let Some(subscription) = slot.as_mut() else {
            return Ok(GetRecordsOutput::new(Vec::new(), Some(token.to_owned())));
        };
        let item = match tokio::time::timeout(self.config.event_wait, subscription.events.recv()).await {
            // Nothing yet: an empty batch; the subscription stays open for the next call.
            Err(_elapsed) => return Ok(GetRecordsOutput::new(Vec::new(), Some(token.to_owned()))),
            Ok(item) => item,
        };
        match item {
            Some(Item::Event(event)) => {
                let output = convert_event(shard_id, event)?;
                match &output.next_iterator {
                    Some(next) => subscription.token = next.clone(),
                    None => *slot = None,
                }
                Ok(output)
            }
            Some(Item::Failed(error)) => {
                *slot = None;
                Err(error)
            }
            // Ended without reaching the end of the shard: resubscribe from the same place next call.
            None => {
                *slot = None;
                Ok(GetRecordsOutput::new(Vec::new(), Some(token.to_owned())))
            }
        }
    }

    /// Polling from a fan-out token's position (after falling back).
    async fn poll_from(&self, shard_id: &str, position: &IteratorPosition) -> Result<GetRecordsOutput> {
        let iterator = self.polling.get_shard_iterator(shard_id, position).await?;
        self.polling.get_records(shard_id, &iterator, 10_000).await
    }
}

#[async_trait]
impl RecordSource for FanOutSource {
    async fn list_shards(&self, filter: &ShardFilter) -> Result<Vec<ShardDescription>> {
        self.polling.list_shards(filter).await
    }

    async fn get_shard_iterator(&self, shard_id: &str, position: &IteratorPosition) -> Result<String> {
        match self.ensure_mode().await? {
            RetrievalMode::FanOut { .. } => Ok(encode_token(shard_id, position)),
            _ => self.polling.get_shard_iterator(shard_id, position).await,
        }
    }

    async fn get_records(&self, shard_id: &str, iterator: &str, limit: usize) -> Result<GetRecordsOutput> {
        let Some(position) = decode_token(shard_id, iterator) else {
            // A real shard iterator, handed out while polling.
            return self.polling.get_records(shard_id, iterator, limit).await;
        };
        match self.ensure_mode().await? {
            RetrievalMode::FanOut { consumer_arn } => {
                self.fan_out_records(&consumer_arn, shard_id, iterator, position)
                    .await
            }
            _ => self.poll_from(shard_id, &position).await,
        }
    }
}

/// Whether a failure means fan-out cannot be used here (`Yes`) or is an ordinary error (`No`).
enum Unavailable {
    Yes(String),
    No(Error),
}

impl Unavailable {
    fn into_error(self) -> Error {
        match self {
            Unavailable::Yes(reason) => Error::Source {
                operation: "EnhancedFanOut",
                code: "Unavailable".into(),
                message: reason,
                retryable: false,
                source: None,
            },
            Unavailable::No(error) => error,
        }
    }
}

fn classify<E>(operation: &'static str, resource: &str, endpoint: &str, err: SdkError<E>) -> Unavailable
where
    E: ProvideErrorMetadata + std::error::Error + Send + Sync + 'static,
{
    match err.code() {
        Some(code) if UNAVAILABLE_CODES.contains(&code) => Unavailable::Yes(format!(
            "{operation}: {code}: {}",
            err.message().unwrap_or_default()
        )),
        _ => Unavailable::No(map_error(operation, resource, endpoint, err)),
    }
}

/// Maps an SDK error at the edge, by error code, as the polling source does; a takeover by a newer
/// subscription (`ResourceInUseException`) is retryable here.
fn map_error<E>(operation: &'static str, resource: &str, endpoint: &str, err: SdkError<E>) -> Error
where
    E: ProvideErrorMetadata + std::error::Error + Send + Sync + 'static,
{
    super::kinesis::map_error_with(operation, resource, endpoint, err, &["ResourceInUseException"])
}

/// Maps an error of an open event stream: modelled errors by code, transport failures as retryable.
fn map_stream_error<E, R>(shard_id: &str, err: SdkError<E, R>) -> Error
where
    E: ProvideErrorMetadata + std::error::Error + Send + Sync + 'static,
    R: fmt::Debug + Send + Sync + 'static,
{
    let code = err.code().unwrap_or("unknown").to_owned();
    let message = err.message().unwrap_or_default().to_owned();
    tracing::debug!(shard_id, error = %DisplayErrorContext(&err), "SubscribeToShard event stream failed");
    match code.as_str() {
        "ResourceNotFoundException" => Error::ResourceNotFound {
            operation: "SubscribeToShard",
            resource: if message.is_empty() {
                shard_id.to_owned()
            } else {
                message
            },
        },
        "LimitExceededException" | "ProvisionedThroughputExceededException" => Error::Throttled {
            operation: "SubscribeToShard",
            source: Some(Box::new(err)),
        },
        _ => Error::Source {
            operation: "SubscribeToShard",
            code,
            message,
            // A takeover (ResourceInUse) or a broken stream: resubscribing may work; KMS errors will not.
            retryable: !matches!(err, SdkError::ServiceError(_))
                || !err.code().is_some_and(|c| c.starts_with("KMS")),
            source: Some(Box::new(err)),
        },
    }
}

fn encode_token(shard_id: &str, position: &IteratorPosition) -> String {
    let (kind, arg) = match position {
        IteratorPosition::TrimHorizon => ("TRIM_HORIZON", String::new()),
        IteratorPosition::Latest => ("LATEST", String::new()),
        IteratorPosition::AtSequence(s) => ("AT_SEQUENCE_NUMBER", s.as_str().to_owned()),
        IteratorPosition::AfterSequence(s) => ("AFTER_SEQUENCE_NUMBER", s.as_str().to_owned()),
        IteratorPosition::AtTimestamp(at) => {
            let millis = at.duration_since(UNIX_EPOCH).map(|d| d.as_millis()).unwrap_or(0);
            ("AT_TIMESTAMP", millis.to_string())
        }
    };
    format!("{TOKEN_PREFIX}{shard_id}|{kind}|{arg}")
}

/// The position in a token this source made for `shard_id`; `None` for anything else.
fn decode_token(shard_id: &str, token: &str) -> Option<IteratorPosition> {
    let rest = token.strip_prefix(TOKEN_PREFIX)?;
    let (rest, arg) = rest.rsplit_once('|')?;
    let (shard, kind) = rest.rsplit_once('|')?;
    if shard != shard_id {
        return None;
    }
    Some(match kind {
        "TRIM_HORIZON" => IteratorPosition::TrimHorizon,
        "LATEST" => IteratorPosition::Latest,
        "AT_SEQUENCE_NUMBER" => IteratorPosition::AtSequence(SequenceNumber::new(arg).ok()?),
        "AFTER_SEQUENCE_NUMBER" => IteratorPosition::AfterSequence(SequenceNumber::new(arg).ok()?),
        "AT_TIMESTAMP" => {
            IteratorPosition::AtTimestamp(UNIX_EPOCH + Duration::from_millis(arg.parse().ok()?))
        }
        _ => return None,
    })
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

/// One event as a GetRecords-shaped batch; the next token continues after the continuation sequence number,
/// and is absent at the end of a closed shard.
fn convert_event(shard_id: &str, event: kt::SubscribeToShardEvent) -> Result<GetRecordsOutput> {
    let records = event
        .records
        .into_iter()
        .map(super::kinesis::record)
        .collect::<Result<Vec<_>>>()?;
    let child_shards = super::kinesis::child_shards(event.child_shards);
    let next_iterator = match SequenceNumber::new(event.continuation_sequence_number) {
        Ok(continuation) => Some(encode_token(
            shard_id,
            &IteratorPosition::AfterSequence(continuation),
        )),
        // No continuation: the shard is closed and fully read.
        Err(_) => None,
    };
    let mut output = GetRecordsOutput::new(records, next_iterator);
    output.millis_behind_latest = u64::try_from(event.millis_behind_latest).ok();
    output.child_shards = child_shards;
    Ok(output)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tokens_round_trip_and_foreign_tokens_are_not_ours() {
        let seq = SequenceNumber::new("49590338271490256608559692538361571095921575989136588898").unwrap();
        let at = UNIX_EPOCH + Duration::from_millis(1_764_093_600_123);
        for position in [
            IteratorPosition::TrimHorizon,
            IteratorPosition::Latest,
            IteratorPosition::AtSequence(seq.clone()),
            IteratorPosition::AfterSequence(seq),
            IteratorPosition::AtTimestamp(at),
        ] {
            let token = encode_token("shardId-000000000001", &position);
            assert_eq!(decode_token("shardId-000000000001", &token), Some(position));
            assert_eq!(decode_token("shardId-000000000002", &token), None);
        }
        assert_eq!(
            decode_token("shardId-000000000001", "AAAAAAAAAAGx+real-iterator"),
            None
        );
        assert_eq!(decode_token("s", "efo|s|AT_SEQUENCE_NUMBER|not-digits"), None);
        assert_eq!(decode_token("s", "efo|s|SIDEWAYS|"), None);
    }

    #[test]
    fn events_become_batches_and_shard_end_has_no_next_token() {
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
        let out = convert_event("s", event).unwrap();
        assert_eq!(out.records.len(), 1);
        assert_eq!(
            out.next_iterator.as_deref().and_then(|t| decode_token("s", t)),
            Some(IteratorPosition::AfterSequence(SequenceNumber::new("5").unwrap()))
        );

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
        let out = convert_event("s", end).unwrap();
        assert_eq!(out.next_iterator, None);
        assert_eq!(out.child_shards.len(), 1);
        assert_eq!(
            out.child_shards[0].hash_key_range,
            kcl_checkpoint::HashKeyRange::new(0, 10)
        );
    }
}
