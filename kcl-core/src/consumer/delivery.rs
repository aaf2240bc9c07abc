//! Delivery: one [`Chunk`] through the processor under the [`ProcessingPolicy`](crate::ProcessingPolicy):
//! filters, maximum record age, retries with bisection, partial batch responses, the on-failure
//! destination, tumbling-window state and the checkpoint after each batch.
//!
//! The chunk is worked through as a queue of index ranges over its records, front first, so records are
//! finished in sequence order: a range is done when `process_records` accepted it, when the filter left
//! nothing of it, or when it was given up on (and the destination accepted it). After each done range the
//! checkpointer may pass its last record; a failed call rolls it back to the last done record, so no
//! checkpoint passes a record that was not finished. Each failed call counts one attempt against every
//! record it held; a range split in halves passes its count to both.

use std::collections::VecDeque;
use std::time::SystemTime;

use bytes::Bytes;
use kcl_checkpoint::{DisplayChain, ExtendedSequenceNumber};

use super::batcher::Chunk;
use super::calls::guarded;
use super::watermark::Progress;
use super::{ShardConsumer, Stop};
use crate::checkpointer::Checkpointer;
use crate::config::ProcessorErrorPolicy;
use crate::error::Error;
use crate::metrics as m;
use crate::policy::{BatchItemFailure, FailedBatch, FailureCondition, TumblingWindow};
use crate::processor::{ProcessRecordsInput, ShardRecordProcessor};
use crate::record::Record;

/// How a chunk's delivery ended.
pub(super) enum Delivery {
    /// Every record is done (processed, filtered out or given up on).
    Done,
    /// The consumer must stop (the chunk is not finished: the next owner starts from the checkpoint).
    Stop(Stop),
}

/// The open tumbling window of a shard: its start, its state and the last record it holds.
#[derive(Debug, Default)]
pub(super) struct OpenWindow {
    pub(super) start: Option<SystemTime>,
    state: Option<Bytes>,
    last: Option<ExtendedSequenceNumber>,
}

impl OpenWindow {
    fn handle(&self, length: std::time::Duration, is_final: bool) -> Option<TumblingWindow> {
        self.start
            .map(|start| TumblingWindow::new(start, length, is_final, self.state.clone()))
    }
}

/// A range of the chunk's records still to finish.
struct Pending {
    lo: usize,
    hi: usize,
    /// Failed calls that held these records.
    calls: u32,
    /// The last failure, as text (for the destination and the logs).
    error: Option<String>,
}

impl ShardConsumer {
    /// Writes a checkpoint at `position` for the worker (after a batch, a partial response, a window). A
    /// lost lease stops the consumer; other failures are logged (the next checkpoint covers them).
    pub(super) async fn checkpoint_for_worker(
        &self,
        checkpointer: &Checkpointer,
        position: Option<ExtendedSequenceNumber>,
    ) -> Option<Stop> {
        let position = position?;
        if position <= checkpointer.last_checkpoint() {
            return None;
        }
        match checkpointer.checkpoint_position(position).await {
            Ok(()) => None,
            Err(Error::LeaseLost { .. }) => Some(Stop::Lost),
            Err(e) => {
                tracing::warn!(error = %DisplayChain(&e), "checkpoint after the batch failed; the next one covers it");
                None
            }
        }
    }

