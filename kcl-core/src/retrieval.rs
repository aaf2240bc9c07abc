//! Polling retrieval with a bounded prefetch, one poller task per consumed shard.
//!
//! The poller reads ahead of the processor: it calls GetRecords in a loop and queues batches until the
//! queue holds [`prefetch_max_batches`](crate::WorkerConfig::prefetch_max_batches) batches, or
//! [`prefetch_max_bytes`](crate::WorkerConfig::prefetch_max_bytes) bytes, or
//! [`prefetch_max_records`](crate::WorkerConfig::prefetch_max_records) records (byte and record budgets are
//! semaphores whose permits travel with each batch and return when the consumer drops it). After an empty
//! read it waits [`idle_time_between_reads`](crate::WorkerConfig::idle_time_between_reads).
//!
//! KPL aggregates are split into their user records here (see `deaggregation`), so the processor sees
//! sub-records with sub-sequence numbers.
//!
//! Failures never reach the processor: an expired iterator is replaced by one *after the last record
//! queued* (so nothing is lost or repeated); throttling and retryable errors back off (backon, with a
//! `kcl_source_throttles_total` metric for throttling); other errors are logged and retried with backoff.

use kcl_checkpoint::DisplayChain;
use std::sync::Arc;

use kcl_checkpoint::{HashKeyRange, SequenceNumber};
use tokio::sync::{mpsc, OwnedSemaphorePermit, Semaphore};
use tokio::task::JoinHandle;
use tracing::Instrument;

use crate::config::{Jitter, WorkerConfig};
use crate::deaggregation::deaggregate;
use crate::error::Error;
use crate::metrics as m;
use crate::processor::ProcessRecordsInput;
use crate::source::{IteratorPosition, RecordSource};

/// The largest budget a semaphore here holds (permits are acquired as `u32`).
const PERMIT_CAP: usize = u32::MAX as usize;

/// A batch read ahead, with the prefetch budget it holds until dropped.
#[derive(Debug)]
pub(crate) struct Batch {
    /// What the processor receives.
    pub(crate) input: ProcessRecordsInput,
    _bytes: Option<OwnedSemaphorePermit>,
    _records: Option<OwnedSemaphorePermit>,
}

/// The consumer's end of a shard's poller. Dropping it stops the poller.
#[derive(Debug)]
pub(crate) struct Prefetcher {
    rx: mpsc::Receiver<Batch>,
    task: JoinHandle<()>,
}

impl Prefetcher {
    /// Starts polling `shard_id` from `start`.
    pub(crate) fn spawn(
        source: Arc<dyn RecordSource>,
        shard_id: String,
        start: IteratorPosition,
        hash_key_range: Option<HashKeyRange>,
        config: &WorkerConfig,
        jitter: &Jitter,
        worker_id: Arc<str>,
    ) -> Self {
        let (tx, rx) = mpsc::channel(config.prefetch_max_batches());
        let poller = Poller {
            source,
            shard_id,
            start,
            hash_key_range,
            max_records: config.max_records_per_call(),
            idle: config.idle_time_between_reads(),
            backoff: config.source_retry_backoff(),
            jitter: jitter.clone(),
            bytes: Arc::new(Semaphore::new(config.prefetch_max_bytes().min(PERMIT_CAP))),
            max_bytes: config.prefetch_max_bytes().min(PERMIT_CAP),
            records: Arc::new(Semaphore::new(config.prefetch_max_records().min(PERMIT_CAP))),
            max_records_buffered: config.prefetch_max_records().min(PERMIT_CAP),
            worker_id,
        };
        let span = tracing::info_span!("poller", shard_id = %poller.shard_id);
        let task = tokio::spawn(poller.run(tx).instrument(span));
        Prefetcher { rx, task }
    }

    /// The next batch; `None` once the shard end was delivered (or the poller stopped).
    pub(crate) async fn next(&mut self) -> Option<Batch> {
        self.rx.recv().await
    }
}

impl Drop for Prefetcher {
    fn drop(&mut self) {
        self.task.abort();
    }
}

struct Poller {
    source: Arc<dyn RecordSource>,
    shard_id: String,
    start: IteratorPosition,
    /// The shard's hash-key range (from its lease), to drop KPL sub-records belonging elsewhere.
    hash_key_range: Option<HashKeyRange>,
    max_records: usize,
    idle: std::time::Duration,
    backoff: crate::config::Backoff,
    jitter: Jitter,
    bytes: Arc<Semaphore>,
    max_bytes: usize,
    records: Arc<Semaphore>,
    max_records_buffered: usize,
    worker_id: Arc<str>,
}

