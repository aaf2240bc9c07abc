//! Shutdown with a deadline and fatal errors, on the in-process emulator and in-memory store under paused
//! time: a processor hanging in `shutdown_requested` is cut off at the deadline and its leases are released
//! (another worker takes them at once, not after expiry); a stream that does not exist stops the worker with
//! [`Error::Fatal`] and turns its liveness red.

use std::sync::Arc;
use std::time::Duration;

use crate::support::{config, wait_until, Behaviour, Log, Stream};
use kcl::core::WorkerHandle;
use kcl::core::{Error, WorkerPhase};

/// A 2-shard stream with 100 records and one worker `w1` with `behaviour` that has processed them all.
async fn processing(behaviour: Behaviour) -> (Stream, Arc<Log>, WorkerHandle) {
    let stream = Stream::new(2).await;
    stream.produce(100, 4).await;
    let log = Arc::new(Log::default());
    let w1 = stream.spawn_worker("w1", config().build().unwrap(), &log, behaviour);
    let all = wait_until(Duration::from_secs(30), Duration::from_millis(100), || {
        log.count() >= 100
    })
    .await;
    assert!(all.is_some(), "w1 did not process the 100 records");
    (stream, log, w1)
}

#[tokio::test(start_paused = true)]
async fn a_graceful_shutdown_within_the_deadline_reports_nothing_abandoned() {
    let (_stream, _log, w1) = processing(Behaviour {
        checkpoint_on_shutdown: true,
        ..Behaviour::default()
    })
    .await;
    let report = w1.shutdown_within(Duration::from_secs(5)).await.unwrap();
    assert!(report.graceful, "{report:?}");
    assert!(report.abandoned.is_empty() && report.released.is_empty());
}

#[tokio::test(start_paused = true)]
async fn a_processor_hanging_in_shutdown_is_cut_off_and_its_leases_released() {
    let (stream, log, w1) = processing(Behaviour {
        hang_on_shutdown: true,
        ..Behaviour::default()
    })
    .await;
    assert_eq!(w1.leases().len(), 2);

    let started = tokio::time::Instant::now();
    let report = w1.shutdown_within(Duration::from_secs(3)).await.unwrap();
    let took = started.elapsed();
    assert!(!report.graceful, "{report:?}");
    let mut abandoned = report.abandoned.clone();
    abandoned.sort();
    assert_eq!(abandoned.len(), 2, "{report:?}");
    let mut released = report.released.clone();
    released.sort();
    assert_eq!(released, abandoned, "{report:?}");
    assert!(report.release_failed.is_empty());
    // Cut off at the deadline; the releases are bounded too.
    assert!(
        took >= Duration::from_secs(3) && took < Duration::from_secs(5),
        "{took:?}"
    );

    // Released, not left to expire (lease duration 10 s): a new worker takes both on its first cycles.
    let w2 = stream.spawn_worker("w2", config().build().unwrap(), &log, Behaviour::default());
    let taken = wait_until(Duration::from_secs(20), Duration::from_millis(50), || {
        w2.leases().len() == 2
    })
    .await;
    assert!(
        taken.is_some_and(|t| t < Duration::from_secs(2)),
        "taken after {taken:?}"
    );
    stream.produce(50, 4).await;
    assert!(
        wait_until(Duration::from_secs(30), Duration::from_millis(100), || log
            .count()
            >= 150)
        .await
        .is_some()
    );
    crate::support::assert_all_processed(&stream, &log);
    crate::support::assert_in_order_per_key(&log);
    w2.shutdown().await.unwrap();
}

#[tokio::test(start_paused = true)]
async fn a_missing_stream_stops_the_worker_with_a_fatal_error_and_fails_liveness() {
    let stream = Stream::new(1).await;
    let log = Arc::new(Log::default());
    // The worker reads a stream that does not exist in the emulator.
    let source = Arc::new(kcl::core::source::EmulatorSource::new(
        stream.emulator.clone(),
        "no-such-stream",
    ));
    let factory = move |shard: &str| {
        crate::support::recorder("w", shard, &log) as Box<dyn kcl::core::ShardRecordProcessor>
    };
    let worker = kcl::core::Worker::builder(Arc::clone(&stream.store), source, factory, "w")
        .config(config().fatal_error_attempts(4).build().unwrap())
        .build()
        .unwrap()
        .spawn();
    let failed = wait_until(Duration::from_secs(120), Duration::from_millis(100), || {
        worker.status().phase == WorkerPhase::Failed
    })
    .await;
    assert!(failed.is_some(), "still {:?}", worker.status().phase);
    let status = worker.status();
    let live = status.liveness();
    assert!(!live.ok, "{live:?}");
    assert!(
        status
            .fatal
            .as_deref()
            .is_some_and(|f| f.contains("no-such-stream")),
        "{:?}",
        status.fatal
    );
    assert!(worker.is_finished());
    match worker.shutdown().await {
        Err(Error::Fatal {
            what,
            attempts,
            cause,
        }) => {
            assert_eq!((what, attempts), ("shard sync", 4));
            assert!(matches!(*cause, Error::ResourceNotFound { .. }), "{cause:?}");
        }
        other => panic!("expected a fatal error, got {other:?}"),
    }
}
