//! Lease balancing: workers joining a fleet reach max - min <= 1 within two taker cycles, moving no more
//! leases than needed, and never oscillate.

use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::Duration;

use crate::support::*;

const TAKER: Duration = Duration::from_secs(1);

fn balanced(counts: &BTreeMap<String, usize>, workers: usize, total: usize) -> bool {
    let owned: usize = counts.iter().filter(|(o, _)| !o.is_empty()).map(|(_, c)| c).sum();
    let live: Vec<usize> = counts
        .iter()
        .filter(|(o, _)| !o.is_empty())
        .map(|(_, c)| *c)
        .collect();
    owned == total
        && live.len() == workers.min(total)
        && live.iter().max().unwrap() - live.iter().min().unwrap() <= 1
}

#[tokio::test(start_paused = true)]
async fn two_then_five_workers_balance_within_two_taker_cycles_and_stay_put() {
    let stream = Arc::new(Stream::new(16).await);
    let log = Arc::new(Log::default());
    let producer = producer(&stream, 64, 32, Duration::from_millis(250));
    let cfg = config().lease_taker_interval(TAKER).build().unwrap();

    let mut handles = vec![stream.spawn_worker("w0", cfg.clone(), &log, Behaviour::default())];
    tokio::time::sleep(Duration::from_millis(100)).await;
    assert_eq!(
        owners(&stream).await.get("w0"),
        Some(&16),
        "a lone worker takes every lease"
    );

    for n in 1..5 {
        let before = owners(&stream).await;
        handles.push(stream.spawn_worker(&format!("w{n}"), cfg.clone(), &log, Behaviour::default()));
        // Two taker cycles (plus the joiner's start-up instant).
        tokio::time::sleep(2 * TAKER + Duration::from_millis(50)).await;
        let after = owners(&stream).await;
        assert!(
            balanced(&after, n + 1, 16),
            "{} workers not balanced after 2 cycles: {after:?}",
            n + 1
        );
        // Only the joiner gained leases, and only its fair share (floor or ceil of 16 / workers).
        let joiner = after.get(&format!("w{n}")).copied().unwrap_or(0);
        assert!(joiner <= 16usize.div_ceil(n + 1), "joiner took {joiner}");
        for (owner, count) in &before {
            assert!(
                after.get(owner).copied().unwrap_or(0) <= *count,
                "{owner} gained leases: {before:?} -> {after:?}"
            );
        }
        // The workers' own views agree once the victims noticed (within one more cycle).
        tokio::time::sleep(TAKER).await;
        let refs: Vec<_> = handles.iter().collect();
        let (min, max) = spread(&refs);
        assert!(max - min <= 1, "worker views {min}..{max}");
        // No oscillation: nothing moves while the fleet is stable.
        let settled = owners(&stream).await;
        tokio::time::sleep(10 * TAKER).await;
        assert_eq!(owners(&stream).await, settled, "leases moved in a balanced fleet");
    }

    producer.abort();
    tokio::time::sleep(Duration::from_secs(2)).await;
    for h in handles {
        h.shutdown().await.unwrap();
    }
    assert_all_processed(&stream, &log);
    assert_in_order_per_key(&log);
}

#[tokio::test(start_paused = true)]
async fn five_workers_starting_together_balance() {
    let stream = Arc::new(Stream::new(16).await);
    let log = Arc::new(Log::default());
    stream.produce(1_000, 32).await;
    let cfg = config().build().unwrap();
    let handles: Vec<_> = (0..5)
        .map(|n| stream.spawn_worker(&format!("w{n}"), cfg.clone(), &log, Behaviour::default()))
        .collect();
    let took = wait_until(Duration::from_secs(10), Duration::from_millis(100), || {
        let refs: Vec<_> = handles.iter().collect();
        let (min, max) = spread(&refs);
        max - min <= 1 && handles.iter().map(|h| h.leases().len()).sum::<usize>() == 16
    })
    .await;
    assert!(took.is_some(), "not balanced: {:?}", owners(&stream).await);
    let counts = owners(&stream).await;
    assert!(balanced(&counts, 5, 16), "{counts:?}");
    tokio::time::sleep(Duration::from_secs(10)).await;
    assert_eq!(owners(&stream).await, counts, "leases kept moving");
    for h in handles {
        h.shutdown().await.unwrap();
    }
    assert_all_processed(&stream, &log);
    assert_in_order_per_key(&log);
}

/// A custom strategy: every lease belongs to the worker named in a fixed table (a test of the extension
/// point: the worker takes and steals exactly what the strategy says).
#[derive(Debug)]
struct Pinned(BTreeMap<String, String>);

