//! Parallelization within a shard (Lambda's `ParallelizationFactor`): up to ten processor instances per
//! shard, each a *lane* fed the records whose partition key hashes to it.
//!
//! Records of one partition key always go to the same lane and a lane takes one batch at a time, so
//! order per key holds while a slow key holds up only its own lane. Batches of different lanes run
//! concurrently (in the consumer's task: no extra threads). Every lane delivers through the same engine
//! as a lone processor (filters, retries, bisection, partial responses, the destination), reporting
//! finished records to the shard's [`Watermark`]; the worker checkpoints the watermark after each lane
//! batch, so after a crash nothing below it is delivered again and nothing above it is lost.
//!
//! The lanes' lifecycle calls (`initialize`, `lease_lost`, `shard_ended`, `shutdown_requested`) go to
//! every lane: [`Lanes`] is itself a [`ShardRecordProcessor`] for the consumer's state machine. A lane's
//! processor that checkpoints on its own can reach no further than the watermark.

use std::collections::VecDeque;
use std::future::Future;
use std::pin::Pin;
use std::sync::{Arc, Mutex};

use async_trait::async_trait;
use futures::stream::{FuturesUnordered, StreamExt};

use super::batcher::{Batcher, Chunk};
use super::delivery::{Delivery, OpenWindow};
use super::processing::{skip_checkpointed, sleep_until_some};
use super::watermark::{Progress, Watermark};
use super::{ShardConsumer, Stop};
use crate::checkpointer::Checkpointer;
use crate::processor::{InitializationInput, ProcessRecordsInput, ProcessorError, ShardRecordProcessor};
use crate::record::{partition_key_hash, Record};
use crate::retrieval::Prefetcher;

/// A shard's processor instances: one, or one per lane.
pub(super) struct Lanes {
    pub(super) processors: Vec<Box<dyn ShardRecordProcessor>>,
}

impl Lanes {
    fn len(&self) -> usize {
        self.processors.len()
    }
}

/// The lane of a partition key: its MD5 as a 128-bit number, modulo the lane count.
fn lane_of(record: &Record, lanes: usize) -> usize {
    (partition_key_hash(&record.partition_key) % lanes as u128) as usize
}

#[async_trait]
impl ShardRecordProcessor for Lanes {
    async fn initialize(&mut self, input: &InitializationInput) -> Result<(), ProcessorError> {
        for p in &mut self.processors {
            p.initialize(input).await?;
        }
        Ok(())
    }

    /// Never called by the consumer (one lane is driven directly, several by its lanes loop); delivers to
    /// the first lane, as a lone processor would.
    async fn process_records(
        &mut self,
        input: &ProcessRecordsInput,
        checkpointer: &Checkpointer,
    ) -> Result<(), ProcessorError> {
        self.processors[0].process_records(input, checkpointer).await
    }

    async fn lease_lost(&mut self) {
        for p in &mut self.processors {
            p.lease_lost().await;
        }
    }

    async fn shard_ended(&mut self, checkpointer: &Checkpointer) -> Result<(), ProcessorError> {
        let mut first_error = None;
        for p in &mut self.processors {
            if let Err(e) = p.shard_ended(checkpointer).await {
                first_error.get_or_insert(e);
            }
        }
        first_error.map_or(Ok(()), Err)
    }

    async fn shutdown_requested(&mut self, checkpointer: &Checkpointer) -> Result<(), ProcessorError> {
        let mut first_error = None;
        for p in &mut self.processors {
            if let Err(e) = p.shutdown_requested(checkpointer).await {
                first_error.get_or_insert(e);
            }
        }
        first_error.map_or(Ok(()), Err)
    }
}

/// One lane's batch in flight: the lane, its processor (handed back when done) and the outcome.
type LaneDone = (usize, Box<dyn ShardRecordProcessor>, Delivery);

