//! One worker end to end on the in-process emulator and the in-memory store (paused time).

use std::sync::Arc;
use std::time::Duration;

use crate::support::*;
use kcl::checkpoint::ExtendedSequenceNumber;

#[tokio::test(start_paused = true)]
async fn one_worker_processes_everything_once_in_order_and_resumes_after_its_checkpoint() {
    let stream = Stream::new(4).await;
    stream.produce(2_000, 16).await;
    let log = Arc::new(Log::default());
    let worker = stream.spawn_worker("w1", config().build().unwrap(), &log, Behaviour::default());

    let took = wait_until(Duration::from_secs(30), Duration::from_millis(100), || {
        log.count() >= 2_000
    })
    .await;
    assert!(took.is_some(), "only {} of 2000 records processed", log.count());
    assert_eq!(worker.leases().len(), 4);
    assert_all_processed(&stream, &log);
    assert_no_duplicates(&log);
    assert_in_order_per_key(&log);

    // Every lease is checkpointed at its shard's last record.
    worker.shutdown().await.unwrap();
    let leases = stream.store.list().await.unwrap().leases;
    assert_eq!(leases.len(), 4);
    for lease in &leases {
        assert!(
            lease.owner.is_none(),
            "lease {} still owned after shutdown",
            lease.key
        );
        assert!(
            matches!(lease.checkpoint, ExtendedSequenceNumber::Sequence { .. }),
            "{lease:?}"
        );
    }

    // A new worker resumes after the checkpoints: only new records are delivered.
    stream.produce(400, 16).await;
    let before = log.count();
    let worker = stream.spawn_worker("w2", config().build().unwrap(), &log, Behaviour::default());
    let took = wait_until(Duration::from_secs(30), Duration::from_millis(100), || {
        log.count() >= before + 400
    })
    .await;
    assert!(
        took.is_some(),
        "restart processed {} of 400",
        log.count() - before
    );
    tokio::time::sleep(Duration::from_secs(5)).await;
    assert_eq!(log.count(), 2_400, "records redelivered after restart");
    assert_all_processed(&stream, &log);
    assert_no_duplicates(&log);
    assert_in_order_per_key(&log);
    worker.shutdown().await.unwrap();
}

#[tokio::test(start_paused = true)]
async fn a_worker_started_before_its_stream_exists_picks_it_up_without_waiting_a_sync_interval() {
    use kcl::checkpoint::{InMemoryLeaseStore, LeaseStore};
    use kcl::core::source::EmulatorSource;
    use kcl::core::{RecordSource, Worker};
    use kcl::emulator::{Emulator, EmulatorConfig};

    let emulator = Emulator::new(
        EmulatorConfig::builder()
            .without_throughput_limits()
            .build()
            .unwrap(),
    );
    let source: Arc<dyn RecordSource> = Arc::new(EmulatorSource::new(emulator.clone(), STREAM));
    let store: Arc<dyn LeaseStore> = Arc::new(InMemoryLeaseStore::new());
    let log = Arc::new(Log::default());
    let cfg = config()
        .shard_sync_interval(Duration::from_secs(60))
        .build()
        .unwrap();
    let log_for_factory = Arc::clone(&log);
    let factory =
        move |shard: &str| recorder("w", shard, &log_for_factory) as Box<dyn kcl::core::ShardRecordProcessor>;
    let worker = Worker::builder(Arc::clone(&store), source, factory, "w")
        .config(cfg)
        .build()
        .unwrap()
        .spawn();
    tokio::time::sleep(Duration::from_secs(3)).await;
    assert!(worker.leases().is_empty());

    let stream = Stream::with_existing(emulator, store, 2).await;
    stream.produce(100, 4).await;
    let took = wait_until(Duration::from_secs(30), Duration::from_millis(100), || {
        log.count() >= 100
    })
    .await;
    assert!(took.is_some_and(|t| t < Duration::from_secs(15)), "took {took:?}");
    assert_all_processed(&stream, &log);
    worker.shutdown().await.unwrap();
}
