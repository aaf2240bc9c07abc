//! The record processor every worker of a run uses, and the [`Tracker`] they all report to: starts per shard,
//! records processed, duplicates (a sequence number at or below the shard's highest), and the gap between
//! a shard's last record under one processor and the first under the next.

use std::collections::HashMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use kcl_core::{
    async_trait, Checkpointer, InitializationInput, ProcessRecordsInput, ProcessorError, ShardRecordProcessor,
};
use tokio::time::Instant;

/// What every processor of a run reports to.
#[derive(Debug, Default)]
pub(super) struct Tracker {
    pub(super) shards: Mutex<HashMap<String, ShardTrack>>,
    pub(super) gaps: Mutex<Vec<f64>>,
    pub(super) starts: AtomicU64,
    pub(super) processed: AtomicU64,
    pub(super) duplicates: AtomicU64,
}

#[derive(Debug, Default)]
pub(super) struct ShardTrack {
    /// The highest sequence number processed.
    pub(super) max: u64,
    pub(super) last_at: Option<Instant>,
    pub(super) processors: u64,
}

pub(super) struct Processor {
    pub(super) shard_id: String,
    pub(super) tracker: Arc<Tracker>,
    pub(super) checkpoint_every: Duration,
    pub(super) last_checkpoint: Instant,
    pub(super) first_batch: bool,
}

#[async_trait]
impl ShardRecordProcessor for Processor {
    async fn initialize(&mut self, _: &InitializationInput) -> Result<(), ProcessorError> {
        self.tracker.starts.fetch_add(1, Ordering::Relaxed);
        let mut shards = self.tracker.shards.lock().unwrap_or_else(|p| p.into_inner());
        shards.entry(self.shard_id.clone()).or_default().processors += 1;
        Ok(())
    }

    async fn process_records(
        &mut self,
        input: &ProcessRecordsInput,
        checkpointer: &Checkpointer,
    ) -> Result<(), ProcessorError> {
        let now = Instant::now();
        {
            let mut shards = self.tracker.shards.lock().unwrap_or_else(|p| p.into_inner());
            let track = shards.entry(self.shard_id.clone()).or_default();
            if self.first_batch && !input.records.is_empty() {
                self.first_batch = false;
                if let (true, Some(last)) = (track.processors > 1, track.last_at) {
                    let gap = now.saturating_duration_since(last).as_secs_f64();
                    self.tracker
                        .gaps
                        .lock()
                        .unwrap_or_else(|p| p.into_inner())
                        .push(gap);
                }
            }
            let mut dups = 0;
            for r in &input.records {
                let seq: u64 = r.sequence_number.as_str().parse().unwrap_or(0);
                if seq <= track.max {
                    dups += 1;
                } else {
                    track.max = seq;
                }
            }
            if !input.records.is_empty() {
                track.last_at = Some(now);
            }
            self.tracker.duplicates.fetch_add(dups, Ordering::Relaxed);
            self.tracker
                .processed
                .fetch_add(input.records.len() as u64, Ordering::Relaxed);
        }
        if now.saturating_duration_since(self.last_checkpoint) >= self.checkpoint_every {
            self.last_checkpoint = now;
            checkpointer.checkpoint().await?;
        }
        Ok(())
    }

    async fn shutdown_requested(&mut self, checkpointer: &Checkpointer) -> Result<(), ProcessorError> {
        checkpointer.checkpoint().await?;
        Ok(())
    }
}
