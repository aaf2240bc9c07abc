//! Processor errors and panics never skip records silently: retried by default; skipped only under the
//! `RetryThenSkip` policy (counted and logged); `RetryThenStop` stops the consumer and releases the lease.

use std::sync::atomic::Ordering;
use std::sync::Arc;
use std::time::Duration;

use crate::support::*;
use kcl::core::{ConsumerState, ProcessorErrorPolicy};

#[tokio::test(start_paused = true)]
async fn failing_and_panicking_processors_are_retried_and_nothing_is_skipped() {
    let stream = Stream::new(2).await;
    let log = Arc::new(Log::default());
    let behaviour = Behaviour {
        fail_each_batch: 3,
        ..Behaviour::default()
    };
    let worker = stream.spawn_worker("w", config().build().unwrap(), &log, behaviour);
    for _ in 0..5 {
        stream.produce(200, 8).await;
        tokio::time::sleep(Duration::from_secs(2)).await;
    }
    wait_until(Duration::from_secs(60), Duration::from_millis(100), || {
        log.count() >= 1_000
    })
    .await
    .expect("all records processed despite failures");
    assert_all_processed(&stream, &log);
    assert_no_duplicates(&log);
    assert_in_order_per_key(&log);
    worker.shutdown().await.unwrap();
}

/// Produces good records, then one poison record alone in its batch, then good records again.
async fn poison_run(policy: ProcessorErrorPolicy) -> (Stream, Arc<Log>, kcl::core::WorkerHandle) {
    let stream = Stream::new(1).await;
    let log = Arc::new(Log::default());
    let behaviour = Behaviour {
        poison_key: Some("poison".into()),
        ..Behaviour::default()
    };
    let cfg = config().processor_error_policy(policy).build().unwrap();
    let worker = stream.spawn_worker("w", cfg, &log, behaviour);
    stream.produce(100, 4).await;
    wait_until(Duration::from_secs(5), Duration::from_millis(50), || {
        log.count() == 100
    })
    .await
    .expect("good records");
    stream
        .emulator
        .put_record(kcl::emulator::types::PutRecordInput {
            stream_name: Some(STREAM.into()),
            data: "poison:1".into(),
            partition_key: "poison".into(),
            ..Default::default()
        })
        .await
        .unwrap();
    tokio::time::sleep(Duration::from_millis(300)).await;
    stream.produce(100, 4).await;
    tokio::time::sleep(Duration::from_secs(60)).await;
    (stream, log, worker)
}

#[tokio::test(start_paused = true)]
async fn by_default_a_poison_batch_blocks_the_shard_instead_of_being_skipped() {
    let (_stream, log, worker) = poison_run(ProcessorErrorPolicy::default()).await;
    assert_eq!(
        log.count(),
        100,
        "records after the poison batch must wait for it"
    );
    assert!(
        log.poison_attempts.load(Ordering::SeqCst) > 5,
        "the poison batch is retried"
    );
    assert_eq!(
        worker.shard_states().values().next(),
        Some(&ConsumerState::Processing)
    );
    worker.shutdown().await.unwrap();
}

#[tokio::test(start_paused = true)]
async fn retry_then_skip_skips_only_the_poison_batch() {
    let (stream, log, worker) = poison_run(ProcessorErrorPolicy::RetryThenSkip { max_retries: 2 }).await;
    assert_eq!(log.poison_attempts.load(Ordering::SeqCst), 3, "1 try + 2 retries");
    assert_eq!(log.count(), 200, "every good record processed");
    let seen: std::collections::BTreeSet<_> = log.seen().into_iter().map(|s| (s.key, s.n)).collect();
    let good: std::collections::BTreeSet<_> = stream.produced();
    assert_eq!(seen, good);
    worker.shutdown().await.unwrap();
}

#[tokio::test(start_paused = true)]
async fn retry_then_stop_stops_the_consumer_and_releases_the_lease() {
    let (stream, log, worker) = poison_run(ProcessorErrorPolicy::RetryThenStop { max_retries: 2 }).await;
    // Each consumer tries the poison batch 1 + 2 times, stops and releases the lease; the shard is not
    // held hostage: the taker picks it up again (here the same worker, the only one) with a fresh budget.
    let attempts = log.poison_attempts.load(Ordering::SeqCst);
    assert!(
        attempts >= 6,
        "the released shard was picked up again: {attempts} attempts"
    );
    assert_eq!(log.count(), 100, "nothing after the poison batch is skipped");
    worker.shutdown().await.unwrap();
    let lease = &stream.store.list().await.unwrap().leases[0];
    assert_eq!(lease.owner, None, "released at shutdown");
}

#[tokio::test(start_paused = true)]
async fn a_panicking_processor_factory_is_retried_and_the_lease_stays_held() {
    use std::sync::atomic::AtomicU32;

    use kcl::checkpoint::LeaseKey;
    use kcl::core::{ShardRecordProcessor, Worker};

    let stream = Stream::new(1).await;
    let log = Arc::new(Log::default());
    let calls = Arc::new(AtomicU32::new(0));
    let factory = {
        let (log, calls) = (Arc::clone(&log), Arc::clone(&calls));
        move |shard: &str| {
            if calls.fetch_add(1, Ordering::SeqCst) < 3 {
                panic!("factory not ready");
            }
            recorder("w", shard, &log) as Box<dyn ShardRecordProcessor>
        }
    };
    let worker = Worker::builder(
        Arc::clone(&stream.store),
        Arc::clone(&stream.source),
        factory,
        "w",
    )
    .config(config().build().unwrap())
    .build()
    .unwrap()
    .spawn();
    stream.produce(40, 4).await;

    // Watch the lease: once the factory ran, the lease was taken and must stay ours (a consumer task
    // dying with the panic would let it go).
    let shard = stream
        .source
        .list_shards(&kcl::core::ShardFilter::default())
        .await
        .unwrap()[0]
        .shard_id
        .clone();
    let key = LeaseKey::new(shard);
    for _ in 0..400 {
        tokio::time::sleep(Duration::from_millis(50)).await;
        let lease = stream.store.get(&key).await.unwrap().unwrap();
        if calls.load(Ordering::SeqCst) > 0 {
            assert_eq!(lease.owner.as_deref(), Some("w"), "the lease was let go");
        }
        if log.count() == 40 {
            break;
        }
    }
    assert_eq!(log.count(), 40, "every record processed once the factory works");
    assert_eq!(
        calls.load(Ordering::SeqCst),
        4,
        "three panics, then one processor"
    );
    assert_all_processed(&stream, &log);
    assert_no_duplicates(&log);
    worker.shutdown().await.unwrap();
}
