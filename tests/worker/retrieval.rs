//! Retrieval under adversity: expired shard iterators, throttling (the emulator's real per-shard limits
//! plus injected throttles) and transient service errors. Nothing is lost, repeated or reordered.

use std::sync::atomic::Ordering;
use std::sync::Arc;
use std::time::Duration;

use crate::support::*;
use kcl::core::Backoff;
use kcl::emulator::operation::Operation;
use kcl::emulator::{Emulator, EmulatorConfig, ErrorCode, FaultRule};

#[tokio::test(start_paused = true)]
async fn an_iterator_expired_while_the_processor_was_busy_restarts_after_the_last_record_queued() {
    let stream = Stream::new(1).await;
    let log = Arc::new(Log::default());
    let gate = Arc::new(Gate::default());
    gate.armed.store(true, Ordering::SeqCst);
    let behaviour = Behaviour {
        gate: Some(Arc::clone(&gate)),
        ..Behaviour::default()
    };
    // Small batches, so the prefetch queue fills and the poller holds an iterator while it waits.
    let cfg = config().max_records_per_call(10).build().unwrap();
    let worker = stream.spawn_worker("w", cfg, &log, behaviour);
    stream.produce(200, 4).await;
    tokio::time::timeout(Duration::from_secs(5), gate.entered.notified())
        .await
        .expect("first batch in flight");
    // Kinesis iterators expire after 5 minutes.
    tokio::time::sleep(Duration::from_secs(6 * 60)).await;
    gate.open.notify_one();
    wait_until(Duration::from_secs(30), Duration::from_millis(100), || {
        log.count() >= 200
    })
    .await
    .expect("every record after the expiry");
    tokio::time::sleep(Duration::from_secs(2)).await;
    assert_all_processed(&stream, &log);
    assert_no_duplicates(&log);
    assert_in_order_per_key(&log);
    worker.shutdown().await.unwrap();
}

#[tokio::test(start_paused = true)]
async fn throttling_and_transient_errors_back_off_and_lose_nothing() {
    // The real AWS limits (5 GetRecords per second per shard), a poller that never idles, and more
    // throttles and internal failures injected on top.
    let emulator = Emulator::new(EmulatorConfig::builder().seed(11).build().unwrap());
    let stream = Arc::new(Stream::with_emulator(emulator, 4).await);
    stream
        .emulator
        .faults()
        .add(FaultRule::throttle().on(Operation::GetRecords).times(12));
    stream.emulator.faults().add(
        FaultRule::error(ErrorCode::InternalFailure)
            .on(Operation::GetRecords)
            .times(10),
    );
    let log = Arc::new(Log::default());
    let cfg = config()
        .idle_time_between_reads(Duration::ZERO)
        .source_retry_backoff(Backoff::new(Duration::from_millis(100), Duration::from_secs(1)))
        .build()
        .unwrap();
    let worker = stream.spawn_worker("w", cfg, &log, Behaviour::default());
    let producer = producer(&stream, 50, 16, Duration::from_millis(100));
    tokio::time::sleep(Duration::from_secs(20)).await;
    producer.abort();
    let total = stream.produced().len();
    wait_until(Duration::from_secs(30), Duration::from_millis(100), || {
        log.count() >= total
    })
    .await
    .unwrap_or_else(|| {
        panic!(
            "{} of {total} processed; states {:?}",
            log.count(),
            worker.shard_states()
        )
    });
    assert!(
        stream.emulator.faults().fired() >= 16,
        "faults fired: {}",
        stream.emulator.faults().fired()
    );
    assert_all_processed(&stream, &log);
    assert_no_duplicates(&log);
    assert_in_order_per_key(&log);
    worker.shutdown().await.unwrap();
}
