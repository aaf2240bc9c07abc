//! Unit tests of a held lease: validity timing, checkpoint retries, stolen and changed leases.

use super::*;
use kcl_checkpoint::{Fault, FaultyLeaseStore, InMemoryLeaseStore, LeaseKey, Operation, SequenceNumber};

const LEASE: Duration = Duration::from_secs(3);

async fn held(store: Arc<FaultyLeaseStore>) -> Arc<HeldLease> {
    store
        .inner()
        .create_if_absent(&Lease::new("shard-0", ExtendedSequenceNumber::TrimHorizon))
        .await
        .unwrap();
    let lease = store.get(&LeaseKey::new("shard-0")).await.unwrap().unwrap();
    let sent = Instant::now();
    let lease = store.take(&lease, "me").await.unwrap();
    let ctx = LeaseContext::for_tests(store, LEASE);
    HeldLease::new(ctx, lease, sent, None)
}

fn seq(n: u128) -> ExtendedSequenceNumber {
    ExtendedSequenceNumber::sequence(SequenceNumber::from(n))
}

#[tokio::test(start_paused = true)]
async fn validity_is_timed_from_the_renew_request_not_its_response() {
    let store = Arc::new(FaultyLeaseStore::new(Arc::new(InMemoryLeaseStore::new())));
    let lease = held(Arc::clone(&store)).await;
    tokio::time::sleep(Duration::from_secs(1)).await;
    // A renew that takes 1.5 s to answer: sent at t = 1 s, valid until t = 4 s, not 5.5 s.
    store.script(Operation::Renew, [Fault::Latency(Duration::from_millis(1_500))]);
    assert_eq!(lease.renew().await, RenewOutcome::Renewed);
    tokio::time::sleep(Duration::from_millis(1_400)).await; // t = 3.9 s
    assert!(lease.check_valid());
    tokio::time::sleep(Duration::from_millis(200)).await; // t = 4.1 s
    assert!(
        !lease.check_valid(),
        "valid past lease_duration after the request was sent"
    );
    assert!(lease.is_lost());
}

#[tokio::test(start_paused = true)]
async fn a_checkpoint_failing_with_retryable_errors_is_retried_while_the_lease_is_valid() {
    let store = Arc::new(FaultyLeaseStore::new(Arc::new(InMemoryLeaseStore::new())));
    let lease = held(Arc::clone(&store)).await;
    // Throttled, timed out, and timed out after the write landed: the retry then loses its fence,
    // re-reads the lease and finds our own write.
    store.script(
        Operation::Checkpoint,
        [Fault::Throttle, Fault::Timeout, Fault::TimeoutAfterApply],
    );
    let stored = lease.checkpoint(seq(7)).await.unwrap();
    assert_eq!(stored.checkpoint, seq(7));
    assert!(!lease.is_lost());
    let in_table = store.get(&LeaseKey::new("shard-0")).await.unwrap().unwrap();
    assert_eq!(in_table.checkpoint, seq(7));
    assert_eq!(in_table.counter, stored.counter, "our copy follows the table");
    // The lease keeps working afterwards.
    assert_eq!(lease.renew().await, RenewOutcome::Renewed);
}

#[tokio::test(start_paused = true)]
async fn checkpoint_retries_stop_when_the_lease_runs_out() {
    let store = Arc::new(FaultyLeaseStore::new(Arc::new(InMemoryLeaseStore::new())));
    let lease = held(Arc::clone(&store)).await;
    store.script(Operation::Checkpoint, std::iter::repeat_n(Fault::Timeout, 1_000));
    let started = Instant::now();
    let e = lease.checkpoint(seq(7)).await.unwrap_err();
    assert!(
        matches!(e, Error::Store(ref s) if s.is_retryable()) || e.is_lease_lost(),
        "{e}"
    );
    assert!(
        started.elapsed() <= LEASE,
        "retried past the lease: {:?}",
        started.elapsed()
    );
    let in_table = store.get(&LeaseKey::new("shard-0")).await.unwrap().unwrap();
    assert_eq!(in_table.checkpoint, ExtendedSequenceNumber::TrimHorizon);
}

#[tokio::test(start_paused = true)]
async fn a_stolen_lease_released_before_its_start_is_left_to_expire() {
    let store = Arc::new(FaultyLeaseStore::new(Arc::new(InMemoryLeaseStore::new())));
    let taken = held(Arc::clone(&store)).await;
    let ctx = Arc::clone(&taken.ctx);
    let stored = store.get(&LeaseKey::new("shard-0")).await.unwrap().unwrap();
    let stolen = HeldLease::new(ctx, stored, Instant::now(), Some(Instant::now() + LEASE));
    stolen.release().await.unwrap();
    let in_table = store.get(&LeaseKey::new("shard-0")).await.unwrap().unwrap();
    assert_eq!(
        in_table.owner.as_deref(),
        Some("me"),
        "not handed to a third worker"
    );
    assert_eq!(stolen.renew().await, RenewOutcome::Released, "no longer renewed");
}

#[tokio::test(start_paused = true)]
async fn verify_finds_a_lease_that_changed_hands() {
    let store = Arc::new(FaultyLeaseStore::new(Arc::new(InMemoryLeaseStore::new())));
    let lease = held(Arc::clone(&store)).await;
    assert!(lease.verify().await.unwrap().is_some());
    let stored = store.get(&LeaseKey::new("shard-0")).await.unwrap().unwrap();
    // Taken under our own id by someone else (a second process with the same id).
    store.take(&stored, "me").await.unwrap();
    assert!(lease.verify().await.unwrap().is_none());
    assert!(lease.is_lost());
}
