//! [`FaultyLeaseStore`]: a fault-injecting wrapper for simulation tests (feature `test-util`).
//!
//! Wraps any [`LeaseStore`] and, before each call, injects either the next *scripted* fault for that
//! operation or, with a seeded random generator, a fault drawn from [`RandomFaults`] probabilities. Faults
//! cover what a real table does to a worker: lost fences ([`Fault::Conflict`]), throttling, timeouts that were
//! not applied, timeouts that *were* applied ([`Fault::TimeoutAfterApply`], the ambiguous case), and latency.
//! Latency sleeps on `tokio::time`, so paused-time simulations stay deterministic for a given seed.

use std::collections::{BTreeSet, HashMap, VecDeque};
use std::future::Future;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};

use async_trait::async_trait;
use bytes::Bytes;
use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};
use tokio::time::Duration;

use crate::error::{Error, Result};
use crate::fleet::FleetRecord;
use crate::lease::{Lease, LeaseKey, LeaseLoad};
use crate::sequence::ExtendedSequenceNumber;
use crate::store::{LeaseListing, LeaseStore, Operation};

/// One injected fault.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum Fault {
    /// Fail with [`Error::Conflict`] without calling the wrapped store.
    Conflict,
    /// Fail with [`Error::Throttled`] without calling the wrapped store.
    Throttle,
    /// Fail with [`Error::Timeout`] without calling the wrapped store.
    Timeout,
    /// Call the wrapped store (the write lands), then fail with [`Error::Timeout`].
    TimeoutAfterApply,
    /// Sleep this long (tokio time), then call the wrapped store normally.
    Latency(Duration),
}

/// Probabilities of random faults, each drawn independently per call (in this order: conflict, throttle,
/// timeout, timeout-after-apply; at most one fault per call), plus an optional uniform latency range.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct RandomFaults {
    /// Probability of [`Fault::Conflict`] on fenced writes (never injected on reads).
    pub conflict: f64,
    /// Probability of [`Fault::Throttle`].
    pub throttle: f64,
    /// Probability of [`Fault::Timeout`].
    pub timeout: f64,
    /// Probability of [`Fault::TimeoutAfterApply`] on writes.
    pub timeout_after_apply: f64,
    /// Latency added to every call, uniform in `[min, max]`.
    pub latency: Option<(Duration, Duration)>,
}

#[derive(Debug)]
struct Random {
    rng: StdRng,
    faults: RandomFaults,
}

/// A [`LeaseStore`] that injects scripted or seeded faults before delegating to the store it wraps.
#[derive(Debug)]
pub struct FaultyLeaseStore {
    inner: Arc<dyn LeaseStore>,
    scripted: Mutex<HashMap<Operation, VecDeque<Fault>>>,
    random: Mutex<Option<Random>>,
    /// Random faults are drawn only while this is set (scripted faults always apply).
    random_enabled: AtomicBool,
    injected: AtomicU64,
}

impl FaultyLeaseStore {
    /// Wraps `inner`; no faults until some are scripted or [`with_random`](Self::with_random) is used.
    pub fn new(inner: Arc<dyn LeaseStore>) -> Self {
        FaultyLeaseStore {
            inner,
            scripted: Mutex::new(HashMap::new()),
            random: Mutex::new(None),
            random_enabled: AtomicBool::new(true),
            injected: AtomicU64::new(0),
        }
    }

    /// Adds random faults drawn from a generator seeded with `seed` (log the seed; a failing seed becomes a
    /// pinned regression test).
    pub fn with_random(self, seed: u64, faults: RandomFaults) -> Self {
        *lock(&self.random) = Some(Random {
            rng: StdRng::seed_from_u64(seed),
            faults,
        });
        self
    }

    /// Switches the random faults on or off (on by default), for simulations whose faults come and go
    /// over time. The seeded generator keeps its position, so a run stays reproducible.
    pub fn set_random_enabled(&self, enabled: bool) {
        self.random_enabled.store(enabled, Ordering::Relaxed);
    }

