//! Cooperative lease moves: a lease moved for balance is handed off (the owner finishes its batch,
//! checkpoints in `shutdown_requested` and hands over), so a busy stream sees no record processed twice and
//! no shard processed by two workers at once; a fleet started together converges with each shard started
//! about once. Paused time, the in-process emulator and the in-memory store.

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use crate::support::*;
use kcl::core::{LeaseEvent, LeaseRenewal};
use tokio::time::Instant;

/// Lease events with the (virtual) time they happened.
#[derive(Default)]
struct Events(Mutex<Vec<(Instant, LeaseEvent)>>);

impl Events {
    fn listener(self: &Arc<Self>) -> Option<Listener> {
        let events = Arc::clone(self);
        Some(Arc::new(move |e: &LeaseEvent| {
            events.0.lock().unwrap().push((Instant::now(), e.clone()))
        }))
    }

    fn all(&self) -> Vec<(Instant, LeaseEvent)> {
        self.0.lock().unwrap().clone()
    }
}

/// For every shard, the workers that processed it, in the order they did: each worker one contiguous run
/// (no shard went back and forth, so no two workers processed it at once).
fn assert_one_run_per_worker(log: &Log) {
    let mut runs: BTreeMap<String, Vec<String>> = BTreeMap::new();
    for s in log.seen() {
        let workers = runs.entry(s.shard.clone()).or_default();
        if workers.last() != Some(&s.worker) {
            workers.push(s.worker.clone());
        }
    }
    for (shard, workers) in &runs {
        let mut distinct = workers.clone();
        distinct.sort();
        distinct.dedup();
        assert_eq!(
            distinct.len(),
            workers.len(),
            "{shard} went back and forth between workers: {workers:?}"
        );
    }
}

/// True when a worker reported a lease lost.
fn any_lost(events: &[(Instant, LeaseEvent)]) -> bool {
    events.iter().any(|(_, e)| matches!(e, LeaseEvent::Lost { .. }))
}

/// Waits up to `limit` until every worker holds 20 leases, keeps producing 10 s more, then stops the producer
/// and lets everything drain for 10 s; returns how long balancing took.
async fn balance_then_drain(
    handles: &[kcl::core::WorkerHandle],
    stream: &Stream,
    producer: tokio::task::JoinHandle<()>,
    limit: Duration,
) -> Duration {
    let settled = wait_until(limit, Duration::from_millis(100), || {
        handles.iter().all(|h| h.leases().len() == 20)
    })
    .await;
    assert!(settled.is_some(), "not balanced: {:?}", owners(stream).await);
    tokio::time::sleep(Duration::from_secs(10)).await;
    producer.abort();
    tokio::time::sleep(Duration::from_secs(10)).await;
    settled.unwrap()
}

fn starts(log: &Log) -> usize {
    log.events()
        .iter()
        .filter(|e| matches!(e, Event::Initialized { .. }))
        .count()
}

#[tokio::test(start_paused = true)]
async fn a_joining_worker_gets_its_leases_by_handoff_with_no_duplicates_on_a_busy_stream() {
    join_by_handoff(LeaseRenewal::PerLease).await;
}

#[tokio::test(start_paused = true)]
async fn with_heartbeats_a_joining_worker_gets_its_leases_by_handoff_with_no_duplicates() {
    join_by_handoff(LeaseRenewal::Heartbeat).await;
}

