//! The [`Emulator`] handle: one async method per Kinesis operation.
//!
//! Each method runs the fault-injection rules scoped to its operation (and stream) and then the operation
//! itself, implemented in its own module under `ops/`.

use std::fmt;
use std::sync::Arc;

use crate::clock::Clock;
use crate::config::EmulatorConfig;
use crate::error::{ConfigError, KinesisError};
use crate::faults::Faults;
use crate::ops::{self, Request};
use crate::snapshot::EmulatorSnapshot;
use crate::state::Inner;
use crate::subscription::Subscription;
use crate::types::*;

/// An in-process Kinesis Data Streams emulator.
///
/// A cheap-to-clone handle (`Arc` inside), `Send + Sync`; clones share the same streams.
///
/// ```
/// # #[tokio::main(flavor = "current_thread")] async fn main() -> Result<(), kcl_emulator::KinesisError> {
/// use kcl_emulator::{types::*, Emulator};
///
/// let kinesis = Emulator::default();
/// kinesis
///     .create_stream(CreateStreamInput { stream_name: "orders".into(), shard_count: Some(1), ..Default::default() })
///     .await?;
/// let put = kinesis
///     .put_record(PutRecordInput {
///         stream_name: Some("orders".into()),
///         data: "hello".into(),
///         partition_key: "customer-1".into(),
///         ..Default::default()
///     })
///     .await?;
/// let it = kinesis
///     .get_shard_iterator(GetShardIteratorInput {
///         stream_name: Some("orders".into()),
///         shard_id: put.shard_id,
///         shard_iterator_type: ShardIteratorType::TrimHorizon,
///         ..Default::default()
///     })
///     .await?;
/// let out = kinesis
///     .get_records(GetRecordsInput { shard_iterator: it.shard_iterator, ..Default::default() })
///     .await?;
/// assert_eq!(out.records[0].data, "hello");
/// # Ok(()) }
/// ```
#[derive(Clone)]
pub struct Emulator {
    inner: Arc<Inner>,
}

impl fmt::Debug for Emulator {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        // Not the records: a stream can hold millions.
        f.debug_struct("Emulator")
            .field("region", &self.inner.config.region)
            .field("account_id", &self.inner.config.account_id)
            .field("streams", &self.inner.streams.read().by_name.len())
            .field("fault_rules", &self.inner.faults.len())
            .finish_non_exhaustive()
    }
}

impl Default for Emulator {
    fn default() -> Self {
        Self::new(EmulatorConfig::default())
    }
}

