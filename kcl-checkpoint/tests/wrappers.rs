//! The store wrappers under paused time: retries (bounded, never on conflicts, recognising writes that
//! landed before a timeout) and fault injection (scripted and seeded).

use std::sync::Arc;

use kcl_checkpoint::{
    Error, ExtendedSequenceNumber, Fault, FaultyLeaseStore, InMemoryLeaseStore, Lease, LeaseStore, Operation,
    RandomFaults, RetryPolicy, RetryingLeaseStore, SequenceNumber,
};
use tokio::time::{Duration, Instant};

fn policy(max_retries: usize) -> RetryPolicy {
    RetryPolicy {
        min_delay: Duration::from_millis(100),
        max_delay: Duration::from_secs(1),
        max_retries,
        jitter: true,
        jitter_seed: Some(7),
    }
}

/// memory <- faults <- retry; returns (faults, retrying) and an owned lease.
async fn stack(max_retries: usize) -> (Arc<FaultyLeaseStore>, RetryingLeaseStore, Lease) {
    let memory = Arc::new(InMemoryLeaseStore::new());
    let lease = Lease::new("shardId-0", ExtendedSequenceNumber::TrimHorizon);
    memory.create_if_absent(&lease).await.unwrap();
    let lease = memory.take(&lease, "worker-a").await.unwrap();
    let faults = Arc::new(FaultyLeaseStore::new(memory));
    let retrying = RetryingLeaseStore::with_policy(faults.clone(), policy(max_retries));
    (faults, retrying, lease)
}

fn seq(n: u128) -> ExtendedSequenceNumber {
    ExtendedSequenceNumber::sequence(SequenceNumber::from(n))
}

#[tokio::test(start_paused = true)]
async fn throttles_are_retried_with_backoff() {
    let (faults, store, lease) = stack(5).await;
    faults.script(Operation::Renew, [Fault::Throttle, Fault::Throttle]);
    let started = Instant::now();
    let renewed = store.renew(&lease).await.unwrap();
    assert_eq!(renewed.counter, lease.counter + 1);
    assert_eq!(faults.injected(), 2);
    assert!(
        started.elapsed() >= Duration::from_millis(100),
        "slept between attempts: {:?}",
        started.elapsed()
    );
}

#[tokio::test(start_paused = true)]
async fn retries_are_bounded() {
    let (faults, store, lease) = stack(3).await;
    faults.script(Operation::Renew, std::iter::repeat_n(Fault::Timeout, 10));
    let err = store.renew(&lease).await.unwrap_err();
    assert!(matches!(err, Error::Timeout { .. }), "{err:?}");
    assert_eq!(faults.injected(), 4, "one attempt plus three retries");
    // The unapplied timeouts left the lease alone.
    let stored = faults.inner().get(&lease.key).await.unwrap().unwrap();
    assert_eq!(stored.counter, lease.counter);
}

#[tokio::test(start_paused = true)]
async fn conflicts_are_not_retried() {
    let (faults, store, lease) = stack(5).await;
    faults.script(Operation::Take, [Fault::Conflict]);
    assert!(store.take(&lease, "worker-b").await.unwrap_err().is_conflict());
    assert_eq!(faults.injected(), 1);
    let taken = store.take(&lease, "worker-b").await.unwrap();
    assert!(taken.is_owned_by("worker-b"));
}

#[tokio::test(start_paused = true)]
async fn a_renew_that_landed_before_its_timeout_counts_as_renewed() {
    let (faults, store, lease) = stack(5).await;
    faults.script(Operation::Renew, [Fault::TimeoutAfterApply]);
    let renewed = store.renew(&lease).await.unwrap();
    assert_eq!(renewed.counter, lease.counter + 1, "applied once, not twice");
}

#[tokio::test(start_paused = true)]
async fn a_renew_after_a_same_id_take_is_a_conflict_without_an_ambiguous_attempt() {
    // A restarted process reusing the worker id `worker-a` takes the lease: the stored lease now shows
    // owner = worker-a at counter + 1, exactly what a landed renew would leave.
    let (faults, store, lease) = stack(5).await;
    let restarted = faults.inner().take(&lease, "worker-a").await.unwrap();
    assert_eq!(restarted.counter, lease.counter + 1);
    // First attempt conflicts: definite, whatever the lease shows.
    assert!(store.renew(&lease).await.unwrap_err().is_conflict());
    // A throttled first attempt was not applied either: still a conflict.
    faults.script(Operation::Renew, [Fault::Throttle]);
    assert!(store.renew(&lease).await.unwrap_err().is_conflict());
    assert_eq!(faults.injected(), 1);
    // After an unapplied timeout the wrapper cannot tell, and accepts it (the documented limit).
    faults.script(Operation::Renew, [Fault::Timeout]);
    let accepted = store.renew(&lease).await.unwrap();
    assert_eq!(accepted, restarted);
}

