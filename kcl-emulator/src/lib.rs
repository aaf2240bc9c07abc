//! kcl-emulator: Kinesis Data Streams emulated in-process.
//!
//! An [`Emulator`] behaves like the Kinesis Data Streams API: streams and their lifecycle, shards with
//! 128-bit hash-key ranges, sequence numbers unique and increasing per shard, the five shard-iterator
//! types with their five-minute expiry, retention trimming, SplitShard / MergeShards / UpdateShardCount,
//! ListShards filters, per-shard throughput limits, stream consumers and SubscribeToShard. Its wall
//! clock follows tokio time ([`clock`]), so `#[tokio::test(start_paused = true)]` drives arrival
//! timestamps, iterator expiry, retention and throttling deterministically; [`Faults`] injects errors,
//! latency and throttling.
//!
//! # Layout
//! - [`Emulator`] (`emulator.rs`): the handle, one async method per operation;
//! - `ops/`: one module per operation, with its validation;
//! - `state.rs`: streams, shards (per-shard locked record storage) and consumers;
//! - [`types`]: request and response shapes, serializable with the AWS field names;
//! - [`error`]: [`KinesisError`] and [`ErrorCode`];
//! - [`config`]: the [`EmulatorConfig`] and its builder;
//! - [`faults`]: fault injection; [`clock`]: wall time on tokio time;
//! - [`subscription`]: SubscribeToShard event streams;
//! - [`snapshot`]: [`EmulatorSnapshot`], the exact state for persistence;
//! - `server` (feature `server`, on by default): the Kinesis wire-protocol server behind the
//!   `kcl-emulator` binary.

pub mod clock;
pub mod config;
mod emulator;
pub mod error;
pub mod faults;
mod hashkey;
pub mod operation;
mod ops;
mod sequence;
#[cfg(feature = "server")]
pub mod server;
pub mod snapshot;
mod state;
pub mod subscription;
mod token;
pub mod types;
mod validate;

pub use clock::Clock;
pub use config::{EmulatorConfig, EmulatorConfigBuilder, ThroughputLimits};
pub use emulator::Emulator;
pub use error::{ConfigError, ErrorCode, KinesisError};
pub use faults::{FaultAction, FaultId, FaultRule, Faults};
pub use operation::Operation;
pub use snapshot::EmulatorSnapshot;
pub use subscription::Subscription;

/// Compiles and runs the examples of README.md as doc tests.
#[cfg(doctest)]
#[doc = include_str!("../README.md")]
struct ReadmeDoctests;
