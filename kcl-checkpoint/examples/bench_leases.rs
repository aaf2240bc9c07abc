//! Lease-store throughput: renew, take and checkpoint operations per second, in memory and against a
//! DynamoDB-compatible server, plus what listing 1,000 leases costs in DynamoDB requests.
//!
//! ```text
//! cargo run --release -p kcl-checkpoint --example bench_leases
//! KCL_TEST_DYNALITE_URL=http://127.0.0.1:4567 KCL_TEST_MOTO_URL=http://127.0.0.1:5000 \
//!     cargo run --release -p kcl-checkpoint --example bench_leases
//! ```
//!
//! Optional: `KCL_BENCH_OPS` (operations per measurement, default 400000 in memory, 1000 against a server).

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;

use aws_config::BehaviorVersion;
use aws_credential_types::Credentials;
use aws_sdk_dynamodb::config::interceptors::BeforeTransmitInterceptorContextRef;
use aws_sdk_dynamodb::config::{ConfigBag, Intercept, RuntimeComponents};
use aws_sdk_dynamodb::error::BoxError;
use aws_sdk_dynamodb::types::ReturnConsumedCapacity;
use futures::future::join_all;
use kcl_checkpoint::{
    DynamoDbLeaseStore, ExtendedSequenceNumber, InMemoryLeaseStore, Lease, LeaseStore, SequenceNumber,
};
use tokio::time::{Duration, Instant};

/// Counts HTTP requests sent by the DynamoDB client (retries included).
#[derive(Debug, Default)]
struct RequestCounter(AtomicU64);

impl Intercept for RequestCounter {
    fn name(&self) -> &'static str {
        "RequestCounter"
    }

    fn read_before_transmit(
        &self,
        _context: &BeforeTransmitInterceptorContextRef<'_>,
        _runtime_components: &RuntimeComponents,
        _cfg: &mut ConfigBag,
    ) -> Result<(), BoxError> {
        self.0.fetch_add(1, Ordering::Relaxed);
        Ok(())
    }
}

#[derive(Clone, Copy, Debug)]
enum Op {
    Renew,
    Take,
    Checkpoint,
}

/// Runs `ops` operations of one kind, spread over `tasks` tasks each working its own lease.
async fn measure(store: Arc<dyn LeaseStore>, prefix: &str, op: Op, ops: usize, tasks: usize) -> f64 {
    let per_task = (ops / tasks).max(1);
    let mut leases = Vec::new();
    for t in 0..tasks {
        let lease = Lease::new(
            format!("{prefix}-{op:?}-{t}"),
            ExtendedSequenceNumber::TrimHorizon,
        );
        store.create_if_absent(&lease).await.expect("create");
        let lease = store.take(&lease, "bench-0").await.expect("take");
        leases.push(lease);
    }
    let started = Instant::now();
    let runs = leases.into_iter().map(|mut lease| {
        let store = store.clone();
        async move {
            for i in 0..per_task {
                lease = match op {
                    Op::Renew => store.renew(&lease).await,
                    Op::Take => {
                        let owner = if i % 2 == 0 { "bench-1" } else { "bench-0" };
                        store.take(&lease, owner).await
                    }
                    Op::Checkpoint => {
                        let position = SequenceNumber::from(1_000_000 + i as u128);
                        store
                            .checkpoint(&lease, ExtendedSequenceNumber::sequence(position))
                            .await
                    }
                }
                .expect("fenced write by the only writer");
            }
        }
    });
    join_all(runs).await;
    (per_task * tasks) as f64 / started.elapsed().as_secs_f64()
}

async fn report(name: &str, store: Arc<dyn LeaseStore>, ops: usize) {
    for tasks in [1, 16] {
        let mut line = format!("{name:<10} tasks={tasks:<3}");
        for op in [Op::Renew, Op::Take, Op::Checkpoint] {
            let rate = measure(store.clone(), &format!("t{tasks}"), op, ops, tasks).await;
            line.push_str(&format!("  {op:?}: {rate:>10.0} ops/s"));
        }
        println!("{line}");
    }
}