    /// Delivers one chunk.
    pub(super) async fn deliver(
        &self,
        processor: &mut dyn ShardRecordProcessor,
        chunk: &Chunk,
        progress: &Progress<'_>,
        window: &mut OpenWindow,
    ) -> Delivery {
        let cfg = std::sync::Arc::clone(&self.ctx.config);
        let policy = cfg.processing();
        let records = &chunk.records;
        let n = records.len();
        let position = |i: usize| records.get(i).map(Record::extended_sequence_number);

        // A chunk of a later window closes the open one first.
        if let (Some(open), Some(next)) = (window.start, chunk.window) {
            if open != next {
                if let Some(stop) = self
                    .close_window(processor, progress.checkpointer(), window)
                    .await
                {
                    return Delivery::Stop(stop);
                }
            }
        }
        if chunk.window.is_some() && window.start.is_none() {
            window.start = chunk.window;
        }

        let matched: Vec<bool> = match policy.filters() {
            Some(filter) => records.iter().map(|r| filter.matches(r)).collect(),
            None => vec![true; n],
        };
        let filtered = matched.iter().filter(|m| !**m).count();
        if filtered > 0 {
            metrics::counter!(
                m::RECORDS_FILTERED,
                "worker" => self.ctx.worker_id.to_string(),
                "stream" => self.stream_label.clone()
            )
            .increment(filtered as u64);
        }

        let budget = cfg.retry_budget();
        let backoff = cfg.processor_retry_backoff();
        let mut delays = self.ctx.jitter.delays(backoff);
        let mut queue = VecDeque::from([Pending {
            lo: 0,
            hi: n,
            calls: 0,
            error: None,
        }]);
        let mut first_call = true;
        while let Some(range) = queue.front_mut() {
            // Records too old are given up on before every call (a prefix: arrival times grow).
            if let Some(max_age) = policy.maximum_record_age() {
                let now = self.ctx.wall_clock.now();
                let old = (range.lo..range.hi)
                    .take_while(|&i| {
                        records[i]
                            .approximate_arrival_timestamp
                            .and_then(|at| now.duration_since(at).ok())
                            .is_some_and(|age| age > max_age)
                    })
                    .count();
                if old > 0 {
                    let (lo, calls, error) = (range.lo, range.calls, range.error.clone());
                    range.lo += old;
                    let expired = Pending {
                        lo,
                        hi: lo + old,
                        calls,
                        error,
                    };
                    if let Some(stop) = self
                        .give_up(records, &matched, &expired, FailureCondition::RecordAgeExceeded)
                        .await
                    {
                        return Delivery::Stop(stop);
                    }
                    progress.done_through(position(expired.hi - 1));
                    if range.lo == range.hi {
                        queue.pop_front();
                    }
                    continue;
                }
            }
            let (lo, hi) = (range.lo, range.hi);
            let input_records: Vec<Record> = (lo..hi)
                .filter(|&i| matched[i])
                .map(|i| records[i].clone())
                .collect();
            if input_records.is_empty() && n > 0 {
                // Filtered out entirely: counts as processed.
                progress.done_through(position(hi - 1));
                queue.pop_front();
                continue;
            }
            if !first_call {
                if let Some(stop) = self.stopping() {
                    return Delivery::Stop(stop);
                }
            }
            first_call = false;
            let last_range = hi == n;
            let tumbling = policy
                .tumbling_window()
                .and_then(|length| window.handle(length, false));
            let input = ProcessRecordsInput {
                records: input_records,
                millis_behind_latest: chunk.millis_behind_latest,
                child_shards: if last_range && chunk.at_shard_end {
                    chunk.child_shards.clone()
                } else {
                    Vec::new()
                },
                at_shard_end: last_range && chunk.at_shard_end,
                tumbling_window: tumbling.clone(),
            };
            // While the call runs, the processor may checkpoint up to the end of the range in hand.
            progress.begin(position(hi.saturating_sub(1)).filter(|_| hi > 0));
            let started = tokio::time::Instant::now();
            let result = guarded(processor.process_records(&input, progress.checkpointer())).await;
            self.batch_seconds.record(started.elapsed().as_secs_f64());
            let err = match result {
                Ok(()) => {
                    progress.succeeded();
                    self.count_processed(&input);
                    if let Some(t) = tumbling {
                        window.state = t.state();
                        window.last = position(hi.saturating_sub(1)).filter(|_| hi > 0);
                    }
                    queue.pop_front();
                    delays = self.ctx.jitter.delays(backoff);
                    continue;
                }
                Err(e) => e,
            };
            // Nothing after the last finished record may be checkpointed until a retry succeeds.
            progress.failed();
            self.count_failure();
            if self.lease.is_lost() {
                tracing::warn!(error = %DisplayChain(&*err), "process_records failed after the lease was lost");
                return Delivery::Stop(Stop::Lost);
            }
            let range = queue.front_mut().expect("the range in hand");
            // A partial batch response: the records before the reported one are done.
            // With a partial response, the retry starts at the reported record: no bisection (Lambda
            // "bisects at the returned sequence number").
            let mut reported = false;
            if policy.report_batch_item_failures() {
                if let Some(failure) = err.downcast_ref::<BatchItemFailure>() {
                    let at =
                        (lo..hi).find(|&i| matched[i] && position(i).as_ref() == Some(&failure.position));
                    reported = at.is_some();
                    match at {
                        Some(k) if k > lo => {
                            progress.done_through(position(k - 1));
                            if let Some(t) = &tumbling {
                                window.state = t.state();
                                window.last = position(k - 1);
                            }
                            range.lo = k;
                            if policy.tumbling_window().is_none() && progress.is_shard() {
                                if let Some(stop) = self
                                    .checkpoint_for_worker(progress.checkpointer(), position(k - 1))
                                    .await
                                {
                                    return Delivery::Stop(stop);
                                }
                            }
                            tracing::info!(resume_at = %failure.position, "partial batch response; resuming at the reported record");
                        }
                        Some(_) => {}
                        None => tracing::warn!(
                            reported = %failure.position,
                            "the batch item failure is not a record of the batch; the whole batch failed"
                        ),
                    }
                }
            }
            let range = queue.front_mut().expect("the range in hand");
            range.calls = range.calls.saturating_add(1);
            range.error = Some(DisplayChain(&*err).to_string());
            if budget.is_some_and(|b| range.calls > b) {
                if matches!(
                    cfg.processor_error_policy(),
                    ProcessorErrorPolicy::RetryThenStop { .. }
                ) {
                    tracing::error!(
                        error = %DisplayChain(&*err),
                        "process_records kept failing; stopping the shard as configured (RetryThenStop)"
                    );
                    return Delivery::Stop(Stop::Failed);
                }
                let Some(exhausted) = queue.pop_front() else {
                    break;
                };
                if let Some(stop) = self
                    .give_up(
                        records,
                        &matched,
                        &exhausted,
                        FailureCondition::RetryAttemptsExhausted,
                    )
                    .await
                {
                    return Delivery::Stop(stop);
                }
                progress.done_through(position(exhausted.hi.saturating_sub(1)).filter(|_| exhausted.hi > 0));
                continue;
            }
            let held: Vec<usize> = (range.lo..range.hi).filter(|&i| matched[i]).collect();
            if policy.bisect_batch_on_error() && !reported && held.len() > 1 {
                // Split in halves (of the records the processor sees); the first half goes first.
                let mid = held[held.len() / 2];
                let second = Pending {
                    lo: mid,
                    hi: range.hi,
                    calls: range.calls,
                    error: range.error.clone(),
                };
                range.hi = mid;
                queue.insert(1, second);
                tracing::warn!(error = %DisplayChain(&*err), records = held.len(), "process_records failed; bisecting the batch");
                continue;
            }
            let delay = delays.next().unwrap_or(backoff.max_delay);
            tracing::warn!(error = %DisplayChain(&*err), retry = range.calls, ?delay, "process_records failed; retrying the batch");
            if let Some(stop) = self.pause(delay).await {
                return Delivery::Stop(stop);
            }
        }
        if policy.checkpoint_after_batch() && policy.tumbling_window().is_none() && progress.is_shard() {
            if let Some(stop) = self
                .checkpoint_for_worker(progress.checkpointer(), n.checked_sub(1).and_then(position))
                .await
            {
                return Delivery::Stop(stop);
            }
        }
        if window.start.is_some() && n > 0 {
            // The whole chunk is finished (processed, filtered out or given up on): the window's
            // checkpoint may pass all of it.
            window.last = position(n - 1);
        }
        if chunk.at_shard_end && window.start.is_some() {
            if let Some(stop) = self
                .close_window(processor, progress.checkpointer(), window)
                .await
            {
                return Delivery::Stop(stop);
            }
        }
        self.lease.meter().record(
            n as u64,
            records.iter().map(Record::size_bytes).sum::<usize>() as u64,
        );
        self.ctx
            .status
            .batch(self.lease.key(), chunk.millis_behind_latest, n as u64);
        Delivery::Done
    }

