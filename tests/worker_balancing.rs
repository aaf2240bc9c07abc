//! Lease balancing: workers joining a fleet reach max - min <= 1 within two taker cycles, moving no more
//! leases than needed, and never oscillate.

mod support;

use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::Duration;

use support::*;

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
