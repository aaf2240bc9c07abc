//! Lambda-style processing policies on paused time: batch size and batching window, retries given up on
//! into the on-failure destination, bisection isolating a poison record, maximum record age, partial
//! batch responses, filters and tumbling windows.

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex};
use std::time::{Duration, SystemTime};

use bytes::Bytes;
use kcl::checkpoint::ExtendedSequenceNumber;
use kcl::core::{
    async_trait, BatchItemFailure, BoxError, Checkpointer, FailedBatch, FailureCondition, FailureDestination,
    FilterCriteria, ProcessRecordsInput, ProcessingPolicy, ProcessorError, ShardRecordProcessor, Worker,
    WorkerHandle,
};
use kcl::emulator::types::PutRecordsRequestEntry;

use crate::support::*;

/// What the scripted processor saw.
#[derive(Default)]
struct Calls {
    /// Every call: the data of its records (empty for a window's final call).
    calls: Mutex<Vec<Vec<String>>>,
    /// Records of calls that returned `Ok` (or the part before a batch item failure), in order.
    processed: Mutex<Vec<String>>,
    /// Calls holding the poison record.
    poison_calls: Mutex<u32>,
    /// The last checkpoint as each call started.
    checkpoints_at_call: Mutex<Vec<ExtendedSequenceNumber>>,
    /// Final window calls: (window start, state).
    windows: Mutex<Vec<(SystemTime, Option<String>)>>,
    /// States seen at the start of each non-final window call: (window start, state).
    window_states: Mutex<Vec<(SystemTime, Option<String>)>>,
}

#[derive(Clone, Copy, Default)]
enum OnPoison {
    /// Fail the whole call.
    #[default]
    Fail,
    /// Report the poison record as the batch item failure.
    ReportItem,
}

struct Scripted {
    calls: Arc<Calls>,
    on_poison: OnPoison,
    /// Poison fails only this many calls (then heals); `u32::MAX` for ever.
    poison_failures: u32,
}

#[async_trait]
impl ShardRecordProcessor for Scripted {
    async fn process_records(
        &mut self,
        input: &ProcessRecordsInput,
        checkpointer: &Checkpointer,
    ) -> Result<(), ProcessorError> {
        let data: Vec<String> = input
            .records
            .iter()
            .map(|r| String::from_utf8_lossy(&r.data).into_owned())
            .collect();
        self.calls.calls.lock().unwrap().push(data.clone());
        self.calls
            .checkpoints_at_call
            .lock()
            .unwrap()
            .push(checkpointer.last_checkpoint());
        if let Some(window) = &input.tumbling_window {
            let state = window.state().map(|s| String::from_utf8_lossy(&s).into_owned());
            if window.is_final() {
                self.calls.windows.lock().unwrap().push((window.start(), state));
                return Ok(());
            }
            self.calls
                .window_states
                .lock()
                .unwrap()
                .push((window.start(), state.clone()));
            let sum: u64 = state.and_then(|s| s.parse().ok()).unwrap_or(0);
            window.set_state(Bytes::from((sum + data.len() as u64).to_string()));
        }
        if let Some(i) = data.iter().position(|d| d.contains("poison")) {
            let mut attempts = self.calls.poison_calls.lock().unwrap();
            *attempts += 1;
            if *attempts <= self.poison_failures {
                return match self.on_poison {
                    OnPoison::Fail => Err("poison record".into()),
                    OnPoison::ReportItem => {
                        self.calls
                            .processed
                            .lock()
                            .unwrap()
                            .extend(data[..i].iter().cloned());
                        Err(BatchItemFailure::at(&input.records[i])
                            .with_reason("poison")
                            .into())
                    }
                };
            }
        }
        self.calls.processed.lock().unwrap().extend(data);
        Ok(())
    }
}

/// Collects failed batches; fails its first `fail_first` sends.
#[derive(Default)]
struct Collect {
    batches: Mutex<Vec<FailedBatch>>,
    fail_first: Mutex<u32>,
    attempts: Mutex<u32>,
}

#[async_trait]
impl FailureDestination for Collect {
    async fn send(&self, batch: &FailedBatch) -> Result<(), BoxError> {
        *self.attempts.lock().unwrap() += 1;
        let mut fail = self.fail_first.lock().unwrap();
        if *fail > 0 {
            *fail -= 1;
            return Err("destination unavailable".into());
        }
        self.batches.lock().unwrap().push(batch.clone());
        Ok(())
    }
}

