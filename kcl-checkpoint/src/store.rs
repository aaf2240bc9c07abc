//! The [`LeaseStore`] trait: the fenced operations every lease table offers.
//!
//! Writes take the lease the caller last saw and return the lease as now stored. Every write that changes
//! ownership or a checkpoint is *fenced*: it is applied only if the stored `counter` (and, where it matters,
//! the stored `owner`) still equals what the caller saw, and it bumps the counter. A lost fence is
//! [`Error::Conflict`](crate::Error::Conflict); the caller re-reads and decides again.
//!
//! | operation | condition | effect |
//! |---|---|---|
//! | [`create_if_absent`](LeaseStore::create_if_absent) | key absent | writes the lease as given |
//! | [`renew`](LeaseStore::renew) | counter, owner | counter + 1 |
//! | [`take`](LeaseStore::take) | counter | owner = new owner, counter + 1, owner switches + 1 if a previous owner is replaced |
//! | [`evict`](LeaseStore::evict) | counter, owner | owner removed, counter + 1 |
//! | [`checkpoint`](LeaseStore::checkpoint) | counter, owner | checkpoint set, pending checkpoint and state cleared, owner switches = 0, counter + 1 |
//! | [`prepare_checkpoint`](LeaseStore::prepare_checkpoint) | counter, owner | pending checkpoint and state set, counter + 1 |
//! | [`set_child_shard_ids`](LeaseStore::set_child_shard_ids) | key exists | child shard ids set (not fenced, counter unchanged) |
//! | [`delete`](LeaseStore::delete) | counter | item removed (already absent = success) |
//!
//! # Renews that landed after all
//!
//! A renew whose condition failed but which actually landed (a re-read shows owner = caller and counter =
//! expected + 1) counts as renewed. That re-read cannot tell our own earlier attempt from a `take` by
//! another process using the same worker id (a restarted worker reusing its id), so the check is applied
//! **only when an earlier attempt of the same call may have landed**:
//!
//! - [`RetryingLeaseStore`](crate::RetryingLeaseStore): after an attempt failed ambiguously (a timeout or a
//!   5xx, not throttling) and a retry then lost its fence;
//! - [`DynamoDbLeaseStore`](crate::DynamoDbLeaseStore): when the SDK client itself retried the `UpdateItem`
//!   after an attempt with no response or a 5xx response.
//!
//! Both apply the same rule to `take`, `checkpoint` and `prepare_checkpoint` (the stored lease must be
//! exactly what the write leaves: one counter on, the new owner, the position written), but not to `evict`,
//! whose result (an unowned lease) does not identify who wrote it.
//!
//! A condition failure on a first attempt is definite and always a
//! [`Conflict`](crate::Error::Conflict), whatever the stored lease shows; the
//! [`InMemoryLeaseStore`](crate::InMemoryLeaseStore) never applies the check, since none of its writes can be
//! half-done.

use std::collections::BTreeSet;
use std::fmt;

use async_trait::async_trait;
use bytes::Bytes;

use crate::error::{MalformedLease, Result};
use crate::lease::{Lease, LeaseKey};
use crate::sequence::ExtendedSequenceNumber;

/// The lease-store operations, named in errors and used to script faults.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
#[non_exhaustive]
pub enum Operation {
    /// [`LeaseStore::ensure_table`].
    EnsureTable,
    /// [`LeaseStore::list`].
    List,
    /// [`LeaseStore::get`].
    Get,
    /// [`LeaseStore::create_if_absent`].
    Create,
    /// [`LeaseStore::renew`].
    Renew,
    /// [`LeaseStore::take`].
    Take,
    /// [`LeaseStore::evict`].
    Evict,
    /// [`LeaseStore::checkpoint`].
    Checkpoint,
    /// [`LeaseStore::prepare_checkpoint`].
    PrepareCheckpoint,
    /// [`LeaseStore::set_child_shard_ids`].
    SetChildShardIds,
    /// [`LeaseStore::delete`].
    Delete,
}

impl Operation {
    /// Every operation, for iterating in fault plans and tests.
    pub const ALL: [Operation; 11] = [
        Operation::EnsureTable,
        Operation::List,
        Operation::Get,
        Operation::Create,
        Operation::Renew,
        Operation::Take,
        Operation::Evict,
        Operation::Checkpoint,
        Operation::PrepareCheckpoint,
        Operation::SetChildShardIds,
        Operation::Delete,
    ];

