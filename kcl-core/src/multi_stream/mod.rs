//! Multi-stream applications: one worker (and one lease table) consumes several streams, as the Java
//! KCL's multi-stream mode does.
//!
//! ```no_run
//! use std::sync::Arc;
//! use kcl_checkpoint::StreamIdentifier;
//! use kcl_core::multi_stream::{MultiStreamSource, StreamConfig, StreamSet};
//! use kcl_core::{InitialPosition, ShardRecordProcessor, Worker};
//! # fn processor(_: &str) -> Box<dyn ShardRecordProcessor> { unimplemented!() }
//! # async fn demo(
//! #     store: Arc<dyn kcl_checkpoint::LeaseStore>,
//! #     orders_source: Arc<dyn kcl_core::RecordSource>,
//! #     payments_source: Arc<dyn kcl_core::RecordSource>,
//! # ) -> Result<(), kcl_core::Error> {
//! let orders = StreamIdentifier {
//!     account_id: "123456789012".into(),
//!     stream_name: "orders".into(),
//!     creation_epoch: 1_700_000_000,
//! };
//! let streams = StreamSet::new();
//! streams.add(StreamConfig::new(orders.clone(), orders_source, processor).initial_position(InitialPosition::TrimHorizon));
//! let multi = Arc::new(MultiStreamSource::new(streams.clone()));
//! let handle = Worker::builder_multi_stream(store, multi, "worker-1").build()?.spawn();
//! // At run time:
//! # let payments = orders.clone();
//! streams.add(StreamConfig::new(payments, payments_source, processor)); // leased at its initial position
//! streams.remove(&orders); // processed for the grace period more, then its leases are deleted
//! # handle.shutdown().await
//! # }
//! ```
//!
//! # What it is
//!
//! A [`MultiStreamSource`] asks a [`StreamTracker`] which streams to consume: a [`StreamConfig`] per
//! stream, with the stream's [`StreamIdentifier`], its own [`RecordSource`], its processor factory and,
//! optionally, its own [`InitialPosition`] and [`ProcessingPolicy`] (else the worker's). Give it to
//! [`Worker::builder_multi_stream`](crate::Worker::builder_multi_stream). The worker then:
//!
//! - **leases every shard of every stream in one table**, under keys `account:stream:creationEpoch:shardId`
//!   (the Java KCL's multi-stream format: its workers read these leases, and the DynamoDB store also writes
//!   the `streamName` and `shardId` attributes and keeps `parentShardId` / `childShardIds` as plain shard
//!   ids, as the Java KCL does);
//! - **balances all leases of all streams together**: the assignment strategy sees one pool of leases,
//!   so each of N workers holds about 1/N of the shards of all streams (not 1/N of each stream);
//! - runs shard sync **per stream** (the Java KCL's ancestry rules with the stream's initial position;
//!   resharding within a stream works as in a single-stream worker, children after parents);
//! - makes each shard's processor with **its stream's factory**, given the shard id within the stream (the
//!   processor's [`InitializationInput::stream`](crate::InitializationInput::stream) names the stream),
//!   reads it through **its stream's source**, and delivers under **its stream's processing policy**
//!   (Lambda's options are per worker, overridable per stream);
//! - labels record metrics with the stream (`stream` label, see [`crate::metrics`]).
//!
//! # Streams added and removed at run time
//!
//! The tracker is asked on every shard sync (every
//! [`shard_sync_interval`](crate::WorkerConfigBuilder::shard_sync_interval), 60 s by default), and at once
//! when it reports a change ([`StreamTracker::changed`]; a [`StreamSet`] does on every
//! [`add`](StreamSet::add) and [`remove`](StreamSet::remove)).
//!
//! - **A stream added** gets leases at its initial position at that sync, which other workers then take
//!   like any lease.
//! - **A stream removed** is no longer synced: none of its leases are created, cleaned up or judged
//!   expired from then on (a removed stream's closed shards are not mistaken for shards expired from
//!   retention). Its consumers keep processing for a **grace period**
//!   ([`with_grace_period`](MultiStreamSource::with_grace_period), default
//!   [`DEFAULT_GRACE_PERIOD`], 5 minutes), measured on this worker's clock from the sync that found the
//!   stream gone. Then shard sync deletes its leases (fenced writes: an owner renewing at that moment wins,
//!   and the delete is tried again at the next sync); their owners lose them and call `lease_lost` on the
//!   processors. A stream added back within the grace period keeps its leases and their checkpoints; a
//!   stream added back later starts again at its initial position.
//!
//! Five minutes leaves every worker of the fleet time to see the removal (trackers are polled each sync,
//! once a minute by default) and processors time to drain what they read, while the removed stream's
//! leases do not linger for long. Every worker of an application should track the same streams: a worker
//! that still tracks a stream another worker removed re-creates its leases at the initial position once
//! they are deleted.
//!
//! Leases of streams this worker never tracked (another application version, a stream removed while no
//! worker ran) are left alone: neither taken, since there is no source to read them with, nor deleted,
//! so a rolling deploy that adds a stream never loses the new stream's checkpoints to old workers. Add
//! such a stream and remove it again to have its leases cleaned up.
//!
//! # The Java KCL
//!
//! | here | Java KCL 2.x/3.x |
//! |---|---|
//! | [`StreamTracker::streams`] | `MultiStreamTracker.streamConfigList()` |
//! | [`StreamConfig`] | `StreamConfig` (stream identifier, initial position); the factory and the processing policy per stream are kcl-rs additions (the Java factory gets a `StreamIdentifier` instead) |
//! | [`StreamIdentifier`] | `StreamIdentifier.multiStreamInstance("account:stream:creationEpoch")` |
//! | the grace period | `FormerStreamsLeasesDeletionStrategy`: `AutoDetectionAndDeferredDeletionStrategy` with `waitPeriodToDeleteFormerStreams()` (the Java KCL leaves the choice to the application; kcl-rs defaults to 5 minutes) |
//! | every worker syncs every stream | the elected leader syncs streams |
//!
//! A multi-stream application needs its own lease table: leases with plain shard-id keys (a
//! single-stream application's) are ignored by a multi-stream worker.