fn spawn(
    stream: &Stream,
    policy: ProcessingPolicy,
    calls: &Arc<Calls>,
    on_poison: OnPoison,
    poison_failures: u32,
    destination: Option<Arc<Collect>>,
) -> WorkerHandle {
    let calls = Arc::clone(calls);
    let factory = move |_: &str| {
        Box::new(Scripted {
            calls: Arc::clone(&calls),
            on_poison,
            poison_failures,
        }) as Box<dyn ShardRecordProcessor>
    };
    let cfg = config()
        .processing(policy)
        .processor_retry_backoff(kcl::core::Backoff::new(
            Duration::from_millis(100),
            Duration::from_millis(500),
        ))
        .jitter_seed(1)
        .build()
        .unwrap();
    let mut builder = Worker::builder(
        Arc::clone(&stream.store),
        Arc::clone(&stream.source),
        factory,
        "w",
    )
    .config(cfg);
    if let Some(d) = destination {
        builder = builder.on_failure(d);
    }
    let emulator = stream.emulator.clone();
    builder = builder.wall_clock(move || emulator.clock().now());
    builder.build().unwrap().spawn()
}

/// Puts records with these payloads, in order, under one partition key.
async fn put_data(stream: &Stream, data: &[String]) {
    for part in data.chunks(500) {
        stream
            .put(
                part.iter()
                    .map(|d| PutRecordsRequestEntry {
                        data: Bytes::from(d.clone()),
                        partition_key: "k".into(),
                        explicit_hash_key: None,
                    })
                    .collect(),
            )
            .await;
    }
}

fn numbered(prefix: &str, n: usize) -> Vec<String> {
    (0..n).map(|i| format!("{prefix}{i}")).collect()
}

async fn checkpoint_of(stream: &Stream) -> ExtendedSequenceNumber {
    let leases = stream.store.list().await.unwrap().leases;
    leases[0].checkpoint.clone()
}

#[tokio::test(start_paused = true)]
async fn batch_size_and_batching_window_shape_the_calls() {
    let stream = Stream::new(1).await;
    let calls = Arc::new(Calls::default());
    let policy = ProcessingPolicy::lambda()
        .batch_size(50)
        .maximum_batching_window(Duration::from_secs(5))
        .build()
        .unwrap();
    let worker = spawn(&stream, policy, &calls, OnPoison::Fail, 0, None);
    tokio::time::sleep(Duration::from_secs(5)).await;
    put_data(&stream, &numbered("a", 20)).await;
    tokio::time::sleep(Duration::from_secs(3)).await;
    assert!(
        calls.calls.lock().unwrap().is_empty(),
        "20 < 50 records wait for the window"
    );
    tokio::time::sleep(Duration::from_secs(4)).await;
    assert_eq!(
        calls.calls.lock().unwrap().len(),
        1,
        "the window delivered the partial batch"
    );
    assert_eq!(calls.calls.lock().unwrap()[0].len(), 20);
    put_data(&stream, &numbered("b", 120)).await;
    tokio::time::sleep(Duration::from_secs(10)).await;
    let sizes: Vec<usize> = calls.calls.lock().unwrap().iter().map(Vec::len).collect();
    assert_eq!(sizes, vec![20, 50, 50, 20]);
    let processed = calls.processed.lock().unwrap().clone();
    let expected: Vec<String> = numbered("a", 20).into_iter().chain(numbered("b", 120)).collect();
    assert_eq!(processed, expected, "every record once, in order");
    worker.shutdown().await.unwrap();
}

