//! Waiting before processing: for the previous owner of a handed-over lease, and for the parents of a
//! child shard.

use kcl_checkpoint::{DisplayChain, Lease};

use super::{ShardConsumer, Stop};
use crate::held::HandoffProgress;
use crate::metrics as m;

impl ShardConsumer {
    /// For a lease handed to this worker: waits until the previous owner finished the handoff, or until
    /// `deadline` (its lease has surely run out), then ends the handoff with a fenced take.
    pub(super) async fn wait_for_handoff(&mut self, deadline: tokio::time::Instant) -> Option<Stop> {
        let poll = (self.ctx.config.lease_duration() / 40).clamp(
            std::time::Duration::from_millis(50),
            std::time::Duration::from_millis(500),
        );
        loop {
            let now = tokio::time::Instant::now();
            if now >= deadline {
                break;
            }
            if let Some(stop) = self.pause_until((now + poll).min(deadline)).await {
                return Some(stop);
            }
            match self.lease.handoff_progress().await {
                Ok(HandoffProgress::Finished) => return None,
                Ok(HandoffProgress::Pending) => {}
                Ok(HandoffProgress::Lost) => return Some(Stop::Lost),
                Err(e) => tracing::debug!(error = %DisplayChain(&e), "reading the handoff's progress failed"),
            }
        }
        loop {
            match self.lease.end_handoff().await {
                Ok(true) => {
                    metrics::counter!(m::HANDOFFS_TIMED_OUT, "worker" => self.ctx.worker_id.to_string())
                        .increment(1);
                    return None;
                }
                Ok(false) => return Some(Stop::Lost),
                Err(e) => {
                    tracing::warn!(error = %DisplayChain(&e), "ending an unanswered handoff failed; retrying");
                    if let Some(stop) = self.pause(poll).await {
                        return Some(stop);
                    }
                }
            }
        }
    }

    /// Waits until every parent of `lease` is finished or provably gone.
    pub(super) async fn wait_for_parents(&mut self, lease: &Lease) -> Option<Stop> {
        let mut warned = false;
        let mut view = self.ctx.view.clone();
        let mut findings = self.ctx.findings.clone();
        loop {
            {
                let table = view.borrow_and_update();
                let found = findings.borrow_and_update();
                if table.parents_done(&lease.parent_shard_ids, &lease.checkpoint, &found.gone) {
                    return None;
                }
                if !warned {
                    if let Some(p) = lease
                        .parent_shard_ids
                        .iter()
                        .find(|p| table.malformed.contains(*p))
                    {
                        warned = true;
                        tracing::warn!(parent = %p, "parent lease item is malformed; waiting until it is repaired");
                    }
                }
            }
            tokio::select! {
                biased;
                stop = self.stop_requested() => return Some(stop),
                // An error means the worker is gone.
                r = view.changed() => if r.is_err() { return Some(Stop::Shutdown) },
                r = findings.changed() => if r.is_err() { return Some(Stop::Shutdown) },
            }
        }
    }
}