use std::collections::BTreeMap;
use std::fmt;
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::Duration;

use async_trait::async_trait;
use kcl_checkpoint::{LeaseKey, StreamIdentifier};
use tokio::sync::Notify;
use tokio::time::Instant;

use crate::config::{InitialPosition, WorkerConfig};
use crate::consumer::ConsumerContext;
use crate::error::{BoxError, Error, Result};
use crate::policy::ProcessingPolicy;
use crate::processor::{ShardRecordProcessor, ShardRecordProcessorFactory};
use crate::source::{ReadRequest, RecordSource, ShardDescription, ShardFilter, ShardReader};

mod reader;
#[cfg(test)]
mod tests;

pub use reader::PrefixedReader;

/// How long the leases of a stream the tracker stopped listing are kept (and processed) before shard sync
/// deletes them: 5 minutes.
pub const DEFAULT_GRACE_PERIOD: Duration = Duration::from_secs(5 * 60);

/// One stream of a multi-stream application: which stream, how to read it, who processes it, and the
/// settings that differ from the worker's.
#[derive(Clone)]
pub struct StreamConfig {
    stream: StreamIdentifier,
    source: Arc<dyn RecordSource>,
    factory: Arc<dyn ShardRecordProcessorFactory>,
    initial_position: Option<InitialPosition>,
    processing: Option<ProcessingPolicy>,
}

impl fmt::Debug for StreamConfig {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("StreamConfig")
            .field("stream", &self.stream.serialize())
            .field("source", &self.source)
            .field("initial_position", &self.initial_position)
            .field("processing", &self.processing)
            .finish_non_exhaustive()
    }
}