#[tokio::test(start_paused = true)]
async fn a_landed_renew_is_not_accepted_when_the_lease_moved_further() {
    let (faults, store, lease) = stack(5).await;
    faults.script(Operation::Renew, [Fault::TimeoutAfterApply]);
    // The first attempt lands, then (before the retry) another process takes the lease.
    let taker = {
        let faults = faults.clone();
        let lease = lease.clone();
        tokio::spawn(async move {
            tokio::time::sleep(Duration::from_millis(1)).await;
            let seen = faults.inner().get(&lease.key).await.unwrap().unwrap();
            faults.inner().take(&seen, "worker-b").await.unwrap()
        })
    };
    let err = store.renew(&lease).await.unwrap_err();
    assert!(err.is_conflict(), "{err:?}");
    let taken = taker.await.unwrap();
    assert_eq!(taken.counter, lease.counter + 2);
}

#[tokio::test(start_paused = true)]
async fn take_and_checkpoint_that_landed_before_their_timeout_succeed() {
    let (faults, store, lease) = stack(5).await;
    faults.script(Operation::Take, [Fault::TimeoutAfterApply]);
    let taken = store.take(&lease, "worker-b").await.unwrap();
    assert!(taken.is_owned_by("worker-b"));
    assert_eq!(taken.counter, lease.counter + 1);

    faults.script(Operation::Checkpoint, [Fault::TimeoutAfterApply]);
    let checkpointed = store.checkpoint(&taken, seq(42)).await.unwrap();
    assert_eq!(checkpointed.checkpoint, seq(42));
    assert_eq!(checkpointed.counter, taken.counter + 1);

    // Someone else's write in between is still a conflict.
    faults.script(Operation::Checkpoint, [Fault::TimeoutAfterApply]);
    let other = faults.inner().take(&checkpointed, "worker-c").await;
    assert!(other.is_ok());
    assert!(store
        .checkpoint(&checkpointed, seq(43))
        .await
        .unwrap_err()
        .is_conflict());
}

#[tokio::test(start_paused = true)]
async fn without_retry_an_applied_timeout_surfaces_and_the_write_is_visible() {
    let (faults, _, lease) = stack(0).await;
    faults.script(Operation::Take, [Fault::TimeoutAfterApply]);
    let err = faults.take(&lease, "worker-b").await.unwrap_err();
    assert!(err.is_retryable());
    let stored = faults.get(&lease.key).await.unwrap().unwrap();
    assert!(stored.is_owned_by("worker-b"), "the write landed");
}

#[tokio::test(start_paused = true)]
async fn latency_follows_tokio_time() {
    let (faults, _, lease) = stack(0).await;
    faults.script(Operation::Get, [Fault::Latency(Duration::from_secs(5))]);
    let started = Instant::now();
    assert!(faults.get(&lease.key).await.unwrap().is_some());
    assert!(started.elapsed() >= Duration::from_secs(5));
}

/// A workload of renew / checkpoint / take under seeded random faults; returns what happened.
async fn seeded_run(seed: u64) -> (Vec<String>, u64, Lease) {
    let memory = Arc::new(InMemoryLeaseStore::new());
    let lease = Lease::new("shardId-0", ExtendedSequenceNumber::TrimHorizon);
    memory.create_if_absent(&lease).await.unwrap();
    let faults = Arc::new(FaultyLeaseStore::new(memory.clone()).with_random(
        seed,
        RandomFaults {
            conflict: 0.1,
            throttle: 0.1,
            timeout: 0.1,
            timeout_after_apply: 0.1,
            latency: Some((Duration::from_millis(1), Duration::from_millis(20))),
        },
    ));
    let store = RetryingLeaseStore::with_policy(faults.clone(), policy(4));
    let mut outcomes = Vec::new();
    let mut last_counter = 0;
    for i in 0..60u128 {
        let seen = memory.get(&lease.key).await.unwrap().unwrap();
        let result = match i % 3 {
            0 => store.take(&seen, if i % 2 == 0 { "a" } else { "b" }).await,
            1 => store.renew(&seen).await,
            _ => store.checkpoint(&seen, seq(i)).await,
        };
        let stored = memory.get(&lease.key).await.unwrap().unwrap();
        assert!(stored.counter >= last_counter, "counters never go back");
        last_counter = stored.counter;
        outcomes.push(match result {
            Ok(lease) => format!("ok:{}", lease.counter),
            Err(err) => format!("err:{:?}", err.operation()),
        });
    }
    (
        outcomes,
        faults.injected(),
        memory.get(&lease.key).await.unwrap().unwrap(),
    )
}

#[tokio::test(start_paused = true)]
async fn seeded_faults_are_reproducible() {
    let (first, injected, final_lease) = seeded_run(0x5eed).await;
    let (second, injected_again, final_again) = seeded_run(0x5eed).await;
    assert!(injected > 0, "faults were injected");
    assert_eq!(first, second, "same seed, same run");
    assert_eq!(injected, injected_again);
    assert_eq!(final_lease, final_again);
    assert!(first.iter().any(|o| o.starts_with("ok")));
}
