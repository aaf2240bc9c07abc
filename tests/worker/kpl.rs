//! KPL aggregated records through a worker: sub-records are delivered with sub-sequence numbers, a
//! checkpoint inside an aggregate resumes right after it, and malformed aggregates pass through as plain
//! records. Aggregates are built by `kcl_emulator::test_util::KplAggregate` (the KPL message layout).

use std::sync::{Arc, Mutex};
use std::time::Duration;

use crate::support::*;
use bytes::Bytes;
use kcl::checkpoint::{ExtendedSequenceNumber, LeaseKey, SequenceNumber};
use kcl::core::{
    async_trait, Checkpointer, ProcessRecordsInput, ProcessorError, ShardRecordProcessor, Worker,
};
use kcl::emulator::types::PutRecordsRequestEntry;
use kcl_emulator::test_util::KplAggregate;

/// An aggregate of `count` sub-records over two partition keys, payloads `sub-<i>`.
fn aggregate(count: usize) -> Bytes {
    (0..count)
        .fold(KplAggregate::new(), |agg, i| {
            let key = if i % 2 == 0 { "alpha" } else { "beta" };
            agg.record(key, format!("sub-{i}"))
        })
        .encode()
}

/// What a processor saw: (partition key, payload, sub-sequence number).
type Seen = Arc<Mutex<Vec<(String, String, u64)>>>;

/// Records what it sees; checkpoints at the record whose payload is `checkpoint_at`, if any.
struct Collector {
    seen: Seen,
    checkpoint_at: Option<&'static str>,
}

#[async_trait]
impl ShardRecordProcessor for Collector {
    async fn process_records(
        &mut self,
        input: &ProcessRecordsInput,
        checkpointer: &Checkpointer,
    ) -> Result<(), ProcessorError> {
        for r in &input.records {
            let data = String::from_utf8_lossy(&r.data).into_owned();
            if Some(data.as_str()) == self.checkpoint_at {
                checkpointer.checkpoint_record(r).await?;
            }
            self.seen
                .lock()
                .unwrap()
                .push((r.partition_key.clone(), data, r.sub_sequence_number));
        }
        Ok(())
    }
}

fn spawn(
    stream: &Stream,
    id: &str,
    seen: &Seen,
    checkpoint_at: Option<&'static str>,
) -> kcl::core::WorkerHandle {
    let seen = Arc::clone(seen);
    let factory = move |_: &str| {
        Box::new(Collector {
            seen: Arc::clone(&seen),
            checkpoint_at,
        }) as Box<dyn ShardRecordProcessor>
    };
    Worker::builder(Arc::clone(&stream.store), Arc::clone(&stream.source), factory, id)
        .config(config().build().unwrap())
        .build()
        .unwrap()
        .spawn()
}

/// Regression (fleet simulation, defect 5): a checkpoint on sub-record 0 was resumed as
/// AFTER_SEQUENCE_NUMBER, so sub-records 1..n-1 of the aggregate never reached the next owner.
#[tokio::test(start_paused = true)]
async fn a_checkpoint_on_sub_record_zero_resumes_with_the_rest_of_the_aggregate() {
    let stream = Stream::new(1).await;
    let entry = |data: Bytes, key: &str| PutRecordsRequestEntry {
        data,
        partition_key: key.into(),
        explicit_hash_key: None,
    };
    stream
        .put(vec![
            entry(aggregate(5), "outer"),
            entry(Bytes::from_static(b"after"), "plain"),
        ])
        .await;
    let seen: Seen = Arc::default();
    let first = spawn(&stream, "first", &seen, Some("sub-0"));
    wait_until(Duration::from_secs(10), Duration::from_millis(50), || {
        seen.lock().unwrap().len() == 6
    })
    .await
    .expect("everything delivered");
    let key = LeaseKey::new(first.leases().pop().unwrap());
    let checkpoint = stream.store.get(&key).await.unwrap().unwrap().checkpoint;
    assert!(
        matches!(
            checkpoint,
            ExtendedSequenceNumber::Sequence { sub_sequence: 0, .. }
        ),
        "{checkpoint}"
    );
    first.abort().await;

    let resumed: Seen = Arc::default();
    let second = spawn(&stream, "second", &resumed, None);
    wait_until(Duration::from_secs(30), Duration::from_millis(100), || {
        resumed.lock().unwrap().len() >= 5
    })
    .await
    .expect("resumed after the lease expired");
    tokio::time::sleep(Duration::from_secs(1)).await;
    let payloads: Vec<String> = resumed
        .lock()
        .unwrap()
        .iter()
        .map(|(_, d, _)| d.clone())
        .collect();
    assert_eq!(payloads, ["sub-1", "sub-2", "sub-3", "sub-4", "after"]);
    second.shutdown().await.unwrap();
}

#[tokio::test(start_paused = true)]
async fn aggregates_are_split_and_a_checkpoint_inside_one_resumes_mid_aggregate() {
    let stream = Stream::new(1).await;
    let mut bad = aggregate(3).to_vec();
    *bad.last_mut().unwrap() ^= 0xFF; // MD5 mismatch: delivered as one plain record
    let entry = |data: Bytes, key: &str| PutRecordsRequestEntry {
        data,
        partition_key: key.into(),
        explicit_hash_key: None,
    };
    stream
        .put(vec![
            entry(Bytes::from_static(b"before"), "plain"),
            entry(aggregate(10), "outer"),
            entry(Bytes::from(bad.clone()), "outer"),
            entry(Bytes::from_static(b"after"), "plain"),
        ])
        .await;

    let seen: Seen = Arc::default();
    let first = spawn(&stream, "first", &seen, Some("sub-4"));
    wait_until(Duration::from_secs(10), Duration::from_millis(50), || {
        seen.lock().unwrap().len() == 13
    })
    .await
    .expect("everything delivered");
    let got = seen.lock().unwrap().clone();
    let mut expected = vec![("plain".to_owned(), "before".to_owned(), 0)];
    expected.extend((0..10).map(|i| {
        let key = if i % 2 == 0 { "alpha" } else { "beta" };
        (key.to_owned(), format!("sub-{i}"), i as u64)
    }));
    expected.push(("outer".to_owned(), String::from_utf8_lossy(&bad).into_owned(), 0));
    expected.push(("plain".to_owned(), "after".to_owned(), 0));
    assert_eq!(got, expected);

    // The checkpoint sits inside the aggregate.
    let key = LeaseKey::new(first.leases().pop().unwrap());
    let checkpoint = stream.store.get(&key).await.unwrap().unwrap().checkpoint;
    let ExtendedSequenceNumber::Sequence {
        sequence,
        sub_sequence,
    } = checkpoint
    else {
        panic!("checkpoint {checkpoint}");
    };
    assert_eq!(sub_sequence, 4);
    assert!(sequence > SequenceNumber::from(0u128));
    first.abort().await;

    // The next owner resumes right after sub-record 4.
    let resumed: Seen = Arc::default();
    let second = spawn(&stream, "second", &resumed, None);
    wait_until(Duration::from_secs(30), Duration::from_millis(100), || {
        resumed.lock().unwrap().len() >= 7
    })
    .await
    .expect("resumed after the lease expired");
    tokio::time::sleep(Duration::from_secs(1)).await;
    let again = resumed.lock().unwrap().clone();
    assert_eq!(again, expected[6..].to_vec());
    second.shutdown().await.unwrap();
}
