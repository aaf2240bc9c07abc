//! [`MalformedItems`]: a lease store wrapper whose listing reports chosen items as malformed.

use std::collections::BTreeSet;
use std::sync::{Arc, Mutex};

use bytes::Bytes;
use kcl::checkpoint::{ExtendedSequenceNumber, Lease, LeaseKey, LeaseListing, LeaseStore, MalformedLease};
use kcl::core::async_trait;

/// A lease store whose listing reports some items as malformed (as a table holding hand-edited or
/// corrupt items would), delegating everything else to the store it wraps.
#[derive(Debug)]
pub struct MalformedItems {
    pub inner: Arc<dyn LeaseStore>,
    pub keys: Mutex<BTreeSet<String>>,
}

impl MalformedItems {
    pub fn new(inner: Arc<dyn LeaseStore>) -> Self {
        MalformedItems {
            inner,
            keys: Mutex::new(BTreeSet::new()),
        }
    }
}

#[async_trait]
impl LeaseStore for MalformedItems {
    async fn ensure_table(&self) -> kcl::checkpoint::Result<bool> {
        self.inner.ensure_table().await
    }
    async fn list(&self) -> kcl::checkpoint::Result<LeaseListing> {
        let mut listing = self.inner.list().await?;
        let keys = self.keys.lock().unwrap().clone();
        listing.leases.retain(|l| !keys.contains(l.key.as_str()));
        listing
            .malformed
            .extend(keys.into_iter().map(|key| MalformedLease {
                key: Some(key),
                attribute: "leaseCounter".into(),
                problem: "is not a number".into(),
            }));
        Ok(listing)
    }
    async fn get(&self, key: &LeaseKey) -> kcl::checkpoint::Result<Option<Lease>> {
        self.inner.get(key).await
    }
    async fn create_if_absent(&self, lease: &Lease) -> kcl::checkpoint::Result<bool> {
        self.inner.create_if_absent(lease).await
    }
    async fn renew(&self, lease: &Lease) -> kcl::checkpoint::Result<Lease> {
        self.inner.renew(lease).await
    }
    async fn take(&self, lease: &Lease, new_owner: &str) -> kcl::checkpoint::Result<Lease> {
        self.inner.take(lease, new_owner).await
    }
    async fn evict(&self, lease: &Lease) -> kcl::checkpoint::Result<Lease> {
        self.inner.evict(lease).await
    }
    async fn release(&self, lease: &Lease) -> kcl::checkpoint::Result<Lease> {
        self.inner.release(lease).await
    }
    async fn checkpoint(
        &self,
        lease: &Lease,
        checkpoint: ExtendedSequenceNumber,
    ) -> kcl::checkpoint::Result<Lease> {
        self.inner.checkpoint(lease, checkpoint).await
    }
    async fn prepare_checkpoint(
        &self,
        lease: &Lease,
        pending: ExtendedSequenceNumber,
        state: Option<Bytes>,
    ) -> kcl::checkpoint::Result<Lease> {
        self.inner.prepare_checkpoint(lease, pending, state).await
    }
    async fn heartbeat(
        &self,
        worker_id: &str,
        expected: Option<u64>,
    ) -> kcl::checkpoint::Result<kcl::checkpoint::FleetRecord> {
        self.inner.heartbeat(worker_id, expected).await
    }
    async fn evict_worker(
        &self,
        worker_id: &str,
        expected: u64,
    ) -> kcl::checkpoint::Result<kcl::checkpoint::FleetRecord> {
        self.inner.evict_worker(worker_id, expected).await
    }
    async fn read_fleet(&self) -> kcl::checkpoint::Result<kcl::checkpoint::FleetRecord> {
        self.inner.read_fleet().await
    }
    async fn bump_version(&self) -> kcl::checkpoint::Result<kcl::checkpoint::FleetRecord> {
        self.inner.bump_version().await
    }
    async fn leave_fleet(&self, worker_id: &str) -> kcl::checkpoint::Result<()> {
        self.inner.leave_fleet(worker_id).await
    }
    async fn request_handoff(&self, lease: &Lease, new_owner: &str) -> kcl::checkpoint::Result<Lease> {
        self.inner.request_handoff(lease, new_owner).await
    }
    async fn handoff_checkpoint(
        &self,
        lease: &Lease,
        checkpoint: ExtendedSequenceNumber,
    ) -> kcl::checkpoint::Result<Lease> {
        self.inner.handoff_checkpoint(lease, checkpoint).await
    }
    async fn finish_handoff(&self, lease: &Lease) -> kcl::checkpoint::Result<Lease> {
        self.inner.finish_handoff(lease).await
    }
    async fn commit_pending_checkpoint(&self, lease: &Lease) -> kcl::checkpoint::Result<Lease> {
        self.inner.commit_pending_checkpoint(lease).await
    }
    async fn set_child_shard_ids(
        &self,
        lease: &Lease,
        children: &BTreeSet<String>,
    ) -> kcl::checkpoint::Result<Lease> {
        self.inner.set_child_shard_ids(lease, children).await
    }
    async fn report_load(
        &self,
        lease: &Lease,
        load: &kcl::checkpoint::LeaseLoad,
    ) -> kcl::checkpoint::Result<Lease> {
        self.inner.report_load(lease, load).await
    }
    async fn delete(&self, lease: &Lease) -> kcl::checkpoint::Result<()> {
        self.inner.delete(lease).await
    }
}
