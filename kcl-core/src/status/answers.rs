//! [`AnswerTracking`]: the worker's lease store, wrapped to record when it last answered (for liveness).

use std::collections::BTreeSet;
use std::sync::Arc;

use async_trait::async_trait;
use bytes::Bytes;
use kcl_checkpoint::{ExtendedSequenceNumber, Lease, LeaseKey, LeaseListing, LeaseStore};

use super::WorkerStatus;

/// Wraps the worker's lease store to record when it last answered (any response but a timeout, a
/// connection failure or a credentials failure), for liveness.
#[derive(Debug)]
pub(crate) struct AnswerTracking {
    inner: Arc<dyn LeaseStore>,
    status: Arc<WorkerStatus>,
}

impl AnswerTracking {
    pub(crate) fn new(inner: Arc<dyn LeaseStore>, status: Arc<WorkerStatus>) -> Self {
        AnswerTracking { inner, status }
    }

    fn seen<T>(&self, result: kcl_checkpoint::Result<T>) -> kcl_checkpoint::Result<T> {
        match &result {
            Ok(_) => self.status.store_answered(),
            Err(e) if e.is_answer() => self.status.store_answered(),
            Err(_) => {}
        }
        result
    }
}

#[async_trait]
impl LeaseStore for AnswerTracking {
    async fn ensure_table(&self) -> kcl_checkpoint::Result<bool> {
        self.seen(self.inner.ensure_table().await)
    }
    async fn list(&self) -> kcl_checkpoint::Result<LeaseListing> {
        self.seen(self.inner.list().await)
    }
    async fn get(&self, key: &LeaseKey) -> kcl_checkpoint::Result<Option<Lease>> {
        self.seen(self.inner.get(key).await)
    }
    async fn create_if_absent(&self, lease: &Lease) -> kcl_checkpoint::Result<bool> {
        self.seen(self.inner.create_if_absent(lease).await)
    }
    async fn renew(&self, lease: &Lease) -> kcl_checkpoint::Result<Lease> {
        self.seen(self.inner.renew(lease).await)
    }
    async fn take(&self, lease: &Lease, new_owner: &str) -> kcl_checkpoint::Result<Lease> {
        self.seen(self.inner.take(lease, new_owner).await)
    }
    async fn evict(&self, lease: &Lease) -> kcl_checkpoint::Result<Lease> {
        self.seen(self.inner.evict(lease).await)
    }
    async fn release(&self, lease: &Lease) -> kcl_checkpoint::Result<Lease> {
        self.seen(self.inner.release(lease).await)
    }
    async fn checkpoint(
        &self,
        lease: &Lease,
        checkpoint: ExtendedSequenceNumber,
    ) -> kcl_checkpoint::Result<Lease> {
        self.seen(self.inner.checkpoint(lease, checkpoint).await)
    }
    async fn prepare_checkpoint(
        &self,
        lease: &Lease,
        pending: ExtendedSequenceNumber,
        state: Option<Bytes>,
    ) -> kcl_checkpoint::Result<Lease> {
        self.seen(self.inner.prepare_checkpoint(lease, pending, state).await)
    }
    async fn commit_pending_checkpoint(&self, lease: &Lease) -> kcl_checkpoint::Result<Lease> {
        self.seen(self.inner.commit_pending_checkpoint(lease).await)
    }
    async fn request_handoff(&self, lease: &Lease, new_owner: &str) -> kcl_checkpoint::Result<Lease> {
        self.seen(self.inner.request_handoff(lease, new_owner).await)
    }
    async fn handoff_checkpoint(
        &self,
        lease: &Lease,
        checkpoint: ExtendedSequenceNumber,
    ) -> kcl_checkpoint::Result<Lease> {
        self.seen(self.inner.handoff_checkpoint(lease, checkpoint).await)
    }
    async fn finish_handoff(&self, lease: &Lease) -> kcl_checkpoint::Result<Lease> {
        self.seen(self.inner.finish_handoff(lease).await)
    }
    async fn heartbeat(
        &self,
        worker_id: &str,
        expected: Option<u64>,
    ) -> kcl_checkpoint::Result<kcl_checkpoint::FleetRecord> {
        self.seen(self.inner.heartbeat(worker_id, expected).await)
    }
    async fn evict_worker(
        &self,
        worker_id: &str,
        expected: u64,
    ) -> kcl_checkpoint::Result<kcl_checkpoint::FleetRecord> {
        self.seen(self.inner.evict_worker(worker_id, expected).await)
    }
    async fn read_fleet(&self) -> kcl_checkpoint::Result<kcl_checkpoint::FleetRecord> {
        self.seen(self.inner.read_fleet().await)
    }
    async fn bump_version(&self) -> kcl_checkpoint::Result<kcl_checkpoint::FleetRecord> {
        self.seen(self.inner.bump_version().await)
    }
    async fn leave_fleet(&self, worker_id: &str) -> kcl_checkpoint::Result<()> {
        self.seen(self.inner.leave_fleet(worker_id).await)
    }
    async fn set_child_shard_ids(
        &self,
        lease: &Lease,
        children: &BTreeSet<String>,
    ) -> kcl_checkpoint::Result<Lease> {
        self.seen(self.inner.set_child_shard_ids(lease, children).await)
    }
    async fn report_load(
        &self,
        lease: &Lease,
        load: &kcl_checkpoint::LeaseLoad,
    ) -> kcl_checkpoint::Result<Lease> {
        self.seen(self.inner.report_load(lease, load).await)
    }
    async fn delete(&self, lease: &Lease) -> kcl_checkpoint::Result<()> {
        self.seen(self.inner.delete(lease).await)
    }
}
