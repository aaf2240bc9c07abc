//! [`WorkerHandle`]: controls a spawned worker (status, graceful shutdown with or without a deadline,
//! abort), and the [`ShutdownReport`] of a shutdown with a deadline.

use std::collections::BTreeMap;
use std::sync::Arc;

use kcl_checkpoint::DisplayChain;
use tokio::sync::oneshot;
use tokio::task::JoinHandle;
use tokio::time::Instant;

use crate::consumer::ConsumerState;
use crate::error::{Error, Result};
use crate::held::HeldSet;
use crate::status::{StatusReader, WorkerPhase, WorkerStatus, WorkerStatusSnapshot};

/// How a [`WorkerHandle::shutdown_within`] went.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct ShutdownReport {
    /// True when every consumer finished its handoff within the deadline.
    pub graceful: bool,
    /// How long the shutdown took.
    pub elapsed: std::time::Duration,
    /// Shards whose consumers were still running at the deadline and were cut off (their processors
    /// dropped mid-call, nothing more checkpointed).
    pub abandoned: Vec<String>,
    /// Leases of abandoned shards released after the deadline (others take them at once).
    pub released: Vec<String>,
    /// Leases of abandoned shards whose release failed: they expire after the lease duration.
    pub release_failed: Vec<String>,
}

/// Controls a spawned [`Worker`](crate::Worker). Dropping the handle shuts the worker down gracefully in the background.
#[derive(Debug)]
pub struct WorkerHandle {
    pub(super) worker_id: Arc<str>,
    /// Fired (or dropped, with the handle) to start the graceful shutdown.
    pub(super) shutdown: Option<oneshot::Sender<()>>,
    pub(super) task: JoinHandle<Result<()>>,
    pub(super) held: Arc<HeldSet>,
    pub(super) status: Arc<WorkerStatus>,
    pub(super) lease_duration: std::time::Duration,
}

impl WorkerHandle {
    /// What the worker is doing now: phase, health inputs, balance, and every shard consumer with its
    /// checkpoint and lag. Its [`liveness`](WorkerStatusSnapshot::liveness) and
    /// [`readiness`](WorkerStatusSnapshot::readiness) back `/healthz` and `/readyz`.
    pub fn status(&self) -> WorkerStatusSnapshot {
        let mut snapshot = self.status_reader().snapshot();
        if self.task.is_finished() && snapshot.phase == WorkerPhase::Running {
            // The task ended without recording why (a panic): not alive.
            snapshot.phase = WorkerPhase::Stopped;
        }
        snapshot
    }

    /// A reader of [`status`](Self::status) that outlives borrowing the handle (for HTTP endpoints), and
    /// waits for the worker to stop ([`StatusReader::stopped`]).
    pub fn status_reader(&self) -> StatusReader {
        StatusReader {
            worker_id: Arc::clone(&self.worker_id),
            held: Arc::clone(&self.held),
            status: Arc::clone(&self.status),
            lease_duration: self.lease_duration,
        }
    }

    /// The worker's id.
    pub fn worker_id(&self) -> &str {
        &self.worker_id
    }

    /// The lease keys the worker holds now.
    pub fn leases(&self) -> Vec<String> {
        self.held.keys()
    }

    /// The state of each shard consumer now.
    pub fn shard_states(&self) -> BTreeMap<String, ConsumerState> {
        self.status.snapshot()
    }

    /// True once the worker stopped.
    pub fn is_finished(&self) -> bool {
        self.task.is_finished()
    }

    /// Graceful shutdown: stops taking leases, calls `shutdown_requested` on every processor, hands every
    /// lease off (released, so other workers take them at once), and waits for all of it.
    ///
    /// Each consumer acts between batches: a batch in flight finishes first. The handoff is free of
    /// duplicates only if the processor checkpoints in
    /// [`shutdown_requested`](crate::ShardRecordProcessor::shutdown_requested) (the default does not):
    /// otherwise the lease is released at the last checkpoint written, and the next owner delivers again
    /// every record after it (at-least-once, never a gap). Consumers still waiting on parents or
    /// initializing release their lease without calling the processor; a shard whose `shard_ended` has not
    /// checkpointed `SHARD_END` yet gets `shutdown_requested` and is handed off unfinished.
    ///
    /// # Errors
    ///
    /// [`Error::WorkerStopped`] if the worker's task panicked or was aborted.
    pub async fn shutdown(mut self) -> Result<()> {
        if let Some(tx) = self.shutdown.take() {
            let _ = tx.send(());
        }
        match (&mut self.task).await {
            Ok(result) => result,
            Err(e) => Err(Error::WorkerStopped {
                reason: e.to_string(),
            }),
        }
    }

