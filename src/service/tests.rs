//! Unit tests of [`Service`]'s on-failure destination: a `KCL_ON_FAILURE_FILE` that cannot be opened names
//! its path, and one that can receives the batches the worker gives up on (an in-process emulator and
//! lease store, real time).

use std::collections::HashMap;
use std::path::PathBuf;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use bytes::Bytes;
use kcl_checkpoint::InMemoryLeaseStore;
use kcl_core::source::EmulatorSource;
use kcl_core::{async_trait, Checkpointer, ProcessRecordsInput, ProcessorError, ShardRecordProcessor};
use kcl_emulator::types::{CreateStreamInput, PutRecordsInput, PutRecordsRequestEntry};
use kcl_emulator::{Emulator, EmulatorConfig};

use super::*;

fn config(vars: &[(&str, &str)]) -> ServiceConfig {
    let map: HashMap<String, String> = vars
        .iter()
        .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
        .collect();
    ServiceConfig::from_lookup(move |k| map.get(k).cloned()).expect("valid configuration")
}

/// A path in the temporary directory that no other test uses, with nothing there.
fn temp_path(name: &str) -> PathBuf {
    static NEXT: AtomicUsize = AtomicUsize::new(0);
    let n = NEXT.fetch_add(1, Ordering::Relaxed);
    let path = std::env::temp_dir().join(format!("kcl-service-{name}-{}-{n}", std::process::id()));
    let _ = std::fs::remove_file(&path);
    path
}

/// Fails every batch.
struct Failing;

#[async_trait]
impl ShardRecordProcessor for Failing {
    async fn process_records(
        &mut self,
        input: &ProcessRecordsInput,
        _: &Checkpointer,
    ) -> Result<(), ProcessorError> {
        Err(format!("cannot handle {} records", input.records.len()).into())
    }
}

#[test]
fn a_file_that_cannot_be_opened_is_an_error_naming_it() {
    let path = temp_path("missing-dir").join("failed.jsonl");
    let err = match on_failure_file(&path) {
        Ok(_) => panic!("{} opened in a missing directory", path.display()),
        Err(e) => e,
    };
    assert!(matches!(err, ServiceError::OnFailureFile { .. }), "{err:?}");
    let text = err.to_string();
    assert!(text.contains("KCL_ON_FAILURE_FILE"), "{text}");
    assert!(text.contains(&path.display().to_string()), "{text}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn batches_given_up_on_go_to_the_configured_file() {
    let emulator = Emulator::new(
        EmulatorConfig::builder()
            .without_throughput_limits()
            .build()
            .unwrap(),
    );
    emulator
        .create_stream(CreateStreamInput {
            stream_name: "orders".into(),
            shard_count: Some(1),
            ..Default::default()
        })
        .await
        .unwrap();
    let records = (0..6)
        .map(|i| PutRecordsRequestEntry {
            data: Bytes::from(format!(
                r#"{{"type":"{}","n":{i}}}"#,
                if i % 2 == 0 { "order" } else { "refund" }
            )),
            partition_key: format!("key-{i}"),
            explicit_hash_key: None,
        })
        .collect();
    emulator
        .put_records(PutRecordsInput {
            records,
            stream_name: Some("orders".into()),
            ..Default::default()
        })
        .await
        .unwrap();
    let path = temp_path("failed");
    let path_text = path.display().to_string();
    let cfg = config(&[
        ("KCL_APPLICATION_NAME", "orders-app"),
        ("KCL_STREAM_NAME", "orders"),
        ("KCL_WORKER_ID", "w-1"),
        ("KCL_INITIAL_POSITION", "TRIM_HORIZON"),
        ("KCL_LEASE_DURATION", "1s"),
        ("KCL_LEASE_TAKER_INTERVAL", "100ms"),
        ("KCL_IDLE_TIME_BETWEEN_READS", "50ms"),
        ("KCL_HTTP_ADDR", "off"),
        ("KCL_PROCESSING", "lambda"),
        ("KCL_MAX_RETRY_ATTEMPTS", "0"),
        ("KCL_FILTER_PATTERNS", r#"[{"data":{"type":["order"]}}]"#),
        ("KCL_ON_FAILURE_FILE", &path_text),
        ("KCL_ON_FAILURE_INCLUDE_RECORDS", "true"),
    ]);
    let service = Service::with_components(
        cfg,
        Arc::new(InMemoryLeaseStore::new()),
        Arc::new(EmulatorSource::new(emulator, "orders")),
    )
    .await;
    let watched = path.clone();
    let written = async move {
        for _ in 0..200 {
            tokio::time::sleep(Duration::from_millis(50)).await;
            if let Ok(lines) = JsonLinesDestination::read_all(&watched).await {
                if !lines.is_empty() {
                    return;
                }
            }
        }
    };
    let outcome = service
        .run_until(
            |_: &str| Box::new(Failing) as Box<dyn ShardRecordProcessor>,
            written,
        )
        .await
        .unwrap();
    assert_eq!(outcome.worker_id, "w-1");
    let lines = JsonLinesDestination::read_all(&path).await.unwrap();
    let _ = std::fs::remove_file(&path);
    assert_eq!(lines.len(), 1, "{lines:?}");
    let batch = &lines[0];
    assert_eq!(
        batch["requestContext"]["condition"], "RetryAttemptsExhausted",
        "{batch}"
    );
    assert_eq!(batch["requestContext"]["workerId"], "w-1", "{batch}");
    // The filter kept the three orders; the batch carries them (KCL_ON_FAILURE_INCLUDE_RECORDS).
    assert_eq!(batch["KinesisBatchInfo"]["batchSize"], 3, "{batch}");
    assert_eq!(batch["records"].as_array().map(Vec::len), Some(3), "{batch}");
}

#[tokio::test]
async fn a_stream_destination_must_be_given_to_a_service_built_from_components() {
    let cfg = config(&[
        ("KCL_APPLICATION_NAME", "orders-app"),
        ("KCL_STREAM_NAME", "orders"),
        ("KCL_WORKER_ID", "w-1"),
        ("KCL_HTTP_ADDR", "off"),
        ("KCL_ON_FAILURE_STREAM", "orders-failures"),
    ]);
    let emulator = Emulator::new(EmulatorConfig::builder().build().unwrap());
    let service = Service::with_components(
        cfg,
        Arc::new(InMemoryLeaseStore::new()),
        Arc::new(EmulatorSource::new(emulator, "orders")),
    )
    .await;
    let err = service
        .run_until(
            |_: &str| Box::new(Failing) as Box<dyn ShardRecordProcessor>,
            async {},
        )
        .await
        .unwrap_err();
    assert!(matches!(err, ServiceError::OnFailureStreamNotGiven(_)), "{err:?}");
    assert!(
        err.to_string().contains("KCL_ON_FAILURE_STREAM=orders-failures"),
        "{err}"
    );
}