impl StreamConfig {
    /// Stream `stream`, read through `source`, its shards processed by processors from `factory` (given
    /// the shard id within the stream). The initial position and processing policy are the worker's
    /// unless set here.
    pub fn new(
        stream: StreamIdentifier,
        source: Arc<dyn RecordSource>,
        factory: impl ShardRecordProcessorFactory,
    ) -> Self {
        StreamConfig {
            stream,
            source,
            factory: Arc::new(factory),
            initial_position: None,
            processing: None,
        }
    }

    /// Where this stream's shards start when their leases are created (builder style; default: the
    /// worker's [`initial_position`](crate::WorkerConfigBuilder::initial_position)).
    pub fn initial_position(mut self, position: InitialPosition) -> Self {
        self.initial_position = Some(position);
        self
    }

    /// How this stream's batches are formed, retried and filtered (builder style; default: the worker's
    /// [`processing`](crate::WorkerConfigBuilder::processing) policy). With a `RetryThenSkip` or
    /// `RetryThenStop` [`ProcessorErrorPolicy`](crate::ProcessorErrorPolicy) on the worker, that policy's
    /// retry budget applies and the override's `maximum_retry_attempts` is not used.
    pub fn processing(mut self, policy: ProcessingPolicy) -> Self {
        self.processing = Some(policy);
        self
    }

    /// The stream.
    pub fn stream(&self) -> &StreamIdentifier {
        &self.stream
    }

    /// The stream's source.
    pub fn source(&self) -> &Arc<dyn RecordSource> {
        &self.source
    }

    /// The stream's own initial position, if set.
    pub fn initial_position_override(&self) -> Option<InitialPosition> {
        self.initial_position
    }

    /// The stream's own processing policy, if set.
    pub fn processing_override(&self) -> Option<&ProcessingPolicy> {
        self.processing.as_ref()
    }

    /// The worker configuration this stream's consumers run with: `base` with the stream's overrides.
    pub(crate) fn effective_config(&self, base: &Arc<WorkerConfig>) -> Arc<WorkerConfig> {
        if self.initial_position.is_none() && self.processing.is_none() {
            return Arc::clone(base);
        }
        Arc::new(base.for_stream(self.initial_position, self.processing.clone()))
    }
}

/// Which streams a multi-stream worker consumes. Object safe: used as `Arc<dyn StreamTracker>`.
///
/// Asked on every shard sync; see the [module docs](self) for what happens to streams added and removed.
/// A ready-made implementation for lists changed by the application: [`StreamSet`].
#[async_trait]
pub trait StreamTracker: Send + Sync + fmt::Debug {
    /// The streams to consume now.
    ///
    /// # Errors
    ///
    /// Any failure (reading a configuration service, say): logged, and the streams known so far are kept
    /// (an error never removes a stream).
    async fn streams(&self) -> std::result::Result<Vec<StreamConfig>, BoxError>;

    /// Returns when the list may have changed since this call was first polled, so shard sync runs at
    /// once instead of at its next interval (the worker starts waiting before each sync, so a change
    /// during a sync brings the next one forward). Return only on a change: each return costs a sync. The
    /// default never returns (the tracker is asked every shard-sync interval only).
    async fn changed(&self) {
        std::future::pending::<()>().await;
    }
}

/// A [`StreamTracker`] the application changes at run time: a set of [`StreamConfig`]s by stream. Cheap
/// to clone; clones share the set (keep one, give one to the [`MultiStreamSource`]).
#[derive(Clone, Debug, Default)]
pub struct StreamSet {
    inner: Arc<SetInner>,
}

#[derive(Debug, Default)]
struct SetInner {
    streams: Mutex<BTreeMap<String, StreamConfig>>,
    changed: Notify,
}

impl StreamSet {
    /// An empty set.
    pub fn new() -> Self {
        StreamSet::default()
    }