impl kcl::core::AssignmentStrategy for Pinned {
    fn assign(&self, snapshot: &kcl::core::AssignmentSnapshot) -> kcl::core::Assignment {
        let mut decision = kcl::core::Assignment::default();
        for lease in &snapshot.leases {
            let home = self.0.get(&lease.key).map(String::as_str);
            if home != Some(snapshot.worker_id.as_str()) || lease.owner.as_ref() == Some(&snapshot.worker_id)
            {
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
async fn a_fleet_runs_a_custom_strategy() {
    let stream = Arc::new(Stream::new(6).await);
    let log = Arc::new(Log::default());
    let producer = producer(&stream, 64, 16, Duration::from_millis(250));
    let cfg = config().lease_taker_interval(TAKER).build().unwrap();
    // shardId-0..2 -> a, shardId-3..5 -> b.
    let table: BTreeMap<String, String> = (0..6)
        .map(|i| {
            (
                format!("shardId-{i:012}"),
                if i < 3 { "a" } else { "b" }.to_owned(),
            )
        })
        .collect();
    let strategy: Arc<dyn kcl::core::AssignmentStrategy> = Arc::new(Pinned(table.clone()));
    let a = stream.spawn_worker_with_strategy(
        "a",
        cfg.clone(),
        &log,
        Behaviour::default(),
        Some(Arc::clone(&strategy)),
    );
    tokio::time::sleep(3 * TAKER).await;
    assert_eq!(
        owners(&stream).await.get("a"),
        Some(&3),
        "a takes only its own shards"
    );
    let b = stream.spawn_worker_with_strategy("b", cfg, &log, Behaviour::default(), Some(strategy));
    tokio::time::sleep(3 * TAKER).await;
    let leases = stream.store.list().await.unwrap().leases;
    for lease in &leases {
        assert_eq!(
            lease.owner.as_deref(),
            table.get(lease.key.as_str()).map(String::as_str),
            "{lease:?}"
        );
    }
    producer.abort();
    tokio::time::sleep(Duration::from_secs(3)).await;
    a.shutdown().await.unwrap();
    b.shutdown().await.unwrap();
    assert_all_processed(&stream, &log);
    assert_in_order_per_key(&log);
}

#[tokio::test(start_paused = true)]
async fn the_kcl2_compatible_strategy_moves_one_lease_per_twenty_seconds() {
    let stream = Arc::new(Stream::new(10).await);
    let log = Arc::new(Log::default());
    let producer = producer(&stream, 64, 16, Duration::from_millis(250));
    let cfg = config().lease_taker_interval(TAKER).build().unwrap();
    let kcl2 = || -> Option<Arc<dyn kcl::core::AssignmentStrategy>> {
        Some(Arc::new(kcl::core::Kcl2Compatible::new()))
    };
    let w0 = stream.spawn_worker_with_strategy("w0", cfg.clone(), &log, Behaviour::default(), kcl2());
    tokio::time::sleep(2 * TAKER).await;
    assert_eq!(owners(&stream).await.get("w0"), Some(&10));
    let w1 = stream.spawn_worker_with_strategy("w1", cfg, &log, Behaviour::default(), kcl2());
    // One steal at once, then one per 20 s: 1, 2, 3, 4, 5 leases at about 0, 20, 40, 60, 80 s.
    let mut seen = Vec::new();
    for _ in 0..5 {
        tokio::time::sleep(Duration::from_secs(2)).await;
        seen.push(owners(&stream).await.get("w1").copied().unwrap_or(0));
        tokio::time::sleep(Duration::from_secs(18)).await;
    }
    assert_eq!(seen, [1, 2, 3, 4, 5], "w1's leases after each 20 s cycle");
    tokio::time::sleep(Duration::from_secs(60)).await;
    let settled = owners(&stream).await;
    assert_eq!(
        (settled.get("w0"), settled.get("w1")),
        (Some(&5), Some(&5)),
        "{settled:?}"
    );
    producer.abort();
    tokio::time::sleep(Duration::from_secs(3)).await;
    w0.shutdown().await.unwrap();
    w1.shutdown().await.unwrap();
    assert_all_processed(&stream, &log);
    assert_in_order_per_key(&log);
}

#[tokio::test(start_paused = true)]
async fn utilization_aware_workers_report_measured_lease_loads_and_others_do_not() {
    let stream = Arc::new(Stream::new(4).await);
    let log = Arc::new(Log::default());
    // 64 records every 250 ms: 256 records/s over the four shards.
    let busy = producer(&stream, 64, 32, Duration::from_millis(250));
    let cfg = config()
        .load_report_interval(Duration::from_secs(5))
        .build()
        .unwrap();
    let strategy: Arc<dyn kcl::core::AssignmentStrategy> = Arc::new(kcl::core::UtilizationAware::new());
    let reporting =
        stream.spawn_worker_with_strategy("w0", cfg.clone(), &log, Behaviour::default(), Some(strategy));
    tokio::time::sleep(Duration::from_secs(40)).await;
    let leases = stream.store.list().await.unwrap().leases;
    assert_eq!(leases.len(), 4);
    let mut rate = 0.0;
    for lease in &leases {
        let load = lease
            .load()
            .unwrap_or_else(|| panic!("no load reported on {}", lease.key));
        assert!(load.records_per_sec > 0.0 && load.kbps > 0.0, "{load:?}");
        assert_eq!(load.owner_cpu.is_some(), cfg!(target_os = "linux"), "{load:?}");
        rate += load.records_per_sec;
    }
    assert!(
        (200.0..=310.0).contains(&rate),
        "measured {rate} records/s in all, produced 256"
    );
    reporting.shutdown().await.unwrap();

    // The default strategy does not use loads: no reports (new leases, new stream).
    let quiet_stream = Arc::new(Stream::new(2).await);
    let quiet_producer = producer(&quiet_stream, 16, 8, Duration::from_millis(250));
    let quiet = quiet_stream.spawn_worker("w1", cfg, &log, Behaviour::default());
    tokio::time::sleep(Duration::from_secs(20)).await;
    for lease in quiet_stream.store.list().await.unwrap().leases {
        assert_eq!(lease.load(), None, "{}", lease.key);
    }
    quiet.shutdown().await.unwrap();
    busy.abort();
    quiet_producer.abort();
}
