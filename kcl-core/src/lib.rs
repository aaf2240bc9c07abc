//! kcl-core: the kcl-rs worker.
//!
//! A [`Worker`] consumes a Kinesis stream (or [several](multi_stream)) with a fleet of peers: it balances shard leases with them
//! through a [`LeaseStore`](kcl_checkpoint::LeaseStore), runs one consumer per leased shard that feeds
//! records to your [`ShardRecordProcessor`], and records progress with a fenced [`Checkpointer`].
//!
//! ```no_run
//! use std::sync::Arc;
//! use kcl_core::{Checkpointer, ProcessRecordsInput, ProcessorError, ShardRecordProcessor, Worker, WorkerConfig};
//! # async fn demo(store: Arc<dyn kcl_checkpoint::LeaseStore>, source: Arc<dyn kcl_core::RecordSource>)
//! #     -> Result<(), kcl_core::Error> {
//! struct Printer;
//!
//! #[async_trait::async_trait]
//! impl ShardRecordProcessor for Printer {
//!     async fn process_records(
//!         &mut self,
//!         input: &ProcessRecordsInput,
//!         checkpointer: &Checkpointer,
//!     ) -> Result<(), ProcessorError> {
//!         for record in &input.records {
//!             println!("{} {:?}", record.partition_key, record.data);
//!         }
//!         checkpointer.checkpoint().await?;
//!         Ok(())
//!     }
//! }
//!
//! let config = WorkerConfig::builder().build()?;
//! let factory = |_shard: &str| Box::new(Printer) as Box<dyn ShardRecordProcessor>;
//! let handle = Worker::builder(store, source, factory, "worker-1").config(config).build()?.spawn();
//! // ... later:
//! handle.shutdown().await?;
//! # Ok(())
//! # }
//! ```
//!
//! # Layout
//!
//! - [`processor`]: the [`ShardRecordProcessor`] trait and its inputs; [`record`]: [`Record`].
//! - [`checkpointer`]: [`Checkpointer`] (range-checked, fenced, two-phase).
//! - [`policy`]: [`ProcessingPolicy`], Lambda's event source mapping options (in `policy/mod.rs`, with the
//!   table of options and ranges); on-failure destinations ([`FailureDestination`], [`FailedBatch`],
//!   `destination/json_lines.rs`, `destination/kinesis.rs`); [`FilterCriteria`] (`filter.rs`, quamina);
//!   [`TumblingWindow`] (`window.rs`); [`BatchItemFailure`] (`item_failure.rs`). `clock` is the one place
//!   wall time is read.
//! - [`config`]: [`WorkerConfig`] (in `config/mod.rs`, defaults vs the Java KCL), its
//!   [`WorkerConfigBuilder`] (`config/builder.rs`) and [`Backoff`] with the seeded jitter
//!   (`config/backoff.rs`).
//! - [`assignment`]: the [`AssignmentStrategy`] trait and what it decides on; one file per built-in strategy:
//!   [`CountBalanced`] (`count.rs`), [`Kcl2Compatible`] (`kcl2.rs`), [`UtilizationAware`]
//!   (`utilization.rs`). Balancing moves are cooperative handoffs (see
//!   [`WorkerConfigBuilder::graceful_handoff`]).
//! - [`worker`]: [`Worker`] and its builder, wiring the tasks below and stopping them in order;
//!   [`WorkerHandle`] and [`ShutdownReport`] in `worker/handle.rs`. Internally:
//!   - `leases`: lease coordination. `table.rs` the lease-table view; `renewer.rs` the renewer loop
//!     (per lease or heartbeat); `observe.rs` what the taker learns from a listing (expiry); `taker.rs`
//!     the taker cycle and the `Taker` the worker loop drives; `load_reports.rs` the load-report loop.
//!   - `held`: one held lease (`mod.rs`), its validity and renewals (`validity.rs`), fenced checkpoints
//!     (`checkpoint.rs`), releases and handoffs (`handoff.rs`), and the `HeldSet` (`set.rs`).
//!   - `shard_sync`: one sync (`mod.rs`), its planning (`plan.rs`: ancestry rules, cleanup, expired
//!     shards), the multi-stream sync (`streams.rs`: each tracked stream on its own, removed streams'
//!     leases deleted after the grace period), child leases at a shard end (`children.rs`) and the sync
//!     loop (`sync_loop.rs`).
//!   - `consumer`: the per-shard state machine (`mod.rs`: its states and stops, and the `retry!` helper
//!     every retried call uses); waiting for a previous owner or for parents (`waiting.rs`); the processing
//!     loop (`processing.rs`); batches cut by the policy (`batcher.rs`) and delivered under it
//!     (`delivery.rs`: filters, age, retries, bisection, partial responses, the destination, windows);
//!     lanes of a parallelized shard (`lanes.rs`) and their low watermark (`watermark.rs`); the calls
//!     into the processor (`calls.rs`). Its
//!     [`ConsumerState`] in `consumer_state.rs`.
//!   - `retrieval`: around every shard reader, `RetryingReader` (retries with backoff), KPL
//!     de-aggregation and the prefetch task whose budgets are checked before each read.
//!   - `fleet` (heartbeat-mode fleet view); `signal` (watch channels).
//! - [`source`]: where records come from. [`RecordSource`] lists shards and opens a [`ShardReader`] per
//!   shard; [`PollingReader`] (`polling.rs`) drives any [`ShardIteratorApi`] (GetShardIterator /
//!   GetRecords): `source::EmulatorSource` (feature `emulator`, the in-process emulator) and
//!   [`KinesisSource`](source::KinesisSource) (aws-sdk-kinesis); [`FanOutSource`](source::FanOutSource)
//!   (`fanout/`: registration in `mod.rs`, the pushed reader in `reader.rs`, error classes in
//!   `errors.rs`; both feature `kinesis`).
//! - [`multi_stream`]: one worker consuming several streams (the Java KCL's multi-stream mode):
//!   [`MultiStreamSource`](multi_stream::MultiStreamSource) over a
//!   [`StreamTracker`](multi_stream::StreamTracker) ([`StreamSet`](multi_stream::StreamSet) for run-time
//!   changes), a [`StreamConfig`](multi_stream::StreamConfig) per stream (source, factory, initial
//!   position, processing policy), lease keys `account:stream:creationEpoch:shardId`, the grace period of
//!   removed streams (`mod.rs`); the reader naming child shards by lease key (`reader.rs`). A consumer
//!   of a multi-stream lease gets its stream's source and settings ([`Worker::builder_multi_stream`]).
//! - [`events`]: [`LeaseEvent`]s reported to a [`LeaseEventListener`] (lease taken, released, handed off,
//!   lost).
//! - [`status`]: [`WorkerStatusSnapshot`] (phase, health, readiness, per-shard progress); internally the
//!   shared `WorkerStatus` (`shared.rs`) and the store wrapper that records answers (`answers.rs`).
//! - [`metrics`]: metric names; [`load`]: load meters;
//!   [`error`]: [`Error`].
//!
//! Module dependencies are one-way (no import cycles): `status` and `consumer` read `consumer_state`;
//! `leases`, `shard_sync` and `status` build on `held`; `worker` wires them all.