    fn lock(&self) -> MutexGuard<'_, BTreeMap<String, StreamConfig>> {
        self.inner.streams.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Adds a stream, or replaces the configuration of a stream already in the set (leases already
    /// created keep their checkpoints; a new initial position applies to leases created from now on).
    /// Returns true when the stream was not in the set.
    pub fn add(&self, config: StreamConfig) -> bool {
        let added = self.lock().insert(config.stream.serialize(), config).is_none();
        self.inner.changed.notify_waiters();
        added
    }

    /// Removes a stream (its leases are deleted after the grace period, see the
    /// [module docs](self)). Returns true when it was in the set.
    pub fn remove(&self, stream: &StreamIdentifier) -> bool {
        let removed = self.lock().remove(&stream.serialize()).is_some();
        if removed {
            self.inner.changed.notify_waiters();
        }
        removed
    }

    /// True when `stream` is in the set.
    pub fn contains(&self, stream: &StreamIdentifier) -> bool {
        self.lock().contains_key(&stream.serialize())
    }

    /// The streams in the set.
    pub fn streams(&self) -> Vec<StreamIdentifier> {
        self.lock().values().map(|c| c.stream.clone()).collect()
    }
}

#[async_trait]
impl StreamTracker for StreamSet {
    async fn streams(&self) -> std::result::Result<Vec<StreamConfig>, BoxError> {
        Ok(self.lock().values().cloned().collect())
    }

    async fn changed(&self) {
        self.inner.changed.notified().await;
    }
}

/// A stream the tracker stopped listing: still readable until its leases are deleted.
#[derive(Debug, Clone)]
struct Former {
    config: StreamConfig,
    /// When this worker found it gone from the tracker's list.
    since: Instant,
}

#[derive(Debug, Default)]
struct State {
    /// The streams the tracker lists, by serialized identifier.
    tracked: BTreeMap<String, StreamConfig>,
    /// Streams the tracker stopped listing whose leases are not all deleted yet.
    former: BTreeMap<String, Former>,
}

/// The streams of a multi-stream worker, as its [`StreamTracker`] lists them, and a [`RecordSource`] over
/// all of them. See the [module docs](self).
///
/// As a `RecordSource` (for tools and tests; the worker reads each shard through its stream's own
/// source): [`list_shards`](RecordSource::list_shards) lists every tracked stream and names each shard,
/// and its parents, by its lease key `account:stream:creationEpoch:shardId`;
/// [`open_reader`](RecordSource::open_reader) takes such a key and reads the shard through its stream's
/// source, naming child shards by their lease keys too ([`PrefixedReader`]).
pub struct MultiStreamSource {
    tracker: Arc<dyn StreamTracker>,
    grace_period: Duration,
    state: Mutex<State>,
}

impl fmt::Debug for MultiStreamSource {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("MultiStreamSource")
            .field("tracker", &self.tracker)
            .field("grace_period", &self.grace_period)
            .finish_non_exhaustive()
    }
}

/// What a refresh of the tracked streams changed.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub(crate) struct StreamsChange {
    /// Streams newly tracked (or tracked again), serialized.
    pub(crate) added: Vec<String>,
    /// Streams no longer tracked, serialized.
    pub(crate) removed: Vec<String>,
}

/// True when `stream` makes lease keys that split back into it (no empty part, no `:` in the account or
/// the name).
fn valid_identifier(stream: &StreamIdentifier) -> bool {
    !stream.account_id.is_empty()
        && !stream.stream_name.is_empty()
        && !stream.account_id.contains(':')
        && !stream.stream_name.contains(':')
}

impl MultiStreamSource {
    /// The streams `tracker` lists, with the [default grace period](DEFAULT_GRACE_PERIOD). Nothing is
    /// asked of the tracker until the worker's first shard sync.
    pub fn new(tracker: impl StreamTracker + 'static) -> Self {
        MultiStreamSource {
            tracker: Arc::new(tracker),
            grace_period: DEFAULT_GRACE_PERIOD,
            state: Mutex::new(State::default()),
        }
    }

