//! Failover: a crashed worker's shards resume within lease duration + 1 s; a gracefully stopped worker's
//! shards move at once, with no record processed twice.

use std::collections::{BTreeMap, BTreeSet};
use std::sync::Arc;
use std::time::Duration;

use crate::support::*;
use kcl::core::LeaseRenewal;

const LEASE: Duration = Duration::from_secs(10);

#[tokio::test(start_paused = true)]
async fn crashed_workers_shards_resume_within_lease_duration_plus_one_second() {
    crash_failover(LeaseRenewal::PerLease).await;
}

#[tokio::test(start_paused = true)]
async fn with_heartbeats_crashed_workers_shards_resume_within_lease_duration_plus_one_second() {
    crash_failover(LeaseRenewal::Heartbeat).await;
}

async fn crash_failover(renewal: LeaseRenewal) {
    let stream = Arc::new(Stream::new(8).await);
    let log = Arc::new(Log::default());
    let producer = producer(&stream, 40, 16, Duration::from_millis(100));
    let cfg = config()
        .lease_duration(LEASE)
        .lease_renewal(renewal)
        .build()
        .unwrap();
    let survivor = stream.spawn_worker("survivor", cfg.clone(), &log, Behaviour::default());
    let victim = stream.spawn_worker("victim", cfg, &log, Behaviour::default());

    // Let the fleet balance and run for a while (several renewals).
    tokio::time::sleep(Duration::from_secs(17)).await;
    let victim_shards: BTreeSet<String> = victim.leases().into_iter().collect();
    assert_eq!(victim_shards.len(), 4, "fleet not balanced before the crash");

    victim.abort().await;
    let crashed_at = tokio::time::Instant::now();
    // Wait until the survivor processed a fresh record from every shard the victim held.
    let resumed = |log: &Log| -> BTreeMap<String, Duration> {
        let mut first = BTreeMap::new();
        for s in log.seen() {
            if s.worker == "survivor" && victim_shards.contains(&s.shard) && s.at >= crashed_at {
                first.entry(s.shard.clone()).or_insert(s.at - crashed_at);
            }
        }
        first
    };
    let took = wait_until(Duration::from_secs(30), Duration::from_millis(50), || {
        resumed(&log).len() == victim_shards.len()
    })
    .await;
    assert!(took.is_some(), "victim's shards not resumed: {:?}", resumed(&log));
    let worst = resumed(&log).values().copied().max().unwrap();
    eprintln!("{renewal:?}: victim shards resumed after at most {worst:?}");
    assert!(
        worst <= LEASE + Duration::from_secs(1),
        "a shard resumed {worst:?} after the crash (limit {:?})",
        LEASE + Duration::from_secs(1)
    );
    assert_eq!(survivor.leases().len(), 8);

    producer.abort();
    tokio::time::sleep(Duration::from_secs(3)).await;
    survivor.shutdown().await.unwrap();
    assert_all_processed(&stream, &log);
    assert_in_order_per_key(&log);
}

#[tokio::test(start_paused = true)]
async fn graceful_shutdown_hands_leases_off_at_once_with_no_duplicates() {
    graceful_shutdown(LeaseRenewal::PerLease).await;
}

#[tokio::test(start_paused = true)]
async fn with_heartbeats_graceful_shutdown_hands_leases_off_at_once_with_no_duplicates() {
    graceful_shutdown(LeaseRenewal::Heartbeat).await;
}

async fn graceful_shutdown(renewal: LeaseRenewal) {
    let stream = Arc::new(Stream::new(8).await);
    let log = Arc::new(Log::default());
    let cfg = config()
        .lease_duration(LEASE)
        .lease_renewal(renewal)
        .build()
        .unwrap();
    let behaviour = Behaviour {
        checkpoint_on_shutdown: true,
        ..Behaviour::default()
    };
    let stayer = stream.spawn_worker("stayer", cfg.clone(), &log, behaviour.clone());
    let leaver = stream.spawn_worker("leaver", cfg, &log, behaviour);
    // Produce once the fleet is balanced and the stolen leases' consumers run (a consumer of a lease
    // stolen from a live worker starts a lease duration after the steal, once the previous owner's lease
    // has run out on its own clock); this test is about the handoff.
    tokio::time::sleep(LEASE + Duration::from_secs(3)).await;
    let producer = producer(&stream, 40, 16, Duration::from_millis(100));
    tokio::time::sleep(Duration::from_secs(5)).await;
    let leaver_shards = leaver.leases();
    assert_eq!(leaver_shards.len(), 4);

    let stopped_at = tokio::time::Instant::now();
    leaver.shutdown().await.unwrap();
    // Every processor was told, and every lease was released (unowned), not left to expire.
    let told: BTreeSet<String> = log
        .events()
        .into_iter()
        .filter_map(|e| match e {
            Event::ShutdownRequested { worker, shard } if worker == "leaver" => Some(shard),
            _ => None,
        })
        .collect();
    assert_eq!(told, leaver_shards.iter().cloned().collect());
    let took = wait_until(LEASE, Duration::from_millis(50), || stayer.leases().len() == 8).await;
    let took = took.expect("stayer did not take the released leases");
    assert!(
        took <= Duration::from_millis(1_100),
        "handoff took {took:?} after shutdown returned ({:?} in all)",
        stopped_at.elapsed()
    );

    tokio::time::sleep(Duration::from_secs(3)).await;
    producer.abort();
    tokio::time::sleep(Duration::from_secs(3)).await;
    stayer.shutdown().await.unwrap();
    assert_all_processed(&stream, &log);
    assert_no_duplicates(&log);
    assert_in_order_per_key(&log);
}
