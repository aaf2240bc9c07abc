//! Kinesis wire-protocol server.
//!
//! Serves the in-process emulator over HTTP so that unmodified clients — aws-sdk-kinesis, boto3, the Java SDK,
//! aws-cli — can use it like the real service (or like kinesalite).
//!
//! # Layout
//! - `listener`: the accept loop (HTTP/1.1 and h2c on one socket) and graceful shutdown.
//! - `service`: per-request checks in AWS's order, dispatch, and AWS-shaped error answers.
//! - `operation`: the operation names of `X-Amz-Target`.
//! - `auth`: SigV4 presence checks (signatures are not verified).
//! - `codec`: JSON 1.1 and CBOR 1.1 bodies to and from one canonical form.
//! - `eventstream`: event-stream framing for SubscribeToShard.
//! - `error`: [`ServerError`] and the error answers.

// The emulator backend that uses these pieces lands with the emulator's public API.
#![allow(dead_code)]

mod auth;
mod codec;
mod error;
mod eventstream;
mod listener;
mod operation;
mod service;

pub use error::ServerError;
mod journal;