    /// Graceful shutdown as [`shutdown`](Self::shutdown), cut off at `deadline`: consumers still running then
    /// are stopped where they are (processors dropped mid-call, as in [`abort`](Self::abort)) and the
    /// leases they held are released at once (each release bounded by a second), so other workers take
    /// them without waiting for expiry; the report names what was abandoned. Use a deadline below the
    /// platform's kill timeout (ECS `stopTimeout` defaults to 30 s).
    ///
    /// # Errors
    ///
    /// As [`shutdown`](Self::shutdown), and the worker's own [`Error::Fatal`] if it had stopped with one.
    pub async fn shutdown_within(mut self, deadline: std::time::Duration) -> Result<ShutdownReport> {
        let started = Instant::now();
        if let Some(tx) = self.shutdown.take() {
            let _ = tx.send(());
        }
        if let Ok(joined) = tokio::time::timeout(deadline, &mut self.task).await {
            return match joined {
                Ok(result) => result.map(|()| ShutdownReport {
                    graceful: true,
                    elapsed: started.elapsed(),
                    abandoned: Vec::new(),
                    released: Vec::new(),
                    release_failed: Vec::new(),
                }),
                Err(e) => Err(Error::WorkerStopped {
                    reason: e.to_string(),
                }),
            };
        }
        // Past the deadline: stop everything, then hand off what is still held.
        self.task.abort();
        let _ = (&mut self.task).await;
        let leases = self.held.all();
        let mut report = ShutdownReport {
            graceful: false,
            elapsed: std::time::Duration::ZERO,
            abandoned: leases.iter().map(|l| l.key().to_owned()).collect(),
            released: Vec::new(),
            release_failed: Vec::new(),
        };
        let releases = leases.iter().map(|lease| async move {
            let outcome = tokio::time::timeout(std::time::Duration::from_secs(1), lease.release()).await;
            (lease.key().to_owned(), outcome)
        });
        for (shard, outcome) in futures::future::join_all(releases).await {
            match outcome {
                Ok(Ok(())) => report.released.push(shard),
                Ok(Err(e)) => {
                    tracing::warn!(worker_id = %self.worker_id, shard_id = %shard, error = %DisplayChain(&e), "releasing an abandoned lease failed; it expires instead");
                    report.release_failed.push(shard);
                }
                Err(_) => {
                    tracing::warn!(worker_id = %self.worker_id, shard_id = %shard, "releasing an abandoned lease timed out; it expires instead");
                    report.release_failed.push(shard);
                }
            }
        }
        for lease in &leases {
            lease.forget();
            self.held.remove(lease.key(), lease);
            self.status.remove(lease.key());
        }
        self.status.set_phase(WorkerPhase::Stopped);
        report.elapsed = started.elapsed();
        tracing::warn!(
            worker_id = %self.worker_id,
            abandoned = ?report.abandoned,
            released = ?report.released,
            release_failed = ?report.release_failed,
            "shutdown deadline of {} ms passed: consumers cut off",
            deadline.as_millis()
        );
        Ok(report)
    }

    /// Crashes the worker: stops every task of it at once (the worker loop, renewer, shard sync, every
    /// consumer and reader) *without* releasing leases or calling any processor callback — the in-process
    /// equivalent of `kill -9`. Processors are dropped mid-call; nothing is checkpointed; other workers
    /// take the leases once they expire. Meant for failover tests and fleet simulations.
    pub async fn abort(self) {
        self.task.abort();
        let _ = self.task.await;
    }
}
