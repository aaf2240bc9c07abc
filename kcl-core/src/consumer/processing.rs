//! Processing: batches from the shard's reader (read ahead by `retrieval`) delivered under the error
//! policy, until the shard ends or the consumer must stop.

use std::sync::Arc;

use kcl_checkpoint::{ExtendedSequenceNumber, Lease};

use super::batcher::Batcher;
use super::delivery::{Delivery, OpenWindow};
use super::lanes::Lanes;
use super::watermark::Progress;
use super::{ShardConsumer, Stop};
use crate::checkpointer::Checkpointer;
use crate::config::InitialPosition;
use crate::metrics as m;
use crate::retrieval::Prefetcher;
use crate::source::{IteratorPosition, ReadRequest};

impl ShardConsumer {
    /// Where reading starts for a checkpoint, and whether records at or below it must be filtered.
    pub(super) fn start_position(&self, checkpoint: &ExtendedSequenceNumber) -> IteratorPosition {
        match checkpoint {
            ExtendedSequenceNumber::Latest => IteratorPosition::Latest,
            ExtendedSequenceNumber::AtTimestamp => match self.ctx.config.initial_position() {
                InitialPosition::AtTimestamp(at) => IteratorPosition::AtTimestamp(at),
                _ => IteratorPosition::TrimHorizon,
            },
            // Re-read the checkpointed record and drop what was checkpointed: for a plain record that is
            // the record itself; for a KPL aggregate, its user records up to and including the
            // checkpointed sub-record (sub-record 0 included: the rest of the aggregate follows).
            ExtendedSequenceNumber::Sequence { sequence, .. } => {
                IteratorPosition::AtSequence(sequence.clone())
            }
            ExtendedSequenceNumber::TrimHorizon | ExtendedSequenceNumber::ShardEnd => {
                IteratorPosition::TrimHorizon
            }
        }
    }