    /// Replaces the random faults' probabilities (keeping the seeded generator), e.g. to raise or lower
    /// them during a simulation. A no-op unless [`with_random`](Self::with_random) was used.
    pub fn set_random_faults(&self, faults: RandomFaults) {
        if let Some(random) = lock(&self.random).as_mut() {
            random.faults = faults;
        }
    }

    /// Queues `faults` for the next calls of `operation`, one per call, before any random fault.
    pub fn script(&self, operation: Operation, faults: impl IntoIterator<Item = Fault>) {
        lock(&self.scripted).entry(operation).or_default().extend(faults);
    }

    /// Drops every scripted fault not yet injected.
    pub fn clear_script(&self) {
        lock(&self.scripted).clear();
    }

    /// How many faults (including latency) have been injected so far.
    pub fn injected(&self) -> u64 {
        self.injected.load(Ordering::Relaxed)
    }

    /// The wrapped store.
    pub fn inner(&self) -> &Arc<dyn LeaseStore> {
        &self.inner
    }

    fn next_fault(&self, operation: Operation) -> Option<Fault> {
        if let Some(fault) = lock(&self.scripted)
            .get_mut(&operation)
            .and_then(VecDeque::pop_front)
        {
            return Some(fault);
        }
        if !self.random_enabled.load(Ordering::Relaxed) {
            return None;
        }
        let mut random = lock(&self.random);
        let Random { rng, faults } = random.as_mut()?;
        let fenced = operation.is_write() && operation != Operation::Create;
        if fenced && rng.random_bool(clamp(faults.conflict)) {
            return Some(Fault::Conflict);
        }
        if rng.random_bool(clamp(faults.throttle)) {
            return Some(Fault::Throttle);
        }
        if rng.random_bool(clamp(faults.timeout)) {
            return Some(Fault::Timeout);
        }
        if operation.is_write() && rng.random_bool(clamp(faults.timeout_after_apply)) {
            return Some(Fault::TimeoutAfterApply);
        }
        let (min, max) = faults.latency?;
        let (min, max) = (min.min(max), max.max(min));
        let extra = max.saturating_sub(min).as_nanos();
        let extra = u64::try_from(extra).unwrap_or(u64::MAX);
        let nanos = if extra == 0 {
            0
        } else {
            rng.random_range(0..=extra)
        };
        Some(Fault::Latency(min + Duration::from_nanos(nanos)))
    }

    async fn run<T, Fut>(
        &self,
        operation: Operation,
        key: Option<&LeaseKey>,
        call: impl FnOnce() -> Fut,
    ) -> Result<T>
    where
        Fut: Future<Output = Result<T>>,
    {
        let Some(fault) = self.next_fault(operation) else {
            return call().await;
        };
        self.injected.fetch_add(1, Ordering::Relaxed);
        tracing::debug!(%operation, ?fault, "injecting lease store fault");
        let key = key.map(LeaseKey::as_str).unwrap_or_default();
        match fault {
            Fault::Conflict if operation.is_write() => Err(Error::conflict(operation, key)),
            Fault::Conflict => call().await,
            Fault::Throttle => Err(Error::Throttled {
                operation,
                source: None,
            }),
            Fault::Timeout => Err(Error::Timeout {
                operation,
                source: None,
            }),
            Fault::TimeoutAfterApply => {
                let _applied = call().await;
                Err(Error::Timeout {
                    operation,
                    source: None,
                })
            }
            Fault::Latency(delay) => {
                tokio::time::sleep(delay).await;
                call().await
            }
        }
    }
}

fn clamp(probability: f64) -> f64 {
    if probability.is_nan() {
        0.0
    } else {
        probability.clamp(0.0, 1.0)
    }
}

fn lock<T>(mutex: &Mutex<T>) -> MutexGuard<'_, T> {
    mutex.lock().unwrap_or_else(|poisoned| poisoned.into_inner())
}

#[async_trait]
impl LeaseStore for FaultyLeaseStore {
    async fn ensure_table(&self) -> Result<bool> {
        self.run(Operation::EnsureTable, None, || self.inner.ensure_table())
            .await
    }

    async fn list(&self) -> Result<LeaseListing> {
        self.run(Operation::List, None, || self.inner.list()).await
    }