    fn count_processed(&self, input: &ProcessRecordsInput) {
        let worker = self.ctx.worker_id.to_string();
        let stream = self.stream_label.clone();
        metrics::counter!(m::RECORDS_PROCESSED, "worker" => worker.clone(), "stream" => stream.clone())
            .increment(input.records.len() as u64);
        metrics::counter!(m::BYTES_PROCESSED, "worker" => worker, "stream" => stream)
            .increment(input.size_bytes() as u64);
    }

    /// The open window is over: one final call with its state (retried until it succeeds), then the next
    /// window starts empty and, with `checkpoint_after_batch`, the window's last record is checkpointed.
    pub(super) async fn close_window(
        &self,
        processor: &mut dyn ShardRecordProcessor,
        checkpointer: &Checkpointer,
        window: &mut OpenWindow,
    ) -> Option<Stop> {
        let length = self.ctx.config.processing().tumbling_window()?;
        let handle = window.handle(length, true)?;
        let input = ProcessRecordsInput {
            tumbling_window: Some(handle),
            ..ProcessRecordsInput::default()
        };
        let result = retry!(
            self,
            self.ctx.config.processor_retry_backoff(),
            guarded(processor.process_records(&input, checkpointer)).await,
            |e| {
                tracing::warn!(error = %DisplayChain(&*e), "the window's final call failed; retrying");
                self.count_failure();
            }
        );
        if let Err(stop) = result {
            return Some(stop);
        }
        let last = window.last.take();
        *window = OpenWindow::default();
        if self.ctx.config.processing().checkpoint_after_batch() {
            return self.checkpoint_for_worker(checkpointer, last).await;
        }
        None
    }

