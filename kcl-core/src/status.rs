//! What a running worker is doing, for its handle and for health checks: per-shard consumer states and
//! progress, when the lease store last answered, when each loop last ran, the balance at the last taker
//! cycle, and a fatal error if one stopped the worker.
//!
//! [`WorkerHandle::status`](crate::WorkerHandle::status) returns a [`WorkerStatusSnapshot`]; its
//! [`liveness`](WorkerStatusSnapshot::liveness) and [`readiness`](WorkerStatusSnapshot::readiness) are what a
//! `/healthz` and a `/readyz` endpoint report.
//!
//! All instants are tokio instants (so health follows paused time in tests).

use std::collections::{BTreeMap, BTreeSet};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use async_trait::async_trait;
use bytes::Bytes;
use kcl_checkpoint::{ExtendedSequenceNumber, Lease, LeaseKey, LeaseListing, LeaseStore};
use tokio::time::Instant;

use crate::consumer_state::ConsumerState;

/// Where a worker is in its life.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum WorkerPhase {
    /// Ensuring the lease table and running the first shard sync.
    Starting,
    /// Taking, renewing and processing.
    Running,
    /// A graceful shutdown is under way.
    ShuttingDown,
    /// Stopped after a shutdown.
    Stopped,
    /// Stopped by an error retrying cannot fix (see [`WorkerStatusSnapshot::fatal`]).
    Failed,
}

impl WorkerPhase {
    /// A short lowercase name (`running`, ...).
    pub fn name(self) -> &'static str {
        match self {
            WorkerPhase::Starting => "starting",
            WorkerPhase::Running => "running",
            WorkerPhase::ShuttingDown => "shutting_down",
            WorkerPhase::Stopped => "stopped",
            WorkerPhase::Failed => "failed",
        }
    }
}

/// The lease balance the taker saw at its last cycle.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Default)]
#[non_exhaustive]
pub struct Balance {
    /// Unfinished leases in the table.
    pub assignable_leases: usize,
    /// Workers believed alive (this one included).
    pub live_workers: usize,
    /// Leases this worker held after the cycle.
    pub held: usize,
    /// This worker's fair share: `assignable / live` rounded down, capped at the per-worker maximum.
    pub fair_share: usize,
    /// True when the assignment strategy wanted nothing more (no free lease to take, nothing to steal):
    /// the fleet is balanced or saturated.
    pub settled: bool,
}

/// One shard consumer as seen now.
#[derive(Clone, Debug, PartialEq)]
#[non_exhaustive]
pub struct ShardStatus {
    /// The shard id (lease key).
    pub shard_id: String,
    /// The consumer's state.
    pub state: ConsumerState,
    /// The checkpoint stored in the lease (`None` while a write is in flight).
    pub checkpoint: Option<ExtendedSequenceNumber>,
    /// How far behind the newest record the last batch read was.
    pub millis_behind_latest: Option<u64>,
    /// Records delivered to the processor and accepted on this worker.
    pub records_processed: u64,
}

/// A health check result: `ok`, or the reasons it is not.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Check {
    /// True when healthy (or ready).
    pub ok: bool,
    /// Why not, one line each (empty when `ok`).
    pub reasons: Vec<String>,
}

impl Check {
    fn from_reasons(reasons: Vec<String>) -> Self {
        Check {
            ok: reasons.is_empty(),
            reasons,
        }
    }
}

/// What a running worker is doing now. See the [module docs](self).
#[derive(Clone, Debug)]
#[non_exhaustive]
pub struct WorkerStatusSnapshot {
    /// The worker id.
    pub worker_id: String,
    /// Where the worker is in its life.
    pub phase: WorkerPhase,
    /// The configured lease duration (the health thresholds derive from it).
    pub lease_duration: Duration,
    /// True once a shard sync succeeded.
    pub synced: bool,
    /// How long ago the lease store last answered (any response, conflicts included), if ever.
    pub store_answered_ago: Option<Duration>,
    /// How long ago each loop last ran, with the longest normal gap of that loop.
    pub loops: BTreeMap<&'static str, LoopBeat>,
    /// The balance at the last taker cycle.
    pub balance: Option<Balance>,
    /// The error that stopped the worker, if one did (with its cause chain).
    pub fatal: Option<String>,
    /// Every shard consumer of this worker.
    pub shards: Vec<ShardStatus>,
}

/// When a loop last ran.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct LoopBeat {
    /// How long ago.
    pub ago: Duration,
    /// Its longest normal gap between runs (its interval).
    pub period: Duration,
}

