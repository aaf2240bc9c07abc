//! The dispatch point: how the one list of operations (in `ops/mod.rs`) becomes the [`Operation`] enum,
//! the [`Emulator`](crate::Emulator) methods and the server's routing, and where scripted faults wrap
//! every call.
//!
//! Each entry of [`operations!`] names an operation, its method (which is also its module under `ops/`),
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

/// Generates, from the one list of operations, the [`Operation`] enum, the `Emulator` methods and the
/// server's routing (see the module docs for the entry syntax).
macro_rules! operations {
    ($(
        $(#[$doc:meta])*
        $op:ident => $method:ident($input:ident) -> $output:ident [$($flag:ident),+];
    )+) => {
        /// A Kinesis API operation the emulator implements.
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
        #[non_exhaustive]
        pub enum Operation {
            $(
                $(#[$doc])*
                $op,
            )+
        }

        impl Operation {
            /// Every operation, in declaration order.
            pub const ALL: &'static [Operation] = &[$(Operation::$op),+];

            /// The AWS operation name, e.g. `"PutRecords"`.
            pub fn name(self) -> &'static str {
                match self {
                    $(Operation::$op => stringify!($op),)+
                }
            }

            /// Parses an AWS operation name (case-sensitive).
            pub fn from_name(name: &str) -> Option<Self> {
                match name {
                    $(stringify!($op) => Some(Operation::$op),)+
                    _ => None,
                }
            }

            /// Whether the operation changes the emulator's state (and so is persisted by the server).
            #[cfg_attr(not(feature = "server"), allow(dead_code))]
            pub(crate) fn is_mutating(self) -> bool {
                match self {
                    $(Operation::$op => $crate::dispatch::operations!(@writes $($flag),+),)+
                }
            }
        }

        impl $crate::Emulator {
            $(
                $(#[$doc])*
                ///
                /// # Errors
                /// The AWS error of the operation as a [`KinesisError`](crate::KinesisError) (see the
                /// operation's module docs), or an error scripted through
                /// [`Emulator::faults`](crate::Emulator::faults).
                pub async fn $method(
                    &self,
                    input: $crate::ops::$method::$input,
                ) -> Result<$crate::ops::$method::$output, $crate::KinesisError> {
                    let inner = self.shared();
                    $crate::dispatch::before(inner, Operation::$op, || {
                        $crate::dispatch::Scoped::stream_hint(&input, inner)
                    })
                    .await?;
                    $crate::dispatch::operations!(@call inner, $op, $method, input; $($flag),+)
                }
            )+
        }

        /// Runs one decoded request of the server against the emulator: the input is decoded from its
        /// canonical JSON form, the output encoded back (SubscribeToShard answers an event stream).
        #[cfg(feature = "server")]
        pub(crate) async fn route(
            emulator: &$crate::Emulator,
            operation: Operation,
            request: serde_json::Map<String, serde_json::Value>,
        ) -> Result<$crate::server::Reply, $crate::server::ApiError> {
            use $crate::server::backend as wire;
            match operation {
                $(Operation::$op => {
                    let input = wire::decode(request)?;
                    $crate::dispatch::operations!(@reply emulator.$method(input).await; $($flag),+)
                })+
            }
        }
    };

    (@writes writes $(, $rest:ident)*) => { true };
    (@writes reads $(, $rest:ident)*) => { false };

    (@call $inner:ident, $op:ident, $method:ident, $input:ident; $rw:ident, at_shard $(, $rest:ident)*) => {{
        let at = $crate::ops::$method::locate($inner, $input)?;
        $crate::dispatch::at_shard($inner, Operation::$op, &at).await?;
        $crate::ops::$method::execute($inner, at).await
    }};
    (@call $inner:ident, $op:ident, $method:ident, $input:ident; $rw:ident, per_record) => {{
        let faults = $crate::dispatch::record_faults($inner, Operation::$op);
        $crate::ops::$method::execute($inner, $input, &faults).await
    }};
    (@call $inner:ident, $op:ident, $method:ident, $input:ident; $rw:ident) => {
        $crate::ops::$method::execute($inner, $input).await
    };

    (@reply $call:expr; reads, at_shard, events) => {
        wire::events($call)
    };
    (@reply $call:expr; $($flag:ident),+) => {
        wire::value($call)
    };
}
pub(crate) use operations;
