//! One listing of the lease table, as the taker last saw it: shared with consumers (a child checks its
//! parents against it) and the shard syncer.

use std::collections::{BTreeMap, BTreeSet};
use std::sync::Arc;

use kcl_checkpoint::{ExtendedSequenceNumber, Lease};

/// The latest lease-table listing, shared with consumers (parent checks) and the shard syncer.
pub(crate) type LeaseView = Arc<LeaseTable>;

/// One listing of the lease table.
#[derive(Debug, Default)]
pub(crate) struct LeaseTable {
    /// The valid leases by key.
    pub(crate) leases: BTreeMap<String, Lease>,
    /// The keys of items that exist but could not be read as leases. Such a lease is not "gone": a
    /// child waiting on it keeps waiting until the item is repaired (or deleted).
    pub(crate) malformed: BTreeSet<String>,
    /// The keys of the unfinished owned leases, by owner (heartbeat mode judges expiry per owner: a
    /// cycle without a scan checks each owner once rather than every lease).
    pub(crate) by_owner: BTreeMap<String, Vec<String>>,
}

impl LeaseTable {
    /// The lease under `key`, if listed and valid.
    pub(crate) fn get(&self, key: &str) -> Option<&Lease> {
        self.leases.get(key)
    }

    /// True when every one of `parents` is finished, for a child whose lease checkpoint is `child`.
    ///
    /// A parent is finished when its lease is at `SHARD_END`. A parent *absent* from the table is finished
    /// only when that is provable:
    /// - the child has started before (its checkpoint is past `TRIM_HORIZON`): it only ever started with
    ///   its parents finished, and cleanup deletes a finished parent only after every child started;
    /// - the child starts at `LATEST`: it never waits for older data;
    /// - the parent shard is `gone` from the stream (expired from retention: nothing left to read).
    ///
    /// Otherwise an absent parent simply has no lease *yet* (shard sync leases every shard between a
    /// leased ancestor and a waiting descendant), and the child waits. So does a child of a parent whose
    /// item is malformed, until the item is repaired.
    pub(crate) fn parents_done(
        &self,
        parents: &BTreeSet<String>,
        child: &ExtendedSequenceNumber,
        gone: &BTreeSet<String>,
    ) -> bool {
        let child_started = matches!(
            child,
            ExtendedSequenceNumber::Sequence { .. } | ExtendedSequenceNumber::ShardEnd
        );
        parents.iter().all(|p| match self.leases.get(p) {
            Some(lease) => lease.is_shard_end(),
            None if self.malformed.contains(p) => false,
            None => child_started || *child == ExtendedSequenceNumber::Latest || gone.contains(p),
        })
    }
}
