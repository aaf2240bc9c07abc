//! The [`Emulator`] handle: configuration, faults, snapshots, and one async method per Kinesis operation.
//!
//! The operation methods are generated from the list in `ops/mod.rs` (see [`crate::dispatch`]): each runs
//! the fault-injection rules scoped to its operation (and stream) and then the operation itself,
//! implemented in its own module under `ops/`.

use std::fmt;
use std::sync::Arc;

use crate::clock::Clock;
use crate::config::EmulatorConfig;
use crate::dispatch;
use crate::error::ConfigError;
use crate::faults::Faults;
use crate::operation::Operation;
use crate::snapshot::EmulatorSnapshot;
use crate::state::Inner;

/// An in-process Kinesis Data Streams emulator.
///
/// A cheap-to-clone handle (`Arc` inside), `Send + Sync`; clones share the same streams.
///
/// ```
/// # #[tokio::main(flavor = "current_thread")] async fn main() -> Result<(), kcl_emulator::KinesisError> {
/// use kcl_emulator::{types::*, Emulator};
///
/// let kinesis = Emulator::default();
/// kinesis
///     .create_stream(CreateStreamInput { stream_name: "orders".into(), shard_count: Some(1), ..Default::default() })
///     .await?;
/// let put = kinesis
///     .put_record(PutRecordInput {
///         stream_name: Some("orders".into()),
///         data: "hello".into(),
///         partition_key: "customer-1".into(),
///         ..Default::default()
///     })
///     .await?;
/// let it = kinesis
///     .get_shard_iterator(GetShardIteratorInput {
///         stream_name: Some("orders".into()),
///         shard_id: put.shard_id,
///         shard_iterator_type: ShardIteratorType::TrimHorizon,
///         ..Default::default()
///     })
///     .await?;
/// let out = kinesis
///     .get_records(GetRecordsInput { shard_iterator: it.shard_iterator, ..Default::default() })
///     .await?;
/// assert_eq!(out.records[0].data, "hello");
/// # Ok(()) }
/// ```
#[derive(Clone)]
pub struct Emulator {
    inner: Arc<Inner>,
}

impl fmt::Debug for Emulator {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        // Not the records: a stream can hold millions.
        f.debug_struct("Emulator")
            .field("region", &self.inner.config.region)
            .field("account_id", &self.inner.config.account_id)
            .field("streams", &self.inner.streams.read().by_name.len())
            .field("fault_rules", &self.inner.faults.len())
            .finish_non_exhaustive()
    }
}

impl Default for Emulator {
    fn default() -> Self {
        Self::new(EmulatorConfig::default())
    }
}

impl Emulator {
    /// An emulator with the given configuration.
    pub fn new(config: EmulatorConfig) -> Self {
        let seed = config.seed.unwrap_or_else(rand::random);
        Self {
            inner: Arc::new(Inner::new(config, seed)),
        }
    }

    /// The configuration it runs with.
    pub fn config(&self) -> &EmulatorConfig {
        &self.inner.config
    }

    /// The wall clock it stamps records with (follows tokio time).
    pub fn clock(&self) -> Clock {
        self.inner.clock
    }

    /// The fault-injection handle.
    pub fn faults(&self) -> &Faults {
        &self.inner.faults
    }

    /// The complete state (streams, shards, records with their sequence numbers and arrival timestamps,
    /// consumers, the iterator-signing key), to persist and later [`restore`](Emulator::restore).
    ///
    /// Each shard is copied under its own lock: with concurrent writes, the snapshot holds a consistent
    /// prefix of each shard's records.
    pub fn snapshot(&self) -> EmulatorSnapshot {
        crate::snapshot::export(&self.inner)
    }

    /// An emulator with `config` and exactly the state of `snapshot`: sequence numbers, arrival
    /// timestamps, consumer ARNs and unexpired shard iterators from before the snapshot stay valid.
    ///
    /// # Errors
    /// [`ConfigError::InvalidSnapshot`] if the snapshot is inconsistent or of another version.
    pub fn restore(config: EmulatorConfig, snapshot: &EmulatorSnapshot) -> Result<Self, ConfigError> {
        let emulator = Self::new(config);
        emulator.import(snapshot)?;
        Ok(emulator)
    }

    /// Replaces this emulator's state with `snapshot`'s (see [`Emulator::restore`]); clones of this handle
    /// see the new state. Fault rules and the configuration are kept; open subscriptions are forgotten.
    ///
    /// # Errors
    /// As [`Emulator::restore`]; the state is unchanged on error.
    pub fn import(&self, snapshot: &EmulatorSnapshot) -> Result<(), ConfigError> {
        crate::snapshot::import(&self.inner, snapshot)
    }

    /// The ARN of stream `name` in this emulator's region and account.
    pub fn stream_arn(&self, name: &str) -> String {
        self.inner.stream_arn(name)
    }

    /// The shared state (for the server's persistence).
    #[cfg(feature = "server")]
    pub(crate) fn shared(&self) -> &Arc<Inner> {
        &self.inner
    }
}

/// Generates the operation methods from the list of operations (`ops/mod.rs`): the fault rules without a
/// shard, then the operation (with its shard-scoped rules where its flags say so, see `dispatch.rs`).
macro_rules! operation_methods {
    ($(
        $(#[$doc:meta])*
        $op:ident => $method:ident($input:ident) -> $output:ident [$($flag:ident),+];
    )+) => {
        impl Emulator {
            $(
                $(#[$doc])*
                ///
                /// # Errors
                /// The AWS error of the operation as a [`KinesisError`](crate::KinesisError) (see the
                /// operation's module docs), or an error scripted through [`Emulator::faults`].
                pub async fn $method(
                    &self,
                    input: crate::ops::$method::$input,
                ) -> Result<crate::ops::$method::$output, crate::KinesisError> {
                    let inner = &self.inner;
                    dispatch::before(inner, Operation::$op, || {
                        dispatch::Scoped::stream_hint(&input, inner)
                    })
                    .await?;
                    operation_methods!(@call inner, $op, $method, input; $($flag),+)
                }
            )+
        }
    };

    (@call $inner:ident, $op:ident, $method:ident, $input:ident; $rw:ident, at_shard $(, $rest:ident)*) => {{
        let at = crate::ops::$method::locate($inner, $input)?;
        dispatch::at_shard($inner, Operation::$op, &at).await?;
        crate::ops::$method::execute($inner, at).await
    }};
    (@call $inner:ident, $op:ident, $method:ident, $input:ident; $rw:ident, per_record) => {{
        let faults = dispatch::record_faults($inner, Operation::$op);
        crate::ops::$method::execute($inner, $input, &faults).await
    }};
    (@call $inner:ident, $op:ident, $method:ident, $input:ident; $rw:ident) => {
        crate::ops::$method::execute($inner, $input).await
    };
}

crate::ops::operations!(operation_methods);