impl WorkerStatusSnapshot {
    /// Liveness (`/healthz`): no fatal error, the worker is not stopped, the lease store answered within
    /// the lease duration, and every loop ran within its interval plus the lease duration.
    pub fn liveness(&self) -> Check {
        let mut reasons = Vec::new();
        if let Some(fatal) = &self.fatal {
            reasons.push(format!("stopped by a fatal error: {fatal}"));
        } else if matches!(self.phase, WorkerPhase::Stopped) {
            reasons.push("the worker stopped".to_owned());
        }
        match self.store_answered_ago {
            Some(ago) if ago <= self.lease_duration => {}
            Some(ago) => reasons.push(format!(
                "the lease store has not answered for {} ms (lease duration {} ms)",
                ago.as_millis(),
                self.lease_duration.as_millis()
            )),
            None => reasons.push("the lease store has not answered yet".to_owned()),
        }
        if !matches!(self.phase, WorkerPhase::Stopped | WorkerPhase::Failed) {
            for (name, beat) in &self.loops {
                if beat.ago > beat.period + self.lease_duration {
                    reasons.push(format!(
                        "the {name} loop has not run for {} ms (interval {} ms)",
                        beat.ago.as_millis(),
                        beat.period.as_millis()
                    ));
                }
            }
        }
        Check::from_reasons(reasons)
    }

    /// Readiness (`/readyz`): running, a shard sync has succeeded, and the worker holds its fair share or
    /// the fleet is settled (nothing left to take or steal).
    pub fn readiness(&self) -> Check {
        let mut reasons = Vec::new();
        if self.phase != WorkerPhase::Running {
            reasons.push(format!("the worker is {}", self.phase.name()));
        }
        if !self.synced {
            reasons.push("no shard sync has succeeded yet".to_owned());
        }
        match self.balance {
            None => reasons.push("no lease taker cycle has completed yet".to_owned()),
            Some(b) if b.held < b.fair_share && !b.settled => reasons.push(format!(
                "holds {} of its fair share of {} leases ({} leases, {} workers)",
                b.held, b.fair_share, b.assignable_leases, b.live_workers
            )),
            Some(_) => {}
        }
        Check::from_reasons(reasons)
    }
}

#[derive(Debug, Default)]
struct ShardEntry {
    state: Option<ConsumerState>,
    millis_behind_latest: Option<u64>,
    records_processed: u64,
}

#[derive(Debug)]
struct Inner {
    phase: WorkerPhase,
    synced: bool,
    store_answered: Option<Instant>,
    loops: BTreeMap<&'static str, (Instant, Duration)>,
    balance: Option<Balance>,
    fatal: Option<String>,
    shards: BTreeMap<String, ShardEntry>,
}

/// The shared, updatable status of one worker.
#[derive(Debug)]
pub(crate) struct WorkerStatus {
    inner: Mutex<Inner>,
    /// Woken whenever the phase changes.
    phase_changed: tokio::sync::Notify,
}

impl Default for WorkerStatus {
    fn default() -> Self {
        WorkerStatus {
            phase_changed: tokio::sync::Notify::new(),
            inner: Mutex::new(Inner {
                phase: WorkerPhase::Starting,
                synced: false,
                store_answered: None,
                loops: BTreeMap::new(),
                balance: None,
                fatal: None,
                shards: BTreeMap::new(),
            }),
        }
    }
}

impl WorkerStatus {
    fn lock(&self) -> std::sync::MutexGuard<'_, Inner> {
        self.inner.lock().unwrap_or_else(|p| p.into_inner())
    }

    pub(crate) fn set(&self, shard_id: &str, state: ConsumerState) {
        self.lock().shards.entry(shard_id.to_owned()).or_default().state = Some(state);
    }

    /// Records a batch read (`behind`) and, when delivered, its record count.
    pub(crate) fn batch(&self, shard_id: &str, behind: Option<u64>, delivered: u64) {
        let mut inner = self.lock();
        let entry = inner.shards.entry(shard_id.to_owned()).or_default();
        if behind.is_some() {
            entry.millis_behind_latest = behind;
        }
        entry.records_processed += delivered;
    }

    pub(crate) fn remove(&self, shard_id: &str) {
        self.lock().shards.remove(shard_id);
    }

    pub(crate) fn snapshot(&self) -> BTreeMap<String, ConsumerState> {
        self.lock()
            .shards
            .iter()
            .filter_map(|(k, e)| e.state.map(|s| (k.clone(), s)))
            .collect()
    }

    pub(crate) fn set_phase(&self, phase: WorkerPhase) {
        self.lock().phase = phase;
        self.phase_changed.notify_waiters();
    }

    pub(crate) fn set_fatal(&self, error: String) {
        {
            let mut inner = self.lock();
            inner.fatal = Some(error);
            inner.phase = WorkerPhase::Failed;
        }
        self.phase_changed.notify_waiters();
    }

    /// Returns once the worker stopped or failed.
    pub(crate) async fn stopped(&self) {
        loop {
            let changed = self.phase_changed.notified();
            if matches!(self.lock().phase, WorkerPhase::Stopped | WorkerPhase::Failed) {
                return;
            }
            changed.await;
        }
    }

    pub(crate) fn synced(&self) {
        self.lock().synced = true;
    }

    pub(crate) fn beat(&self, name: &'static str, period: Duration) {
        self.lock().loops.insert(name, (Instant::now(), period));
    }

    pub(crate) fn set_balance(&self, balance: Balance) {
        self.lock().balance = Some(balance);
    }

    fn store_answered(&self) {
        self.lock().store_answered = Some(Instant::now());
    }

    /// A snapshot; `checkpoints` gives the stored checkpoint per held shard.
    pub(crate) fn full(
        &self,
        worker_id: &str,
        lease_duration: Duration,
        checkpoints: &BTreeMap<String, Option<ExtendedSequenceNumber>>,
    ) -> WorkerStatusSnapshot {
        let inner = self.lock();
        let now = Instant::now();
        let keys: BTreeSet<&String> = inner.shards.keys().chain(checkpoints.keys()).collect();
        let shards = keys
            .into_iter()
            .filter_map(|k| {
                let entry = inner.shards.get(k);
                Some(ShardStatus {
                    shard_id: k.clone(),
                    state: entry.and_then(|e| e.state)?,
                    checkpoint: checkpoints.get(k).cloned().flatten(),
                    millis_behind_latest: entry.and_then(|e| e.millis_behind_latest),
                    records_processed: entry.map_or(0, |e| e.records_processed),
                })
            })
            .collect();
        WorkerStatusSnapshot {
            worker_id: worker_id.to_owned(),
            phase: inner.phase,
            lease_duration,
            synced: inner.synced,
            store_answered_ago: inner.store_answered.map(|at| now.saturating_duration_since(at)),
            loops: inner
                .loops
                .iter()
                .map(|(name, (at, period))| {
                    (
                        *name,
                        LoopBeat {
                            ago: now.saturating_duration_since(*at),
                            period: *period,
                        },
                    )
                })
                .collect(),
            balance: inner.balance,
            fatal: inner.fatal.clone(),
            shards,
        }
    }
}