#[tokio::test(start_paused = true)]
async fn bisection_isolates_a_poison_record_and_processes_every_other_record_once() {
    let stream = Stream::new(1).await;
    let calls = Arc::new(Calls::default());
    let destination = Arc::new(Collect::default());
    let policy = ProcessingPolicy::lambda()
        .batch_size(16)
        .maximum_batching_window(Duration::from_secs(1))
        .bisect_batch_on_error(true)
        .maximum_retry_attempts(5)
        .build()
        .unwrap();
    let worker = spawn(
        &stream,
        policy,
        &calls,
        OnPoison::Fail,
        u32::MAX,
        Some(Arc::clone(&destination)),
    );
    tokio::time::sleep(Duration::from_secs(5)).await;
    let mut data = numbered("r", 16);
    data[7] = "poison".into();
    put_data(&stream, &data).await;
    put_data(&stream, &numbered("after", 4)).await;
    wait_until(Duration::from_secs(60), Duration::from_millis(100), || {
        calls.processed.lock().unwrap().len() == 19
    })
    .await
    .expect("every other record processed");
    let processed = calls.processed.lock().unwrap().clone();
    let expected: Vec<String> = data
        .iter()
        .filter(|d| *d != "poison")
        .cloned()
        .chain(numbered("after", 4))
        .collect();
    assert_eq!(processed, expected, "each good record exactly once, in order");
    // 16 -> 8 -> 4 -> 2 -> 1: four calls isolate it (log2 16), then its retries are spent.
    let poison_calls = *calls.poison_calls.lock().unwrap();
    assert_eq!(poison_calls, 6, "5 retries after the first failure");
    let sizes_with_poison: Vec<usize> = calls
        .calls
        .lock()
        .unwrap()
        .iter()
        .filter(|c| c.iter().any(|d| d == "poison"))
        .map(Vec::len)
        .collect();
    assert_eq!(sizes_with_poison, vec![16, 8, 4, 2, 1, 1]);
    let batches = destination.batches.lock().unwrap().clone();
    assert_eq!(batches.len(), 1, "{batches:?}");
    let failed = &batches[0];
    assert_eq!(failed.condition, FailureCondition::RetryAttemptsExhausted);
    assert_eq!(failed.batch_size, 1);
    assert_eq!(failed.start_sequence_number, failed.end_sequence_number);
    assert_eq!(failed.invoke_count, 6);
    assert!(
        failed.error.as_deref().unwrap_or("").contains("poison record"),
        "{failed:?}"
    );
    assert!(failed.approximate_arrival_of_first_record.is_some());
    // The shard moved on: the checkpoint is past the poison record.
    tokio::time::sleep(Duration::from_secs(2)).await;
    let records = stream_records(&stream).await;
    assert_eq!(checkpoint_of(&stream).await, records.last().unwrap().1.clone());
    let poison_seq = &records.iter().find(|(d, _)| d == "poison").unwrap().1;
    assert_eq!(&failed.start_sequence_number, &sequence_string(poison_seq));
    worker.shutdown().await.unwrap();
}

#[tokio::test(start_paused = true)]
async fn exhausted_retries_send_exactly_the_failed_batch_and_a_failing_destination_blocks_the_shard() {
    let stream = Stream::new(1).await;
    let calls = Arc::new(Calls::default());
    let destination = Arc::new(Collect {
        fail_first: Mutex::new(3),
        ..Collect::default()
    });
    let policy = ProcessingPolicy::lambda()
        .batch_size(10)
        .maximum_batching_window(Duration::from_secs(1))
        .maximum_retry_attempts(2)
        .build()
        .unwrap();
    let worker = spawn(
        &stream,
        policy,
        &calls,
        OnPoison::Fail,
        u32::MAX,
        Some(Arc::clone(&destination)),
    );
    tokio::time::sleep(Duration::from_secs(5)).await;
    let mut data = numbered("r", 30);
    data[14] = "poison".into();
    put_data(&stream, &data).await;
    wait_until(Duration::from_secs(60), Duration::from_millis(100), || {
        calls.processed.lock().unwrap().len() == 20
    })
    .await
    .expect("the batches around the failed one are processed");
    assert_eq!(
        *calls.poison_calls.lock().unwrap(),
        3,
        "the first call and 2 retries"
    );
    assert_eq!(
        *destination.attempts.lock().unwrap(),
        4,
        "3 failed sends, then accepted"
    );
    let records = stream_records(&stream).await;
    let batches = destination.batches.lock().unwrap().clone();
    assert_eq!(batches.len(), 1);
    let failed = &batches[0];
    assert_eq!(failed.condition, FailureCondition::RetryAttemptsExhausted);
    assert_eq!(failed.batch_size, 10);
    assert_eq!(failed.shard_id, "shardId-000000000000");
    assert_eq!(failed.start_sequence_number, sequence_string(&records[10].1));
    assert_eq!(failed.end_sequence_number, sequence_string(&records[19].1));
    assert_eq!(failed.invoke_count, 3);
    assert_eq!(failed.worker_id, "w");
    assert!(failed.records.is_none(), "metadata only, as Lambda");
    let processed = calls.processed.lock().unwrap().clone();
    let expected: Vec<String> = data[..10].iter().chain(&data[20..]).cloned().collect();
    assert_eq!(
        processed, expected,
        "the batch after the failed one waited for the destination, then ran once"
    );
    tokio::time::sleep(Duration::from_secs(2)).await;
    assert_eq!(checkpoint_of(&stream).await, records[29].1);
    worker.shutdown().await.unwrap();
}

