//! kcl-emulator: Kinesis Data Streams emulated in-process.
//!
//! An [`Emulator`] behaves like the Kinesis Data Streams API: streams and their lifecycle, shards with
//! 128-bit hash-key ranges, sequence numbers unique and increasing per shard, the five shard-iterator
//! types with their five-minute expiry, retention trimming, SplitShard / MergeShards / UpdateShardCount,
//! ListShards filters, per-shard throughput limits, stream consumers and SubscribeToShard, stream
//! settings (encryption, enhanced monitoring, maximum record size up to 10 MiB, warm throughput, the AUTO
//! record distribution), account settings and limits, resource policies, tags by ARN, and channels (as
//! state: nothing is delivered). Its wall
//! clock follows tokio time ([`clock`]), so `#[tokio::test(start_paused = true)]` drives arrival
//! timestamps, iterator expiry, retention and throttling deterministically; [`Faults`] injects errors,
//! latency and throttling.
//!
//! # Layout
//! One operation, one place: each Kinesis operation is one file under `ops/` (its request and response
//! types, validation and logic) plus one entry in the list in `ops/mod.rs`, from which the [`Operation`]
//! enum (`operation.rs`), the [`Emulator`] methods (`emulator.rs`) and the server's routing
//! (`server/backend.rs`) are generated; scripted [`faults`] wrap every call at that one dispatch point
//! (`dispatch.rs`). Operation files import no other operation file; what they share has its own module:
//! - [`Emulator`] (`emulator.rs`): the handle (configuration, faults, snapshots; the operation methods
//!   are generated);
//! - `ops/`: one module per operation, and the list; `dispatch.rs`: the fault wrapper around each call,
//!   the list's entry syntax, and what operations implement for the dispatch point;
//! - [`types`]: the public request and response shapes, gathered from `ops/` and `shapes.rs` (the shapes
//!   several operations share), serializable with the AWS field names; `blob.rs`: serde for record data;
//!   `timestamp.rs`: [`types::Timestamp`];
//! - `queue/`: the queues' delivery state (per-record visibility, receipt handles, dead letters) behind
//!   the twelve queue operations, and their shapes;
//! - `state/`: the emulator's state and its lock order: `mod.rs` ([`Emulator`]'s shared state and the
//!   stream map), `stream.rs` (streams, their metadata and consumers), `shard.rs` (shards and their record
//!   storage);
//! - shared pieces of the operations: `lookup.rs` (the stream a request names, status checks),
//!   `consumer.rs` (consumer lookup), `iterator.rs` (shard-iterator tokens and starting positions),
//!   `read.rs` (the record read of GetRecords and subscriptions), `write.rs` (the write path of PutRecord
//!   and PutRecords), `bucket.rs` (the throughput bucket), `reshard.rs` (split and merge primitives),
//!   `tags.rs`, `retention.rs`, `validate.rs`, `token.rs` (signed tokens), `sequence.rs`, `hashkey.rs`;
//!   `settings.rs` (stream and account settings, stream ids), `resource.rs` (resources named by ARN, with
//!   their tags and policies), `channel.rs` (channel shapes, state and lookup);
//! - [`error`]: [`KinesisError`] and [`ErrorCode`];
//! - [`config`]: the [`EmulatorConfig`] and its builder;
//! - [`faults`]: fault injection; [`clock`]: wall time on tokio time;
//! - [`subscription`]: SubscribeToShard event streams;
//! - [`snapshot`]: [`EmulatorSnapshot`], the exact state for persistence;
//! - [`operation`]: the [`Operation`] enum (generated from the list);
//! - `server` (feature `server`, on by default): the Kinesis wire-protocol server behind the
//!   `kcl-emulator` binary;
//! - `test_util` (feature `test-util`): what the workspace's tests share (loud skips, the server in
//!   process with an SDK client, a KPL aggregate encoder);
//! - `testcontainers` (feature `testcontainers`): the emulator's container image as a testcontainers module.
//!
//! ## Adding an operation
//! 1. `ops/<operation>.rs`: module docs (what it does, its errors), its `...Input` / `...Output` types,
//!    `dispatch::Scoped` for the input (or `named_stream!` when it has `stream_name` /
//!    `stream_arn`), and `execute(&Inner, Input) -> Result<Output, KinesisError>`;
//! 2. one entry in the list in `ops/mod.rs` (`Name => method(Input) -> Output [writes];`, see
//!    `dispatch.rs` for the flags) and declare the module there;
//! 3. one `pub use` line in `types.rs`, so the types have their public path (and remove the name from the
//!    server's list of unimplemented operations, `server/target.rs`).
//!
//! # Errors
//! STYLE asks for one error enum per crate; this crate has exactly three error types, one per layer, because
//! their users never handle two of them at the same call:
//! - [`KinesisError`] (with [`ErrorCode`]): the failure of an emulated operation, and the only error an
//!   operation returns. It stays AWS-shaped (an open code plus message, `is_retryable()`) because the
//!   server puts it on the wire as `__type` / `message` and clients match it by code, including codes that
//!   fault injection scripts; an enum of Rust variants could not round-trip those.
//! - [`ConfigError`]: what is handed in to *build* an emulator is invalid (a builder value, a snapshot to
//!   restore). Never returned by operations, so operations do not carry variants they cannot produce.
//! - `server::ServerError` (feature `server`): the server cannot start or keep running (bind, TLS,
//!   persistence files, initial streams). When the emulator refuses a request the server makes on its own
//!   behalf, `ServerError::Emulator` carries that `KinesisError`'s code and message. Request failures never
//!   become a `ServerError`: they are answered to the client as AWS-shaped errors.
//!
//! Each is `#[non_exhaustive]` with predicates (`is_retryable`, `is_snapshot`, `is_config`).

mod blob;
mod bucket;
mod channel;
pub mod clock;
pub mod config;
mod consumer;
mod dispatch;
mod emulator;
pub mod error;
pub mod faults;
mod hashkey;
mod iterator;
mod lookup;
pub mod operation;
mod ops;
mod queue;
mod read;
mod reshard;
mod resource;
mod retention;
mod sequence;
#[cfg(feature = "server")]
pub mod server;
mod settings;
mod shapes;
pub mod snapshot;
mod state;
pub mod subscription;
mod tags;
#[cfg(feature = "test-util")]
pub mod test_util;
#[cfg(feature = "testcontainers")]
pub mod testcontainers;
mod timestamp;
mod token;
pub mod types;
mod validate;
mod write;

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
