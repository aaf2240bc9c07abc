//! kcl-core: the kcl-rs worker.
//!
//! A [`Worker`] consumes a Kinesis stream with a fleet of peers: it balances shard leases with them
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
//! - [`config`]: [`WorkerConfig`] and its builder, defaults vs the Java KCL.
//! - [`assignment`]: the [`AssignmentStrategy`] trait, [`CountBalanced`] and [`Kcl2Compatible`]. Balancing
//!   moves are cooperative handoffs (see [`WorkerConfigBuilder::graceful_handoff`]).
//! - [`worker`]: [`Worker`], [`WorkerHandle`]; internally `leases` (renewer, taker), `shard_sync`,
//!   `consumer` (the per-shard state machine, [`ConsumerState`]) and `retrieval` (polling prefetch).
//! - [`source`]: the [`RecordSource`] trait, `source::EmulatorSource` (feature
//!   `emulator`), [`KinesisSource`](source::KinesisSource) (polling) and
//!   [`FanOutSource`](source::FanOutSource) (enhanced fan-out, falling back to polling; both feature
//!   `kinesis`).
//! - [`events`]: [`LeaseEvent`]s reported to a [`LeaseEventListener`] (lease taken, released, handed off,
//!   lost).
//! - [`status`]: [`WorkerStatusSnapshot`] (phase, health, readiness, per-shard progress).
//! - [`metrics`]: metric names; [`clock`]: wall time following tokio time; [`error`]: [`Error`].

pub mod assignment;
pub mod checkpointer;
pub mod clock;
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
pub use processor::{
    InitializationInput, ProcessRecordsInput, ProcessorError, ShardRecordProcessor,
    ShardRecordProcessorFactory,
};
pub use record::{ChildShard, Record};
pub use source::{GetRecordsOutput, IteratorPosition, RecordSource, ShardDescription, ShardFilter};
pub use status::{Balance, Check, ShardStatus, StatusReader, WorkerPhase, WorkerStatusSnapshot};
pub use worker::{ShutdownReport, Worker, WorkerBuilder, WorkerHandle};