/// Reads a worker's status without owning its handle (for HTTP endpoints); cheap to clone. From
/// [`WorkerHandle::status_reader`](crate::WorkerHandle::status_reader).
#[derive(Clone, Debug)]
pub struct StatusReader {
    pub(crate) worker_id: Arc<str>,
    pub(crate) held: Arc<crate::held::HeldSet>,
    pub(crate) status: Arc<WorkerStatus>,
    pub(crate) lease_duration: Duration,
}

impl StatusReader {
    /// What the worker is doing now (see [`WorkerStatusSnapshot`]).
    pub fn snapshot(&self) -> WorkerStatusSnapshot {
        let checkpoints = self
            .held
            .all()
            .into_iter()
            .map(|l| (l.shard_id().to_owned(), l.try_checkpoint()))
            .collect();
        self.status
            .full(&self.worker_id, self.lease_duration, &checkpoints)
    }

    /// Returns once the worker has stopped (after a shutdown) or failed (a fatal error).
    pub async fn stopped(&self) {
        self.status.stopped().await;
    }
}

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

#[cfg(test)]
mod tests {
    use super::*;

    fn snapshot() -> WorkerStatusSnapshot {
        let status = WorkerStatus::default();
        status.full("w", Duration::from_secs(10), &BTreeMap::new())
    }

    #[tokio::test(start_paused = true)]
    async fn liveness_follows_the_store_and_the_loops() {
        let status = Arc::new(WorkerStatus::default());
        let store = AnswerTracking::new(
            Arc::new(kcl_checkpoint::InMemoryLeaseStore::new()),
            Arc::clone(&status),
        );
        let ten = Duration::from_secs(10);
        let check = |s: &WorkerStatus| s.full("w", ten, &BTreeMap::new()).liveness();
        assert!(!check(&status).ok, "no answer yet");
        store.list().await.unwrap();
        status.beat("worker", Duration::from_secs(1));
        assert!(check(&status).ok, "{:?}", check(&status));
        tokio::time::advance(Duration::from_secs(12)).await;
        let c = check(&status);
        assert!(!c.ok && c.reasons.len() == 2, "{c:?}");
        store.list().await.unwrap();
        status.beat("worker", Duration::from_secs(1));
        assert!(check(&status).ok);
        status.set_fatal("stream missing".into());
        assert!(!check(&status).ok);
    }

    #[test]
    fn readiness_needs_a_sync_and_the_fair_share_or_a_settled_fleet() {
        let mut s = snapshot();
        assert!(!s.readiness().ok);
        s.phase = WorkerPhase::Running;
        s.synced = true;
        s.balance = Some(Balance {
            assignable_leases: 4,
            live_workers: 2,
            held: 1,
            fair_share: 2,
            settled: false,
        });
        assert!(!s.readiness().ok, "below its share and still taking");
        s.balance = Some(Balance {
            held: 2,
            ..s.balance.unwrap()
        });
        assert!(s.readiness().ok);
        s.balance = Some(Balance {
            held: 0,
            settled: true,
            ..s.balance.unwrap()
        });
        assert!(s.readiness().ok, "settled fleet: nothing to take");
        s.phase = WorkerPhase::ShuttingDown;
        assert!(!s.readiness().ok);
    }
}
