//! Unit tests of the multi-stream source: keys, prefixing, the tracker's changes, the grace period, and
//! shard sync over several streams.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::Duration;

use async_trait::async_trait;
use kcl_checkpoint::{
    ExtendedSequenceNumber, InMemoryLeaseStore, Lease, LeaseKey, LeaseStore, StreamIdentifier,
};

use super::*;
use crate::processor::{ProcessRecordsInput, ProcessorError};
use crate::record::ChildShard;
use crate::shard_sync::ShardSyncer;
use crate::source::{ShardBatch, ShardDescription};
use crate::Checkpointer;

fn id(name: &str) -> StreamIdentifier {
    StreamIdentifier {
        account_id: "123456789012".into(),
        stream_name: name.into(),
        creation_epoch: 1_700_000_000,
    }
}

/// A stream with a closed parent split into two open children.
#[derive(Debug, Default)]
struct Split {
    /// Fails every listing while set.
    failing: AtomicBool,
}

#[async_trait]
impl RecordSource for Split {
    async fn list_shards(&self, _: &ShardFilter) -> Result<Vec<ShardDescription>> {
        if self.failing.load(Ordering::SeqCst) {
            return Err(Error::ResourceNotFound {
                operation: "ListShards",
                resource: "gone".into(),
            });
        }
        Ok(vec![
            ShardDescription::new("shardId-0").closed("100"),
            ShardDescription::new("shardId-1").with_parents(Some("shardId-0".into()), None),
            ShardDescription::new("shardId-2").with_parents(Some("shardId-0".into()), None),
        ])
    }

    fn open_reader(&self, request: ReadRequest) -> Box<dyn ShardReader> {
        Box::new(EndReader(request.shard_id))
    }
}

/// Reads one shard end naming two children of the shard read.
#[derive(Debug)]
struct EndReader(String);

#[async_trait]
impl ShardReader for EndReader {
    async fn next_batch(&mut self) -> Result<ShardBatch> {
        let parents = vec![self.0.clone()];
        Ok(ShardBatch::shard_end(
            Vec::new(),
            vec![
                ChildShard {
                    shard_id: "shardId-1".into(),
                    parent_shards: parents.clone(),
                    hash_key_range: None,
                },
                ChildShard {
                    shard_id: "shardId-2".into(),
                    parent_shards: parents,
                    hash_key_range: None,
                },
            ],
        ))
    }
}

struct Nothing;

#[async_trait]
impl ShardRecordProcessor for Nothing {
    async fn process_records(
        &mut self,
        _: &ProcessRecordsInput,
        _: &Checkpointer,
    ) -> std::result::Result<(), ProcessorError> {
        Ok(())
    }
}

fn config(name: &str, source: Arc<dyn RecordSource>) -> StreamConfig {
    StreamConfig::new(id(name), source, |_: &str| {
        Box::new(Nothing) as Box<dyn ShardRecordProcessor>
    })
}

#[test]
fn shards_and_their_parents_are_named_by_lease_keys() {
    let shards = prefix_shards(
        &id("orders"),
        vec![ShardDescription::new("shardId-3")
            .with_parents(Some("shardId-1".into()), Some("shardId-2".into()))],
    );
    assert_eq!(shards[0].shard_id, "123456789012:orders:1700000000:shardId-3");
    assert_eq!(
        shards[0].parents().collect::<Vec<_>>(),
        [
            "123456789012:orders:1700000000:shardId-1",
            "123456789012:orders:1700000000:shardId-2"
        ]
    );
    // The keys split back into the stream and the shard.
    let key = LeaseKey::new(shards[0].shard_id.clone());
    assert_eq!(key.stream(), Some(id("orders")));
    assert_eq!(key.shard_id(), "shardId-3");
}

#[tokio::test(start_paused = true)]
async fn the_composite_lists_every_stream_and_reads_by_lease_key() {
    let streams = StreamSet::new();
    streams.add(config("orders", Arc::new(Split::default())));
    streams.add(config("payments", Arc::new(Split::default())));
    let multi = MultiStreamSource::new(streams);
    multi.refresh().await.unwrap();

    let listed = multi.list_shards(&ShardFilter::FromTrimHorizon).await.unwrap();
    assert_eq!(listed.len(), 6);
    assert!(listed
        .iter()
        .all(|s| LeaseKey::new(s.shard_id.clone()).stream().is_some()
            && s.parents().all(|p| p.contains(":shardId-"))));

    let key = "123456789012:payments:1700000000:shardId-0";
    let batch = multi
        .open_reader(ReadRequest::new(
            key,
            crate::source::IteratorPosition::TrimHorizon,
        ))
        .next_batch()
        .await
        .unwrap();
    assert!(batch.at_shard_end);
    let children: Vec<_> = batch.child_shards.iter().map(|c| c.shard_id.as_str()).collect();
    assert_eq!(
        children,
        [
            "123456789012:payments:1700000000:shardId-1",
            "123456789012:payments:1700000000:shardId-2"
        ]
    );
    // The stream's reader was given the plain shard id; its children's parent is the key again.
    assert_eq!(batch.child_shards[0].parent_shards, [key]);

    // A stream not tracked, or a plain key: not found.
    for key in ["123456789012:other:1700000000:shardId-0", "shardId-0"] {
        let err = multi
            .open_reader(ReadRequest::new(
                key,
                crate::source::IteratorPosition::TrimHorizon,
            ))
            .next_batch()
            .await
            .unwrap_err();
        assert!(matches!(err, Error::ResourceNotFound { .. }), "{err}");
    }
}

