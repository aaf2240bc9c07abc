//! Resharding: split and merge with records spread over parents and children. For every partition key the
//! records come out in order across the reshard (children wait for their parents), and finished parent
//! leases are cleaned up once their children have started.

use std::collections::{BTreeMap, BTreeSet};
use std::sync::Arc;
use std::time::Duration;

use crate::support::*;
use kcl::core::{ConsumerState, ShardDescription, ShardFilter};

async fn shards(stream: &Stream) -> BTreeMap<String, ShardDescription> {
    stream
        .source
        .list_shards(&ShardFilter::FromTrimHorizon)
        .await
        .unwrap()
        .into_iter()
        .map(|s| (s.shard_id.clone(), s))
        .collect()
}

fn open_children_of<'a>(
    all: &'a BTreeMap<String, ShardDescription>,
    parent: &str,
) -> Vec<&'a ShardDescription> {
    all.values()
        .filter(|s| s.is_open() && s.parents().any(|p| p == parent))
        .collect()
}

#[tokio::test(start_paused = true)]
async fn split_and_merge_keep_per_key_order_and_clean_up_parents() {
    let stream = Arc::new(Stream::new(2).await);
    let log = Arc::new(Log::default());
    let cfg = config().build().unwrap();
    let a = stream.spawn_worker("a", cfg.clone(), &log, Behaviour::default());
    let b = stream.spawn_worker("b", cfg, &log, Behaviour::default());
    tokio::time::sleep(Duration::from_secs(3)).await;

    // Phase 1: records on the two original shards; keep producing through the reshards.
    let producer = producer(&stream, 50, 48, Duration::from_millis(100));
    tokio::time::sleep(Duration::from_secs(2)).await;

    // Split shard 0 at the middle of its range.
    let before = shards(&stream).await;
    let parent = before.values().next().unwrap().clone();
    let range = parent.hash_key_range.unwrap();
    let middle = range.starting_hash_key + (range.ending_hash_key - range.starting_hash_key) / 2;
    stream.split(&parent.shard_id, middle).await;
    tokio::time::sleep(Duration::from_secs(2)).await;

    // Merge the upper child of the split with the other original shard (adjacent ranges).
    let after_split = shards(&stream).await;
    let children = open_children_of(&after_split, &parent.shard_id);
    assert_eq!(children.len(), 2, "{after_split:?}");
    let upper = children
        .iter()
        .max_by_key(|c| c.hash_key_range.unwrap().starting_hash_key)
        .unwrap()
        .shard_id
        .clone();
    let other = before.keys().nth(1).unwrap().clone();
    stream.merge(&upper, &other).await;
    tokio::time::sleep(Duration::from_secs(3)).await;
    producer.abort();

    let all = shards(&stream).await;
    assert_eq!(
        all.len(),
        5,
        "2 originals + 2 split children + 1 merged child: {all:?}"
    );
    let total = stream.produced().len();
    let done = wait_until(Duration::from_secs(60), Duration::from_millis(200), || {
        log.seen()
            .iter()
            .map(|s| (s.key.clone(), s.n))
            .collect::<BTreeSet<_>>()
            .len()
            == total
    })
    .await;
    assert!(done.is_some(), "processed {} distinct of {total}", log.count());
    assert_all_processed(&stream, &log);
    assert_in_order_per_key(&log);

    // Records were spread over parents and children.
    let per_shard: BTreeMap<String, usize> = log.seen().iter().fold(BTreeMap::new(), |mut m, s| {
        *m.entry(s.shard.clone()).or_default() += 1;
        m
    });
    assert_eq!(per_shard.len(), 5, "records per shard: {per_shard:?}");

    // Parents before children: every record of a child came after the last record of each parent.
    let seen = log.seen();
    for shard in all.values() {
        let first_child = seen
            .iter()
            .filter(|s| s.shard == shard.shard_id)
            .map(|s| s.at)
            .min();
        for p in shard.parents() {
            let last_parent = seen.iter().filter(|s| s.shard == p).map(|s| s.at).max();
            if let (Some(c), Some(p_at)) = (first_child, last_parent) {
                assert!(
                    c >= p_at,
                    "child {} started before parent {p} finished",
                    shard.shard_id
                );
            }
        }
    }

    // Finished parents are deleted once their children have started (next shard syncs).
    let closed: BTreeSet<String> = all
        .values()
        .filter(|s| !s.is_open())
        .map(|s| s.shard_id.clone())
        .collect();
    assert_eq!(closed.len(), 3);
    let cleaned = {
        let mut ok = false;
        for _ in 0..30 {
            let keys: BTreeSet<String> = stream
                .store
                .list()
                .await
                .unwrap()
                .leases
                .into_iter()
                .map(|l| l.key.as_str().to_owned())
                .collect();
            if closed.iter().all(|c| !keys.contains(c)) {
                ok = true;
                break;
            }
            tokio::time::sleep(Duration::from_secs(1)).await;
        }
        ok
    };
    assert!(
        cleaned,
        "parent leases not cleaned up: {:?}",
        stream.store.list().await.unwrap().leases
    );
    let ended: Vec<_> = log
        .events()
        .into_iter()
        .filter(|e| matches!(e, Event::ShardEnded { .. }))
        .collect();
    assert!(ended.len() >= 3, "shard_ended calls: {ended:?}");

    a.shutdown().await.unwrap();
    b.shutdown().await.unwrap();
}

