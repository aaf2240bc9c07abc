//! [`CountingLeaseStore`]: counts lease-store calls by operation (what the harness and the lease-table
//! benchmark report).

use std::collections::BTreeMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};

use bytes::Bytes;
use kcl_checkpoint::{
    ExtendedSequenceNumber, FleetRecord, Lease, LeaseKey, LeaseListing, LeaseStore, Operation,
};
use kcl_core::async_trait;

/// Wraps a lease store and counts every call by [`Operation`] (a call is one DynamoDB request, except a
/// listing: one Scan per 1 MB page; [`listed`](Self::listed) gives the leases listings returned).
#[derive(Debug)]
pub struct CountingLeaseStore {
    inner: Arc<dyn LeaseStore>,
    calls: Mutex<BTreeMap<Operation, u64>>,
    listed: AtomicU64,
    fleet_workers: AtomicU64,
}

impl CountingLeaseStore {
    /// Counts calls to `inner`.
    pub fn new(inner: Arc<dyn LeaseStore>) -> Self {
        CountingLeaseStore {
            inner,
            calls: Mutex::new(BTreeMap::new()),
            listed: AtomicU64::new(0),
            fleet_workers: AtomicU64::new(0),
        }
    }

    fn count(&self, op: Operation) {
        *self
            .calls
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .entry(op)
            .or_default() += 1;
    }

    /// Calls so far by operation.
    pub fn calls(&self) -> BTreeMap<Operation, u64> {
        self.calls.lock().unwrap_or_else(|p| p.into_inner()).clone()
    }

    /// Calls so far, all operations.
    pub fn total(&self) -> u64 {
        self.calls().values().sum()
    }

    /// Leases returned by all listings so far.
    pub fn listed(&self) -> u64 {
        self.listed.load(Ordering::Relaxed)
    }

    /// Workers in the fleet record at the last heartbeat (heartbeat renewal), for sizing its item.
    pub fn fleet_workers(&self) -> u64 {
        self.fleet_workers.load(Ordering::Relaxed)
    }

    /// Zeroes the counts.
    pub fn reset(&self) {
        self.calls.lock().unwrap_or_else(|p| p.into_inner()).clear();
        self.listed.store(0, Ordering::Relaxed);
    }

    /// The wrapped store.
    pub fn inner(&self) -> &Arc<dyn LeaseStore> {
        &self.inner
    }
}

#[async_trait]
impl LeaseStore for CountingLeaseStore {
    async fn ensure_table(&self) -> kcl_checkpoint::Result<bool> {
        self.inner.ensure_table().await
    }
    async fn list(&self) -> kcl_checkpoint::Result<LeaseListing> {
        self.count(Operation::List);
        let listing = self.inner.list().await?;
        self.listed
            .fetch_add(listing.leases.len() as u64, Ordering::Relaxed);
        Ok(listing)
    }
    async fn get(&self, key: &LeaseKey) -> kcl_checkpoint::Result<Option<Lease>> {
        self.count(Operation::Get);
        self.inner.get(key).await
    }
    async fn create_if_absent(&self, lease: &Lease) -> kcl_checkpoint::Result<bool> {
        self.count(Operation::Create);
        self.inner.create_if_absent(lease).await
    }
    async fn renew(&self, lease: &Lease) -> kcl_checkpoint::Result<Lease> {
        self.count(Operation::Renew);
        self.inner.renew(lease).await
    }
    async fn take(&self, lease: &Lease, new_owner: &str) -> kcl_checkpoint::Result<Lease> {
        self.count(Operation::Take);
        self.inner.take(lease, new_owner).await
    }
    async fn evict(&self, lease: &Lease) -> kcl_checkpoint::Result<Lease> {
        self.count(Operation::Evict);
        self.inner.evict(lease).await
    }
    async fn checkpoint(&self, lease: &Lease, at: ExtendedSequenceNumber) -> kcl_checkpoint::Result<Lease> {
        self.count(Operation::Checkpoint);
        self.inner.checkpoint(lease, at).await
    }
    async fn prepare_checkpoint(
        &self,
        lease: &Lease,
        at: ExtendedSequenceNumber,
        state: Option<Bytes>,
    ) -> kcl_checkpoint::Result<Lease> {
        self.count(Operation::PrepareCheckpoint);
        self.inner.prepare_checkpoint(lease, at, state).await
    }
    async fn request_handoff(&self, lease: &Lease, new_owner: &str) -> kcl_checkpoint::Result<Lease> {
        self.count(Operation::RequestHandoff);
        self.inner.request_handoff(lease, new_owner).await
    }
    async fn handoff_checkpoint(
        &self,
        lease: &Lease,
        at: ExtendedSequenceNumber,
    ) -> kcl_checkpoint::Result<Lease> {
        self.count(Operation::HandoffCheckpoint);
        self.inner.handoff_checkpoint(lease, at).await
    }
    async fn finish_handoff(&self, lease: &Lease) -> kcl_checkpoint::Result<Lease> {
        self.count(Operation::FinishHandoff);
        self.inner.finish_handoff(lease).await
    }
    async fn heartbeat(&self, worker_id: &str, expected: Option<u64>) -> kcl_checkpoint::Result<FleetRecord> {
        self.count(Operation::Heartbeat);
        let record = self.inner.heartbeat(worker_id, expected).await?;
        self.fleet_workers
            .store(record.heartbeats.len() as u64, Ordering::Relaxed);
        Ok(record)
    }
    async fn bump_version(&self) -> kcl_checkpoint::Result<FleetRecord> {
        self.count(Operation::BumpVersion);
        self.inner.bump_version().await
    }
    async fn leave_fleet(&self, worker_id: &str) -> kcl_checkpoint::Result<()> {
        self.count(Operation::LeaveFleet);
        self.inner.leave_fleet(worker_id).await
    }
    async fn evict_worker(&self, worker_id: &str, expected: u64) -> kcl_checkpoint::Result<FleetRecord> {
        self.count(Operation::EvictWorker);
        self.inner.evict_worker(worker_id, expected).await
    }
    async fn read_fleet(&self) -> kcl_checkpoint::Result<FleetRecord> {
        self.count(Operation::ReadFleet);
        self.inner.read_fleet().await
    }
    async fn set_child_shard_ids(
        &self,
        lease: &Lease,
        children: &std::collections::BTreeSet<String>,
    ) -> kcl_checkpoint::Result<Lease> {
        self.count(Operation::SetChildShardIds);
        self.inner.set_child_shard_ids(lease, children).await
    }
    async fn report_load(
        &self,
        lease: &Lease,
        load: &kcl_checkpoint::LeaseLoad,
    ) -> kcl_checkpoint::Result<Lease> {
        self.count(Operation::ReportLoad);
        self.inner.report_load(lease, load).await
    }
    async fn delete(&self, lease: &Lease) -> kcl_checkpoint::Result<()> {
        self.count(Operation::Delete);
        self.inner.delete(lease).await
    }
}