async fn join_by_handoff(renewal: LeaseRenewal) {
    // 100 shards with about 20 records/s each; 4 workers hold 25 each, a fifth joins.
    let stream = Arc::new(Stream::new(100).await);
    let log = Arc::new(Log::default());
    let events = Arc::new(Events::default());
    let producer = producer(&stream, 500, 1_000, Duration::from_millis(250));
    let cfg = config().lease_renewal(renewal).build().unwrap();
    let behaviour = Behaviour {
        checkpoint_on_shutdown: true,
        ..Behaviour::default()
    };
    let spawn = |id: &str| {
        stream.spawn_worker_with(id, cfg.clone(), &log, behaviour.clone(), None, events.listener())
    };
    let mut handles: Vec<_> = Vec::new();
    for n in 0..4 {
        handles.push(spawn(&format!("w{n}")));
        // One at a time, so that the start-up moves are over before the measured join.
        tokio::time::sleep(Duration::from_secs(15)).await;
    }
    let counts = owners(&stream).await;
    assert!(counts.values().all(|c| *c == 25), "{counts:?}");
    let before = events.all().len();
    // The joiner starts processors as soon as they are handed over, so the figure below is the handoff's
    // own latency (a worker's start-up settle time is the other test's subject).
    let joiner_cfg = config()
        .lease_renewal(renewal)
        .start_up_settle_time(Duration::ZERO)
        .build()
        .unwrap();
    handles.push(stream.spawn_worker_with(
        "w4",
        joiner_cfg,
        &log,
        behaviour.clone(),
        None,
        events.listener(),
    ));
    let settled = balance_then_drain(&handles, &stream, producer, Duration::from_secs(30)).await;

    let moves: Vec<_> = events.all()[before..]
        .iter()
        .filter_map(|(at, e)| match e {
            LeaseEvent::Taken {
                worker_id,
                shard_id,
                stolen: true,
                handoff,
                ..
            } => Some((*at, worker_id.clone(), shard_id.clone(), *handoff)),
            _ => None,
        })
        .collect();
    assert_eq!(moves.len(), 20, "the minimum number of moves");
    assert!(
        moves.iter().all(|m| m.3 && m.1 == "w4"),
        "every move a handoff to the joiner"
    );
    let handed_off = events.all()[before..]
        .iter()
        .filter(|(_, e)| matches!(e, LeaseEvent::HandedOff { .. }))
        .count();
    assert_eq!(
        handed_off, 20,
        "every previous owner handed over (none timed out)"
    );
    assert!(!any_lost(&events.all()), "no lease was lost");
    assert_all_processed(&stream, &log);
    assert_no_duplicates(&log);
    assert_in_order_per_key(&log);
    assert_one_run_per_worker(&log);

    // From the decision (the handoff request) to the new owner's first record of the shard.
    let seen = log.seen();
    let mut gaps: Vec<Duration> = moves
        .iter()
        .filter_map(|(at, worker, shard, _)| {
            seen.iter()
                .find(|s| &s.worker == worker && &s.shard == shard)
                .map(|s| s.at.duration_since(*at))
        })
        .collect();
    gaps.sort();
    assert_eq!(gaps.len(), 20, "the joiner processed every shard it was handed");
    println!(
        "{renewal:?} handoff: 20 moves, 0 duplicates; balanced {:?} after the join; decision to first record: \
         min {:?}, median {:?}, max {:?} (lease 10 s, taker 1 s, records every 250 ms); {} records",
        settled,
        gaps[0],
        gaps[gaps.len() / 2],
        gaps[gaps.len() - 1],
        log.count()
    );
    for h in handles {
        h.shutdown().await.unwrap();
    }
}

#[tokio::test(start_paused = true)]
async fn five_workers_started_together_on_100_shards_start_each_shard_about_once() {
    let stream = Arc::new(Stream::new(100).await);
    let log = Arc::new(Log::default());
    let producer = producer(&stream, 500, 1_000, Duration::from_millis(250));
    let cfg = config().build().unwrap();
    let behaviour = Behaviour {
        checkpoint_on_shutdown: true,
        ..Behaviour::default()
    };
    let events = Arc::new(Events::default());
    let handles: Vec<_> = (0..5)
        .map(|n| {
            stream.spawn_worker_with(
                &format!("w{n}"),
                cfg.clone(),
                &log,
                behaviour.clone(),
                None,
                events.listener(),
            )
        })
        .collect();
    let settled = balance_then_drain(&handles, &stream, producer, Duration::from_secs(60)).await;
    let started = starts(&log);
    let moves = events
        .all()
        .iter()
        .filter(|(_, e)| matches!(e, LeaseEvent::Taken { stolen: true, .. }))
        .count();
    assert!(!any_lost(&events.all()), "no lease was lost");
    println!(
        "5 workers started together on 100 shards: balanced after {:?}, {moves} handoffs, {started} processor \
         starts, {} records",
        settled,
        log.count()
    );
    assert!(started <= 110, "{started} processor starts for 100 shards");
    assert_all_processed(&stream, &log);
    assert_no_duplicates(&log);
    assert_in_order_per_key(&log);
    for h in handles {
        h.shutdown().await.unwrap();
    }
}

