//! Where records come from: the [`RecordSource`] trait and its implementations.
//!
//! A source is bound to one stream and offers the three Kinesis calls the worker needs: `ListShards`
//! (all pages, with a [`ShardFilter`]), `GetShardIterator` and `GetRecords`. It maps its backend's errors
//! onto [`Error`](crate::Error) at the edge: throttling is [`Error::Throttled`](crate::Error::Throttled), an
//! expired iterator [`Error::ExpiredIterator`](crate::Error::ExpiredIterator), a missing stream or shard
//! [`Error::ResourceNotFound`](crate::Error::ResourceNotFound), anything else
//! [`Error::Source`](crate::Error::Source) with a retryable flag.
//!
//! Everything above the raw calls (prefetch, idle waits, iterator renewal, backoff) lives in the worker's
//! retrieval layer, so a source stays a thin adapter. Implementations:
//! - `EmulatorSource` (feature `emulator`): the in-process kcl-emulator;
//! - [`KinesisSource`] (feature `kinesis`): aws-sdk-kinesis, with a client the caller builds;
//! - [`FanOutSource`] (feature `kinesis`): enhanced fan-out (SubscribeToShard, a dedicated 2 MB/s per
//!   shard per consumer), falling back to polling where fan-out is unavailable; see [`fanout`].

use std::fmt;
use std::time::SystemTime;

use async_trait::async_trait;
use kcl_checkpoint::{HashKeyRange, SequenceNumber};

use crate::error::Result;
use crate::record::{ChildShard, Record};

#[cfg(feature = "emulator")]
mod emulator;
#[cfg(feature = "kinesis")]
pub mod fanout;
#[cfg(feature = "kinesis")]
mod kinesis;

#[cfg(feature = "emulator")]
pub use emulator::EmulatorSource;
#[cfg(feature = "kinesis")]
pub use fanout::{FanOutConfig, FanOutSource, RetrievalMode};
#[cfg(feature = "kinesis")]
pub use kinesis::KinesisSource;

/// One shard as ListShards describes it.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub struct ShardDescription {
    /// The shard id.
    pub shard_id: String,
    /// The parent (after a split or merge), if any.
    pub parent_shard_id: Option<String>,
    /// The second parent of a merged shard, if any.
    pub adjacent_parent_shard_id: Option<String>,
    /// The shard's hash-key range, when known.
    pub hash_key_range: Option<HashKeyRange>,
    /// The sequence number of the shard's last record once it is closed; `None` while open.
    pub ending_sequence_number: Option<String>,
}

impl ShardDescription {
    /// An open shard with no parents.
    pub fn new(shard_id: impl Into<String>) -> Self {
        ShardDescription {
            shard_id: shard_id.into(),
            parent_shard_id: None,
            adjacent_parent_shard_id: None,
            hash_key_range: None,
            ending_sequence_number: None,
        }
    }

    /// Sets the parents (builder style).
    pub fn with_parents(mut self, parent: Option<String>, adjacent: Option<String>) -> Self {
        self.parent_shard_id = parent;
        self.adjacent_parent_shard_id = adjacent;
        self
    }

    /// Marks the shard closed (builder style).
    pub fn closed(mut self, ending_sequence_number: impl Into<String>) -> Self {
        self.ending_sequence_number = Some(ending_sequence_number.into());
        self
    }

    /// The parents that exist (zero, one or two).
    pub fn parents(&self) -> impl Iterator<Item = &str> {
        self.parent_shard_id
            .as_deref()
            .into_iter()
            .chain(self.adjacent_parent_shard_id.as_deref())
    }

    /// True while the shard accepts writes.
    pub fn is_open(&self) -> bool {
        self.ending_sequence_number.is_none()
    }
}

/// Which shards ListShards returns (the Kinesis `ShardFilter`).
#[derive(Clone, Debug, PartialEq, Eq, Default)]
#[non_exhaustive]
pub enum ShardFilter {
    /// Every shard, open or closed, still within retention (the Kinesis default).
    #[default]
    FromTrimHorizon,
    /// The shards open at the trim horizon.
    AtTrimHorizon,
    /// The open shards.
    AtLatest,
    /// Shards whose id is after the given one.
    AfterShardId(String),
    /// The shards open at the given time.
    AtTimestamp(SystemTime),
    /// The shards open at or after the given time.
    FromTimestamp(SystemTime),
}

/// Where a shard iterator starts.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum IteratorPosition {
    /// The oldest retained record.
    TrimHorizon,
    /// Just after the newest record.
    Latest,
    /// At the given record.
    AtSequence(SequenceNumber),
    /// Just after the given record.
    AfterSequence(SequenceNumber),
    /// The first record that arrived at or after the given time.
    AtTimestamp(SystemTime),
}

/// The result of one GetRecords call.
#[derive(Clone, Debug, Default, PartialEq)]
#[non_exhaustive]
pub struct GetRecordsOutput {
    /// The records, in sequence order (possibly none).
    pub records: Vec<Record>,
    /// The iterator for the next call; `None` once a closed shard has been read to its end.
    pub next_iterator: Option<String>,
    /// How far behind the newest record of the shard this read is, in milliseconds.
    pub millis_behind_latest: Option<u64>,
    /// At the end of a closed shard: its children.
    pub child_shards: Vec<ChildShard>,
}

impl GetRecordsOutput {
    /// An output (for tests and custom sources).
    pub fn new(records: Vec<Record>, next_iterator: Option<String>) -> Self {
        GetRecordsOutput {
            records,
            next_iterator,
            millis_behind_latest: None,
            child_shards: Vec::new(),
        }
    }
}

/// The raw Kinesis calls the worker makes, for one stream. Object safe: used as `Arc<dyn RecordSource>`.
#[async_trait]
pub trait RecordSource: Send + Sync + fmt::Debug {
    /// Every shard matching `filter`, following pagination to the end.
    ///
    /// # Errors
    ///
    /// [`Error::Throttled`](crate::Error::Throttled), [`Error::ResourceNotFound`](crate::Error::ResourceNotFound),
    /// [`Error::Source`](crate::Error::Source).
    async fn list_shards(&self, filter: &ShardFilter) -> Result<Vec<ShardDescription>>;

    /// A shard iterator at `position`.
    ///
    /// # Errors
    ///
    /// As [`list_shards`](RecordSource::list_shards).
    async fn get_shard_iterator(&self, shard_id: &str, position: &IteratorPosition) -> Result<String>;

    /// Up to `limit` records from `iterator`.
    ///
    /// # Errors
    ///
    /// [`Error::ExpiredIterator`](crate::Error::ExpiredIterator) when the iterator is too old; otherwise as
    /// [`list_shards`](RecordSource::list_shards).
    async fn get_records(&self, shard_id: &str, iterator: &str, limit: usize) -> Result<GetRecordsOutput>;
}

const _: Option<std::sync::Arc<dyn RecordSource>> = None;