    /// How long the leases of a stream the tracker stopped listing are kept, and processed, before shard
    /// sync deletes them (builder style; default [`DEFAULT_GRACE_PERIOD`]). `Duration::ZERO` deletes them
    /// at the sync that finds the stream gone.
    pub fn with_grace_period(mut self, grace_period: Duration) -> Self {
        self.grace_period = grace_period;
        self
    }

    /// The grace period (see [`with_grace_period`](Self::with_grace_period)).
    pub fn grace_period(&self) -> Duration {
        self.grace_period
    }

    fn lock(&self) -> MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// The streams tracked now (as of the last shard sync).
    pub fn streams(&self) -> Vec<StreamIdentifier> {
        self.lock().tracked.values().map(|c| c.stream.clone()).collect()
    }

    /// The streams the tracker stopped listing whose leases are still in the table (or whose grace period
    /// has not run out), with how long ago this worker found each gone.
    pub fn former_streams(&self) -> Vec<(StreamIdentifier, Duration)> {
        let now = Instant::now();
        self.lock()
            .former
            .values()
            .map(|f| (f.config.stream.clone(), now.saturating_duration_since(f.since)))
            .collect()
    }

    /// Returns when the tracker reports a change (see [`StreamTracker::changed`]).
    pub(crate) async fn tracker_changed(&self) {
        self.tracker.changed().await;
    }

    /// Asks the tracker for its streams and updates the tracked and former streams.
    ///
    /// # Errors
    ///
    /// The tracker's failure (the streams known so far are kept).
    pub(crate) async fn refresh(&self) -> Result<StreamsChange> {
        let listed = self.tracker.streams().await.map_err(|e| Error::Source {
            operation: "StreamTracker::streams",
            code: "StreamTrackerFailed".to_owned(),
            message: e.to_string(),
            retryable: true,
            source: Some(e),
        })?;
        let mut next = BTreeMap::new();
        for config in listed {
            if !valid_identifier(&config.stream) {
                tracing::error!(
                    stream = %config.stream.serialize(),
                    "stream identifier with an empty part or a ':' in the account or the name; not consumed"
                );
                continue;
            }
            next.insert(config.stream.serialize(), config);
        }
        let now = Instant::now();
        let mut state = self.lock();
        let mut change = StreamsChange::default();
        for id in next.keys() {
            if !state.tracked.contains_key(id) {
                if let Some(former) = state.former.remove(id) {
                    if now < former.since + self.grace_period {
                        tracing::info!(stream = %id, "stream tracked again within its grace period: its leases are kept");
                    } else {
                        tracing::info!(stream = %id, "stream tracked again after its grace period: leases already deleted start again at its initial position");
                    }
                } else {
                    tracing::info!(stream = %id, "stream added");
                }
                change.added.push(id.clone());
            }
        }
        let removed: Vec<String> = state
            .tracked
            .keys()
            .filter(|id| !next.contains_key(*id))
            .cloned()
            .collect();
        for id in removed {
            if let Some(config) = state.tracked.remove(&id) {
                tracing::info!(
                    stream = %id,
                    grace_period = ?self.grace_period,
                    "stream removed: its leases are deleted after the grace period"
                );
                state.former.insert(id.clone(), Former { config, since: now });
                change.removed.push(id);
            }
        }
        state.tracked = next;
        Ok(change)
    }

    /// The tracked streams' configurations.
    pub(crate) fn tracked(&self) -> Vec<StreamConfig> {
        self.lock().tracked.values().cloned().collect()
    }

    /// The former streams (serialized) whose grace period ran out by `now`.
    pub(crate) fn expired_former(&self, now: Instant) -> Vec<String> {
        self.lock()
            .former
            .iter()
            .filter(|(_, f)| now >= f.since + self.grace_period)
            .map(|(id, _)| id.clone())
            .collect()
    }

    /// Forgets a former stream whose leases are all deleted (unless it is tracked again meanwhile).
    pub(crate) fn forget(&self, stream: &str) {
        if self.lock().former.remove(stream).is_some() {
            tracing::info!(%stream, "every lease of the removed stream is deleted");
        }
    }