    /// Gives up on a range's records: sends them to the on-failure destination (retried until it accepts
    /// them; a stop ends the wait) or, with none, drops them with a log line and a metric.
    async fn give_up(
        &self,
        records: &[Record],
        matched: &[bool],
        range: &Pending,
        condition: FailureCondition,
    ) -> Option<Stop> {
        let given: Vec<Record> = (range.lo..range.hi)
            .filter(|&i| matched[i])
            .map(|i| records[i].clone())
            .collect();
        if given.is_empty() {
            return None;
        }
        let worker = self.ctx.worker_id.to_string();
        let policy = self.ctx.config.processing();
        let Some(destination) = self.ctx.on_failure.clone() else {
            tracing::error!(
                %condition,
                error = range.error.as_deref().unwrap_or(""),
                records = given.len(),
                first = %given[0].sequence_number,
                "giving up on records; no on-failure destination is set, so they are dropped"
            );
            metrics::counter!(m::RECORDS_SKIPPED, "worker" => worker, "stream" => self.stream_label.clone())
                .increment(given.len() as u64);
            return None;
        };
        // `given` is not empty, so there is a batch (`None` would mean nothing to send: no stop).
        let batch = FailedBatch::new(
            condition,
            self.ctx.source.stream(),
            &self.shard_id,
            &given,
            range.calls,
            range.error.clone(),
            worker.as_str(),
            self.ctx.wall_clock.now(),
            policy.destination_includes_records(),
        )?;
        let result = retry!(
            self,
            self.ctx.config.processor_retry_backoff(),
            destination.send(&batch).await,
            |e| {
                tracing::warn!(error = %DisplayChain(&*e), "the on-failure destination failed; retrying (the shard waits)");
                metrics::counter!(m::DESTINATION_ERRORS, "worker" => worker.clone()).increment(1);
            }
        );
        if let Err(stop) = result {
            return Some(stop);
        }
        tracing::error!(
            %condition,
            error = range.error.as_deref().unwrap_or(""),
            records = given.len(),
            first = %given[0].sequence_number,
            "gave up on records; sent to the on-failure destination"
        );
        metrics::counter!(
            m::RECORDS_TO_DESTINATION,
            "worker" => worker,
            "stream" => self.stream_label.clone(),
            "condition" => condition.as_str()
        )
        .increment(given.len() as u64);
        None
    }
}