/// Takes every free lease and asks for every other one (a test strategy: the thief wants it all).
#[derive(Debug)]
struct Greedy;

impl kcl::core::AssignmentStrategy for Greedy {
    fn assign(&self, snapshot: &kcl::core::AssignmentSnapshot) -> kcl::core::Assignment {
        let mut decision = kcl::core::Assignment::default();
        for lease in &snapshot.leases {
            if lease.owner.as_ref() == Some(&snapshot.worker_id) {
                continue;
            }
            if lease.is_free() {
                decision.take.push(lease.key.clone());
            } else {
                decision.steal.push(lease.key.clone());
            }
        }
        decision
    }
}

#[tokio::test(start_paused = true)]
async fn an_owner_stuck_in_a_batch_loses_the_lease_after_one_lease_duration_not_before() {
    let stream = Stream::new(1).await;
    let log = Arc::new(Log::default());
    let events = Arc::new(Events::default());
    let gate = Arc::new(Gate::default());
    let stuck = Behaviour {
        gate: Some(Arc::clone(&gate)),
        ..Behaviour::default()
    };
    let cfg = config().start_up_settle_time(Duration::ZERO).build().unwrap();
    let owner = stream.spawn_worker_with("owner", cfg.clone(), &log, stuck, None, events.listener());
    stream.produce(50, 4).await;
    wait_until(Duration::from_secs(5), Duration::from_millis(50), || {
        log.count() == 50
    })
    .await
    .expect("first batch");
    // The next batch is held in flight; then a worker asks for the lease.
    gate.armed.store(true, std::sync::atomic::Ordering::SeqCst);
    stream.produce(50, 4).await;
    tokio::time::timeout(Duration::from_secs(5), gate.entered.notified())
        .await
        .expect("second batch reached the processor");
    let thief = stream.spawn_worker_with(
        "thief",
        cfg,
        &log,
        Behaviour::default(),
        Some(Arc::new(Greedy)),
        events.listener(),
    );
    wait_until(Duration::from_secs(5), Duration::from_millis(10), || {
        events
            .all()
            .iter()
            .any(|(_, e)| matches!(e, LeaseEvent::Taken { handoff: true, .. }))
    })
    .await
    .expect("the thief asked for the lease");
    let asked_at = events
        .all()
        .into_iter()
        .find(|(_, e)| matches!(e, LeaseEvent::Taken { handoff: true, .. }))
        .unwrap()
        .0;
    wait_until(Duration::from_secs(15), Duration::from_millis(50), || {
        log.seen().iter().any(|s| s.worker == "thief")
    })
    .await
    .expect("the thief took over");
    let first = log.seen().into_iter().find(|s| s.worker == "thief").unwrap();
    assert!(
        first.at >= asked_at + Duration::from_secs(10),
        "the thief started {:?} after asking, before the owner's lease had surely run out",
        first.at.duration_since(asked_at)
    );
    // The stuck batch finishes now; its checkpoint is refused (the handoff was ended by the thief).
    gate.open.notify_one();
    tokio::time::sleep(Duration::from_secs(1)).await;
    let owner_events: Vec<_> = log
        .events()
        .into_iter()
        .filter(|e| !matches!(e, Event::Initialized { .. }))
        .collect();
    assert_eq!(
        owner_events,
        vec![
            Event::CheckpointFailed {
                worker: "owner".into(),
                shard: first.shard.clone(),
                lease_lost: true
            },
            Event::LeaseLost {
                worker: "owner".into(),
                shard: first.shard.clone()
            },
        ]
    );
    assert!(
        !events
            .all()
            .iter()
            .any(|(_, e)| matches!(e, LeaseEvent::HandedOff { .. })),
        "the owner never handed off"
    );
    assert_all_processed(&stream, &log);
    assert_in_order_per_key(&log);
    owner.shutdown().await.unwrap();
    thief.shutdown().await.unwrap();
}
