//! The service's HTTP endpoints and fatal errors against real servers: the kcl-emulator wire-protocol
//! server (in process) and dynalite behind a TCP proxy that the test stops and starts.
//!
//! - `/readyz` is 503 before the first shard sync and 200 once the worker holds its share;
//! - `/metrics` parses as Prometheus text, its counters move and the batch histograms exist;
//! - `/healthz` goes 200 -> 503 when the lease store is gone for longer than the lease duration, and back;
//! - `/status` is JSON with the leases, checkpoints and lag; bad requests get 404 / 405;
//! - a stream that does not exist ends `run` with the typed fatal error; a missing lease table with
//!   creation turned off is fatal at start.
//!
//! Needs `KCL_TEST_DYNALITE_URL` (skips loudly without it unless `KCL_TEST_REQUIRE_SERVERS=1`).

use std::collections::HashMap;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use crate::support::{self, Proxy};
use kcl::checkpoint::{DynamoDbLeaseStore, LeaseStore, RetryPolicy};
use kcl::core::source::KinesisSource;
use kcl::core::{
    async_trait, Checkpointer, Error, ProcessRecordsInput, ProcessorError, RecordSource, ShardRecordProcessor,
};
use kcl::service::{Service, ServiceConfig, ServiceError};
use kcl_checkpoint::test_util::dynamodb_client;
use kcl_emulator::test_util::{self, TestServer};

struct Checkpointing;

#[async_trait]
impl ShardRecordProcessor for Checkpointing {
    async fn process_records(
        &mut self,
        _: &ProcessRecordsInput,
        cp: &Checkpointer,
    ) -> Result<(), ProcessorError> {
        cp.checkpoint().await?;
        Ok(())
    }
}

fn factory() -> impl Fn(&str) -> Box<dyn ShardRecordProcessor> + Send + Sync + 'static {
    |_: &str| Box::new(Checkpointing) as Box<dyn ShardRecordProcessor>
}

fn config(vars: &[(&str, String)]) -> ServiceConfig {
    let map: HashMap<String, String> = vars.iter().map(|(k, v)| ((*k).to_owned(), v.clone())).collect();
    ServiceConfig::from_lookup(move |k| map.get(k).cloned()).expect("valid configuration")
}

fn store(url: &str, config: &ServiceConfig) -> Arc<dyn LeaseStore> {
    DynamoDbLeaseStore::builder(dynamodb_client(url), &config.lease_table)
        .create_table_if_missing(config.create_lease_table)
        .endpoint(url)
        .build_with_retry(RetryPolicy::default())
        .unwrap()
}

fn source(url: &str, stream: &str) -> Arc<dyn RecordSource> {
    Arc::new(KinesisSource::new(test_util::kinesis_client(url), stream).with_endpoint(url))
}

async fn get(addr: SocketAddr, path: &str) -> (u16, String) {
    support::http("GET", addr, path)
        .await
        .unwrap_or((0, String::new()))
}

async fn scrape(addr: SocketAddr) -> prometheus_parse::Scrape {
    let (code, body) = get(addr, "/metrics").await;
    assert_eq!(code, 200, "{body}");
    prometheus_parse::Scrape::parse(body.lines().map(|l| Ok(l.to_owned()))).expect("Prometheus text format")
}

