//! Retrieval around every shard reader: retries with backoff ([`RetryingReader`]), KPL de-aggregation and
//! a bounded prefetch queue ([`Prefetcher`], one task per consumed shard).
//!
//! The prefetch task reads ahead of the processor: it asks the reader for the next batch only while the
//! queue has room for one more batch ([`prefetch_max_batches`](crate::WorkerConfig::prefetch_max_batches))
//! and the batches read but not yet finished with hold fewer than
//! [`prefetch_max_bytes`](crate::WorkerConfig::prefetch_max_bytes) bytes and
//! [`prefetch_max_records`](crate::WorkerConfig::prefetch_max_records) records. A batch counts until the
//! consumer drops it (after processing it), and room is checked *before* reading, so memory held in
//! batches stays below the byte budget plus one batch whatever the record size. Waiting between reads is
//! the reader's own business (a polling reader's idle time; a push reader none).
//!
//! KPL aggregates are split into their user records here (see `deaggregation`), so the processor sees
//! sub-records with sub-sequence numbers.
//!
//! Failures never reach the processor: [`RetryingReader`] retries a failed read with backoff (a
//! `kcl_source_throttles_total` metric counts throttling), and the reader carries on from where it was.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;

use async_trait::async_trait;
use kcl_checkpoint::{DisplayChain, HashKeyRange};
use tokio::sync::{mpsc, Notify};
use tokio::task::JoinHandle;
use tracing::Instrument;

use crate::config::{Backoff, Jitter, WorkerConfig};
use crate::deaggregation::deaggregate;
use crate::error::{Error, Result};
use crate::metrics as m;
use crate::processor::ProcessRecordsInput;
use crate::source::{ShardBatch, ShardReader};

/// A reader whose failed reads are retried with backoff until one succeeds (the wrapped reader carries on
/// from where it was, so nothing is lost or repeated).
#[derive(Debug)]
pub(crate) struct RetryingReader {
    inner: Box<dyn ShardReader>,
    backoff: Backoff,
    jitter: Jitter,
    /// Labels the throttling metric.
    worker_id: Arc<str>,
}

impl RetryingReader {
    /// Wraps `inner`, retrying with delays from `backoff` (jittered by `jitter`).
    pub(crate) fn new(
        inner: Box<dyn ShardReader>,
        backoff: Backoff,
        jitter: Jitter,
        worker_id: Arc<str>,
    ) -> Self {
        RetryingReader {
            inner,
            backoff,
            jitter,
            worker_id,
        }
    }

    fn note_failure(&self, e: &Error) {
        if let Error::Throttled { operation, .. } = e {
            metrics::counter!(m::THROTTLES, "worker" => self.worker_id.to_string(), "operation" => *operation)
                .increment(1);
            tracing::debug!(operation, "throttled; backing off");
        } else if e.is_retryable() {
            tracing::debug!(error = %DisplayChain(e), "retryable source failure; backing off");
        } else {
            tracing::warn!(error = %DisplayChain(e), "source failure; retrying with backoff");
        }
    }
}

#[async_trait]
impl ShardReader for RetryingReader {
    /// Never fails: retries until a read succeeds.
    async fn next_batch(&mut self) -> Result<ShardBatch> {
        let mut delays = self.jitter.delays(self.backoff);
        loop {
            match self.inner.next_batch().await {
                Ok(batch) => return Ok(batch),
                Err(e) => {
                    self.note_failure(&e);
                    tokio::time::sleep(delays.next().unwrap_or(self.backoff.max_delay)).await;
                }
            }
        }
    }
}

/// A budget of bytes or records held by batches read ahead. Room is checked before a read, and a batch's
/// actual size is charged after it, so the budget is exceeded by at most one batch.
#[derive(Debug)]
struct Budget {
    cap: usize,
    used: AtomicUsize,
    freed: Notify,
    /// Follows `used`, when the budget is exported.
    gauge: Option<metrics::Gauge>,
}

impl Budget {
    fn new(cap: usize, gauge: Option<metrics::Gauge>) -> Arc<Self> {
        Arc::new(Budget {
            cap: cap.max(1),
            used: AtomicUsize::new(0),
            freed: Notify::new(),
            gauge,
        })
    }

    fn changed(&self, used: usize) {
        if let Some(gauge) = &self.gauge {
            gauge.set(used as f64);
        }
    }

    /// Waits until less than the whole budget is in use.
    async fn room(&self) {
        while self.used.load(Ordering::Acquire) >= self.cap {
            // `notify_one` stores a wake-up when no one waits, so a release between the check and
            // here is not missed.
            self.freed.notified().await;
        }
    }

    fn charge(self: &Arc<Self>, amount: usize) -> Charge {
        let used = self.used.fetch_add(amount, Ordering::AcqRel) + amount;
        self.changed(used);
        Charge {
            budget: Arc::clone(self),
            amount,
        }
    }
}

/// A batch's share of a budget, returned when the batch is dropped.
#[derive(Debug)]
struct Charge {
    budget: Arc<Budget>,
    amount: usize,
}

impl Drop for Charge {
    fn drop(&mut self) {
        let used = self.budget.used.fetch_sub(self.amount, Ordering::AcqRel) - self.amount;
        self.budget.changed(used);
        self.budget.freed.notify_one();
    }
}

/// A batch read ahead, with the prefetch budget it holds until dropped.
#[derive(Debug)]
pub(crate) struct Batch {
    /// What the processor receives.
    pub(crate) input: ProcessRecordsInput,
    _charges: [Charge; 2],
}

