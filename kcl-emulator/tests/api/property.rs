//! Property: random sequences of puts, splits, merges, rescales and reads never lose, duplicate or
//! reorder a record within a shard's lineage (reading every shard from TRIM_HORIZON, parents first).

use std::collections::{BTreeMap, HashMap, HashSet};

use crate::support::*;
use bytes::Bytes;
use kcl_emulator::types::*;
use proptest::prelude::*;

#[derive(Debug, Clone)]
enum Op {
    Put { key: u8 },
    PutHash { hash: u128 },
    Batch { keys: Vec<u8> },
    Split { pick: usize, frac: u64 },
    Merge { pick: usize },
    Scale { up: bool },
    Read { pick: usize, limit: i32 },
}

fn op() -> impl Strategy<Value = Op> {
    prop_oneof![
        6 => any::<u8>().prop_map(|k| Op::Put { key: k % 8 }),
        2 => any::<u128>().prop_map(|hash| Op::PutHash { hash }),
        2 => prop::collection::vec(any::<u8>().prop_map(|k| k % 8), 1..40).prop_map(|keys| Op::Batch { keys }),
        2 => (any::<usize>(), any::<u64>()).prop_map(|(pick, frac)| Op::Split { pick, frac }),
        2 => any::<usize>().prop_map(|pick| Op::Merge { pick }),
        1 => any::<bool>().prop_map(|up| Op::Scale { up }),
        3 => (any::<usize>(), 1..20i32).prop_map(|(pick, limit)| Op::Read { pick, limit }),
    ]
}

fn range(s: &Shard) -> (u128, u128) {
    (
        s.hash_key_range.starting_hash_key.parse().expect("number"),
        s.hash_key_range.ending_hash_key.parse().expect("number"),
    )
}

/// A written record as acknowledged by the emulator.
#[derive(Debug, Clone, PartialEq)]
struct Acked {
    key: String,
    data: String,
    seq: String,
}

/// An incremental reader of one shard.
struct Reader {
    iterator: Option<String>,
    got: Vec<Record>,
}

