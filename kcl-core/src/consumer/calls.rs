//! The consumer's calls into the processor: panics turned into errors, creation and `initialize` retried
//! with backoff, and `shard_ended` called until it checkpoints `SHARD_END`.

use std::panic::AssertUnwindSafe;

use futures::FutureExt;
use kcl_checkpoint::DisplayChain;
use kcl_checkpoint::Lease;

use super::lanes::Lanes;
use super::{ConsumerState, ShardConsumer, Stop};
use crate::checkpointer::Checkpointer;
use crate::metrics as m;
use crate::processor::{InitializationInput, ProcessorError, ShardRecordProcessor};

/// Calls a processor method, turning a panic into an error.
pub(super) async fn guarded<F>(fut: F) -> Result<(), ProcessorError>
where
    F: std::future::Future<Output = Result<(), ProcessorError>> + Send,
{
    match AssertUnwindSafe(fut).catch_unwind().await {
        Ok(result) => result,
        Err(panic) => Err(format!("processor panicked: {}", panic_message(panic.as_ref())).into()),
    }
}

/// Describes a panic payload.
pub(super) fn panic_message(panic: &(dyn std::any::Any + Send)) -> String {
    panic
        .downcast_ref::<&str>()
        .map(|s| (*s).to_owned())
        .or_else(|| panic.downcast_ref::<String>().cloned())
        .unwrap_or_else(|| "non-string panic payload".to_owned())
}

/// Tells the processor its lease is gone (a panic there is logged, nothing else can be done).
pub(super) async fn lease_lost(processor: &mut dyn ShardRecordProcessor) {
    let result = guarded(async {
        processor.lease_lost().await;
        Ok(())
    })
    .await;
    if let Err(e) = result {
        tracing::warn!(error = %DisplayChain(&*e), "lease_lost failed");
    }
}

impl ShardConsumer {
    /// Creates the processor; a panicking factory is retried with backoff like a failing `initialize`
    /// (the consumer keeps its lease instead of dying with it).
    /// With a parallelization factor above 1, makes one processor per lane.
    pub(super) async fn create_processor(&self) -> Result<Lanes, Stop> {
        // The lease key: the shard id, or in multi-stream mode the key the worker's factory dispatches
        // on (its stream's factory gets the shard id).
        let key = self.lease.key();
        let factory = &self.ctx.factory;
        let count = usize::from(self.ctx.config.processing().parallelization_factor());
        retry!(
            self,
            self.ctx.config.processor_retry_backoff(),
            std::panic::catch_unwind(AssertUnwindSafe(|| {
                (0..count)
                    .map(|_| factory.create_processor(key))
                    .collect::<Vec<_>>()
            }))
            .map(|processors| Lanes { processors })
            .map_err(|panic| panic_message(panic.as_ref())),
            |panic| {
                tracing::warn!(%panic, "the processor factory panicked; retrying");
                self.count_failure();
            }
        )
    }

    pub(super) async fn initialize(
        &self,
        processor: &mut dyn ShardRecordProcessor,
        lease: &Lease,
    ) -> Option<Stop> {
        let input = InitializationInput {
            shard_id: self.shard_id.clone(),
            stream: self.ctx.stream.clone(),
            checkpoint: lease.checkpoint.clone(),
            pending_checkpoint: lease.pending_checkpoint.clone(),
            pending_checkpoint_state: lease.pending_checkpoint_state.clone(),
        };
        retry!(
            self,
            self.ctx.config.processor_retry_backoff(),
            guarded(processor.initialize(&input)).await,
            |e| {
                tracing::warn!(error = %DisplayChain(&*e), "initialize failed; retrying");
                self.count_failure();
            }
        )
        .err()
    }

    pub(super) fn count_failure(&self) {
        metrics::counter!(m::PROCESSOR_FAILURES, "worker" => self.ctx.worker_id.to_string()).increment(1);
    }

    /// Calls `shard_ended` until the processor checkpoints `SHARD_END`, then releases the lease.
    pub(super) async fn finish_shard(
        &mut self,
        processor: &mut dyn ShardRecordProcessor,
        checkpointer: &Checkpointer,
    ) -> ConsumerState {
        let backoff = self.ctx.config.processor_retry_backoff();
        let mut delays = self.ctx.jitter.delays(backoff);
        loop {
            let result = guarded(processor.shard_ended(checkpointer)).await;
            if checkpointer.last_checkpoint().is_shard_end() {
                if let Err(e) = result {
                    tracing::warn!(error = %DisplayChain(&*e), "shard_ended failed after checkpointing SHARD_END");
                }
                break;
            }
            if self.lease.is_lost() {
                lease_lost(processor).await;
                self.lease.forget();
                return ConsumerState::LeaseLost;
            }
            match result {
                Ok(()) => {
                    tracing::warn!("shard_ended returned without checkpointing SHARD_END; calling it again")
                }
                Err(e) => {
                    self.count_failure();
                    tracing::warn!(error = %DisplayChain(&*e), "shard_ended failed; calling it again");
                }
            }
            let delay = delays.next().unwrap_or(backoff.max_delay);
            // Shutdown does not interrupt: the shard is finished only once SHARD_END is checkpointed, and
            // a shutdown here hands the lease over with the processor told.
            match self.pause(delay).await {
                Some(Stop::Lost) => {
                    lease_lost(processor).await;
                    self.lease.forget();
                    return ConsumerState::LeaseLost;
                }
                Some(_) => {
                    if let Err(e) = guarded(processor.shutdown_requested(checkpointer)).await {
                        tracing::warn!(error = %DisplayChain(&*e), "shutdown_requested failed");
                    }
                    self.release().await;
                    return ConsumerState::ShuttingDown;
                }
                None => {}
            }
        }
        self.release().await;
        self.ctx.shard_ended.notify_one();
        tracing::info!("shard finished");
        ConsumerState::ShardEnded
    }
}
