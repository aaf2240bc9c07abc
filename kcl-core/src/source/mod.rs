//! Where records come from: the [`RecordSource`] and [`ShardReader`] traits and their implementations.
//!
//! A source is bound to one stream. It lists the stream's shards (all pages, with a [`ShardFilter`]) and
//! opens a [`ShardReader`] per shard at a position; the reader yields the shard's batches in order, one
//! [`next_batch`](ShardReader::next_batch) call at a time, waiting as its retrieval needs:
//!
//! - [`PollingReader`] drives GetShardIterator/GetRecords ([`ShardIteratorApi`]): it waits
//!   [`idle_time_between_reads`](ReadRequest::idle_time_between_reads) after an empty read (never after a
//!   read that returned records) and renews an expired iterator from just after the last record it
//!   returned, so nothing is lost or repeated. The aws-sdk-kinesis source, the in-process emulator source
//!   and any custom iterator-shaped source use it.
//! - The enhanced fan-out reader ([`FanOutSource`]) is pushed events by SubscribeToShard and never sleeps;
//!   it resubscribes from the last event's continuation sequence number.
//!
//! Sources map their backend's errors onto [`Error`](crate::Error) at the edge: throttling is
//! [`Error::Throttled`](crate::Error::Throttled), an expired iterator
//! [`Error::ExpiredIterator`](crate::Error::ExpiredIterator), a missing stream or shard
//! [`Error::ResourceNotFound`](crate::Error::ResourceNotFound), anything else
//! [`Error::Source`](crate::Error::Source) with a retryable flag. A reader returns its failures; after one,
//! the next call carries on from the same place. Retries with backoff, the prefetch queue and KPL
//! de-aggregation are the worker's, around every reader alike (`retrieval`). Implementations:
//! - `EmulatorSource` (feature `emulator`): the in-process kcl-emulator;
//! - [`KinesisSource`] (feature `kinesis`): aws-sdk-kinesis, with a client the caller builds;
//! - [`FanOutSource`] (feature `kinesis`): enhanced fan-out (SubscribeToShard, a dedicated 2 MB/s per
//!   shard per consumer), falling back to polling where fan-out is unavailable; see [`fanout`].

use std::fmt;
use std::time::{Duration, SystemTime};

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
mod polling;

#[cfg(feature = "emulator")]
pub use emulator::EmulatorSource;
#[cfg(feature = "kinesis")]
pub use fanout::{FanOutConfig, FanOutSource, RetrievalMode};
#[cfg(feature = "kinesis")]
pub use kinesis::KinesisSource;
pub use polling::{GetRecordsOutput, PollingReader, ShardIteratorApi};

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

/// What a reader is opened for: a shard, where to start, and the retrieval settings that apply.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub struct ReadRequest {
    /// The shard to read.
    pub shard_id: String,
    /// Where reading starts.
    pub start: IteratorPosition,
    /// Records per read at most (GetRecords `Limit`, 1..=10,000). Default 10,000.
    pub max_records: usize,
    /// How long a polling reader waits after a read that returned no records. Default 1.5 s.
    pub idle_time_between_reads: Duration,
    /// GetRecords calls a polling reader makes per second at most, in bursts of as many (`0`: unpaced).
    /// Default 5, the per-shard limit of Kinesis: a reader never throttles itself.
    pub max_reads_per_second: u32,
}

impl ReadRequest {
    /// Reads `shard_id` from `start`, with the default settings.
    pub fn new(shard_id: impl Into<String>, start: IteratorPosition) -> Self {
        ReadRequest {
            shard_id: shard_id.into(),
            start,
            max_records: 10_000,
            idle_time_between_reads: Duration::from_millis(1_500),
            max_reads_per_second: 5,
        }
    }

    /// Sets the records per read (builder style; clamped to 1..=10,000 by the readers).
    pub fn with_max_records(mut self, max_records: usize) -> Self {
        self.max_records = max_records;
        self
    }

