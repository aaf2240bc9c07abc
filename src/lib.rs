//! kcl-rs: a Kinesis consumer framework for Rust, with its own Kinesis emulator.
//!
//! Workers lease shards through a [`LeaseStore`](checkpoint::LeaseStore), balance them across the fleet,
//! drive one [`ShardRecordProcessor`](core::ShardRecordProcessor) per leased shard and checkpoint with a
//! fenced [`Checkpointer`](core::Checkpointer); the emulator provides Kinesis Data Streams semantics in-process
//! and over the wire, so every behaviour is tested against real shard logs.
//!
//! # Layout
//!
//! This facade only re-exports the member crates; it hosts the workspace's `examples/` (the `quickstart`
//! demo, the worker benchmark) and the cross-crate `tests/` (`worker_*` on the in-process emulator and
//! in-memory store under paused time, `aws_*` over aws-sdk-kinesis against our server and kinesalite).
//!
//! - [`core`] (kcl-core): the worker, record processors, checkpointing, lease coordination, shard sync,
//!   record sources;
//! - [`checkpoint`] (kcl-checkpoint): the lease model and the fenced lease stores (in-memory, DynamoDB);
//! - [`emulator`] (kcl-emulator): Kinesis Data Streams emulated in-process and as a wire-protocol server.

pub use kcl_checkpoint as checkpoint;
pub use kcl_core as core;
pub use kcl_emulator as emulator;
