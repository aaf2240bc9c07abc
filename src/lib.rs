//! kcl-rs: a Kinesis consumer framework.
//!
//! This facade re-exports the member crates:
//! - [`core`] (kcl-core): the worker, record processors, checkpointing, lease coordination;
//! - [`checkpoint`] (kcl-checkpoint): the lease model and lease stores;
//! - [`emulator`] (kcl-emulator): Kinesis Data Streams emulated in-process and as a server.

pub use kcl_checkpoint as checkpoint;
pub use kcl_core as core;
pub use kcl_emulator as emulator;
