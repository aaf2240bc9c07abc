//! What a running worker is doing, for its handle and for health checks: per-shard consumer states and
//! progress, when the lease store last answered, when each loop last ran, the balance at the last taker
//! cycle, and a fatal error if one stopped the worker.
//!
//! [`WorkerHandle::status`](crate::WorkerHandle::status) returns a [`WorkerStatusSnapshot`]; its
//! [`liveness`](WorkerStatusSnapshot::liveness) and [`readiness`](WorkerStatusSnapshot::readiness) are what a
//! `/healthz` and a `/readyz` endpoint report.
//!
//! All instants are tokio instants (so health follows paused time in tests).
//!
//! Layout: this file holds the public snapshot types; `shared` the `WorkerStatus` the worker's tasks
//! update; `answers` the lease-store wrapper that records when the store last answered.

use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::Duration;

use kcl_checkpoint::ExtendedSequenceNumber;

use crate::consumer_state::ConsumerState;
use crate::held::HeldSet;

mod answers;
mod shared;
#[cfg(test)]
mod tests;

pub(crate) use answers::AnswerTracking;
pub(crate) use shared::WorkerStatus;

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

/// Reads a worker's status without owning its handle (for HTTP endpoints); cheap to clone. From
/// [`WorkerHandle::status_reader`](crate::WorkerHandle::status_reader).
#[derive(Clone, Debug)]
pub struct StatusReader {
    pub(crate) worker_id: Arc<str>,
    pub(crate) held: Arc<HeldSet>,
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
            .map(|l| (l.key().to_owned(), l.try_checkpoint()))
            .collect();
        self.status
            .full(&self.worker_id, self.lease_duration, &checkpoints)
    }

    /// Returns once the worker has stopped (after a shutdown) or failed (a fatal error).
    pub async fn stopped(&self) {
        self.status.stopped().await;
    }
}