    /// Sets the wait after an empty read (builder style).
    pub fn with_idle_time_between_reads(mut self, idle: Duration) -> Self {
        self.idle_time_between_reads = idle;
        self
    }

    /// Sets the most GetRecords calls per second (builder style; `0`: unpaced).
    pub fn with_max_reads_per_second(mut self, reads: u32) -> Self {
        self.max_reads_per_second = reads;
        self
    }
}

/// One batch a [`ShardReader`] yields.
#[derive(Clone, Debug, Default, PartialEq)]
#[non_exhaustive]
pub struct ShardBatch {
    /// The records, in sequence order (possibly none).
    pub records: Vec<Record>,
    /// How far behind the newest record of the shard this read is, in milliseconds.
    pub millis_behind_latest: Option<u64>,
    /// True once a closed shard has been read to its end: this is the last batch.
    pub at_shard_end: bool,
    /// At the end of a closed shard: its children.
    pub child_shards: Vec<ChildShard>,
}

impl ShardBatch {
    /// A batch of `records` that is not the shard end (for tests and custom readers).
    pub fn new(records: Vec<Record>) -> Self {
        ShardBatch {
            records,
            ..ShardBatch::default()
        }
    }

    /// The last batch of a closed shard, naming its children.
    pub fn shard_end(records: Vec<Record>, child_shards: Vec<ChildShard>) -> Self {
        ShardBatch {
            records,
            at_shard_end: true,
            child_shards,
            millis_behind_latest: None,
        }
    }
}

/// Reads one shard in order. Object safe: a source hands out `Box<dyn ShardReader>`.
#[async_trait]
pub trait ShardReader: Send + fmt::Debug {
    /// The next batch. Waits as the retrieval needs: a polling reader sleeps after an empty read, a push
    /// reader waits for the next event. After an error the next call carries on from the same place (no
    /// record lost or repeated). Not called again after a batch with
    /// [`at_shard_end`](ShardBatch::at_shard_end).
    ///
    /// # Errors
    ///
    /// [`Error::Throttled`](crate::Error::Throttled), [`Error::ResourceNotFound`](crate::Error::ResourceNotFound),
    /// [`Error::Source`](crate::Error::Source) (retryable or not), [`Error::Unreachable`](crate::Error::Unreachable).
    async fn next_batch(&mut self) -> Result<ShardBatch>;
}

/// A stream's shards and a reader per shard. Object safe: used as `Arc<dyn RecordSource>`.
#[async_trait]
pub trait RecordSource: Send + Sync + fmt::Debug {
    /// Every shard matching `filter`, following pagination to the end.
    ///
    /// # Errors
    ///
    /// [`Error::Throttled`](crate::Error::Throttled), [`Error::ResourceNotFound`](crate::Error::ResourceNotFound),
    /// [`Error::Source`](crate::Error::Source).
    async fn list_shards(&self, filter: &ShardFilter) -> Result<Vec<ShardDescription>>;

    /// A reader of `request.shard_id` from `request.start`. Makes no call: the reader's first
    /// [`next_batch`](ShardReader::next_batch) does (so failures come from there, where they are retried).
    fn open_reader(&self, request: ReadRequest) -> Box<dyn ShardReader>;

    /// The stream's name or ARN, when the source knows it (named in failed batches sent to the on-failure
    /// destination). The default: `None`.
    fn stream(&self) -> Option<String> {
        None
    }
}

/// Reads `reader` until a batch comes back empty or the shard ends, and returns the records read (a
/// whole shard's retained records, when the reader starts at the trim horizon). For checks and tools.
///
/// # Errors
///
/// The first read that fails.
pub async fn read_available(reader: &mut dyn ShardReader) -> Result<Vec<Record>> {
    let mut records = Vec::new();
    loop {
        let batch = reader.next_batch().await?;
        let done = batch.records.is_empty() || batch.at_shard_end;
        records.extend(batch.records);
        if done {
            return Ok(records);
        }
    }
}

const _: Option<std::sync::Arc<dyn RecordSource>> = None;
const _: Option<Box<dyn ShardReader>> = None;