fn ops_from_env(default: usize) -> usize {
    std::env::var("KCL_BENCH_OPS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

#[tokio::main]
async fn main() {
    report(
        "in-memory",
        Arc::new(InMemoryLeaseStore::new()),
        ops_from_env(20_000),
    )
    .await;

    for (server, var) in [
        ("dynalite", "KCL_TEST_DYNALITE_URL"),
        ("moto", "KCL_TEST_MOTO_URL"),
    ] {
        match std::env::var(var) {
            Ok(url) => dynamodb(server, &url).await,
            Err(_) => println!("SKIPPED: {server} figures: {var} is not set"),
        }
    }
}

/// The DynamoDB figures against one server.
async fn dynamodb(server: &str, url: &str) {
    let counter = Arc::new(RequestCounter::default());
    let sdk_config = aws_config::defaults(BehaviorVersion::latest())
        .region("us-east-1")
        .credentials_provider(Credentials::new("test", "test", None, None, "bench"))
        .endpoint_url(url)
        .load()
        .await;
    let config = aws_sdk_dynamodb::config::Builder::from(&sdk_config)
        .interceptor(CounterHandle(counter.clone()))
        .build();
    let client = aws_sdk_dynamodb::Client::from_conf(config);
    let table = format!("kcl-bench-{:08x}", rand::random::<u32>());
    let store = Arc::new(
        DynamoDbLeaseStore::builder(client.clone(), &table)
            .poll_interval(Duration::from_millis(100))
            .build()
            .expect("store settings"),
    );
    store.ensure_table().await.expect("ensure_table");
    report(server, store.clone(), ops_from_env(1_000)).await;

    // Listing cost: 1,000 leases as a worker sees them (owned, checkpointed, with a parent and hash range).
    let list_table = format!("{table}-list");
    let list_store = Arc::new(
        DynamoDbLeaseStore::builder(client.clone(), &list_table)
            .poll_interval(Duration::from_millis(100))
            .build()
            .expect("store settings"),
    );
    list_store.ensure_table().await.expect("ensure_table");
    for chunk in (0..1_000u32).collect::<Vec<_>>().chunks(50) {
        join_all(chunk.iter().map(|i| {
            let store = list_store.clone();
            async move {
                let mut lease = Lease::new(
                    format!("shardId-{i:012}"),
                    ExtendedSequenceNumber::sequence(SequenceNumber::from(
                        49_590_338_271_490_256_608_559_692_538_361_571_095_u128,
                    )),
                )
                .with_parents([format!("shardId-{:012}", i / 2)])
                .with_hash_key_range(kcl_checkpoint::HashKeyRange::full())
                .with_owner(format!("worker-{}", i % 10));
                lease.counter = 12_345;
                store.create_if_absent(&lease).await.expect("create");
            }
        }))
        .await;
    }
    let before = counter.0.load(Ordering::Relaxed);
    let started = Instant::now();
    let listing = list_store.list().await.expect("list");
    let elapsed = started.elapsed();
    let requests = counter.0.load(Ordering::Relaxed) - before;
    let scan = client
        .scan()
        .table_name(&list_table)
        .consistent_read(true)
        .return_consumed_capacity(ReturnConsumedCapacity::Total)
        .send()
        .await
        .expect("scan");
    let capacity = scan
        .consumed_capacity()
        .and_then(|c| c.capacity_units())
        .map_or_else(|| "not reported".to_owned(), |c| format!("{c}"));
    println!(
        "{server:<10} list of {} leases: {} DynamoDB request(s) (Scan pages), {:.1} ms, first page consumed capacity: {} RCU",
        listing.leases.len(),
        requests,
        elapsed.as_secs_f64() * 1e3,
        capacity
    );
}

/// Shares one counter between the client config and the report.
#[derive(Debug)]
struct CounterHandle(Arc<RequestCounter>);

impl Intercept for CounterHandle {
    fn name(&self) -> &'static str {
        "RequestCounterHandle"
    }

    fn read_before_transmit(
        &self,
        context: &BeforeTransmitInterceptorContextRef<'_>,
        runtime_components: &RuntimeComponents,
        cfg: &mut ConfigBag,
    ) -> Result<(), BoxError> {
        self.0.read_before_transmit(context, runtime_components, cfg)
    }
}