    pub(super) async fn process(
        &mut self,
        lanes: &mut Lanes,
        checkpointer: &Checkpointer,
        lease: &Lease,
    ) -> Stop {
        let cfg = Arc::clone(&self.ctx.config);
        let start = self.start_position(&lease.checkpoint);
        let mut resume_after = match &lease.checkpoint {
            c @ ExtendedSequenceNumber::Sequence { .. } => Some(c.clone()),
            _ => None,
        };
        let request = ReadRequest::new(self.shard_id.as_str(), start)
            .with_max_records(cfg.max_records_per_call())
            .with_idle_time_between_reads(cfg.idle_time_between_reads())
            .with_max_reads_per_second(cfg.max_reads_per_second());
        let mut prefetcher = Prefetcher::spawn(
            self.ctx.source.open_reader(request),
            &self.stream_label,
            &self.shard_id,
            lease.hash_key_range,
            &cfg,
            &self.ctx.jitter,
            Arc::clone(&self.ctx.worker_id),
        );
        let worker = self.ctx.worker_id.to_string();
        let behind_gauge = metrics::gauge!(
            m::MILLIS_BEHIND_LATEST,
            "worker" => worker.clone(),
            "stream" => self.stream_label.clone(),
            "shard" => self.shard_id.clone()
        );
        let behind_histogram = metrics::histogram!(m::BATCH_MILLIS_BEHIND_LATEST, "worker" => worker);
        let mut batcher = Batcher::new(
            cfg.processing(),
            lanes.processors.len(),
            cfg.process_empty_batches(),
            self.ctx.wall_clock.clone(),
        );
        if lanes.processors.len() > 1 {
            return self
                .process_lanes(lanes, checkpointer, &mut prefetcher, &mut batcher, resume_after)
                .await;
        }
        let processor = lanes.processors[0].as_mut();
        let mut window = OpenWindow::default();
        // Whether the last read was caught up (a tumbling window closes on the clock only then).
        let mut caught_up = false;
        loop {
            if let Some(stop) = self.stopping() {
                return stop;
            }
            // No batch starts on a lease lost (or run out) while it was being read: checked just above.
            if let Some(chunk) = batcher.take_ready(tokio::time::Instant::now()) {
                let at_end = chunk.at_shard_end;
                if let Delivery::Stop(stop) = self
                    .deliver(processor, &chunk, &Progress::Shard(checkpointer), &mut window)
                    .await
                {
                    return stop;
                }
                if at_end {
                    checkpointer.reached_shard_end();
                    self.create_children(&chunk.child_shards).await;
                    return Stop::ShardEnd;
                }
                continue;
            }
            // Wait for the next read, the batching window, or the open tumbling window's end.
            let window_end = match (window.start, cfg.processing().tumbling_window()) {
                (Some(start), Some(length)) if caught_up && batcher.is_empty() => {
                    let left = (start + length)
                        .duration_since(self.ctx.wall_clock.now())
                        .unwrap_or_default();
                    Some(tokio::time::Instant::now() + left)
                }
                _ => None,
            };
            let deadline = match (batcher.deadline(), window_end) {
                (Some(a), Some(b)) => Some(a.min(b)),
                (a, b) => a.or(b),
            };
            let mut findings = self.ctx.findings.clone();
            let key = self.lease.key();
            let wait = sleep_until_some(deadline);
            let batch = tokio::select! {
                biased;
                stop = self.stop_requested() => return stop,
                batch = prefetcher.next() => batch,
                Ok(_) = findings.wait_for(|f| f.expired.contains(key)) => {
                    // Shard sync proved the (closed) shard trimmed away: nothing more can be read.
                    self.note_expired();
                    checkpointer.reached_shard_end();
                    return Stop::ShardEnd;
                }
                () = wait => {
                    if window_end.is_some_and(|at| tokio::time::Instant::now() >= at) {
                        if let Some(stop) = self.close_window(processor, checkpointer, &mut window).await {
                            return stop;
                        }
                    }
                    continue;
                }
            };
            let Some(mut batch) = batch else {
                // The reader only stops at the shard end, which arrives as a batch first.
                tracing::warn!("the shard's reader stopped unexpectedly; treating the shard as ended");
                checkpointer.reached_shard_end();
                return Stop::ShardEnd;
            };
            let input = &mut batch.input;
            if let Some(ms) = input.millis_behind_latest {
                behind_gauge.set(ms as f64);
                behind_histogram.record(ms as f64);
            }
            caught_up = input.millis_behind_latest.is_none_or(|ms| ms == 0);
            skip_checkpointed(&mut input.records, &mut resume_after);
            batcher.push(batch);
        }
    }

    /// Creates leases for the children reported at the shard end and records them on our lease (see
    /// [`shard_sync::create_child_leases`](crate::shard_sync::create_child_leases)).
    pub(super) async fn create_children(&self, children: &[crate::record::ChildShard]) {
        crate::shard_sync::create_child_leases(
            &*self.ctx.store,
            &self.ctx.worker_id,
            &self.lease,
            self.ctx.stream.as_ref(),
            children,
        )
        .await;
    }
}

/// Sleeps until `deadline`, or for ever without one.
pub(super) async fn sleep_until_some(deadline: Option<tokio::time::Instant>) {
    match deadline {
        Some(at) => tokio::time::sleep_until(at).await,
        None => std::future::pending().await,
    }
}

/// Drops the records at or below the checkpoint the consumer resumed from (reading restarts at the
/// checkpointed record itself), until a read passes it.
pub(super) fn skip_checkpointed(
    records: &mut Vec<crate::record::Record>,
    resume_after: &mut Option<ExtendedSequenceNumber>,
) {
    if let Some(after) = resume_after.as_ref() {
        records.retain(|r| r.extended_sequence_number() > *after);
        if !records.is_empty() {
            *resume_after = None;
        }
    }
}

impl ShardConsumer {
    /// Shard sync proved the (closed) shard trimmed away: nothing more can be read.
    pub(super) fn note_expired(&self) {
        tracing::warn!("shard expired from retention; ending it so its children proceed");
        metrics::counter!(
            m::SHARDS_EXPIRED,
            "worker" => self.ctx.worker_id.to_string(),
            "stream" => self.stream_label.clone()
        )
        .increment(1);
    }
}