    async fn get(&self, key: &LeaseKey) -> Result<Option<Lease>> {
        self.run(Operation::Get, Some(key), || self.inner.get(key)).await
    }

    async fn create_if_absent(&self, lease: &Lease) -> Result<bool> {
        self.run(Operation::Create, Some(&lease.key), || {
            self.inner.create_if_absent(lease)
        })
        .await
    }

    async fn renew(&self, lease: &Lease) -> Result<Lease> {
        self.run(Operation::Renew, Some(&lease.key), || self.inner.renew(lease))
            .await
    }

    async fn take(&self, lease: &Lease, new_owner: &str) -> Result<Lease> {
        self.run(Operation::Take, Some(&lease.key), || {
            self.inner.take(lease, new_owner)
        })
        .await
    }

    async fn evict(&self, lease: &Lease) -> Result<Lease> {
        self.run(Operation::Evict, Some(&lease.key), || self.inner.evict(lease))
            .await
    }

    async fn checkpoint(&self, lease: &Lease, checkpoint: ExtendedSequenceNumber) -> Result<Lease> {
        self.run(Operation::Checkpoint, Some(&lease.key), || {
            self.inner.checkpoint(lease, checkpoint)
        })
        .await
    }

    async fn prepare_checkpoint(
        &self,
        lease: &Lease,
        pending: ExtendedSequenceNumber,
        state: Option<Bytes>,
    ) -> Result<Lease> {
        self.run(Operation::PrepareCheckpoint, Some(&lease.key), || {
            self.inner.prepare_checkpoint(lease, pending, state)
        })
        .await
    }

    async fn request_handoff(&self, lease: &Lease, new_owner: &str) -> Result<Lease> {
        self.run(Operation::RequestHandoff, Some(&lease.key), || {
            self.inner.request_handoff(lease, new_owner)
        })
        .await
    }

    async fn handoff_checkpoint(&self, lease: &Lease, checkpoint: ExtendedSequenceNumber) -> Result<Lease> {
        self.run(Operation::HandoffCheckpoint, Some(&lease.key), || {
            self.inner.handoff_checkpoint(lease, checkpoint)
        })
        .await
    }

    async fn finish_handoff(&self, lease: &Lease) -> Result<Lease> {
        self.run(Operation::FinishHandoff, Some(&lease.key), || {
            self.inner.finish_handoff(lease)
        })
        .await
    }

    async fn heartbeat(&self, worker_id: &str, expected: Option<u64>) -> Result<FleetRecord> {
        self.run(Operation::Heartbeat, None, || {
            self.inner.heartbeat(worker_id, expected)
        })
        .await
    }

    async fn evict_worker(&self, worker_id: &str, expected: u64) -> Result<FleetRecord> {
        self.run(Operation::EvictWorker, None, || {
            self.inner.evict_worker(worker_id, expected)
        })
        .await
    }

    async fn read_fleet(&self) -> Result<FleetRecord> {
        self.run(Operation::ReadFleet, None, || self.inner.read_fleet())
            .await
    }

    async fn bump_version(&self) -> Result<FleetRecord> {
        self.run(Operation::BumpVersion, None, || self.inner.bump_version())
            .await
    }

    async fn leave_fleet(&self, worker_id: &str) -> Result<()> {
        self.run(Operation::LeaveFleet, None, || self.inner.leave_fleet(worker_id))
            .await
    }

    async fn set_child_shard_ids(&self, lease: &Lease, children: &BTreeSet<String>) -> Result<Lease> {
        self.run(Operation::SetChildShardIds, Some(&lease.key), || {
            self.inner.set_child_shard_ids(lease, children)
        })
        .await
    }

    async fn report_load(&self, lease: &Lease, load: &LeaseLoad) -> Result<Lease> {
        self.run(Operation::ReportLoad, Some(&lease.key), || {
            self.inner.report_load(lease, load)
        })
        .await
    }

    async fn delete(&self, lease: &Lease) -> Result<()> {
        self.run(Operation::Delete, Some(&lease.key), || self.inner.delete(lease))
            .await
    }
}
