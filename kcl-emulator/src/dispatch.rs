//! The dispatch point: where scripted faults wrap every operation call, and what operations implement
//! for it.
//!
//! The one list of operations (`ops/mod.rs`) is expanded three times: into the [`Operation`] enum
//! (`operation.rs`), the [`Emulator`](crate::Emulator) methods (`emulator.rs`, which call the wrappers
//! here around each operation) and the server's routing (`server/backend.rs`). Each entry names an operation, its method (which is also its module under `ops/`),
//! its input and output (types of that module, re-exported from [`types`](crate::types)), and a few
//! flags:
//! - `writes` or `reads`: whether it changes state (the server persists after those that write);
//! - `at_shard`: the operation touches one shard, and fault rules scoped to a shard apply to it once the
//!   shard is known. Its module splits in two: `locate(&Inner, Input) -> Result<AtShard<Plan>, _>`
//!   validates the request and finds the stream and shard, `execute(&Inner, AtShard<Plan>)` does the
//!   rest; the dispatch point runs the shard's fault rules in between;
//! - `per_record`: shard-scoped fault rules fail individual records (PutRecord, PutRecords): `execute`
//!   takes a [`RecordFaults`] that the write path asks for each record it is about to store;
//! - `events`: the output is a [`Subscription`](crate::Subscription), which the server answers as an
//!   event stream.
//!
//! Every module has `execute(&Inner, Input) -> Result<Output, KinesisError>` (async) unless a flag says
//! otherwise, and its input implements [`Scoped`] (the stream a request targets, for stream-scoped
//! rules). Before any operation runs, the rules without a shard are applied ([`before`]): latency, then
//! the scripted error, if any. When no rule is installed each check is a single atomic load.

use std::sync::Arc;

use crate::error::KinesisError;
use crate::operation::Operation;
use crate::state::{Inner, ShardState, StreamState};

/// What fault rules need to know about a request before it runs.
pub(crate) trait Scoped {
    /// The stream the request targets, when it can be told cheaply (for stream-scoped fault rules); no
    /// validation, the operation does that.
    fn stream_hint(&self, inner: &Inner) -> Option<String>;
}

/// Implements [`Scoped`] for inputs that name their stream with `stream_name` / `stream_arn` options.
macro_rules! named_stream {
    ($input:ty) => {
        impl $crate::dispatch::Scoped for $input {
            fn stream_hint(&self, inner: &$crate::state::Inner) -> Option<String> {
                $crate::lookup::hint(
                    inner,
                    self.stream_name.as_deref(),
                    self.stream_arn.as_deref(),
                )
            }
        }
    };
}
pub(crate) use named_stream;

/// A validated request of an `at_shard` operation: the stream and shard it touches, and whatever else
/// `locate` worked out for `execute`.
#[derive(Debug)]
pub(crate) struct AtShard<P> {
    pub(crate) stream: Arc<StreamState>,
    pub(crate) shard: Arc<ShardState>,
    pub(crate) plan: P,
}

/// Asked by the write path for each record it is about to store in a shard: `Some(error)` fails that
/// record instead (stream name, shard id).
pub(crate) type RecordFaults<'a> = &'a (dyn Fn(&str, &str) -> Option<KinesisError> + Sync);

/// The fault rules without a shard, for a call of `op` (the stream hint is only computed when a rule is
/// installed).
pub(crate) async fn before(
    inner: &Inner,
    op: Operation,
    hint: impl FnOnce() -> Option<String>,
) -> Result<(), KinesisError> {
    let faults = &inner.faults;
    if faults.is_empty() {
        return Ok(());
    }
    faults.apply(op, hint().as_deref(), None).await
}

/// The fault rules scoped to the shard an `at_shard` call touches.
pub(crate) async fn at_shard<P>(inner: &Inner, op: Operation, at: &AtShard<P>) -> Result<(), KinesisError> {
    let faults = &inner.faults;
    if faults.is_empty() {
        return Ok(());
    }
    faults.apply(op, Some(&at.stream.name), Some(&at.shard.id)).await
}

/// The per-record fault check of a `per_record` call of `op` (latency rules do not apply per record).
pub(crate) fn record_faults(
    inner: &Inner,
    op: Operation,
) -> impl Fn(&str, &str) -> Option<KinesisError> + Sync + '_ {
    move |stream, shard| {
        let faults = &inner.faults;
        if faults.is_empty() {
            return None;
        }
        faults.check(op, Some(stream), Some(shard)).error
    }
}
