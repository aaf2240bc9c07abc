//! kcl-rs: a Kinesis consumer framework for Rust, with its own Kinesis emulator.
//!
//! Workers lease shards through a [`LeaseStore`](checkpoint::LeaseStore), balance them across the fleet,
//! drive one [`ShardRecordProcessor`](core::ShardRecordProcessor) per leased shard and checkpoint with a
//! fenced [`Checkpointer`](core::Checkpointer); the emulator provides Kinesis Data Streams semantics in-process
//! and over the wire, so every behaviour is tested against real shard logs.
//!
//! # Layout
//!
//! This facade re-exports the member crates and adds the operational layer [`service`]; it hosts the workspace's `examples/` (the `quickstart`
//! demo, the worker benchmark) and the cross-crate `tests/` (`worker_*` on the in-process emulator and
//! in-memory store under paused time, `aws_*` over aws-sdk-kinesis against our server and kinesalite).
//!
//! - [`core`] (kcl-core): the worker, record processors, checkpointing, lease coordination, shard sync,
//!   record sources;
//! - [`checkpoint`] (kcl-checkpoint): the lease model and the fenced lease stores (in-memory, DynamoDB);
//! - [`emulator`] (kcl-emulator): Kinesis Data Streams emulated in-process and, with the feature
//!   `emulator-server`, as a wire-protocol server;
//! - [`service`] (features `service` and `http`, on by default): the operational layer for long-running
//!   consumers (ECS and the like): `KCL_*` environment configuration, AWS clients from the SDK's
//!   environment, SIGTERM with a deadline, `/healthz` `/readyz` `/metrics` `/status`, text or JSON logs.
//!
//! # Features
//!
//! | feature | default | what it adds |
//! |---|---|---|
//! | `service` | on | [`service`] without the HTTP endpoints (aws-config, tracing-subscriber, tokio signals) |
//! | `http` | on | the endpoints (a small hyper server, metrics-exporter-prometheus) |
//! | `emulator-server` | off | the emulator's wire-protocol server (hyper server, clap, rcgen, tokio-rustls) |

pub use kcl_checkpoint as checkpoint;
pub use kcl_core as core;
pub use kcl_emulator as emulator;

#[cfg(feature = "service")]
pub mod service;

#[cfg(feature = "experiment")]
pub mod experiment;