#[tokio::test(start_paused = true)]
async fn a_shard_is_finished_only_once_shard_ended_checkpoints_and_children_wait_for_it() {
    let stream = Arc::new(Stream::new(1).await);
    let log = Arc::new(Log::default());
    let behaviour = Behaviour {
        shard_end_refusals: 2,
        ..Behaviour::default()
    };
    let worker = stream.spawn_worker("w", config().build().unwrap(), &log, behaviour);
    stream.produce(100, 8).await;
    tokio::time::sleep(Duration::from_secs(1)).await;
    let parent = shards(&stream).await.into_values().next().unwrap();
    let range = parent.hash_key_range.unwrap();
    stream
        .split(
            &parent.shard_id,
            range.starting_hash_key + (range.ending_hash_key - range.starting_hash_key) / 2,
        )
        .await;
    stream.produce(100, 8).await;
    wait_until(Duration::from_secs(60), Duration::from_millis(100), || {
        log.count() >= 200
    })
    .await
    .expect("children processed after the parent finally finished");

    let events = log.events();
    let ended_calls = events
        .iter()
        .filter(|e| matches!(e, Event::ShardEnded { shard, .. } if *shard == parent.shard_id))
        .count();
    assert_eq!(
        ended_calls, 3,
        "shard_ended is called until it checkpoints SHARD_END"
    );
    // The children were initialized only after the third call.
    let third = events
        .iter()
        .enumerate()
        .filter(|(_, e)| matches!(e, Event::ShardEnded { shard, .. } if *shard == parent.shard_id))
        .map(|(i, _)| i)
        .nth(2)
        .unwrap();
    let first_child_init = events
        .iter()
        .position(|e| matches!(e, Event::Initialized { shard, .. } if *shard != parent.shard_id))
        .unwrap();
    assert!(
        first_child_init > third,
        "a child started before its parent was finished: {events:?}"
    );
    assert_all_processed(&stream, &log);
    assert_no_duplicates(&log);
    assert_in_order_per_key(&log);
    worker.shutdown().await.unwrap();
}

