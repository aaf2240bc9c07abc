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
//! | [`request_handoff`](LeaseStore::request_handoff) | counter, owner, no handoff in progress | owner = new owner, checkpoint owner = previous owner, counter + 1, owner switches + 1 |
//! | [`handoff_checkpoint`](LeaseStore::handoff_checkpoint) | checkpoint owner | checkpoint set, pending checkpoint and state cleared, owner switches = 0 (counter unchanged) |
//! | [`finish_handoff`](LeaseStore::finish_handoff) | checkpoint owner | checkpoint owner removed (counter unchanged) |
//! | [`set_child_shard_ids`](LeaseStore::set_child_shard_ids) | key exists | child shard ids set (not fenced, counter unchanged) |
//! | [`delete`](LeaseStore::delete) | counter | item removed (already absent = success) |
//!
//! `take` and `evict` also remove the checkpoint owner: a hard takeover ends any handoff in progress.
//!
//! # Cooperative handoffs
//!
//! A worker that wants a lease from a live owner (to balance) can *ask* instead of taking it, as the Java
//! KCL 3 does with `checkpointOwner`: [`request_handoff`](LeaseStore::request_handoff) makes the asker
//! the owner and records the previous owner as the *checkpoint owner*. From then on the previous owner is
//! the only one that may checkpoint ([`handoff_checkpoint`](LeaseStore::handoff_checkpoint), fenced on the
//! checkpoint owner rather than the counter, so the new owner's renewals do not fence it out); it finishes
//! its batch, checkpoints and calls [`finish_handoff`](LeaseStore::finish_handoff). The new owner starts
//! processing once the checkpoint owner is gone, from the checkpoint then stored; if the previous owner
//! never answers, the new owner ends the handoff itself with a [`take`](LeaseStore::take), which removes
//! the checkpoint owner and so fences out any late write of the previous owner.
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
use crate::fleet::FleetRecord;
use crate::lease::{Lease, LeaseKey, LeaseLoad};
use crate::sequence::ExtendedSequenceNumber;

mod checks;

