//! Processing: batches from the shard's reader (read ahead by `retrieval`) delivered under the error
//! policy, until the shard ends or the consumer must stop.

use std::sync::Arc;

use kcl_checkpoint::{DisplayChain, ExtendedSequenceNumber, Lease};

use super::calls::guarded;
use super::{ShardConsumer, Stop};
use crate::checkpointer::Checkpointer;
use crate::config::{InitialPosition, ProcessorErrorPolicy};
use crate::metrics as m;
use crate::processor::ShardRecordProcessor;
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
        processor: &mut dyn ShardRecordProcessor,
        checkpointer: &Checkpointer,
        lease: &Lease,
    ) -> Stop {
        let cfg = Arc::clone(&self.ctx.config);
        let start = self.start_position(&lease.checkpoint);
        let mut resume_after = match &lease.checkpoint {
            c @ ExtendedSequenceNumber::Sequence { .. } => Some(c.clone()),
            _ => None,
        };
        let request = ReadRequest::new(self.lease.shard_id(), start)
            .with_max_records(cfg.max_records_per_call())
            .with_idle_time_between_reads(cfg.idle_time_between_reads())
            .with_max_reads_per_second(cfg.max_reads_per_second());
        let mut prefetcher = Prefetcher::spawn(
            self.ctx.source.open_reader(request),
            self.lease.shard_id(),
            lease.hash_key_range,
            &cfg,
            &self.ctx.jitter,
            Arc::clone(&self.ctx.worker_id),
        );
        let worker = self.ctx.worker_id.to_string();
        let records_counter = metrics::counter!(m::RECORDS_PROCESSED, "worker" => worker.clone());
        let bytes_counter = metrics::counter!(m::BYTES_PROCESSED, "worker" => worker.clone());
        let behind_gauge = metrics::gauge!(
            m::MILLIS_BEHIND_LATEST,
            "worker" => worker.clone(),
            "shard" => self.lease.shard_id().to_owned()
        );
        let behind_histogram = metrics::histogram!(m::BATCH_MILLIS_BEHIND_LATEST, "worker" => worker);
        loop {
            if let Some(stop) = self.stopping() {
                return stop;
            }
            let (mut lost, mut shutdown) = (self.lost.clone(), self.shutdown.clone());
            let mut handoff = self.handoff.clone();
            let mut findings = self.ctx.findings.clone();
            let shard_id = self.lease.shard_id();
            let batch = tokio::select! {
                biased;
                _ = lost.wait_for(|l| *l) => return Stop::Lost,
                _ = handoff.wait_for(|h| *h) => return Stop::HandOff,
                _ = shutdown.wait_for(|s| *s) => return Stop::Shutdown,
                batch = prefetcher.next() => batch,
                Ok(_) = findings.wait_for(|f| f.expired.contains(shard_id)) => {
                    // Shard sync proved the (closed) shard trimmed away: nothing more can be read.
                    tracing::warn!("shard expired from retention; ending it so its children proceed");
                    metrics::counter!(m::SHARDS_EXPIRED, "worker" => self.ctx.worker_id.to_string())
                        .increment(1);
                    checkpointer.reached_shard_end();
                    return Stop::ShardEnd;
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
            if let Some(after) = &resume_after {
                input.records.retain(|r| r.extended_sequence_number() > *after);
                if !input.records.is_empty() {
                    resume_after = None;
                }
            }
            // No batch starts on a lease lost (or run out) while the batch was being read.
            if let Some(stop) = self.stopping() {
                return stop;
            }
            let at_end = input.at_shard_end;
            if !input.records.is_empty() || at_end || cfg.process_empty_batches() {
                match self.deliver(processor, &batch.input, checkpointer).await {
                    Delivery::Done => {
                        self.lease
                            .meter()
                            .record(batch.input.records.len() as u64, batch.input.size_bytes() as u64);
                        records_counter.increment(batch.input.records.len() as u64);
                        bytes_counter.increment(batch.input.size_bytes() as u64);
                        self.ctx.status.batch(
                            self.lease.shard_id(),
                            batch.input.millis_behind_latest,
                            batch.input.records.len() as u64,
                        );
                    }
                    Delivery::Skipped => {}
                    Delivery::Stop(stop) => return stop,
                }
            }
            if at_end {
                checkpointer.reached_shard_end();
                self.create_children(&batch.input.child_shards).await;
                return Stop::ShardEnd;
            }
        }
    }

    /// Delivers one batch under the error policy.
    pub(super) async fn deliver(
        &mut self,
        processor: &mut dyn ShardRecordProcessor,
        input: &crate::processor::ProcessRecordsInput,
        checkpointer: &Checkpointer,
    ) -> Delivery {
        let policy = self.ctx.config.processor_error_policy();
        let backoff = self.ctx.config.processor_retry_backoff();
        let mut delays = self.ctx.jitter.delays(backoff);
        let mut retries: u32 = 0;
        let end = input
            .records
            .last()
            .map(crate::record::Record::extended_sequence_number);
        loop {
            // While the call runs, the processor may checkpoint up to the end of the batch in hand.
            checkpointer.begin_batch(end.clone());
            let started = tokio::time::Instant::now();
            let result = guarded(processor.process_records(input, checkpointer)).await;
            self.batch_seconds.record(started.elapsed().as_secs_f64());
            let err = match result {
                Ok(()) => {
                    checkpointer.batch_succeeded();
                    return Delivery::Done;
                }
                Err(e) => e,
            };
            // Once the call failed, nothing after the last successful batch may be checkpointed (in
            // `shutdown_requested`, or by a clone kept by the processor) until a retry succeeds.
            checkpointer.batch_failed();
            self.count_failure();
            // A lost lease ends the shard here: the new owner processes the batch again.
            if self.lease.is_lost() {
                tracing::warn!(error = %DisplayChain(&*err), "process_records failed after the lease was lost");
                return Delivery::Stop(Stop::Lost);
            }
            let exhausted = match policy {
                ProcessorErrorPolicy::RetryForever => None,
                ProcessorErrorPolicy::RetryThenSkip { max_retries }
                | ProcessorErrorPolicy::RetryThenStop { max_retries } => {
                    (retries >= max_retries).then_some(policy)
                }
            };
            match exhausted {
                Some(ProcessorErrorPolicy::RetryThenSkip { .. }) => {
                    tracing::error!(
                        error = %DisplayChain(&*err),
                        records = input.records.len(),
                        first = ?input.records.first().map(|r| r.sequence_number.to_string()),
                        "process_records kept failing; skipping the batch as configured (RetryThenSkip)"
                    );
                    metrics::counter!(m::RECORDS_SKIPPED, "worker" => self.ctx.worker_id.to_string())
                        .increment(input.records.len() as u64);
                    // Skipped on purpose (logged and counted): later checkpoints may pass it.
                    checkpointer.begin_batch(end);
                    checkpointer.batch_succeeded();
                    return Delivery::Skipped;
                }
                Some(_) => {
                    tracing::error!(
                        error = %DisplayChain(&*err),
                        "process_records kept failing; stopping the shard as configured (RetryThenStop)"
                    );
                    return Delivery::Stop(Stop::Failed);
                }
                None => {}
            }
            retries = retries.saturating_add(1);
            let delay = delays.next().unwrap_or(backoff.max_delay);
            tracing::warn!(error = %DisplayChain(&*err), retry = retries, ?delay, "process_records failed; retrying the batch");
            if let Some(stop) = self.pause(delay).await {
                return Delivery::Stop(stop);
            }
        }
    }

    /// Creates leases for the children reported at the shard end and records them on our lease (see
    /// [`shard_sync::create_child_leases`](crate::shard_sync::create_child_leases)).
    pub(super) async fn create_children(&self, children: &[crate::record::ChildShard]) {
        crate::shard_sync::create_child_leases(&*self.ctx.store, &self.ctx.worker_id, &self.lease, children)
            .await;
    }
}

pub(super) enum Delivery {
    Done,
    Skipped,
    Stop(Stop),
}
