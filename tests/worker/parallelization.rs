//! Parallelization within a shard (Lambda's `ParallelizationFactor`) on paused time: records spread over
//! lanes by partition key, order per key kept, lanes running concurrently, the checkpoint at the low
//! watermark, and after a crash nothing below it delivered again and nothing lost.

use std::collections::{BTreeMap, BTreeSet};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use kcl::checkpoint::ExtendedSequenceNumber;
use kcl::core::{
    async_trait, Checkpointer, ProcessRecordsInput, ProcessingPolicy, ProcessorError, ShardRecordProcessor,
    Worker, WorkerHandle,
};

use crate::support::*;

/// One delivery: worker, key, the producer's counter, position.
type Delivery = (String, String, u64, ExtendedSequenceNumber);

#[derive(Default)]
struct Shared {
    deliveries: Mutex<Vec<Delivery>>,
    running: AtomicUsize,
    most_running: AtomicUsize,
    lanes_made: AtomicUsize,
}

struct LaneProcessor {
    worker: String,
    shared: Arc<Shared>,
    slow_key: Option<String>,
}

#[async_trait]
impl ShardRecordProcessor for LaneProcessor {
    async fn process_records(
        &mut self,
        input: &ProcessRecordsInput,
        _checkpointer: &Checkpointer,
    ) -> Result<(), ProcessorError> {
        let now = self.shared.running.fetch_add(1, Ordering::SeqCst) + 1;
        self.shared.most_running.fetch_max(now, Ordering::SeqCst);
        let slow = input
            .records
            .iter()
            .any(|r| Some(&r.partition_key) == self.slow_key.as_ref());
        tokio::time::sleep(Duration::from_millis(if slow { 500 } else { 10 })).await;
        let mut log = self.shared.deliveries.lock().unwrap();
        for r in &input.records {
            let text = String::from_utf8_lossy(&r.data);
            let n = text.rsplit(':').next().unwrap().parse().unwrap();
            log.push((
                self.worker.clone(),
                r.partition_key.clone(),
                n,
                r.extended_sequence_number(),
            ));
        }
        self.shared.running.fetch_sub(1, Ordering::SeqCst);
        Ok(())
    }
}

fn spawn(
    stream: &Stream,
    id: &str,
    factor: u8,
    shared: &Arc<Shared>,
    slow_key: Option<&str>,
) -> WorkerHandle {
    let policy = ProcessingPolicy::builder()
        .batch_size(10)
        .parallelization_factor(factor)
        .build()
        .unwrap();
    let (worker, shared, slow_key) = (id.to_owned(), Arc::clone(shared), slow_key.map(str::to_owned));
    let factory = move |_: &str| {
        shared.lanes_made.fetch_add(1, Ordering::SeqCst);
        Box::new(LaneProcessor {
            worker: worker.clone(),
            shared: Arc::clone(&shared),
            slow_key: slow_key.clone(),
        }) as Box<dyn ShardRecordProcessor>
    };
    let cfg = config()
        .processing(policy)
        .lease_duration(Duration::from_secs(10))
        .build()
        .unwrap();
    Worker::builder(Arc::clone(&stream.store), Arc::clone(&stream.source), factory, id)
        .config(cfg)
        .build()
        .unwrap()
        .spawn()
}

/// For each key, the counters in delivery order, for one worker (or all with `None`).
fn per_key(shared: &Shared, worker: Option<&str>) -> BTreeMap<String, Vec<u64>> {
    let mut keys: BTreeMap<String, Vec<u64>> = BTreeMap::new();
    for (w, key, n, _) in shared.deliveries.lock().unwrap().iter() {
        if worker.is_none_or(|x| x == w) {
            keys.entry(key.clone()).or_default().push(*n);
        }
    }
    keys
}

#[tokio::test(start_paused = true)]
async fn lanes_run_concurrently_keep_order_per_key_and_checkpoint_the_end() {
    let stream = Stream::new(1).await;
    let shared = Arc::new(Shared::default());
    stream.produce(2_000, 40).await;
    let worker = spawn(&stream, "w", 5, &shared, None);
    wait_until(Duration::from_secs(120), Duration::from_millis(100), || {
        shared.deliveries.lock().unwrap().len() >= 2_000
    })
    .await
    .expect("every record processed");
    assert_eq!(
        shared.lanes_made.load(Ordering::SeqCst),
        5,
        "one processor per lane"
    );
    assert!(
        shared.most_running.load(Ordering::SeqCst) > 1,
        "lanes ran concurrently"
    );
    for (key, ns) in per_key(&shared, None) {
        let expected: Vec<u64> = (1..=ns.len() as u64).collect();
        assert_eq!(ns, expected, "key {key}: every record once, in order");
    }
    assert_eq!(shared.deliveries.lock().unwrap().len(), 2_000);
    tokio::time::sleep(Duration::from_secs(2)).await;
    let last = shared
        .deliveries
        .lock()
        .unwrap()
        .iter()
        .map(|d| d.3.clone())
        .max()
        .unwrap();
    let lease = &stream.store.list().await.unwrap().leases[0];
    assert_eq!(lease.checkpoint, last, "the watermark reached the last record");
    worker.shutdown().await.unwrap();
}

#[tokio::test(start_paused = true)]
async fn after_a_crash_nothing_below_the_watermark_is_redelivered_and_nothing_is_lost() {
    let stream = Stream::new(1).await;
    let shared = Arc::new(Shared::default());
    stream.produce(1_000, 20).await;
    // key-0's batches take 500 ms, the others 10 ms: its lane holds the watermark back.
    let victim = spawn(&stream, "victim", 4, &shared, Some("key-0"));
    tokio::time::sleep(Duration::from_secs(6)).await;
    victim.abort().await;
    let watermark = stream.store.list().await.unwrap().leases[0].checkpoint.clone();
    assert!(
        matches!(watermark, ExtendedSequenceNumber::Sequence { .. }),
        "the victim checkpointed: {watermark:?}"
    );
    let above = shared
        .deliveries
        .lock()
        .unwrap()
        .iter()
        .filter(|d| d.3 > watermark)
        .count();
    assert!(
        above > 0,
        "records above the watermark were processed before the crash (the slow lane held it)"
    );

    let survivor = spawn(&stream, "survivor", 4, &shared, None);
    let produced = stream.produced();
    wait_until(Duration::from_secs(120), Duration::from_millis(100), || {
        let seen: BTreeSet<(String, u64)> = shared
            .deliveries
            .lock()
            .unwrap()
            .iter()
            .map(|d| (d.1.clone(), d.2))
            .collect();
        seen == produced
    })
    .await
    .expect("nothing lost: every record processed by the victim or the survivor");
    let below = shared
        .deliveries
        .lock()
        .unwrap()
        .iter()
        .filter(|d| d.0 == "survivor" && d.3 <= watermark)
        .count();
    assert_eq!(below, 0, "no record at or below the watermark delivered again");
    for (key, ns) in per_key(&shared, Some("survivor")) {
        assert!(
            ns.windows(2).all(|w| w[1] == w[0] + 1),
            "key {key}: survivor in order, no gap: {ns:?}"
        );
    }
    survivor.shutdown().await.unwrap();
}