fn counter(scrape: &prometheus_parse::Scrape, name: &str, worker: &str) -> f64 {
    scrape
        .samples
        .iter()
        .filter(|s| s.metric == name && s.labels.get("worker") == Some(worker))
        .map(|s| match s.value {
            prometheus_parse::Value::Counter(v) | prometheus_parse::Value::Untyped(v) => v,
            _ => 0.0,
        })
        .sum()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn endpoints_report_readiness_health_metrics_and_status() {
    let Some(dynalite) = support::dynalite("service endpoints") else {
        return;
    };
    let emulator = TestServer::start_unlimited().await;
    let kinesis = test_util::kinesis_client(&emulator.endpoint);
    let stream = test_util::unique_name("endpoints");
    test_util::create_stream(&kinesis, &stream, 2).await;
    // The lease store is not there at first: no shard sync can succeed.
    let proxy = Proxy::new(&dynalite).await;
    let http_addr = SocketAddr::from(([127, 0, 0, 1], support::free_port()));
    let worker_id = "endpoints-worker".to_owned();
    let cfg = config(&[
        ("KCL_APPLICATION_NAME", test_util::unique_name("endpoints-app")),
        ("KCL_STREAM_NAME", stream.clone()),
        ("KCL_WORKER_ID", worker_id.clone()),
        ("KCL_INITIAL_POSITION", "TRIM_HORIZON".into()),
        ("KCL_LEASE_DURATION", "2s".into()),
        ("KCL_IDLE_TIME_BETWEEN_READS", "50ms".into()),
        ("KCL_HTTP_ADDR", http_addr.to_string()),
        ("KCL_SHUTDOWN_DEADLINE", "5s".into()),
    ]);
    let service = Service::with_components(
        cfg.clone(),
        store(&proxy.url(), &cfg),
        source(&emulator.endpoint, &stream),
    )
    .await;
    let (stop_tx, stop_rx) = tokio::sync::oneshot::channel::<()>();
    let run = tokio::spawn(service.run_until(factory(), async {
        let _ = stop_rx.await;
    }));

    // Before the first shard sync: not ready, and not healthy (the store never answered).
    assert!(
        test_util::eventually(Duration::from_secs(5), || async {
            get(http_addr, "/readyz").await.0 == 503
        })
        .await
        .is_some(),
        "/readyz must answer 503 before the first shard sync"
    );
    let (code, body) = get(http_addr, "/readyz").await;
    assert_eq!(code, 503);
    assert!(body.contains("no shard sync has succeeded yet"), "{body}");
    assert_eq!(get(http_addr, "/healthz").await.0, 503);

    // The store appears: ready once both leases are held, healthy.
    proxy.start().await;
    let ready = test_util::eventually(Duration::from_secs(20), || async {
        get(http_addr, "/readyz").await.0 == 200
    })
    .await;
    println!("ready {ready:?} after the lease store appeared");
    assert!(
        ready.is_some(),
        "never ready: {:?}",
        get(http_addr, "/readyz").await
    );
    assert_eq!(
        get(http_addr, "/healthz").await,
        (200, "{\"status\":\"ok\"}\n".to_owned())
    );

    // Metrics: counters move, histograms exist.
    test_util::put_records(&kinesis, &stream, 0, 200, 10).await;
    let processed = |n: f64| {
        move || async move {
            counter(
                &scrape(http_addr).await,
                "kcl_records_processed_total",
                "endpoints-worker",
            ) >= n
        }
    };
    assert!(test_util::eventually(Duration::from_secs(20), processed(200.0))
        .await
        .is_some());
    let first = counter(
        &scrape(http_addr).await,
        "kcl_records_processed_total",
        &worker_id,
    );
    test_util::put_records(&kinesis, &stream, 200, 100, 10).await;
    assert!(
        test_util::eventually(Duration::from_secs(20), processed(first + 100.0))
            .await
            .is_some()
    );
    let metrics = scrape(http_addr).await;
    for histogram in ["kcl_batch_processing_seconds", "kcl_batch_millis_behind_latest"] {
        let found = metrics
            .samples
            .iter()
            .find(|s| s.metric == histogram)
            .unwrap_or_else(|| panic!("no {histogram}"));
        match &found.value {
            prometheus_parse::Value::Histogram(buckets) => {
                assert!(buckets.len() > 3, "{histogram}: {buckets:?}");
                assert!(
                    buckets.last().unwrap().count >= 1.0,
                    "{histogram} counted nothing"
                );
            }
            other => panic!("{histogram} is not a histogram: {other:?}"),
        }
    }
    assert!(counter(&metrics, "kcl_leases_taken_total", &worker_id) >= 2.0);

    // Status: JSON with both leases, their checkpoints and lag.
    let (code, body) = get(http_addr, "/status").await;
    assert_eq!(code, 200);
    let status: serde_json::Value = serde_json::from_str(&body).expect("JSON");
    assert_eq!(status["worker_id"], "endpoints-worker");
    assert_eq!(status["phase"], "running");
    let leases = status["leases"].as_array().unwrap();
    assert_eq!(leases.len(), 2, "{body}");
    for lease in leases {
        assert_eq!(lease["state"], "processing", "{body}");
        // Checkpointed after every batch: a sequence number (with its sub-sequence), not TRIM_HORIZON.
        let checkpoint = lease["checkpoint"].as_str().unwrap_or_default();
        assert!(checkpoint.starts_with(|c: char| c.is_ascii_digit()), "{body}");
        assert!(lease["millis_behind_latest"].is_u64(), "{body}");
    }

    // Bad requests.
    assert_eq!(get(http_addr, "/nope").await.0, 404);
    assert_eq!(get(http_addr, "/").await.0, 404);
    assert_eq!(
        support::http("POST", http_addr, "/healthz").await.map(|r| r.0),
        Some(405)
    );
    assert_eq!(
        support::http("DELETE", http_addr, "/metrics").await.map(|r| r.0),
        Some(405)
    );
    assert_eq!(
        support::http("HEAD", http_addr, "/healthz").await.map(|r| r.0),
        Some(200)
    );
    assert_eq!(get(http_addr, "/healthz?verbose=1").await.0, 200);

    // The lease store goes away for longer than the lease duration: unhealthy; back: healthy again.
    proxy.stop();
    let red = test_util::eventually(Duration::from_secs(10), || async {
        get(http_addr, "/healthz").await.0 == 503
    })
    .await;
    println!("/healthz 503 {red:?} after the lease store stopped (lease duration 2 s)");
    assert!(red.is_some(), "/healthz stayed 200 with the lease store gone");
    let (_, body) = get(http_addr, "/healthz").await;
    assert!(body.contains("lease store has not answered"), "{body}");
    proxy.start().await;
    let green = test_util::eventually(Duration::from_secs(15), || async {
        get(http_addr, "/healthz").await.0 == 200
    })
    .await;
    println!("/healthz 200 again {green:?} after the lease store came back");
    assert!(
        green.is_some(),
        "/healthz did not recover: {:?}",
        get(http_addr, "/healthz").await
    );

    stop_tx.send(()).unwrap();
    let outcome = run.await.unwrap().expect("a clean run");
    assert!(outcome.shutdown.graceful, "{:?}", outcome.shutdown);
    assert!(
        support::http("GET", http_addr, "/healthz").await.is_none(),
        "the endpoints outlived the service"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_missing_stream_ends_run_with_the_typed_fatal_error() {
    let Some(dynalite) = support::dynalite("service fatal errors") else {
        return;
    };
    let emulator = TestServer::start_unlimited().await;
    let cfg = config(&[
        ("KCL_APPLICATION_NAME", test_util::unique_name("missing-stream")),
        ("KCL_STREAM_NAME", "no-such-stream".into()),
        ("KCL_WORKER_ID", "w".into()),
        ("KCL_FATAL_ERROR_ATTEMPTS", "3".into()),
        ("KCL_HTTP_ADDR", "off".into()),
    ]);
    let service = Service::with_components(
        cfg.clone(),
        store(&dynalite, &cfg),
        source(&emulator.endpoint, "no-such-stream"),
    )
    .await;
    let started = tokio::time::Instant::now();
    let result = tokio::time::timeout(
        Duration::from_secs(60),
        service.run_until(factory(), std::future::pending()),
    )
    .await
    .expect("run must end by itself");
    println!("run ended after {:?}: {result:?}", started.elapsed());
    let err = result.expect_err("a missing stream is fatal");
    let worker = err.worker_error().expect("a worker error");
    match worker {
        Error::Fatal {
            what,
            attempts,
            cause,
        } => {
            assert_eq!((*what, *attempts), ("shard sync", 3));
            assert!(matches!(**cause, Error::ResourceNotFound { .. }), "{cause:?}");
        }
        other => panic!("not Fatal: {other:?}"),
    }
    assert!(matches!(worker.root(), Error::ResourceNotFound { .. }));
    assert!(err.to_string().contains("shard sync failed 3 times"), "{err}");

    // A missing lease table with creation off: fatal at once, naming the table.
    let cfg = config(&[
        ("KCL_APPLICATION_NAME", test_util::unique_name("no-table")),
        ("KCL_STREAM_NAME", "any".into()),
        ("KCL_WORKER_ID", "w".into()),
        ("KCL_CREATE_LEASE_TABLE", "false".into()),
        ("KCL_HTTP_ADDR", "off".into()),
    ]);
    let table = cfg.lease_table.clone();
    let service = Service::with_components(
        cfg.clone(),
        store(&dynalite, &cfg),
        source(&emulator.endpoint, "any"),
    )
    .await;
    let err = tokio::time::timeout(
        Duration::from_secs(30),
        service.run_until(factory(), std::future::pending()),
    )
    .await
    .expect("run must end by itself")
    .expect_err("a missing table is fatal when it may not be created");
    let text = kcl::checkpoint::DisplayChain(&err).to_string();
    assert!(
        matches!(err.worker_error().map(Error::root), Some(Error::Store(e)) if e.is_table_not_found()),
        "{text}"
    );
    assert!(text.contains(&table), "{text}");
    assert!(matches!(err, ServiceError::Worker(_)));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_refused_connection_is_reported_as_such_never_as_a_timeout() {
    // Nothing listens on this port: both clients get "connection refused".
    let closed = format!("http://127.0.0.1:{}", support::free_port());
    let store = DynamoDbLeaseStore::builder(dynamodb_client(&closed), "some-table")
        .endpoint(&closed)
        .build()
        .unwrap();
    let err = store.list().await.expect_err("nothing listens");
    let text = kcl::checkpoint::DisplayChain(&err).to_string();
    println!("store: {text}");
    assert!(
        matches!(err, kcl::checkpoint::Error::Unreachable { .. }),
        "{err:?}"
    );
    assert!(err.is_retryable() && !err.is_fatal());
    assert!(!text.contains("timed out"), "{text}");
    assert!(
        text.contains(&closed) && text.to_lowercase().contains("connection refused"),
        "{text}"
    );

    let source = KinesisSource::new(test_util::kinesis_client(&closed), "s").with_endpoint(&closed);
    let err = source
        .list_shards(&kcl::core::ShardFilter::default())
        .await
        .expect_err("nothing listens");
    let text = kcl::checkpoint::DisplayChain(&err).to_string();
    println!("source: {text}");
    assert!(matches!(err, Error::Unreachable { .. }), "{err:?}");
    assert!(!text.contains("timed out"), "{text}");
    assert!(
        text.contains(&closed) && text.to_lowercase().contains("connection refused"),
        "{text}"
    );
}
