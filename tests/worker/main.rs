//! The worker on paused tokio time against the in-process emulator and the in-memory lease store: one
//! module per area of the worker's behaviour, sharing the stream, recording processor and checks of
//! `support/`. No sockets, so every test runs on virtual time and in milliseconds.

mod support;

mod balancing;
mod checkpointing;
mod end_to_end;
mod failover;
mod kpl;
mod lease_handoff;
mod lease_lost;
mod multi_stream;
mod parallelization;
mod processing_policy;
mod processor_errors;
mod regressions;
mod resharding;
mod retrieval;
mod shutdown;