pub use crate::operation::Operation;
pub(crate) use checks::{
    handoff_request, handoff_requested, renew_landed, required_checkpoint_owner, required_owner,
    valid_worker_id, validate_lease, validate_load,
};

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

    /// Asks the owner of `lease` to hand it to `new_owner` (a cooperative move; see the
    /// [module docs](self#cooperative-handoffs)). Fenced on the counter and owner the caller saw, and on no
    /// handoff being in progress (no checkpoint owner); sets the owner to `new_owner`, records the previous
    /// owner as checkpoint owner, counts an owner switch and bumps the counter.
    ///
    /// # Errors
    ///
    /// [`Error::Conflict`](crate::Error::Conflict) if the lease moved on or a handoff is already in
    /// progress; [`Error::InvalidArgument`](crate::Error::InvalidArgument) if `lease` has no owner or
    /// `new_owner` is empty or the owner itself.
    async fn request_handoff(&self, lease: &Lease, new_owner: &str) -> Result<Lease>;

    /// The previous owner's checkpoint during a handoff: fenced on the stored checkpoint owner being
    /// `lease.checkpoint_owner`; sets the checkpoint, clears any pending checkpoint and its state and
    /// resets the owner-switch count, leaving the counter (the new owner's fencing token) alone.
    ///
    /// # Errors
    ///
    /// [`Error::Conflict`](crate::Error::Conflict) if the handoff is over (finished, or ended by a take);
    /// [`Error::InvalidArgument`](crate::Error::InvalidArgument) if `lease` has no checkpoint owner.
    async fn handoff_checkpoint(&self, lease: &Lease, checkpoint: ExtendedSequenceNumber) -> Result<Lease>;

    /// The previous owner's last write of a handoff: fenced on the stored checkpoint owner being
    /// `lease.checkpoint_owner`; removes it (the counter is unchanged). The new owner starts from the
    /// checkpoint stored then.
    ///
    /// # Errors
    ///
    /// As [`handoff_checkpoint`](LeaseStore::handoff_checkpoint). A conflict after an ambiguous attempt
    /// cannot tell a landed finish from a take by the new owner: either way the handoff is over.
    async fn finish_handoff(&self, lease: &Lease) -> Result<Lease>;

    /// Bumps `worker_id`'s heartbeat in the [fleet record](crate::fleet) from `expected` (the value the
    /// worker last wrote; `None` to join, creating its entry at 1) and returns the whole record as now
    /// stored. Fenced on the stored heartbeat being `expected` (absent for `None`), so a worker that peers
    /// declared dead ([`evict_worker`](LeaseStore::evict_worker)) cannot keep beating.
    ///
    /// # Errors
    ///
    /// [`Error::Conflict`](crate::Error::Conflict) if the stored heartbeat is not `expected` (the worker
    /// was evicted, or an earlier attempt of this call landed: re-read with
    /// [`read_fleet`](LeaseStore::read_fleet)); [`Error::InvalidArgument`](crate::Error::InvalidArgument)
    /// for an empty worker id; service errors.
    async fn heartbeat(&self, worker_id: &str, expected: Option<u64>) -> Result<FleetRecord>;

    /// Declares `worker_id` dead: removes its heartbeat, fenced on it still being `expected` (the value the
    /// caller saw stay unchanged for the lease duration). Once this succeeds the worker's next heartbeat
    /// fails, so its leases may be taken at once.
    ///
    /// # Errors
    ///
    /// [`Error::Conflict`](crate::Error::Conflict) if the heartbeat moved (or is gone); service errors.
    async fn evict_worker(&self, worker_id: &str, expected: u64) -> Result<FleetRecord>;

    /// Reads the fleet record (strongly consistent); an empty record when there is none.
    ///
    /// # Errors
    ///
    /// Service errors.
    async fn read_fleet(&self) -> Result<FleetRecord>;

    /// Bumps the fleet record's version (after a write that changes what a listing shows) and returns the
    /// record as now stored. Not fenced.
    ///
    /// # Errors
    ///
    /// Service errors.
    async fn bump_version(&self) -> Result<FleetRecord>;

    /// Removes `worker_id`'s heartbeat from the fleet record (a worker shutting down). Not fenced; a worker
    /// without an entry counts as removed.
    ///
    /// # Errors
    ///
    /// As [`heartbeat`](LeaseStore::heartbeat).
    async fn leave_fleet(&self, worker_id: &str) -> Result<()>;

    /// Records the shard's children (when the shard ends). Conditioned only on the lease existing; the
    /// counter is unchanged.
    ///
    /// # Errors
    ///
    /// [`Error::LeaseNotFound`](crate::Error::LeaseNotFound) if the lease is gone.
    async fn set_child_shard_ids(&self, lease: &Lease, children: &BTreeSet<String>) -> Result<Lease>;

    /// Records the load its owner measured on the lease ([`Lease::throughput_kbps`],
    /// [`Lease::records_per_sec`], [`Lease::owner_cpu`]), for utilization-aware assignment. Conditioned on
    /// the caller still owning the lease; the counter is unchanged (a load report is advisory: it neither
    /// renews the lease nor fences anything).
    ///
    /// # Errors
    ///
    /// [`Error::Conflict`](crate::Error::Conflict) if the lease is gone or has another owner;
    /// [`Error::InvalidArgument`](crate::Error::InvalidArgument) for an unowned lease or a figure that is
    /// negative or not finite.
    async fn report_load(&self, lease: &Lease, load: &LeaseLoad) -> Result<Lease>;

    /// Deletes a lease (fenced on counter). A lease already absent counts as deleted.
    ///
    /// # Errors
    ///
    /// [`Error::Conflict`](crate::Error::Conflict) if the lease changed since it was read.
    async fn delete(&self, lease: &Lease) -> Result<()>;
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::Arc;

    // Compile-time object-safety check: `dyn LeaseStore` must be a valid type.
    const _: Option<Arc<dyn LeaseStore>> = None;
}