    /// A short lowercase name (`renew`, `take`, ...).
    pub fn name(self) -> &'static str {
        match self {
            Operation::EnsureTable => "ensure_table",
            Operation::List => "list",
            Operation::Get => "get",
            Operation::Create => "create_if_absent",
            Operation::Renew => "renew",
            Operation::Take => "take",
            Operation::Evict => "evict",
            Operation::Checkpoint => "checkpoint",
            Operation::PrepareCheckpoint => "prepare_checkpoint",
            Operation::SetChildShardIds => "set_child_shard_ids",
            Operation::Delete => "delete",
        }
    }

    /// True for operations that write.
    pub fn is_write(self) -> bool {
        !matches!(self, Operation::EnsureTable | Operation::List | Operation::Get)
    }
}

impl fmt::Display for Operation {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// The result of [`LeaseStore::list`]: the leases that could be read, and the items that could not.
///
/// A malformed item never hides the good ones: a worker keeps running on the leases it can read and
/// reports the others.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct LeaseListing {
    /// The valid leases, ordered by key.
    pub leases: Vec<Lease>,
    /// The items that are not valid leases.
    pub malformed: Vec<MalformedLease>,
}

/// A table of leases with fenced writes. See the [module docs](self) for the conditions of each write.
///
/// Object safe: used as `Arc<dyn LeaseStore>`; wrappers (retry, fault injection) implement it too.
#[async_trait]
pub trait LeaseStore: Send + Sync + fmt::Debug {
    /// Creates the lease table if it is missing and waits until it is usable. Returns `true` if this call
    /// created it.
    ///
    /// # Errors
    ///
    /// [`Error::TableNotActive`](crate::Error::TableNotActive) if it does not become active in time; service
    /// errors.
    async fn ensure_table(&self) -> Result<bool>;

    /// Every lease in the table, plus the items that are not valid leases.
    ///
    /// # Errors
    ///
    /// [`Error::TableNotFound`](crate::Error::TableNotFound); service errors. Malformed items are not errors
    /// here: they are reported in [`LeaseListing::malformed`].
    async fn list(&self) -> Result<LeaseListing>;

    /// One lease, or `None` if absent.
    ///
    /// # Errors
    ///
    /// [`Error::Malformed`](crate::Error::Malformed) if the item is not a valid lease; service errors.
    async fn get(&self, key: &LeaseKey) -> Result<Option<Lease>>;

    /// Writes `lease` if no lease with its key exists. Returns `true` if created, `false` if one existed.
    ///
    /// # Errors
    ///
    /// [`Error::InvalidArgument`](crate::Error::InvalidArgument) for an empty key or more than two parents;
    /// service errors.
    async fn create_if_absent(&self, lease: &Lease) -> Result<bool>;

    /// Renews a lease the caller owns (fenced on counter and owner); bumps the counter.
    ///
    /// # Errors
    ///
    /// [`Error::Conflict`](crate::Error::Conflict) if the lease moved on (taken, evicted, renewed
    /// elsewhere): the caller has lost it.
    async fn renew(&self, lease: &Lease) -> Result<Lease>;

    /// Takes a lease for `new_owner` (fenced on counter); bumps the counter and, when it replaces a previous
    /// owner, the owner-switch count.
    ///
    /// # Errors
    ///
    /// [`Error::Conflict`](crate::Error::Conflict) if someone else wrote the lease since it was read.
    async fn take(&self, lease: &Lease, new_owner: &str) -> Result<Lease>;

    /// Removes the owner (fenced on counter and owner); bumps the counter. Used both to release one's own
    /// lease (graceful shutdown, handoff) and to evict another worker's.
    ///
    /// # Errors
    ///
    /// [`Error::Conflict`](crate::Error::Conflict) if the lease moved on.
    async fn evict(&self, lease: &Lease) -> Result<Lease>;

    /// Releases the caller's own lease: the same write as [`evict`](LeaseStore::evict).
    ///
    /// # Errors
    ///
    /// As [`evict`](LeaseStore::evict).
    async fn release(&self, lease: &Lease) -> Result<Lease> {
        self.evict(lease).await
    }

