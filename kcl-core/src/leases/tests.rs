//! Unit tests of the taker and of the lease-table view.

use super::*;
use kcl_checkpoint::ExtendedSequenceNumber;
use kcl_checkpoint::{Lease, LeaseStore};
use std::collections::BTreeSet;
use std::time::Duration;

#[tokio::test(start_paused = true)]
async fn a_lost_lease_is_not_taken_back_while_its_consumer_still_runs() {
    use crate::assignment::CountBalanced;
    use kcl_checkpoint::{InMemoryLeaseStore, LeaseKey};

    let store: Arc<dyn LeaseStore> = Arc::new(InMemoryLeaseStore::new());
    for shard in ["shard-0", "shard-1"] {
        store
            .create_if_absent(&Lease::new(shard, ExtendedSequenceNumber::TrimHorizon))
            .await
            .unwrap();
    }
    let held = Arc::new(HeldSet::default());
    let mut coordinator = Coordinator::new(
        LeaseContext::for_tests(Arc::clone(&store), Duration::from_secs(10)),
        Arc::new(CountBalanced::default()),
        usize::MAX,
        Arc::clone(&held),
    );
    let first = coordinator.take_cycle(true).await.unwrap();
    assert_eq!(first.taken.len(), 2);

    // Another worker steals both (it stays alive); our consumers are still finishing their batches,
    // so both lost leases are still in the held set.
    for shard in ["shard-0", "shard-1"] {
        let stored = store.get(&LeaseKey::new(shard)).await.unwrap().unwrap();
        store.take(&stored, "thief").await.unwrap();
    }
    // Balancing now wants one lease back from the thief: not while the old consumer runs.
    let outcome = coordinator.take_cycle(true).await.unwrap();
    assert!(first.taken.iter().all(|l| l.is_lost()));
    assert!(
        outcome.taken.is_empty(),
        "taken back while the previous consumer runs"
    );

    // Once those consumers ended (reaped), balancing takes one back.
    for lease in &first.taken {
        held.remove(lease.key(), lease);
    }
    let outcome = coordinator.take_cycle(true).await.unwrap();
    assert_eq!(outcome.taken.len(), 1);
}

#[test]
fn a_parent_is_done_when_finished_or_provably_gone_never_merely_absent() {
    let mut table = LeaseTable::default();
    table.leases.insert(
        "finished".into(),
        Lease::new("finished", ExtendedSequenceNumber::ShardEnd),
    );
    table.leases.insert(
        "open".into(),
        Lease::new("open", ExtendedSequenceNumber::TrimHorizon),
    );
    table.malformed.insert("broken".into());
    let set = |ps: &[&str]| ps.iter().map(|p| (*p).to_owned()).collect::<BTreeSet<_>>();
    let waiting = ExtendedSequenceNumber::TrimHorizon;
    let started = ExtendedSequenceNumber::sequence(kcl_checkpoint::SequenceNumber::from(5u128));
    let none = BTreeSet::new();
    assert!(table.parents_done(&set(&["finished"]), &waiting, &none));
    assert!(!table.parents_done(&set(&["finished", "open"]), &waiting, &none));
    assert!(!table.parents_done(&set(&["finished", "broken"]), &started, &set(&["broken"])));
    assert!(table.parents_done(&set(&[]), &waiting, &none));
    // Absent: not a proof of anything for a child that has not started...
    assert!(!table.parents_done(&set(&["finished", "absent"]), &waiting, &none));
    assert!(!table.parents_done(&set(&["absent"]), &ExtendedSequenceNumber::AtTimestamp, &none));
    // ...unless the child started before, starts at LATEST, or the parent expired from the stream.
    assert!(table.parents_done(&set(&["finished", "absent"]), &started, &none));
    assert!(table.parents_done(&set(&["absent"]), &ExtendedSequenceNumber::Latest, &none));
    assert!(table.parents_done(&set(&["absent"]), &waiting, &set(&["absent"])));
}