async fn run(ops: Vec<Op>) {
    let e = emulator();
    create(&e, "s", 2).await;
    let mut acked: BTreeMap<String, Vec<Acked>> = BTreeMap::new();
    let mut per_key: HashMap<String, Vec<String>> = HashMap::new();
    let mut readers: HashMap<String, Reader> = HashMap::new();
    let mut n = 0u64;
    for op in ops {
        match op {
            Op::Put { key } => {
                let key = format!("k{key}");
                let data = format!("d{n}");
                n += 1;
                let out = put(&e, "s", &key, &data).await;
                per_key.entry(key.clone()).or_default().push(data.clone());
                acked.entry(out.shard_id).or_default().push(Acked {
                    key,
                    data,
                    seq: out.sequence_number,
                });
            }
            Op::PutHash { hash } => {
                let data = format!("d{n}");
                n += 1;
                let out = put_to_hash(&e, "s", hash, &data).await;
                acked.entry(out.shard_id).or_default().push(Acked {
                    key: "k".into(),
                    data,
                    seq: out.sequence_number,
                });
            }
            Op::Batch { keys } => {
                let entries: Vec<_> = keys
                    .iter()
                    .map(|k| {
                        let data = format!("d{n}");
                        n += 1;
                        (format!("k{k}"), data)
                    })
                    .collect();
                let out = e
                    .put_records(PutRecordsInput {
                        stream_name: Some("s".into()),
                        records: entries
                            .iter()
                            .map(|(k, d)| PutRecordsRequestEntry {
                                data: Bytes::from(d.clone()),
                                partition_key: k.clone(),
                                explicit_hash_key: None,
                            })
                            .collect(),
                        ..Default::default()
                    })
                    .await
                    .expect("put records");
                assert_eq!(out.failed_record_count, 0);
                for ((key, data), r) in entries.into_iter().zip(out.records) {
                    per_key.entry(key.clone()).or_default().push(data.clone());
                    acked.entry(r.shard_id.expect("shard")).or_default().push(Acked {
                        key,
                        data,
                        seq: r.sequence_number.expect("seq"),
                    });
                }
            }
            Op::Split { pick, frac } => {
                let open = open_shards(&e, "s").await;
                if open.len() >= 12 {
                    continue;
                }
                let s = &open[pick % open.len()];
                let (start, end) = range(s);
                if end - start < 4 {
                    continue;
                }
                // Strictly inside, as SplitShard requires: start + 1 < at < end.
                let span = end - start - 3;
                let at = start + 2 + ((u128::from(frac) << 64) | u128::from(frac)) % span;
                e.split_shard(SplitShardInput {
                    stream_name: Some("s".into()),
                    shard_to_split: s.shard_id.clone(),
                    new_starting_hash_key: at.to_string(),
                    ..Default::default()
                })
                .await
                .expect("split");
            }
            Op::Merge { pick } => {
                let mut open = open_shards(&e, "s").await;
                if open.len() < 2 {
                    continue;
                }
                open.sort_by_key(|s| range(s).0);
                let i = pick % (open.len() - 1);
                e.merge_shards(MergeShardsInput {
                    stream_name: Some("s".into()),
                    shard_to_merge: open[i].shard_id.clone(),
                    adjacent_shard_to_merge: open[i + 1].shard_id.clone(),
                    ..Default::default()
                })
                .await
                .expect("merge");
            }
            Op::Scale { up } => {
                let count = open_shards(&e, "s").await.len() as i32;
                let target = if up {
                    (count + 3).min(2 * count).min(12)
                } else {
                    (count + 1) / 2
                };
                e.update_shard_count(UpdateShardCountInput {
                    stream_name: Some("s".into()),
                    target_shard_count: target.max(1),
                    ..Default::default()
                })
                .await
                .expect("update shard count");
            }
            Op::Read { pick, limit } => {
                let all = shards(&e, "s").await;
                let s = &all[pick % all.len()];
                let reader = match readers.get_mut(&s.shard_id) {
                    Some(r) => r,
                    None => {
                        let it = iterator(&e, "s", &s.shard_id, ShardIteratorType::TrimHorizon).await;
                        readers.entry(s.shard_id.clone()).or_insert(Reader {
                            iterator: Some(it),
                            got: Vec::new(),
                        })
                    }
                };
                if let Some(it) = reader.iterator.take() {
                    let page = e
                        .get_records(GetRecordsInput {
                            shard_iterator: it,
                            limit: Some(limit),
                            ..Default::default()
                        })
                        .await
                        .expect("get records");
                    reader.got.extend(page.records);
                    reader.iterator = page.next_shard_iterator;
                }
            }
        }
    }

    // Every shard holds exactly its acknowledged records, in acknowledgement order.
    let all = shards(&e, "s").await;
    let mut full: HashMap<String, Vec<Record>> = HashMap::new();
    for s in &all {
        let (records, _) = read_all(&e, "s", &s.shard_id).await;
        let expected: Vec<(String, String)> = acked
            .get(&s.shard_id)
            .map(|v| v.iter().map(|a| (a.seq.clone(), a.data.clone())).collect())
            .unwrap_or_default();
        let got: Vec<(String, String)> = records
            .iter()
            .map(|r| {
                (
                    r.sequence_number.clone(),
                    String::from_utf8_lossy(&r.data).into_owned(),
                )
            })
            .collect();
        assert_eq!(got, expected, "shard {}", s.shard_id);
        // Incremental readers saw a prefix of the same sequence.
        if let Some(reader) = readers.get(&s.shard_id) {
            assert_eq!(
                reader.got[..],
                records[..reader.got.len()],
                "incremental reads of {}",
                s.shard_id
            );
        }
        full.insert(s.shard_id.clone(), records);
    }
    let total: usize = full.values().map(Vec::len).sum();
    assert_eq!(total as u64, n, "nothing lost, nothing duplicated");
    let unique: HashSet<_> = full
        .iter()
        .flat_map(|(id, rs)| rs.iter().map(move |r| (id.clone(), r.sequence_number.clone())))
        .collect();
    assert_eq!(unique.len(), total);

    // Parents before children: per partition key, the lineage order equals the put order.
    let mut done: HashSet<String> = HashSet::new();
    let mut order: Vec<&Shard> = Vec::new();
    while order.len() < all.len() {
        let before = order.len();
        for s in &all {
            if done.contains(&s.shard_id) {
                continue;
            }
            let parents_done = s
                .parent_shard_id
                .iter()
                .chain(s.adjacent_parent_shard_id.iter())
                .all(|p| done.contains(p));
            if parents_done {
                done.insert(s.shard_id.clone());
                order.push(s);
            }
        }
        assert!(order.len() > before, "lineage has no cycles");
    }
    let mut seen_per_key: HashMap<String, Vec<String>> = HashMap::new();
    for s in order {
        for r in &full[&s.shard_id] {
            if r.partition_key != "k" {
                seen_per_key
                    .entry(r.partition_key.clone())
                    .or_default()
                    .push(String::from_utf8_lossy(&r.data).into_owned());
            }
        }
    }
    assert_eq!(seen_per_key, per_key, "per-key order survives resharding");
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 64, .. ProptestConfig::default() })]

    #[test]
    fn resharding_never_loses_duplicates_or_reorders(ops in prop::collection::vec(op(), 1..80)) {
        let rt = tokio::runtime::Builder::new_current_thread().enable_all().build().expect("runtime");
        rt.block_on(run(ops));
    }
}

#[tokio::test]
async fn a_pinned_scenario() {
    run(vec![
        Op::Batch {
            keys: (0..8).collect(),
        },
        Op::Split { pick: 0, frac: 7 },
        Op::Put { key: 1 },
        Op::Merge { pick: 0 },
        Op::Read { pick: 0, limit: 3 },
        Op::Scale { up: true },
        Op::Batch {
            keys: (0..8).collect(),
        },
        Op::Scale { up: false },
        Op::Put { key: 1 },
    ])
    .await;
}