impl ShardConsumer {
    /// The processing loop of a parallelized shard (see the [module docs](self)).
    pub(super) async fn process_lanes(
        &self,
        lanes: &mut Lanes,
        checkpointer: &Checkpointer,
        prefetcher: &mut Prefetcher,
        batcher: &mut Batcher,
        mut resume_after: Option<kcl_checkpoint::ExtendedSequenceNumber>,
    ) -> Stop {
        let n = lanes.len();
        let cfg = Arc::clone(&self.ctx.config);
        let watermark = Mutex::new(Watermark::default());
        let mut slots: Vec<Option<Box<dyn ShardRecordProcessor>>> =
            lanes.processors.drain(..).map(Some).collect();
        // Each lane's records waiting, in order; a lane's batch takes up to `batch_size` of them.
        let mut queues: Vec<VecDeque<Record>> = (0..n).map(|_| VecDeque::new()).collect();
        let mut behind = None;
        let mut running = FuturesUnordered::new();
        let mut ending: Option<Vec<crate::record::ChildShard>> = None;
        let cap = cfg.prefetch_max_records();
        let batch_size = cfg.processing().batch_size().unwrap_or(usize::MAX);
        // The watermark checkpoint is written beside the lanes (polled in the same `select!`), never
        // instead of them: a lane's processor may be checkpointing on its own, holding the lease's write
        // lock, and awaiting the watermark write without polling the lanes would wait for it forever.
        let mut writing: Option<Pin<Box<dyn Future<Output = Option<Stop>> + Send + '_>>> = None;
        // The watermark moved since the last write started.
        let mut moved = false;
        let stop = loop {
            if let Some(stop) = self.stopping() {
                break stop;
            }
            if writing.is_none() && moved {
                moved = false;
                let low = lock(&watermark).low();
                writing = Some(Box::pin(self.checkpoint_for_worker(checkpointer, low)));
            }
            // Dispatch what is ready while the records in flight stay under the prefetch cap.
            while ending.is_none() && lock(&watermark).in_flight() < cap {
                let Some(chunk) = batcher.take_ready(tokio::time::Instant::now()) else {
                    break;
                };
                lock(&watermark).dispatched(chunk.records.iter().map(Record::extended_sequence_number));
                behind = chunk.millis_behind_latest.or(behind);
                if chunk.at_shard_end {
                    ending = Some(chunk.child_shards.clone());
                }
                for record in chunk.records {
                    queues[lane_of(&record, n)].push_back(record);
                }
            }
            // Start every idle lane that has a batch waiting.
            for i in 0..n {
                if slots[i].is_some() && !queues[i].is_empty() {
                    let Some(mut processor) = slots[i].take() else {
                        continue;
                    };
                    let take = queues[i].len().min(batch_size);
                    let mut part = Chunk::default();
                    part.records = queues[i].drain(..take).collect();
                    part.millis_behind_latest = behind;
                    let watermark = &watermark;
                    running.push(async move {
                        let positions: Vec<_> = part
                            .records
                            .iter()
                            .map(Record::extended_sequence_number)
                            .collect();
                        let progress = Progress::Lane {
                            checkpointer,
                            watermark,
                            records: &positions,
                            in_hand: Mutex::new(None),
                        };
                        let outcome = self
                            .deliver(processor.as_mut(), &part, &progress, &mut OpenWindow::default())
                            .await;
                        (i, processor, outcome) as LaneDone
                    });
                }
            }
            if running.is_empty() && queues.iter().all(VecDeque::is_empty) {
                if let Some(children) = ending.take() {
                    // No lane runs now, so nothing else holds the lease's write lock.
                    if let Some(write) = writing.take() {
                        if let Some(stop) = write.await {
                            break stop;
                        }
                    }
                    checkpointer.reached_shard_end();
                    self.create_children(&children).await;
                    break Stop::ShardEnd;
                }
            }
            let mut findings = self.ctx.findings.clone();
            let key = self.lease.key();
            let deadline = batcher.deadline();
            let wait = sleep_until_some(deadline);
            let reading = ending.is_none() && lock(&watermark).in_flight() < cap;
            tokio::select! {
                biased;
                stop = self.stop_requested() => break stop,
                Some((i, processor, outcome)) = running.next(), if !running.is_empty() => {
                    slots[i] = Some(processor);
                    if let Delivery::Stop(stop) = outcome {
                        break stop;
                    }
                    moved = true;
                }
                written = async { writing.as_mut().expect("a write in flight").await }, if writing.is_some() => {
                    writing = None;
                    if let Some(stop) = written {
                        break stop;
                    }
                }
                batch = prefetcher.next(), if reading => {
                    let Some(mut batch) = batch else {
                        tracing::warn!("the shard's reader stopped unexpectedly; treating the shard as ended");
                        ending = Some(Vec::new());
                        continue;
                    };
                    skip_checkpointed(&mut batch.input.records, &mut resume_after);
                    batcher.push(batch);
                }
                Ok(_) = findings.wait_for(|f| f.expired.contains(key)), if ending.is_none() => {
                    self.note_expired();
                    ending = Some(Vec::new());
                }
                () = wait => {}
            }
        };
        // Let the batches in flight end (each stops at its next call boundary) and the watermark write
        // finish, side by side, then hand the lanes back.
        let drain = async {
            while let Some((i, processor, _)) = running.next().await {
                slots[i] = Some(processor);
            }
        };
        let write = async {
            if let Some(write) = writing.take() {
                write.await;
            }
        };
        tokio::join!(drain, write);
        // A graceful stop writes the final watermark, so the next owner starts right after it.
        let stop = match stop {
            Stop::Shutdown | Stop::HandOff => {
                let low = lock(&watermark).low();
                self.checkpoint_for_worker(checkpointer, low)
                    .await
                    .unwrap_or(stop)
            }
            other => other,
        };
        lanes.processors = slots.into_iter().flatten().collect();
        stop
    }
}

fn lock<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|p| p.into_inner())
}
