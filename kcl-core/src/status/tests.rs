//! Unit tests of liveness and readiness.

use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::Duration;

use kcl_checkpoint::LeaseStore;

use super::*;

fn snapshot() -> WorkerStatusSnapshot {
    let status = WorkerStatus::default();
    status.full("w", Duration::from_secs(10), &BTreeMap::new())
}

#[tokio::test(start_paused = true)]
async fn liveness_follows_the_store_and_the_loops() {
    let status = Arc::new(WorkerStatus::default());
    let store = AnswerTracking::new(
        Arc::new(kcl_checkpoint::InMemoryLeaseStore::new()),
        Arc::clone(&status),
    );
    let ten = Duration::from_secs(10);
    let check = |s: &WorkerStatus| s.full("w", ten, &BTreeMap::new()).liveness();
    assert!(!check(&status).ok, "no answer yet");
    store.list().await.unwrap();
    status.beat("worker", Duration::from_secs(1));
    assert!(check(&status).ok, "{:?}", check(&status));
    tokio::time::advance(Duration::from_secs(12)).await;
    let c = check(&status);
    assert!(!c.ok && c.reasons.len() == 2, "{c:?}");
    store.list().await.unwrap();
    status.beat("worker", Duration::from_secs(1));
    assert!(check(&status).ok);
    status.set_fatal("stream missing".into());
    assert!(!check(&status).ok);
}

#[test]
fn readiness_needs_a_sync_and_the_fair_share_or_a_settled_fleet() {
    let mut s = snapshot();
    assert!(!s.readiness().ok);
    s.phase = WorkerPhase::Running;
    s.synced = true;
    s.balance = Some(Balance {
        assignable_leases: 4,
        live_workers: 2,
        held: 1,
        fair_share: 2,
        settled: false,
    });
    assert!(!s.readiness().ok, "below its share and still taking");
    s.balance = Some(Balance {
        held: 2,
        ..s.balance.unwrap()
    });
    assert!(s.readiness().ok);
    s.balance = Some(Balance {
        held: 0,
        settled: true,
        ..s.balance.unwrap()
    });
    assert!(s.readiness().ok, "settled fleet: nothing to take");
    s.phase = WorkerPhase::ShuttingDown;
    assert!(!s.readiness().ok);
}
