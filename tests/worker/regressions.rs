//! Pinned regressions of the defects the seeded fleet simulation found, each as a scripted schedule
//! (the KPL one lives in `kpl.rs`; the shard-sync planning ones are unit tests in
//! `kcl-core/src/shard_sync.rs`; seeds that showed the others are pinned in `tests/fleet_simulation.rs`).

use std::collections::BTreeSet;
use std::sync::atomic::Ordering;
use std::sync::Arc;
use std::time::Duration;

use crate::support::*;
use kcl::checkpoint::{ExtendedSequenceNumber, Lease, LeaseKey, SequenceNumber};
use kcl::core::source::read_available;
use kcl::core::{Backoff, InitialPosition, IteratorPosition, ReadRequest};

const P0: &str = "shardId-000000000000";
const P1: &str = "shardId-000000000001";
const C2: &str = "shardId-000000000002";

/// Every sequence number of a shard, in order.
async fn shard_sequences(stream: &Stream, shard: &str) -> Vec<String> {
    let mut reader = stream
        .source
        .open_reader(ReadRequest::new(shard, IteratorPosition::TrimHorizon));
    read_available(reader.as_mut())
        .await
        .unwrap()
        .iter()
        .map(|r| r.sequence_number.to_string())
        .collect()
}

/// Defect 1: a merge child whose lease exists while one parent has none yet must not start (and the
/// parent must get its lease): a parent merely absent from the lease table is not finished.
#[tokio::test(start_paused = true)]
async fn a_child_waits_for_a_parent_that_has_no_lease_yet() {
    let stream = Stream::new(2).await;
    stream.produce(60, 6).await;
    stream.merge(P0, P1).await;
    stream.produce(60, 6).await;
    // The table as a crash left it: the merge child was created at one parent's end, the other parent
    // never got a lease.
    stream
        .store
        .create_if_absent(&Lease::new(P0, ExtendedSequenceNumber::TrimHorizon))
        .await
        .unwrap();
    stream
        .store
        .create_if_absent(&Lease::new(C2, ExtendedSequenceNumber::TrimHorizon).with_parents([P0, P1]))
        .await
        .unwrap();
    let log = Arc::new(Log::default());
    let cfg = config()
        .initial_position(InitialPosition::Latest)
        .build()
        .unwrap();
    let worker = stream.spawn_worker("w", cfg, &log, Behaviour::default());
    wait_until(Duration::from_secs(60), Duration::from_millis(100), || {
        log.count() >= 120
    })
    .await
    .expect("every record processed");
    assert_all_processed(&stream, &log);
    assert_in_order_per_key(&log);
    let seen = log.seen();
    let last_parent = seen
        .iter()
        .rposition(|s| s.shard == P1)
        .expect("the parent was processed");
    let first_child = seen
        .iter()
        .position(|s| s.shard == C2)
        .expect("the child was processed");
    assert!(
        last_parent < first_child,
        "the child started before its parent was finished"
    );
    worker.shutdown().await.unwrap();
}

/// Defect 2: a batch that failed, with a graceful shutdown arriving during the retry wait: the
/// checkpoint written in `shutdown_requested` must not pass the batch that never succeeded.
#[tokio::test(start_paused = true)]
async fn a_shutdown_during_the_retry_of_a_failed_batch_does_not_checkpoint_past_it() {
    let stream = Stream::new(1).await;
    stream.produce(10, 2).await;
    let log = Arc::new(Log::default());
    let failing = Behaviour {
        poison_key: Some("poison".into()),
        checkpoint_on_shutdown: true,
        ..Behaviour::default()
    };
    let cfg = config()
        .processor_retry_backoff(Backoff::new(Duration::from_secs(5), Duration::from_secs(10)))
        .build()
        .unwrap();
    let first = stream.spawn_worker("first", cfg.clone(), &log, failing);
    wait_until(Duration::from_secs(10), Duration::from_millis(50), || {
        log.count() == 10
    })
    .await
    .expect("good records");
    stream
        .put(vec![kcl::emulator::types::PutRecordsRequestEntry {
            data: "poison:1".into(),
            partition_key: "poison".into(),
            explicit_hash_key: None,
        }])
        .await;
    wait_until(Duration::from_secs(10), Duration::from_millis(50), || {
        log.poison_attempts.load(Ordering::SeqCst) >= 1
    })
    .await
    .expect("the poison batch was tried");
    // Shut down while the failed batch waits for its retry.
    first.shutdown().await.unwrap();
    assert_eq!(log.poison_attempts.load(Ordering::SeqCst), 1);
    let stored = stream.store.get(&LeaseKey::new(P0)).await.unwrap().unwrap();
    let sequences = shard_sequences(&stream, P0).await;
    let last_good = ExtendedSequenceNumber::sequence(SequenceNumber::new(&sequences[9]).unwrap());
    assert_eq!(stored.checkpoint, last_good, "checkpointed past the failed batch");

    // The next owner gets the failed batch.
    let second = stream.spawn_worker("second", cfg, &log, Behaviour::default());
    wait_until(Duration::from_secs(10), Duration::from_millis(50), || {
        log.seen().iter().any(|s| s.key == "poison")
    })
    .await
    .expect("the record of the failed batch reached the next owner");
    second.shutdown().await.unwrap();
}

/// Defect 4: a consumer waiting on its parent must re-read its lease before initializing: here a second
/// process with the same worker id took the child and checkpointed in it meanwhile (invisible to the
/// taker, which sees its own id), so the first consumer must not start from its stale copy.
#[tokio::test(start_paused = true)]
async fn a_consumer_waiting_on_parents_never_initializes_from_a_stale_lease() {
    let stream = Stream::new(1).await;
    stream.produce(20, 4).await;
    stream.split(P0, u128::MAX / 2).await;
    stream.produce(40, 8).await;
    let log = Arc::new(Log::default());
    let gate = Arc::new(Gate::default());
    gate.armed.store(true, Ordering::SeqCst);
    let behaviour = Behaviour {
        gate: Some(Arc::clone(&gate)),
        ..Behaviour::default()
    };
    let worker = stream.spawn_worker("w", config().build().unwrap(), &log, behaviour);
    // The parent's first batch is held in flight; both children wait on the parent.
    gate.entered.notified().await;
    let child = P1;
    let sequences = shard_sequences(&stream, child).await;
    assert!(sequences.len() > 3, "the child has records");
    let lease = stream.store.get(&LeaseKey::new(child)).await.unwrap().unwrap();
    assert_eq!(lease.owner.as_deref(), Some("w"), "the worker holds the child");
    let taken = stream.store.take(&lease, "w").await.unwrap();
    let checkpoint = ExtendedSequenceNumber::sequence(SequenceNumber::new(&sequences[2]).unwrap());
    stream.store.checkpoint(&taken, checkpoint).await.unwrap();
    gate.open.notify_one();

    tokio::time::sleep(Duration::from_secs(40)).await;
    let below: BTreeSet<&String> = sequences[..=2].iter().collect();
    let redelivered: Vec<_> = log
        .seen()
        .into_iter()
        .filter(|s| s.shard == child && below.contains(&s.sequence))
        .collect();
    assert!(
        redelivered.is_empty(),
        "records at or below the stored checkpoint delivered from a stale lease: {redelivered:?}"
    );
    // The child was processed after all, from the stored checkpoint on.
    assert!(log
        .seen()
        .iter()
        .any(|s| s.shard == child && s.sequence == sequences[3]));
    worker.shutdown().await.unwrap();
}