    /// Records a checkpoint (fenced on counter and owner): sets it, clears any pending checkpoint and its
    /// state, resets the owner-switch count and bumps the counter.
    ///
    /// # Errors
    ///
    /// [`Error::Conflict`](crate::Error::Conflict) if the caller no longer holds the lease at that counter;
    /// [`Error::InvalidArgument`](crate::Error::InvalidArgument) if `lease` has no owner.
    async fn checkpoint(&self, lease: &Lease, checkpoint: ExtendedSequenceNumber) -> Result<Lease>;

    /// Records a pending checkpoint and opaque application state (fenced on counter and owner; the first
    /// phase of a two-phase checkpoint); bumps the counter.
    ///
    /// # Errors
    ///
    /// As [`checkpoint`](LeaseStore::checkpoint).
    async fn prepare_checkpoint(
        &self,
        lease: &Lease,
        pending: ExtendedSequenceNumber,
        state: Option<Bytes>,
    ) -> Result<Lease>;

    /// Commits the pending checkpoint the caller last saw on `lease` (the second phase): a
    /// [`checkpoint`](LeaseStore::checkpoint) at `lease.pending_checkpoint`.
    ///
    /// # Errors
    ///
    /// [`Error::InvalidArgument`](crate::Error::InvalidArgument) if `lease` has no pending checkpoint;
    /// otherwise as [`checkpoint`](LeaseStore::checkpoint).
    async fn commit_pending_checkpoint(&self, lease: &Lease) -> Result<Lease> {
        match &lease.pending_checkpoint {
            Some(pending) => self.checkpoint(lease, pending.clone()).await,
            None => Err(crate::Error::invalid(
                crate::store::Operation::Checkpoint,
                format!("lease {} has no pending checkpoint to commit", lease.key),
            )),
        }
    }

    /// Records the shard's children (when the shard ends). Conditioned only on the lease existing; the
    /// counter is unchanged.
    ///
    /// # Errors
    ///
    /// [`Error::LeaseNotFound`](crate::Error::LeaseNotFound) if the lease is gone.
    async fn set_child_shard_ids(&self, lease: &Lease, children: &BTreeSet<String>) -> Result<Lease>;

    /// Deletes a lease (fenced on counter). A lease already absent counts as deleted.
    ///
    /// # Errors
    ///
    /// [`Error::Conflict`](crate::Error::Conflict) if the lease changed since it was read.
    async fn delete(&self, lease: &Lease) -> Result<()>;
}

/// Checks shared by every store before a write reaches the table.
pub(crate) fn validate_lease(operation: Operation, lease: &Lease) -> Result<()> {
    if lease.key.as_str().is_empty() {
        return Err(crate::Error::invalid(operation, "the lease key is empty"));
    }
    if lease.parent_shard_ids.len() > 2 {
        return Err(crate::Error::invalid(
            operation,
            format!(
                "lease {} has {} parent shard ids; a shard has at most two",
                lease.key,
                lease.parent_shard_ids.len()
            ),
        ));
    }
    if lease.owner.as_deref() == Some("") {
        return Err(crate::Error::invalid(operation, "the owner is empty"));
    }
    Ok(())
}

/// The owner a fenced owner-conditioned write expects; such writes need an owner.
pub(crate) fn required_owner(operation: Operation, lease: &Lease) -> Result<&str> {
    lease.owner.as_deref().ok_or_else(|| {
        crate::Error::invalid(
            operation,
            format!("lease {} has no owner; only its owner may {operation}", lease.key),
        )
    })
}

/// The "renew landed after all" check: the stored lease shows the caller as owner one counter on.
///
/// Use it only after an attempt that may have been applied (see the [module docs](self)): on its own it
/// cannot tell our renew from a take by a process reusing our worker id.
pub(crate) fn renew_landed(expected: &Lease, stored: &Lease) -> bool {
    stored.owner.is_some()
        && stored.owner == expected.owner
        && Some(stored.counter) == expected.counter.checked_add(1)
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::Arc;

    // Compile-time object-safety check: `dyn LeaseStore` must be a valid type.
    const _: Option<Arc<dyn LeaseStore>> = None;

    #[test]
    fn operation_names_are_unique() {
        let names: BTreeSet<_> = Operation::ALL.iter().map(|op| op.name()).collect();
        assert_eq!(names.len(), Operation::ALL.len());
        assert!(!Operation::Get.is_write());
        assert!(Operation::Renew.is_write());
    }
}
