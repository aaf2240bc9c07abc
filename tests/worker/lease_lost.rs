//! A lease lost mid-batch: the batch finishes, its checkpoint fails with `LeaseLost`, then `lease_lost` is
//! called; the new owner's progress is never overwritten.

use std::sync::atomic::Ordering;
use std::sync::Arc;
use std::time::Duration;

use crate::support::*;
use kcl::checkpoint::LeaseKey;

#[tokio::test(start_paused = true)]
async fn lease_lost_mid_batch_finishes_the_batch_then_refuses_checkpoints_then_calls_lease_lost() {
    let stream = Stream::new(1).await;
    let log = Arc::new(Log::default());
    let gate = Arc::new(Gate::default());
    let behaviour = Behaviour {
        gate: Some(Arc::clone(&gate)),
        ..Behaviour::default()
    };
    let worker = stream.spawn_worker("owner", config().build().unwrap(), &log, behaviour);

    // A first batch goes through and is checkpointed.
    stream.produce(50, 4).await;
    wait_until(Duration::from_secs(5), Duration::from_millis(50), || {
        log.count() == 50
    })
    .await
    .expect("first batch");
    let key = LeaseKey::new(worker.leases().pop().unwrap());
    let checkpoint_before = stream.store.get(&key).await.unwrap().unwrap().checkpoint;

    // The next batch is held in flight while another worker takes the lease.
    gate.armed.store(true, Ordering::SeqCst);
    stream.produce(50, 4).await;
    tokio::time::timeout(Duration::from_secs(5), gate.entered.notified())
        .await
        .expect("second batch reached the processor");
    let lease = stream.store.get(&key).await.unwrap().unwrap();
    let stolen = stream.store.take(&lease, "thief").await.unwrap();
    // Let the owner notice (taker scan or renewal), while the batch is still in flight.
    tokio::time::sleep(Duration::from_secs(4)).await;
    assert!(
        !log.events().iter().any(|e| matches!(e, Event::LeaseLost { .. })),
        "lease_lost called before the batch finished"
    );

    gate.open.notify_one();
    tokio::time::sleep(Duration::from_millis(100)).await;
    assert_eq!(log.count(), 100, "the in-flight batch finished");
    let events: Vec<Event> = log
        .events()
        .into_iter()
        .filter(|e| !matches!(e, Event::Initialized { .. }))
        .collect();
    assert_eq!(
        events,
        vec![
            Event::CheckpointFailed {
                worker: "owner".into(),
                shard: key.to_string(),
                lease_lost: true
            },
            Event::LeaseLost {
                worker: "owner".into(),
                shard: key.to_string()
            },
        ]
    );
    // The thief's lease is untouched: same counter, same checkpoint as before the theft.
    let now = stream.store.get(&key).await.unwrap().unwrap();
    assert_eq!(now.owner.as_deref(), Some("thief"));
    assert_eq!(now.counter, stolen.counter);
    assert_eq!(now.checkpoint, checkpoint_before);
    assert!(
        worker.leases().is_empty(),
        "owner still thinks it holds {:?}",
        worker.leases()
    );
    worker.shutdown().await.unwrap();
}