/// The consumer's end of a shard's prefetch task. Dropping it stops the task (and the reader).
#[derive(Debug)]
pub(crate) struct Prefetcher {
    rx: mpsc::Receiver<Batch>,
    task: JoinHandle<()>,
}

impl Prefetcher {
    /// Starts reading ahead from `reader` (retried with the worker's source backoff).
    pub(crate) fn spawn(
        reader: Box<dyn ShardReader>,
        stream: &str,
        shard_id: &str,
        hash_key_range: Option<HashKeyRange>,
        config: &WorkerConfig,
        jitter: &Jitter,
        worker_id: Arc<str>,
    ) -> Self {
        let (tx, rx) = mpsc::channel(config.prefetch_max_batches());
        let task = ReadAhead {
            reader: RetryingReader::new(
                reader,
                config.source_retry_backoff(),
                jitter.clone(),
                Arc::clone(&worker_id),
            ),
            hash_key_range,
            bytes: Budget::new(
                config.prefetch_max_bytes(),
                Some(metrics::gauge!(
                    m::PREFETCH_BYTES,
                    "worker" => worker_id.to_string(),
                    "stream" => stream.to_owned(),
                    "shard" => shard_id.to_owned()
                )),
            ),
            records: Budget::new(config.prefetch_max_records(), None),
            worker_id,
        };
        let span = tracing::info_span!("reader", shard_id = %shard_id);
        let task = tokio::spawn(task.run(tx).instrument(span));
        Prefetcher { rx, task }
    }

    /// The next batch; `None` once the shard end was delivered (or the task stopped).
    pub(crate) async fn next(&mut self) -> Option<Batch> {
        self.rx.recv().await
    }
}

impl Drop for Prefetcher {
    fn drop(&mut self) {
        self.task.abort();
    }
}

struct ReadAhead {
    reader: RetryingReader,
    /// The shard's hash-key range (from its lease), to drop KPL sub-records belonging elsewhere.
    hash_key_range: Option<HashKeyRange>,
    bytes: Arc<Budget>,
    records: Arc<Budget>,
    worker_id: Arc<str>,
}

impl ReadAhead {
    async fn run(mut self, tx: mpsc::Sender<Batch>) {
        loop {
            // Room first, then the read: a batch is never held waiting for room.
            let Ok(slot) = tx.reserve().await else { return };
            self.bytes.room().await;
            self.records.room().await;
            let Ok(batch) = self.reader.next_batch().await else {
                return;
            };
            let empty = batch.records.is_empty();
            let input = self.input(batch);
            let at_end = input.at_shard_end;
            if !empty || at_end || input.millis_behind_latest.is_some() {
                let charges = [
                    self.bytes.charge(input.size_bytes()),
                    self.records.charge(input.records.len()),
                ];
                slot.send(Batch {
                    input,
                    _charges: charges,
                });
            }
            if at_end {
                return;
            }
        }
    }

    /// De-aggregates a batch into what the processor receives.
    fn input(&self, batch: ShardBatch) -> ProcessRecordsInput {
        let (records, stats) = deaggregate(batch.records, self.hash_key_range.as_ref());
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
        ProcessRecordsInput {
            millis_behind_latest: batch.millis_behind_latest,
            child_shards: batch.child_shards,
            at_shard_end: batch.at_shard_end,
            records,
            tumbling_window: None,
        }
    }
}

#[cfg(test)]
mod tests {
    use std::sync::atomic::AtomicU64;
    use std::time::Duration;

    use kcl_checkpoint::SequenceNumber;

    use super::*;
    use crate::record::Record;

    /// Yields batches of one record of `size` bytes, counting the reads.
    #[derive(Debug)]
    struct Big {
        size: usize,
        reads: Arc<AtomicU64>,
    }

    #[async_trait]
    impl ShardReader for Big {
        async fn next_batch(&mut self) -> Result<ShardBatch> {
            let n = self.reads.fetch_add(1, Ordering::SeqCst) + 1;
            let record = Record::new(vec![0u8; self.size], "", SequenceNumber::from(u128::from(n)));
            Ok(ShardBatch::new(vec![record]))
        }
    }

    async fn settle() {
        tokio::time::sleep(Duration::from_millis(10)).await;
    }

    #[tokio::test(start_paused = true)]
    async fn reads_stop_once_the_byte_budget_is_used_and_resume_when_a_batch_is_dropped() {
        const MIB: usize = 1024 * 1024;
        let config = WorkerConfig::builder()
            .prefetch_max_bytes(8 * MIB)
            .prefetch_max_batches(100)
            .build()
            .unwrap();
        for (size, reads_before_full) in [(5 * MIB, 2), (10 * MIB, 1), (MIB, 8)] {
            let reads = Arc::new(AtomicU64::new(0));
            let reader = Big {
                size,
                reads: Arc::clone(&reads),
            };
            let mut prefetcher = Prefetcher::spawn(
                Box::new(reader),
                "stream",
                "s",
                None,
                &config,
                &Jitter::new(Some(1)),
                Arc::from("w"),
            );
            settle().await;
            // Room is checked before each read: the budget is exceeded by at most the last batch.
            assert_eq!(reads.load(Ordering::SeqCst), reads_before_full, "{size} bytes");
            let held = reads_before_full as usize * size;
            assert!(held < 8 * MIB + size, "{held} held");
            // A batch taken and finished with makes room for exactly what fits again.
            let batch = prefetcher.next().await.unwrap();
            settle().await;
            assert_eq!(
                reads.load(Ordering::SeqCst),
                reads_before_full,
                "held while processed"
            );
            drop(batch);
            settle().await;
            assert_eq!(
                reads.load(Ordering::SeqCst),
                reads_before_full + 1,
                "{size} bytes"
            );
        }
    }
}