#[tokio::test(start_paused = true)]
async fn removed_streams_stay_readable_for_the_grace_period_and_come_back_with_their_leases() {
    let streams = StreamSet::new();
    streams.add(config("orders", Arc::new(Split::default())));
    streams.add(config("bad:name", Arc::new(Split::default())));
    let multi = MultiStreamSource::new(streams.clone()).with_grace_period(Duration::from_secs(60));
    let change = multi.refresh().await.unwrap();
    // An identifier that would not split back from its keys is not consumed.
    assert_eq!(change.added, ["123456789012:orders:1700000000"]);
    let key = "123456789012:orders:1700000000:shardId-1";
    assert!(multi.can_consume(key));
    assert!(!multi.can_consume("shardId-1"));

    assert!(streams.remove(&id("orders")));
    let change = multi.refresh().await.unwrap();
    assert_eq!(change.removed, ["123456789012:orders:1700000000"]);
    assert!(multi.streams().is_empty());
    // Still readable (its consumers carry on) until the grace period runs out.
    assert!(multi.can_consume(key));
    assert!(multi.expired_former(tokio::time::Instant::now()).is_empty());
    tokio::time::advance(Duration::from_secs(60)).await;
    assert_eq!(
        multi.expired_former(tokio::time::Instant::now()),
        ["123456789012:orders:1700000000"]
    );

    // Added back: tracked again, no longer former.
    streams.add(config("orders", Arc::new(Split::default())));
    let change = multi.refresh().await.unwrap();
    assert_eq!(change.added, ["123456789012:orders:1700000000"]);
    assert!(multi.former_streams().is_empty());
    assert!(multi.expired_former(tokio::time::Instant::now()).is_empty());

    // Forgotten once removed and its leases are gone: not consumable any more.
    streams.remove(&id("orders"));
    multi.refresh().await.unwrap();
    multi.forget("123456789012:orders:1700000000");
    assert!(!multi.can_consume(key));
}

#[derive(Debug)]
struct Failing;

#[async_trait]
impl StreamTracker for Failing {
    async fn streams(&self) -> std::result::Result<Vec<StreamConfig>, BoxError> {
        Err("configuration service down".into())
    }
}

#[tokio::test(start_paused = true)]
async fn a_failing_tracker_removes_nothing_and_a_stream_set_wakes_the_sync() {
    let multi = MultiStreamSource::new(Failing);
    assert!(multi.refresh().await.is_err());
    assert!(multi.streams().is_empty() && multi.former_streams().is_empty());

    let streams = StreamSet::new();
    let waiting = {
        let streams = streams.clone();
        tokio::spawn(async move { streams.changed().await })
    };
    tokio::task::yield_now().await;
    assert!(!waiting.is_finished());
    assert!(streams.add(config("orders", Arc::new(Split::default()))));
    tokio::time::timeout(Duration::from_secs(1), waiting)
        .await
        .unwrap()
        .unwrap();
    assert!(streams.contains(&id("orders")));
    assert!(
        !streams.add(config("orders", Arc::new(Split::default()))),
        "replaced, not added"
    );
    assert_eq!(streams.streams(), [id("orders")]);
}

#[test]
fn a_stream_overrides_the_initial_position_and_processing_policy() {
    let base = Arc::new(WorkerConfig::builder().build().unwrap());
    let plain = config("orders", Arc::new(Split::default()));
    assert!(Arc::ptr_eq(&plain.effective_config(&base), &base));
    let policy = ProcessingPolicy::builder().batch_size(7).build().unwrap();
    let own = plain
        .clone()
        .initial_position(InitialPosition::TrimHorizon)
        .processing(policy.clone());
    let effective = own.effective_config(&base);
    assert_eq!(effective.initial_position(), InitialPosition::TrimHorizon);
    assert_eq!(effective.processing(), &policy);
    assert_eq!(effective.lease_duration(), base.lease_duration());
}

fn syncer(store: &Arc<dyn LeaseStore>, multi: &Arc<MultiStreamSource>) -> ShardSyncer {
    ShardSyncer {
        worker_id: Arc::from("w"),
        store: Arc::clone(store),
        source: Arc::clone(multi) as Arc<dyn RecordSource>,
        initial_position: InitialPosition::Latest,
        announce: false,
        multi: Some(Arc::clone(multi)),
    }
}

