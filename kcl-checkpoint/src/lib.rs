//! Leases and fenced lease stores for kcl-rs.
//!
//! A *lease* records which worker processes a shard and how far it has got (its checkpoint). Workers
//! coordinate only through the lease table: every write that changes ownership or a checkpoint is fenced by
//! the lease counter, so exactly one worker wins any race and a worker that lost its lease cannot write.
//!
//! ```
//! use std::sync::Arc;
//! use kcl_checkpoint::{ExtendedSequenceNumber, InMemoryLeaseStore, Lease, LeaseStore};
//!
//! # tokio::runtime::Builder::new_current_thread().build().unwrap().block_on(async {
//! let store: Arc<dyn LeaseStore> = Arc::new(InMemoryLeaseStore::new());
//! store.create_if_absent(&Lease::new("shardId-000000000000", ExtendedSequenceNumber::TrimHorizon)).await?;
//! let lease = store.get(&"shardId-000000000000".into()).await?.expect("just created");
//! let mine = store.take(&lease, "worker-a").await?;
//! let renewed = store.renew(&mine).await?;
//! assert_eq!(renewed.counter, lease.counter + 2);
//! // Another worker acting on the stale copy it read earlier loses the fence:
//! assert!(store.take(&lease, "worker-b").await.unwrap_err().is_conflict());
//! # Ok::<_, kcl_checkpoint::Error>(())
//! # }).unwrap();
//! ```
//!
//! # Layout
//!
//! - [`lease`]: the [`Lease`] model, [`LeaseKey`] (plain and multi-stream), [`HashKeyRange`].
//! - [`sequence`]: [`ExtendedSequenceNumber`] (sequence + sub-sequence, or a sentinel) and its ordering.
//! - [`store`]: the object-safe [`LeaseStore`] trait and its fencing rules; `store/checks.rs` the argument
//!   checks and landed-write predicates every store shares. [`Operation`] (in `operation.rs`, shown under
//!   [`store`]) names the operations, in errors and fault scripts.
//! - [`fleet`]: the [`FleetRecord`] (worker heartbeats and the table version) for heartbeat renewals.
//! - [`memory`]: [`InMemoryLeaseStore`], the embedded default.
//! - [`dynamodb`]: [`DynamoDbLeaseStore`] (the store and its write paths in `mod.rs`; `builder`, `table`
//!   creation, the `update` expression builder, the `operations`, SDK `errors`, ambiguous `attempts`) and
//!   its item [`codec`](dynamodb::codec) (Java KCL table format).
//! - [`retry`]: [`RetryingLeaseStore`], jittered bounded retries around any store.
//! - `fault` (feature `test-util`): `FaultyLeaseStore`, scripted or seeded faults for simulations.
//! - [`error`]: the crate's [`Error`].

pub mod dynamodb;
pub mod error;
#[cfg(feature = "test-util")]
pub mod fault;
pub mod fleet;
pub mod lease;
pub mod memory;
mod operation;
pub mod retry;
pub mod sequence;
pub mod store;
#[cfg(feature = "test-util")]
pub mod test_util;
#[cfg(feature = "testcontainers")]
pub mod testcontainers;

pub use dynamodb::{Billing, DynamoDbLeaseStore, DynamoDbLeaseStoreBuilder};
pub use error::{
    is_auth_failure_code, BoxError, DisplayChain, Error, MalformedLease, Result, AUTH_FAILURE_CODES,
};
#[cfg(feature = "test-util")]
pub use fault::{Fault, FaultyLeaseStore, RandomFaults};
pub use fleet::{FleetRecord, FLEET_ITEM_KEY};
pub use lease::{HashKeyRange, Lease, LeaseKey, LeaseLoad, StreamIdentifier};
pub use memory::InMemoryLeaseStore;
pub use operation::Operation;
pub use retry::{RetryPolicy, RetryingLeaseStore};
pub use sequence::{ExtendedSequenceNumber, ParseSequenceError, SequenceNumber};
pub use store::{LeaseListing, LeaseStore};

/// Compile-time object-safety check: stores are used as `Arc<dyn LeaseStore>`.
const _: fn(std::sync::Arc<InMemoryLeaseStore>) -> std::sync::Arc<dyn LeaseStore> = |s| s;