impl Poller {
    /// The position to (re)start from: after the last record queued, else the configured start.
    fn restart_position(&self, last: &Option<SequenceNumber>) -> IteratorPosition {
        match last {
            Some(seq) => IteratorPosition::AfterSequence(seq.clone()),
            None => self.start.clone(),
        }
    }

    /// Gets an iterator, retrying with backoff; `None` if the consumer went away.
    async fn iterator(&self, position: &IteratorPosition, tx: &mpsc::Sender<Batch>) -> Option<String> {
        let mut delays = self.jitter.delays(self.backoff);
        loop {
            match self.source.get_shard_iterator(&self.shard_id, position).await {
                Ok(it) => return Some(it),
                Err(e) => {
                    self.note_failure("GetShardIterator", &e);
                    if tx.is_closed() {
                        return None;
                    }
                    tokio::time::sleep(delays.next().unwrap_or(self.backoff.max_delay)).await;
                }
            }
        }
    }

    fn note_failure(&self, op: &'static str, e: &Error) {
        if e.is_throttled() {
            metrics::counter!(m::THROTTLES, "worker" => self.worker_id.to_string(), "operation" => op)
                .increment(1);
            tracing::debug!(operation = op, "throttled; backing off");
        } else if e.is_retryable() {
            tracing::debug!(operation = op, error = %DisplayChain(e), "retryable source failure; backing off");
        } else {
            tracing::warn!(operation = op, error = %DisplayChain(e), "source failure; retrying with backoff");
        }
    }

    async fn run(self, tx: mpsc::Sender<Batch>) {
        let mut last: Option<SequenceNumber> = None;
        let Some(mut iterator) = self.iterator(&self.start, &tx).await else {
            return;
        };
        let mut delays = self.jitter.delays(self.backoff);
        loop {
            let out = match self
                .source
                .get_records(&self.shard_id, &iterator, self.max_records)
                .await
            {
                Ok(out) => {
                    delays = self.jitter.delays(self.backoff);
                    out
                }
                Err(e) if e.is_expired_iterator() => {
                    tracing::debug!("iterator expired; restarting after the last record queued");
                    let position = self.restart_position(&last);
                    match self.iterator(&position, &tx).await {
                        Some(it) => iterator = it,
                        None => return,
                    }
                    continue;
                }
                Err(e) => {
                    self.note_failure("GetRecords", &e);
                    if tx.is_closed() {
                        return;
                    }
                    tokio::time::sleep(delays.next().unwrap_or(self.backoff.max_delay)).await;
                    continue;
                }
            };
            if let Some(r) = out.records.last() {
                last = Some(r.sequence_number.clone());
            }
            let at_end = out.next_iterator.is_none();
            let empty = out.records.is_empty();
            let (records, stats) = deaggregate(out.records, self.hash_key_range.as_ref());
            if stats.malformed > 0 {
                tracing::warn!(
                    count = stats.malformed,
                    "records with the KPL magic bytes are not valid aggregates; delivered as plain records"
                );
                metrics::counter!(m::KPL_MALFORMED, "worker" => self.worker_id.to_string())
                    .increment(stats.malformed);
            }
            if stats.dropped > 0 {
                tracing::debug!(
                    count = stats.dropped,
                    "KPL sub-records outside the shard's hash-key range dropped"
                );
                metrics::counter!(m::KPL_SUBRECORDS_DROPPED, "worker" => self.worker_id.to_string())
                    .increment(stats.dropped);
            }
            let input = ProcessRecordsInput {
                millis_behind_latest: out.millis_behind_latest,
                child_shards: out.child_shards,
                at_shard_end: at_end,
                records,
            };
            if !empty || at_end || input.millis_behind_latest.is_some() {
                let size = input.size_bytes().clamp(1, self.max_bytes);
                let count = input.records.len().clamp(1, self.max_records_buffered);
                let (Ok(bytes), Ok(records)) = (
                    Arc::clone(&self.bytes)
                        .acquire_many_owned(u32::try_from(size).unwrap_or(u32::MAX))
                        .await,
                    Arc::clone(&self.records)
                        .acquire_many_owned(u32::try_from(count).unwrap_or(u32::MAX))
                        .await,
                ) else {
                    return;
                };
                let batch = Batch {
                    input,
                    _bytes: Some(bytes),
                    _records: Some(records),
                };
                if tx.send(batch).await.is_err() {
                    return;
                }
            }
            match out.next_iterator {
                Some(next) => iterator = next,
                None => return,
            }
            if empty {
                tokio::time::sleep(self.idle).await;
            }
        }
    }
}