#[tokio::test(start_paused = true)]
async fn records_older_than_the_maximum_age_go_to_the_destination_unprocessed() {
    let stream = Stream::new(1).await;
    let calls = Arc::new(Calls::default());
    let destination = Arc::new(Collect::default());
    put_data(&stream, &numbered("old", 25)).await;
    tokio::time::sleep(Duration::from_secs(90)).await;
    put_data(&stream, &numbered("new", 5)).await;
    let policy = ProcessingPolicy::lambda()
        .maximum_record_age(Duration::from_secs(60))
        .build()
        .unwrap();
    let worker = spawn(
        &stream,
        policy,
        &calls,
        OnPoison::Fail,
        0,
        Some(Arc::clone(&destination)),
    );
    wait_until(Duration::from_secs(30), Duration::from_millis(100), || {
        calls.processed.lock().unwrap().len() == 5
    })
    .await
    .unwrap_or_else(|| {
        panic!(
            "the new records are processed: calls {:?}, sent {:?}",
            calls.calls.lock().unwrap(),
            destination.batches.lock().unwrap()
        )
    });
    assert_eq!(
        *calls.processed.lock().unwrap(),
        numbered("new", 5),
        "no old record reached the processor"
    );
    let batches = destination.batches.lock().unwrap().clone();
    assert_eq!(batches.len(), 1, "{batches:?}");
    assert_eq!(batches[0].condition, FailureCondition::RecordAgeExceeded);
    assert_eq!(batches[0].batch_size, 25);
    assert_eq!(batches[0].invoke_count, 0);
    worker.shutdown().await.unwrap();
}

#[tokio::test(start_paused = true)]
async fn a_partial_batch_response_checkpoints_before_the_reported_record_and_resumes_at_it() {
    partial_batch_response(false).await;
}

#[tokio::test(start_paused = true)]
async fn with_bisection_too_a_partial_batch_response_resumes_at_the_reported_record_unsplit() {
    partial_batch_response(true).await;
}

async fn partial_batch_response(bisect: bool) {
    let stream = Stream::new(1).await;
    let calls = Arc::new(Calls::default());
    let policy = ProcessingPolicy::lambda()
        .batch_size(10)
        .maximum_batching_window(Duration::from_secs(1))
        .report_batch_item_failures(true)
        .bisect_batch_on_error(bisect)
        .build()
        .unwrap();
    let worker = spawn(&stream, policy, &calls, OnPoison::ReportItem, 1, None);
    tokio::time::sleep(Duration::from_secs(5)).await;
    let mut data = numbered("r", 10);
    data[6] = "poison".into();
    put_data(&stream, &data).await;
    wait_until(Duration::from_secs(30), Duration::from_millis(100), || {
        calls.processed.lock().unwrap().len() == 10
    })
    .await
    .expect("processed after the retry");
    assert_eq!(
        *calls.processed.lock().unwrap(),
        data,
        "each record once, in order"
    );
    let records = stream_records(&stream).await;
    let all_calls = calls.calls.lock().unwrap().clone();
    assert_eq!(all_calls.len(), 2);
    assert_eq!(
        all_calls[1],
        data[6..].to_vec(),
        "the retry starts at the reported record"
    );
    let at_call = calls.checkpoints_at_call.lock().unwrap().clone();
    assert_eq!(
        at_call[1], records[5].1,
        "the records before it were checkpointed"
    );
    tokio::time::sleep(Duration::from_secs(2)).await;
    assert_eq!(checkpoint_of(&stream).await, records[9].1);
    worker.shutdown().await.unwrap();
}