#[tokio::test(start_paused = true)]
async fn children_wait_on_a_parent_whose_lease_item_is_malformed() {
    let mut stream = Stream::new(1).await;
    let malformed = Arc::new(MalformedItems::new(Arc::clone(&stream.store)));
    stream.store = Arc::clone(&malformed) as Arc<dyn kcl::checkpoint::LeaseStore>;
    let parent = shards(&stream).await.into_values().next().unwrap();
    let range = parent.hash_key_range.unwrap();
    stream.produce(40, 8).await;
    stream
        .split(
            &parent.shard_id,
            range.starting_hash_key + (range.ending_hash_key - range.starting_hash_key) / 2,
        )
        .await;
    stream.produce(40, 8).await;
    // The parent's item is unreadable: it must not count as "gone".
    malformed.keys.lock().unwrap().insert(parent.shard_id.clone());

    let log = Arc::new(Log::default());
    let worker = stream.spawn_worker("w", config().build().unwrap(), &log, Behaviour::default());
    tokio::time::sleep(Duration::from_secs(15)).await;
    let states = worker.shard_states();
    assert_eq!(states.len(), 2, "only the two children are leased: {states:?}");
    assert!(
        states.values().all(|s| *s == ConsumerState::WaitingOnParents),
        "{states:?}"
    );
    assert_eq!(log.count(), 0, "a child started before its parent finished");

    // Once the item is repaired, the parent is processed, then the children.
    malformed.keys.lock().unwrap().clear();
    wait_until(Duration::from_secs(60), Duration::from_millis(100), || {
        log.count() >= 80
    })
    .await
    .expect("everything processed after the repair");
    assert_all_processed(&stream, &log);
    assert_no_duplicates(&log);
    assert_in_order_per_key(&log);
    worker.shutdown().await.unwrap();
}

#[tokio::test(start_paused = true)]
async fn a_parent_trimmed_from_retention_before_it_was_processed_is_ended_and_its_children_proceed() {
    use kcl::checkpoint::{ExtendedSequenceNumber, Lease, LeaseKey};

    let stream = Stream::new(1).await;
    let parent = shards(&stream).await.into_values().next().unwrap();
    let range = parent.hash_key_range.unwrap();
    stream.produce(40, 8).await;
    stream
        .split(
            &parent.shard_id,
            range.starting_hash_key + (range.ending_hash_key - range.starting_hash_key) / 2,
        )
        .await;
    let children: Vec<String> = shards(&stream)
        .await
        .into_keys()
        .filter(|id| *id != parent.shard_id)
        .collect();
    assert_eq!(children.len(), 2);
    // Leases from before a long outage: nobody processed the parent, then the fleet was down for longer
    // than the retention period (24 h), which trimmed the closed parent away.
    stream
        .store
        .create_if_absent(&Lease::new(
            parent.shard_id.clone(),
            ExtendedSequenceNumber::TrimHorizon,
        ))
        .await
        .unwrap();
    for child in &children {
        stream
            .store
            .create_if_absent(
                &Lease::new(child.clone(), ExtendedSequenceNumber::TrimHorizon)
                    .with_parents([parent.shard_id.clone()]),
            )
            .await
            .unwrap();
    }
    tokio::time::advance(Duration::from_secs(25 * 3600)).await;
    assert!(
        !shards(&stream).await.contains_key(&parent.shard_id),
        "the emulator trimmed the parent"
    );
    let before: BTreeSet<(String, u64)> = stream.produced();
    stream.produce(40, 8).await;
    let after: BTreeSet<(String, u64)> = stream.produced().difference(&before).cloned().collect();

    let log = Arc::new(Log::default());
    let worker = stream.spawn_worker("w", config().build().unwrap(), &log, Behaviour::default());
    wait_until(Duration::from_secs(60), Duration::from_millis(100), || {
        log.count() >= 40
    })
    .await
    .expect("the children proceed past the expired parent");
    let seen: BTreeSet<(String, u64)> = log.seen().into_iter().map(|s| (s.key, s.n)).collect();
    assert_eq!(seen, after, "exactly the records still retained");
    assert_no_duplicates(&log);
    // In order per key (the trimmed records make the counters start above zero).
    let mut last: BTreeMap<String, u64> = BTreeMap::new();
    for s in log.seen() {
        if let Some(prev) = last.insert(s.key.clone(), s.n) {
            assert!(s.n > prev, "{} went from {prev} to {}", s.key, s.n);
        }
    }
    // The expired parent was ended like a finished one, then cleaned up.
    let parent_key = LeaseKey::new(parent.shard_id.clone());
    let mut cleaned = false;
    for _ in 0..120 {
        if stream.store.get(&parent_key).await.unwrap().is_none() {
            cleaned = true;
            break;
        }
        tokio::time::sleep(Duration::from_secs(1)).await;
    }
    assert!(cleaned, "the expired parent's lease was cleaned up");
    worker.shutdown().await.unwrap();
}
