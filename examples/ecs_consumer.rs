//! A complete production consumer configured only by the environment: the shape of a kcl-rs consumer on
//! ECS (see "Running on ECS" in the README, `deploy/ecs/task-definition.json` and
//! `scripts/build-image.sh`).
//!
//! ```sh
//! KCL_APPLICATION_NAME=orders-consumer KCL_STREAM_NAME=orders AWS_REGION=us-east-1 \
//!   cargo run --release --example ecs_consumer
//! ```
//!
//! Every `KCL_*` variable is in the table of `kcl::service`. The processor logs a summary per batch and
//! checkpoints after every batch and when asked to shut down (so a graceful handoff redelivers nothing).
//! `ecs_consumer --healthcheck` probes `/healthz` and exits 0 or 1: the container health check.
//!
//! Two variables of this example only, for the process-level tests:
//! - `ECS_CONSUMER_OUTPUT=<file>`: appends one line per record processed:
//!   `<unix ms>\t<worker id>\t<shard id>\t<sequence number>\t<partition key>`;
//! - `ECS_CONSUMER_HANG_ON_SHUTDOWN=1`: `shutdown_requested` never returns (a misbehaving processor the
//!   shutdown deadline must cut off).

use std::io::Write;
use std::process::ExitCode;
use std::sync::{Arc, Mutex};
use std::time::UNIX_EPOCH;

use kcl::core::{
    async_trait, Checkpointer, InitializationInput, ProcessRecordsInput, ProcessorError, ShardRecordProcessor,
};
use kcl::emulator::Clock;

/// Where processed records are written, when `ECS_CONSUMER_OUTPUT` is set.
type Output = Option<Arc<Mutex<std::fs::File>>>;

struct Processor {
    clock: Clock,
    shard_id: String,
    output: Output,
    hang_on_shutdown: bool,
}

#[async_trait]
impl ShardRecordProcessor for Processor {
    async fn initialize(&mut self, input: &InitializationInput) -> Result<(), ProcessorError> {
        tracing::info!(shard_id = %self.shard_id, checkpoint = %input.checkpoint, "processing shard");
        Ok(())
    }

    async fn process_records(
        &mut self,
        input: &ProcessRecordsInput,
        checkpointer: &Checkpointer,
    ) -> Result<(), ProcessorError> {
        if let Some(out) = &self.output {
            let now = self
                .clock
                .now()
                .duration_since(UNIX_EPOCH)
                .unwrap_or_default()
                .as_millis();
            let worker = std::env::var("KCL_WORKER_ID").unwrap_or_default();
            let mut lines = String::new();
            for r in &input.records {
                lines.push_str(&format!(
                    "{now}\t{worker}\t{}\t{}\t{}\n",
                    self.shard_id, r.sequence_number, r.partition_key
                ));
            }
            let mut file = out.lock().map_err(|_| "output lock poisoned")?;
            file.write_all(lines.as_bytes())?;
            file.flush()?;
        }
        tracing::debug!(records = input.records.len(), behind_ms = ?input.millis_behind_latest, "batch");
        checkpointer.checkpoint().await?;
        Ok(())
    }

    async fn shard_ended(&mut self, checkpointer: &Checkpointer) -> Result<(), ProcessorError> {
        checkpointer.checkpoint().await?;
        Ok(())
    }

    async fn shutdown_requested(&mut self, checkpointer: &Checkpointer) -> Result<(), ProcessorError> {
        if self.hang_on_shutdown {
            tracing::warn!("ECS_CONSUMER_HANG_ON_SHUTDOWN: hanging in shutdown_requested");
            std::future::pending::<()>().await;
        }
        checkpointer.checkpoint().await?;
        Ok(())
    }
}

#[tokio::main]
async fn main() -> ExitCode {
    let output: Output = match std::env::var("ECS_CONSUMER_OUTPUT") {
        Ok(path) => match std::fs::OpenOptions::new().create(true).append(true).open(&path) {
            Ok(f) => Some(Arc::new(Mutex::new(f))),
            Err(e) => {
                eprintln!("error: ECS_CONSUMER_OUTPUT={path:?}: {e}");
                return ExitCode::from(2);
            }
        },
        Err(_) => None,
    };
    let hang_on_shutdown = std::env::var("ECS_CONSUMER_HANG_ON_SHUTDOWN").is_ok_and(|v| v == "1");
    let clock = Clock::new();
    kcl::service::main(move |shard_id: &str| {
        Box::new(Processor {
            clock,
            shard_id: shard_id.to_owned(),
            output: output.clone(),
            hang_on_shutdown,
        }) as Box<dyn ShardRecordProcessor>
    })
    .await
}
