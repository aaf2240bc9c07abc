//! [`WorkerStatus`]: the shared, updatable status of one worker, written by its tasks (phase, loop beats,
//! balance, per-shard states and progress) and read as a [`WorkerStatusSnapshot`].

use std::collections::{BTreeMap, BTreeSet};
use std::sync::Mutex;
use std::time::Duration;

use kcl_checkpoint::ExtendedSequenceNumber;
use tokio::time::Instant;

use super::{Balance, LoopBeat, ShardStatus, WorkerPhase, WorkerStatusSnapshot};
use crate::consumer_state::ConsumerState;

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

    pub(super) fn store_answered(&self) {
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
