//! The application's side of the worker: a [`ShardRecordProcessor`] per leased shard.
//!
//! A [`ShardRecordProcessorFactory`] makes one processor each time this worker starts consuming a shard.
//! The worker then calls, in order:
//!
//! 1. [`initialize`](ShardRecordProcessor::initialize) once, with the checkpoint it resumes from;
//! 2. [`process_records`](ShardRecordProcessor::process_records) for each batch, in sequence order;
//! 3. exactly one of [`shard_ended`](ShardRecordProcessor::shard_ended) (the shard is closed and fully
//!    read: checkpoint `SHARD_END`), [`lease_lost`](ShardRecordProcessor::lease_lost) (another worker owns
//!    the shard now: no checkpointing) or [`shutdown_requested`](ShardRecordProcessor::shutdown_requested)
//!    (the worker is stopping gracefully: checkpoint what you finished).
//!
//! A processor that returns an error or panics in `process_records` never silently skips the batch: the
//! [`ProcessorErrorPolicy`](crate::ProcessorErrorPolicy) decides (retry with backoff by default).

use async_trait::async_trait;
use bytes::Bytes;
use kcl_checkpoint::ExtendedSequenceNumber;

use crate::checkpointer::Checkpointer;
use crate::record::{ChildShard, Record};

/// The error a processor returns; any error type converts into it with `?` or `.into()`.
pub type ProcessorError = Box<dyn std::error::Error + Send + Sync + 'static>;

/// What [`ShardRecordProcessor::initialize`] learns about the shard.
#[derive(Clone, Debug, PartialEq)]
#[non_exhaustive]
pub struct InitializationInput {
    /// The shard to process (in multi-stream mode, the shard id within its stream).
    pub shard_id: String,
    /// In multi-stream mode, the stream the shard belongs to (see [`crate::multi_stream`]); `None` for a
    /// single-stream worker.
    pub stream: Option<kcl_checkpoint::StreamIdentifier>,
    /// The checkpoint processing resumes after (an initial-position sentinel if never checkpointed).
    pub checkpoint: ExtendedSequenceNumber,
    /// A checkpoint prepared but not committed by the previous owner, if any.
    pub pending_checkpoint: Option<ExtendedSequenceNumber>,
    /// The application state saved with the pending checkpoint, if any.
    pub pending_checkpoint_state: Option<Bytes>,
}

/// One batch of records for [`ShardRecordProcessor::process_records`].
#[derive(Clone, Debug, Default, PartialEq)]
#[non_exhaustive]
pub struct ProcessRecordsInput {
    /// The records, in sequence order; never empty unless `at_shard_end`.
    pub records: Vec<Record>,
    /// How far the shard's newest record is ahead of this batch, in milliseconds (0 = caught up).
    pub millis_behind_latest: Option<u64>,
    /// At the end of a closed shard: its children. Empty otherwise.
    pub child_shards: Vec<ChildShard>,
    /// True for the last batch of a closed shard; `shard_ended` follows.
    pub at_shard_end: bool,
    /// With [tumbling windows](crate::ProcessingPolicyBuilder::tumbling_window) on: the window this
    /// batch belongs to and its state. `None` otherwise.
    pub tumbling_window: Option<crate::policy::TumblingWindow>,
}

impl ProcessRecordsInput {
    /// A batch (for tests of processors).
    pub fn new(records: Vec<Record>) -> Self {
        ProcessRecordsInput {
            records,
            ..Default::default()
        }
    }

    /// The total payload size of the batch (data + partition keys), in bytes.
    pub fn size_bytes(&self) -> usize {
        self.records.iter().map(Record::size_bytes).sum()
    }
}

/// Processes the records of one shard. Object safe: the worker holds `Box<dyn ShardRecordProcessor>`.
///
/// Every method but `process_records` has a default body. Methods returning `Result` may fail: the
/// worker retries (`initialize`, `shard_ended`, and `process_records` per the error policy); it never
/// moves past a batch the processor did not accept.
#[async_trait]
pub trait ShardRecordProcessor: Send {
    /// Called once before the first batch. The default does nothing.
    ///
    /// # Errors
    ///
    /// An error (or panic) makes the worker retry `initialize` with backoff before reading any record.
    async fn initialize(&mut self, input: &InitializationInput) -> Result<(), ProcessorError> {
        let _ = input;
        Ok(())
    }

    /// Processes one batch. Checkpoint with `checkpointer` whenever convenient (every batch, every N
    /// records, after a flush); after a restart, processing resumes after the last checkpoint.
    ///
    /// # Errors
    ///
    /// An error (or panic) is handled by the configured
    /// [`ProcessorErrorPolicy`](crate::ProcessorErrorPolicy): by default the same batch is retried with
    /// backoff.
    async fn process_records(
        &mut self,
        input: &ProcessRecordsInput,
        checkpointer: &Checkpointer,
    ) -> Result<(), ProcessorError>;

    /// The lease was lost (another worker owns the shard now). Checkpointing is no longer possible.
    /// The default does nothing.
    async fn lease_lost(&mut self) {}

    /// The shard is closed and every record was delivered. The processor must checkpoint `SHARD_END`
    /// (`checkpointer.checkpoint()` does); until it does, the shard is not finished, its children do not
    /// start, and the worker calls `shard_ended` again after a backoff. The default checkpoints.
    ///
    /// # Errors
    ///
    /// An error (or panic) makes the worker retry `shard_ended`.
    async fn shard_ended(&mut self, checkpointer: &Checkpointer) -> Result<(), ProcessorError> {
        checkpointer.checkpoint().await?;
        Ok(())
    }

    /// The worker is shutting down gracefully; checkpoint what was processed so the next owner does not
    /// process it again. The lease is handed off right after. The default does nothing.
    ///
    /// # Errors
    ///
    /// An error is logged; the lease is handed off anyway.
    async fn shutdown_requested(&mut self, checkpointer: &Checkpointer) -> Result<(), ProcessorError> {
        let _ = checkpointer;
        Ok(())
    }
}

/// Makes a processor for each shard this worker starts consuming.
///
/// Implemented for closures `Fn(&str) -> Box<dyn ShardRecordProcessor>` taking the shard id.
pub trait ShardRecordProcessorFactory: Send + Sync + 'static {
    /// A new processor for `shard_id`.
    fn create_processor(&self, shard_id: &str) -> Box<dyn ShardRecordProcessor>;
}

impl<F> ShardRecordProcessorFactory for F
where
    F: Fn(&str) -> Box<dyn ShardRecordProcessor> + Send + Sync + 'static,
{
    fn create_processor(&self, shard_id: &str) -> Box<dyn ShardRecordProcessor> {
        self(shard_id)
    }
}

// Compile-time object-safety checks.
const _: Option<Box<dyn ShardRecordProcessor>> = None;
const _: Option<std::sync::Arc<dyn ShardRecordProcessorFactory>> = None;