    /// The configuration of the stream of lease `key`: tracked, or former while its leases remain.
    pub(crate) fn config_for_key(&self, key: &str) -> Option<StreamConfig> {
        let stream = LeaseKey::new(key).stream()?.serialize();
        let state = self.lock();
        state
            .tracked
            .get(&stream)
            .or_else(|| state.former.get(&stream).map(|f| &f.config))
            .cloned()
    }

    /// The context of the consumer of lease `key`: `base` with its stream's source, its stream's
    /// configuration (the worker's with the stream's overrides) and its stream. `None` when the stream is
    /// neither tracked nor former.
    pub(crate) fn consumer_context(&self, base: &ConsumerContext, key: &str) -> Option<ConsumerContext> {
        let config = self.config_for_key(key)?;
        let mut ctx = base.clone();
        ctx.source = Arc::clone(&config.source);
        ctx.config = config.effective_config(&base.config);
        ctx.stream = Some(config.stream.clone());
        Some(ctx)
    }

    /// True when this worker can consume lease `key` (its stream is tracked, or former with leases left).
    pub(crate) fn can_consume(&self, key: &str) -> bool {
        self.config_for_key(key).is_some()
    }
}

/// Names a stream's shards by their lease keys: the shard and its parents.
pub(crate) fn prefix_shards(
    stream: &StreamIdentifier,
    shards: Vec<ShardDescription>,
) -> Vec<ShardDescription> {
    let key = |id: &str| LeaseKey::multi_stream(stream, id).as_str().to_owned();
    shards
        .into_iter()
        .map(|mut shard| {
            shard.shard_id = key(&shard.shard_id);
            shard.parent_shard_id = shard.parent_shard_id.as_deref().map(key);
            shard.adjacent_parent_shard_id = shard.adjacent_parent_shard_id.as_deref().map(key);
            shard
        })
        .collect()
}

#[async_trait]
impl RecordSource for MultiStreamSource {
    /// Every shard of every tracked stream, named (with its parents) by its lease key. A stream whose
    /// listing fails fails the whole call.
    async fn list_shards(&self, filter: &ShardFilter) -> Result<Vec<ShardDescription>> {
        let mut all = Vec::new();
        for config in self.tracked() {
            let shards = config.source.list_shards(filter).await?;
            all.extend(prefix_shards(&config.stream, shards));
        }
        Ok(all)
    }

    /// Reads the shard of lease key `request.shard_id` through its stream's source. A key that is not a
    /// multi-stream key, or whose stream is not tracked, gives a reader that fails with
    /// [`Error::ResourceNotFound`].
    fn open_reader(&self, mut request: ReadRequest) -> Box<dyn ShardReader> {
        let key = LeaseKey::new(request.shard_id.clone());
        match (key.stream(), self.config_for_key(key.as_str())) {
            (Some(stream), Some(config)) => {
                request.shard_id = key.shard_id().to_owned();
                Box::new(PrefixedReader::new(stream, config.source.open_reader(request)))
            }
            _ => Box::new(reader::Missing {
                key: key.as_str().to_owned(),
            }),
        }
    }
}

/// The worker's factory in multi-stream mode: called with a lease key, it makes the processor with the
/// lease's stream's factory, given the shard id within the stream.
pub(crate) struct StreamFactories(pub(crate) Arc<MultiStreamSource>);

impl ShardRecordProcessorFactory for StreamFactories {
    fn create_processor(&self, key: &str) -> Box<dyn ShardRecordProcessor> {
        match self.0.config_for_key(key) {
            Some(config) => config.factory.create_processor(LeaseKey::new(key).shard_id()),
            // The consumer catches the panic and retries with backoff (the taker takes no lease of an
            // unknown stream, so this is a race with a stream's leases being deleted).
            None => panic!("lease {key} belongs to no stream this worker tracks"),
        }
    }
}
