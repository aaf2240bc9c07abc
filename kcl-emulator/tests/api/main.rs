//! The in-process emulator, operation by operation: every Kinesis operation's semantics and errors called
//! through the [`kcl_emulator::Emulator`] handle (no server, no sockets), plus property and concurrency tests
//! over sequences of operations. Shared helpers are in `support.rs`.

mod support;

mod concurrency;
mod consumers;
mod faults;
mod iterators;
mod list_shards;
mod property;
mod queues;
mod records;
mod resharding;
mod retention;
mod robustness;
mod snapshot;
mod streams;
mod throughput;

// Settings, resource policies, tags by ARN, channels.
mod account;
mod channels;
mod distribution;
mod resources;
mod stream_settings;