pub mod assignment;
pub mod checkpointer;
mod clock;
pub mod config;
mod consumer;
mod consumer_state;
mod deaggregation;
pub mod error;
pub mod events;
mod fleet;
mod held;
mod leases;
pub mod load;
pub mod metrics;
pub mod multi_stream;
pub mod policy;
pub mod processor;
pub mod record;
mod retrieval;
mod shard_sync;
mod signal;
pub mod source;
pub mod status;
pub mod worker;

/// Re-exported so processors can be written without depending on `async-trait` directly.
pub use async_trait::async_trait;

pub use assignment::{
    Assignment, AssignmentSnapshot, AssignmentStrategy, CountBalanced, Kcl2Compatible, LeaseInfo,
    UtilizationAware,
};
pub use checkpointer::{Checkpointer, PreparedCheckpoint};
pub use config::{
    Backoff, ConfigError, InitialPosition, LeaseRenewal, ProcessorErrorPolicy, WorkerConfig,
    WorkerConfigBuilder,
};
pub use consumer_state::ConsumerState;
pub use error::{BoxError, Error, Result};
pub use events::{LeaseEvent, LeaseEventListener};
pub use policy::{
    BatchItemFailure, FailedBatch, FailureCondition, FailureDestination, FilterCriteria,
    JsonLinesDestination, ProcessingPolicy, ProcessingPolicyBuilder, TumblingWindow,
};
pub use processor::{
    InitializationInput, ProcessRecordsInput, ProcessorError, ShardRecordProcessor,
    ShardRecordProcessorFactory,
};
pub use record::{ChildShard, Record};
pub use source::{
    GetRecordsOutput, IteratorPosition, PollingReader, ReadRequest, RecordSource, ShardBatch,
    ShardDescription, ShardFilter, ShardIteratorApi, ShardReader,
};
pub use status::{Balance, Check, ShardStatus, StatusReader, WorkerPhase, WorkerStatusSnapshot};
pub use worker::{ShutdownReport, Worker, WorkerBuilder, WorkerHandle};
