//! Concurrent writers, readers and resharding on a multi-threaded runtime: nothing is lost, duplicated
//! or reordered per partition key across the shard lineage.

use std::collections::{HashMap, HashSet};

use crate::support::*;
use bytes::Bytes;
use kcl_emulator::types::*;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn writers_racing_with_resharding() {
    let e = emulator();
    create(&e, "s", 2).await;
    let writers: Vec<_> = (0..4)
        .map(|w| {
            let e = e.clone();
            tokio::spawn(async move {
                for batch in 0..40 {
                    let records = (0..50)
                        .map(|i| PutRecordsRequestEntry {
                            data: Bytes::from(format!("{w}:{}", batch * 50 + i)),
                            partition_key: format!("writer-{w}-{}", i % 5),
                            explicit_hash_key: None,
                        })
                        .collect();
                    let out = e
                        .put_records(PutRecordsInput {
                            records,
                            stream_name: Some("s".into()),
                            ..Default::default()
                        })
                        .await
                        .expect("put records");
                    assert_eq!(out.failed_record_count, 0);
                    tokio::task::yield_now().await;
                }
            })
        })
        .collect();
    let resharder = {
        let e = e.clone();
        tokio::spawn(async move {
            for round in 0..20 {
                let target = if round % 2 == 0 { 4 } else { 3 };
                e.update_shard_count(UpdateShardCountInput {
                    stream_name: Some("s".into()),
                    target_shard_count: target,
                    ..Default::default()
                })
                .await
                .expect("rescale");
                tokio::task::yield_now().await;
            }
        })
    };
    for w in writers {
        w.await.expect("writer");
    }
    resharder.await.expect("resharder");

    // Read the lineage parents first and check per-key order and completeness.
    let all = shards(&e, "s").await;
    let mut done = HashSet::new();
    let mut per_key: HashMap<String, Vec<u32>> = HashMap::new();
    let mut total = 0;
    while done.len() < all.len() {
        for s in &all {
            if done.contains(&s.shard_id) {
                continue;
            }
            let ready = s
                .parent_shard_id
                .iter()
                .chain(s.adjacent_parent_shard_id.iter())
                .all(|p| done.contains(p));
            if !ready {
                continue;
            }
            let (records, _) = read_all(&e, "s", &s.shard_id).await;
            total += records.len();
            for r in records {
                let text = String::from_utf8_lossy(&r.data).into_owned();
                let (_, n) = text.split_once(':').expect("w:n");
                per_key
                    .entry(r.partition_key.clone())
                    .or_default()
                    .push(n.parse().expect("number"));
            }
            done.insert(s.shard_id.clone());
        }
    }
    assert_eq!(total, 4 * 40 * 50);
    assert_eq!(per_key.len(), 20);
    for (key, ns) in per_key {
        assert_eq!(ns.len(), 400, "{key}");
        assert!(ns.windows(2).all(|w| w[0] < w[1]), "{key} in order");
    }
}
