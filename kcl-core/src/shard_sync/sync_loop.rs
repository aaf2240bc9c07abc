//! The shard-sync loop: a first sync before the worker takes anything, then one every shard-sync
//! interval (sooner when a shard ends here, or in multi-stream mode when the stream tracker reports a
//! change), retried on the source backoff after a failure. What each
//! sync finds is published to the consumers; failures retrying cannot fix are reported to the worker.

use std::sync::Arc;
use std::time::Duration;

use kcl_checkpoint::DisplayChain;
use tokio::sync::{mpsc, Notify};

use super::{ShardSyncer, SyncFindings};
use crate::config::{Backoff, Jitter, WorkerConfig};
use crate::error::{Error, FatalRun};
use crate::signal;
use crate::status::WorkerStatus;

/// Runs a [`ShardSyncer`] for the worker: [`first`](Self::first) once, then [`run`](Self::run) as a task.
pub(crate) struct SyncLoop {
    syncer: ShardSyncer,
    /// Where consumers read the latest findings (leases whose shard expired, shards gone).
    findings: signal::Sender<Arc<SyncFindings>>,
    status: Arc<WorkerStatus>,
    /// Woken when a shard ends here: sync at once rather than at the next interval.
    sync_now: Arc<Notify>,
    interval: Duration,
    backoff: Backoff,
    jitter: Jitter,
    fatal: FatalRun,
    /// The first sync failed: the loop starts on the retry backoff.
    first_failed: bool,
}

impl SyncLoop {
    pub(crate) fn new(
        syncer: ShardSyncer,
        findings: signal::Sender<Arc<SyncFindings>>,
        status: Arc<WorkerStatus>,
        sync_now: Arc<Notify>,
        config: &WorkerConfig,
        jitter: Jitter,
    ) -> Self {
        SyncLoop {
            syncer,
            findings,
            status,
            sync_now,
            interval: config.shard_sync_interval(),
            backoff: config.source_retry_backoff(),
            jitter,
            fatal: FatalRun::new("shard sync", config.fatal_error_attempts()),
            first_failed: false,
        }
    }

    /// Publishes `found` to the consumers when it differs from what they have.
    fn publish(&self, found: SyncFindings) {
        self.findings.send_if_modified(|current| {
            let changed = **current != found;
            if changed {
                *current = Arc::new(found);
            }
            changed
        });
    }

    /// The first sync (so that the first taker cycle finds leases).
    ///
    /// # Errors
    ///
    /// The fatal error when this failure is already the last one allowed (a single attempt): the worker
    /// stops before taking anything. Other failures are retried by [`run`](Self::run).
    pub(crate) async fn first(&mut self) -> Result<(), Error> {
        match self.syncer.sync().await {
            Ok(report) => {
                self.publish(report.findings);
                self.status.synced();
            }
            Err(e) => {
                tracing::warn!(error = %DisplayChain(&e), "initial shard sync failed; retrying with backoff");
                if let Some(fatal) = self.fatal.failed(e) {
                    return Err(fatal);
                }
                self.first_failed = true;
            }
        }
        self.status.beat("shard_sync", self.interval);
        Ok(())
    }

    /// Multi-stream mode: a future that completes at the stream tracker's next change, already waiting
    /// (polled once), so a change during the sync that follows is not missed. Never completes otherwise.
    async fn watch_tracker(&self) -> std::pin::Pin<Box<dyn std::future::Future<Output = ()> + Send>> {
        let mut watch: std::pin::Pin<Box<dyn std::future::Future<Output = ()> + Send>> =
            match self.syncer.multi.clone() {
                Some(multi) => Box::pin(async move { multi.tracker_changed().await }),
                None => Box::pin(std::future::pending()),
            };
        if futures::poll!(watch.as_mut()).is_ready() {
            // Already signalled (a tracker that completes at once): complete at the next wait.
            return Box::pin(std::future::ready(()));
        }
        watch
    }

    /// Syncs periodically, forever, or until a run of failures retrying cannot fix is sent to `fatal_tx`.
    pub(crate) async fn run(mut self, fatal_tx: mpsc::Sender<Error>) {
        let (interval, backoff) = (self.interval, self.backoff);
        // After a failure, retry on the source backoff rather than a whole sync interval.
        let mut retry = self.first_failed.then(|| self.jitter.delays(backoff));
        let mut tracker = self.watch_tracker().await;
        loop {
            let wait = retry
                .as_mut()
                .map_or(interval, |d| d.next().unwrap_or(backoff.max_delay).min(interval));
            tokio::select! {
                biased;
                _ = self.sync_now.notified() => {}
                () = &mut tracker => {
                    tracing::debug!("the stream tracker reports a change; syncing now");
                    tracker = self.watch_tracker().await;
                }
                _ = tokio::time::sleep(wait) => {}
            }
            self.status.beat("shard_sync", interval);
            match self.syncer.sync().await {
                Ok(report) => {
                    retry = None;
                    self.fatal.succeeded();
                    self.status.synced();
                    if !report.created.is_empty() || !report.deleted.is_empty() {
                        tracing::debug!(?report, "shard sync");
                    }
                    self.publish(report.findings);
                }
                Err(e) => {
                    tracing::warn!(error = %DisplayChain(&e), "shard sync failed; retrying with backoff");
                    if let Some(fatal) = self.fatal.failed(e) {
                        let _ = fatal_tx.send(fatal).await;
                        return;
                    }
                    retry.get_or_insert_with(|| self.jitter.delays(backoff));
                }
            }
        }
    }
}