#[tokio::test(start_paused = true)]
async fn filters_deliver_only_matching_records_and_checkpoint_past_the_others() {
    let stream = Stream::new(1).await;
    let calls = Arc::new(Calls::default());
    let filters = FilterCriteria::new([
        r#"{"data": {"kind": ["keep"]}}"#,
        r#"{"data": {"amount": [{"numeric": [">", 100]}]}}"#,
    ])
    .unwrap();
    let policy = ProcessingPolicy::lambda().filters(filters).build().unwrap();
    let worker = spawn(&stream, policy, &calls, OnPoison::Fail, 0, None);
    tokio::time::sleep(Duration::from_secs(5)).await;
    let data: Vec<String> = vec![
        r#"{"kind":"keep","id":1}"#.into(),
        r#"{"kind":"drop","id":2}"#.into(),
        "not json".into(),
        r#"{"kind":"drop","amount":500}"#.into(),
        r#"{"kind":"drop","amount":5}"#.into(),
        r#"{"kind":"keep","id":6}"#.into(),
        r#"{"kind":"drop","id":7}"#.into(),
    ];
    put_data(&stream, &data).await;
    tokio::time::sleep(Duration::from_secs(5)).await;
    let processed = calls.processed.lock().unwrap().clone();
    assert_eq!(processed, vec![data[0].clone(), data[3].clone(), data[5].clone()]);
    let records = stream_records(&stream).await;
    assert_eq!(
        checkpoint_of(&stream).await,
        records[6].1,
        "checkpointed past the filtered tail"
    );
    worker.shutdown().await.unwrap();
}

#[tokio::test(start_paused = true)]
async fn tumbling_window_state_flows_within_a_window_and_resets_at_its_end() {
    let stream = Stream::new(1).await;
    let calls = Arc::new(Calls::default());
    let policy = ProcessingPolicy::lambda()
        .batch_size(4)
        .tumbling_window(Duration::from_secs(60))
        .build()
        .unwrap();
    let worker = spawn(&stream, policy, &calls, OnPoison::Fail, 0, None);
    tokio::time::sleep(Duration::from_secs(5)).await;
    // Three bursts in three different windows: 10, 7 and 3 records.
    let mut windows_expected = Vec::new();
    for (burst, n) in [10usize, 7, 3].into_iter().enumerate() {
        put_data(&stream, &numbered(&format!("w{burst}-"), n)).await;
        windows_expected.push(n);
        tokio::time::sleep(Duration::from_secs(61)).await;
    }
    tokio::time::sleep(Duration::from_secs(61)).await;
    let windows = calls.windows.lock().unwrap().clone();
    let totals: Vec<usize> = windows
        .iter()
        .map(|(_, s)| s.as_deref().unwrap_or("0").parse().unwrap())
        .collect();
    assert_eq!(
        totals, windows_expected,
        "one final call per window, with the window's sum: {windows:?}"
    );
    let starts: Vec<SystemTime> = windows.iter().map(|(s, _)| *s).collect();
    assert!(starts.windows(2).all(|w| w[0] < w[1]), "{starts:?}");
    // Each window's first call starts from no state; later calls see the running sum.
    let mut per_window: BTreeMap<SystemTime, Vec<Option<String>>> = BTreeMap::new();
    for (start, state) in calls.window_states.lock().unwrap().iter() {
        per_window.entry(*start).or_default().push(state.clone());
    }
    for states in per_window.values() {
        assert_eq!(states[0], None, "a window starts empty: {per_window:?}");
    }
    assert_eq!(
        per_window.values().next().unwrap(),
        &vec![None, Some("4".to_owned()), Some("8".to_owned())]
    );
    // Checkpointed at the end of the last window.
    let records = stream_records(&stream).await;
    assert_eq!(checkpoint_of(&stream).await, records.last().unwrap().1);
    worker.shutdown().await.unwrap();
}

/// Every record of the (single) shard, as (data, position).
async fn stream_records(stream: &Stream) -> Vec<(String, ExtendedSequenceNumber)> {
    let mut reader = stream.source.open_reader(kcl::core::ReadRequest::new(
        "shardId-000000000000",
        kcl::core::IteratorPosition::TrimHorizon,
    ));
    kcl::core::source::read_available(reader.as_mut())
        .await
        .unwrap()
        .into_iter()
        .map(|r| {
            (
                String::from_utf8_lossy(&r.data).into_owned(),
                r.extended_sequence_number(),
            )
        })
        .collect()
}

fn sequence_string(position: &ExtendedSequenceNumber) -> String {
    match position {
        ExtendedSequenceNumber::Sequence { sequence, .. } => sequence.to_string(),
        other => panic!("not a record position: {other:?}"),
    }
}