macro_rules! operation_methods {
    ($($(#[$doc:meta])* $method:ident($input:ty) -> $output:ty => $module:ident;)+) => {
        impl Emulator {
            $(
                $(#[$doc])*
                ///
                /// # Errors
                /// The AWS error of the operation as a [`KinesisError`] (see the operation's module docs),
                /// or an error scripted through [`Emulator::faults`].
                pub async fn $method(&self, input: $input) -> Result<$output, KinesisError> {
                    self.before(&input).await?;
                    ops::$module::execute(&self.inner, input).await
                }
            )+
        }
    };
}

impl Emulator {
    /// An emulator with the given configuration.
    pub fn new(config: EmulatorConfig) -> Self {
        let seed = config.seed.unwrap_or_else(rand::random);
        Self {
            inner: Arc::new(Inner::new(config, seed)),
        }
    }

    /// The configuration it runs with.
    pub fn config(&self) -> &EmulatorConfig {
        &self.inner.config
    }

    /// The wall clock it stamps records with (follows tokio time).
    pub fn clock(&self) -> Clock {
        self.inner.clock
    }

    /// The fault-injection handle.
    pub fn faults(&self) -> &Faults {
        &self.inner.faults
    }

    /// The complete state (streams, shards, records with their sequence numbers and arrival timestamps,
    /// consumers, the iterator-signing key), to persist and later [`restore`](Emulator::restore).
    ///
    /// Each shard is copied under its own lock: with concurrent writes, the snapshot holds a consistent
    /// prefix of each shard's records.
    pub fn snapshot(&self) -> EmulatorSnapshot {
        crate::snapshot::export(&self.inner)
    }

    /// An emulator with `config` and exactly the state of `snapshot`: sequence numbers, arrival
    /// timestamps, consumer ARNs and unexpired shard iterators from before the snapshot stay valid.
    ///
    /// # Errors
    /// [`ConfigError::InvalidSnapshot`] if the snapshot is inconsistent or of another version.
    pub fn restore(config: EmulatorConfig, snapshot: &EmulatorSnapshot) -> Result<Self, ConfigError> {
        let emulator = Self::new(config);
        emulator.import(snapshot)?;
        Ok(emulator)
    }

    /// Replaces this emulator's state with `snapshot`'s (see [`Emulator::restore`]); clones of this handle
    /// see the new state. Fault rules and the configuration are kept; open subscriptions are forgotten.
    ///
    /// # Errors
    /// As [`Emulator::restore`]; the state is unchanged on error.
    pub fn import(&self, snapshot: &EmulatorSnapshot) -> Result<(), ConfigError> {
        crate::snapshot::import(&self.inner, snapshot)
    }

    /// The ARN of stream `name` in this emulator's region and account.
    pub fn stream_arn(&self, name: &str) -> String {
        self.inner.stream_arn(name)
    }

    /// The shared state (for the server's persistence).
    #[cfg(feature = "server")]
    pub(crate) fn inner(&self) -> &Inner {
        &self.inner
    }

    async fn before<R: Request>(&self, input: &R) -> Result<(), KinesisError> {
        let faults = &self.inner.faults;
        if faults.is_empty() {
            return Ok(());
        }
        let hint = input.stream_hint(&self.inner);
        faults.apply(R::OPERATION, hint.as_deref(), None).await
    }
}

operation_methods! {
    /// CreateStream: a PROVISIONED stream of `shard_count` shards, or an ON_DEMAND stream.
    create_stream(CreateStreamInput) -> CreateStreamOutput => create_stream;
    /// DeleteStream.
    delete_stream(DeleteStreamInput) -> DeleteStreamOutput => delete_stream;
    /// DescribeStream: the stream and a page of its shards.
    describe_stream(DescribeStreamInput) -> DescribeStreamOutput => describe_stream;
    /// DescribeStreamSummary: the stream without its shards.
    describe_stream_summary(DescribeStreamSummaryInput) -> DescribeStreamSummaryOutput => describe_stream_summary;
    /// ListStreams, paginated.
    list_streams(ListStreamsInput) -> ListStreamsOutput => list_streams;
    /// AddTagsToStream.
    add_tags_to_stream(AddTagsToStreamInput) -> AddTagsToStreamOutput => add_tags_to_stream;
    /// RemoveTagsFromStream.
    remove_tags_from_stream(RemoveTagsFromStreamInput) -> RemoveTagsFromStreamOutput => remove_tags_from_stream;
    /// ListTagsForStream, paginated.
    list_tags_for_stream(ListTagsForStreamInput) -> ListTagsForStreamOutput => list_tags_for_stream;
    /// IncreaseStreamRetentionPeriod (24..=8760 hours).
    increase_stream_retention_period(IncreaseStreamRetentionPeriodInput)
        -> IncreaseStreamRetentionPeriodOutput => increase_stream_retention_period;
    /// DecreaseStreamRetentionPeriod (24..=8760 hours).
    decrease_stream_retention_period(DecreaseStreamRetentionPeriodInput)
        -> DecreaseStreamRetentionPeriodOutput => decrease_stream_retention_period;
    /// UpdateStreamMode: switch between PROVISIONED and ON_DEMAND.
    update_stream_mode(UpdateStreamModeInput) -> UpdateStreamModeOutput => update_stream_mode;
    /// PutRecord.
    put_record(PutRecordInput) -> PutRecordOutput => put_record;
    /// PutRecords: 1..=500 records with per-record results (partial failure).
    put_records(PutRecordsInput) -> PutRecordsOutput => put_records;
    /// GetShardIterator: a five-minute token for GetRecords.
    get_shard_iterator(GetShardIteratorInput) -> GetShardIteratorOutput => get_shard_iterator;
    /// GetRecords.
    get_records(GetRecordsInput) -> GetRecordsOutput => get_records;
    /// ListShards, with filters and pagination.
    list_shards(ListShardsInput) -> ListShardsOutput => list_shards;
    /// SplitShard.
    split_shard(SplitShardInput) -> SplitShardOutput => split_shard;
    /// MergeShards.
    merge_shards(MergeShardsInput) -> MergeShardsOutput => merge_shards;
    /// UpdateShardCount (UNIFORM_SCALING).
    update_shard_count(UpdateShardCountInput) -> UpdateShardCountOutput => update_shard_count;
    /// RegisterStreamConsumer.
    register_stream_consumer(RegisterStreamConsumerInput)
        -> RegisterStreamConsumerOutput => register_stream_consumer;
    /// DescribeStreamConsumer.
    describe_stream_consumer(DescribeStreamConsumerInput)
        -> DescribeStreamConsumerOutput => describe_stream_consumer;
    /// ListStreamConsumers, paginated.
    list_stream_consumers(ListStreamConsumersInput) -> ListStreamConsumersOutput => list_stream_consumers;
    /// DeregisterStreamConsumer.
    deregister_stream_consumer(DeregisterStreamConsumerInput)
        -> DeregisterStreamConsumerOutput => deregister_stream_consumer;
    /// SubscribeToShard: a [`Subscription`] stream of events that lives up to five minutes.
    subscribe_to_shard(SubscribeToShardInput) -> Subscription => subscribe_to_shard;
}