async fn keys(store: &Arc<dyn LeaseStore>) -> Vec<(String, String)> {
    let mut leases: Vec<_> = store
        .list()
        .await
        .unwrap()
        .leases
        .into_iter()
        .map(|l| (l.key.as_str().to_owned(), l.checkpoint.to_string()))
        .collect();
    leases.sort();
    leases
}

#[tokio::test(start_paused = true)]
async fn shard_sync_leases_each_stream_at_its_position_and_deletes_removed_streams_after_the_grace_period() {
    let store: Arc<dyn LeaseStore> = Arc::new(InMemoryLeaseStore::new());
    let streams = StreamSet::new();
    let payments = Arc::new(Split::default());
    streams.add(config("orders", Arc::new(Split::default())).initial_position(InitialPosition::TrimHorizon));
    streams.add(config("payments", Arc::clone(&payments) as Arc<dyn RecordSource>));
    let multi = Arc::new(MultiStreamSource::new(streams.clone()).with_grace_period(Duration::from_secs(300)));
    // A lease of a stream this worker never tracked, and a single-stream lease: left alone.
    for key in ["123456789012:elsewhere:1:shardId-0", "shardId-9"] {
        store
            .create_if_absent(&Lease::new(key, ExtendedSequenceNumber::TrimHorizon))
            .await
            .unwrap();
    }
    let sync = syncer(&store, &multi);
    sync.sync().await.unwrap();
    assert_eq!(
        keys(&store).await,
        [
            ("123456789012:elsewhere:1:shardId-0", "TRIM_HORIZON"),
            // TRIM_HORIZON: the whole tree, the parent named as a key by its children.
            ("123456789012:orders:1700000000:shardId-0", "TRIM_HORIZON"),
            ("123456789012:orders:1700000000:shardId-1", "TRIM_HORIZON"),
            ("123456789012:orders:1700000000:shardId-2", "TRIM_HORIZON"),
            // The worker's LATEST: the open shards only.
            ("123456789012:payments:1700000000:shardId-1", "LATEST"),
            ("123456789012:payments:1700000000:shardId-2", "LATEST"),
            ("shardId-9", "TRIM_HORIZON"),
        ]
        .map(|(k, c)| (k.to_owned(), c.to_owned()))
    );
    let child = store
        .get(&LeaseKey::new("123456789012:orders:1700000000:shardId-1"))
        .await
        .unwrap()
        .unwrap();
    assert_eq!(
        child.parent_shard_ids,
        ["123456789012:orders:1700000000:shardId-0".to_owned()].into()
    );

    // A stream whose listing fails does not stop the others.
    payments.failing.store(true, Ordering::SeqCst);
    sync.sync().await.unwrap();
    payments.failing.store(false, Ordering::SeqCst);

    // Orders' parent finished and its children started (owned by some worker): cleanup would delete the
    // parent. Removed, the stream is no longer planned: nothing is cleaned up, created again or judged
    // expired; after the grace period its leases are deleted, owned ones included.
    for (shard, checkpoint) in [
        ("shardId-0", ExtendedSequenceNumber::ShardEnd),
        (
            "shardId-1",
            ExtendedSequenceNumber::sequence(kcl_checkpoint::SequenceNumber::from(5)),
        ),
        (
            "shardId-2",
            ExtendedSequenceNumber::sequence(kcl_checkpoint::SequenceNumber::from(5)),
        ),
    ] {
        let key = LeaseKey::multi_stream(&id("orders"), shard);
        let lease = store.get(&key).await.unwrap().unwrap();
        let lease = store.take(&lease, "someone").await.unwrap();
        store.checkpoint(&lease, checkpoint).await.unwrap();
    }
    streams.remove(&id("orders"));
    let report = sync.sync().await.unwrap();
    assert!(
        report.created.is_empty() && report.deleted.is_empty(),
        "{report:?}"
    );
    assert!(report.findings.expired.is_empty(), "{report:?}");
    assert_eq!(keys(&store).await.len(), 7);
    tokio::time::advance(Duration::from_secs(299)).await;
    assert!(sync.sync().await.unwrap().deleted.is_empty());
    tokio::time::advance(Duration::from_secs(1)).await;
    let report = sync.sync().await.unwrap();
    assert_eq!(report.deleted.len(), 3, "{report:?}");
    assert_eq!(
        keys(&store).await.into_iter().map(|(k, _)| k).collect::<Vec<_>>(),
        [
            "123456789012:elsewhere:1:shardId-0",
            "123456789012:payments:1700000000:shardId-1",
            "123456789012:payments:1700000000:shardId-2",
            "shardId-9"
        ]
    );
    assert_eq!(multi.former_streams().len(), 1);
    sync.sync().await.unwrap();
    assert!(
        multi.former_streams().is_empty(),
        "forgotten once no lease is left"
    );

    // Added back after the grace period: leased again at its initial position.
    streams.add(config("orders", Arc::new(Split::default())));
    let report = sync.sync().await.unwrap();
    assert_eq!(report.created.len(), 2, "{report:?}");
}
