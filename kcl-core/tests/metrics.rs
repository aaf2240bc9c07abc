//! The worker's metrics, observed through a small in-test recorder, with a hand-written `RecordSource`
//! (which also shows the trait is easy to implement for tests).

use std::collections::HashMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use async_trait::async_trait;
use kcl_checkpoint::{InMemoryLeaseStore, LeaseStore, SequenceNumber};
use kcl_core::{
    metrics as m, Checkpointer, Error, GetRecordsOutput, InitialPosition, IteratorPosition, PollingReader,
    ProcessRecordsInput, ProcessorError, ReadRequest, Record, RecordSource, ShardDescription, ShardFilter,
    ShardIteratorApi, ShardReader, ShardRecordProcessor, Worker, WorkerConfig,
};
use metrics::{Counter, CounterFn, Gauge, GaugeFn, Histogram, HistogramFn, Key, KeyName, Metadata, Recorder};

/// Keeps the last value of every counter and gauge, by name (labels ignored, values summed), and by name
/// and `stream` label.
#[derive(Default, Debug)]
struct TestRecorder {
    values: Mutex<HashMap<String, Arc<Cell>>>,
    by_stream: Mutex<HashMap<(String, String), Arc<Cell>>>,
}

/// Writes go to every cell (the metric's by name, and by name and stream).
#[derive(Debug)]
struct Tee(Vec<Arc<Cell>>);

impl CounterFn for Tee {
    fn increment(&self, value: u64) {
        self.0.iter().for_each(|c| CounterFn::increment(&**c, value));
    }
    fn absolute(&self, value: u64) {
        self.0.iter().for_each(|c| c.absolute(value));
    }
}

impl GaugeFn for Tee {
    fn increment(&self, value: f64) {
        self.0.iter().for_each(|c| GaugeFn::increment(&**c, value));
    }
    fn decrement(&self, value: f64) {
        self.0.iter().for_each(|c| c.decrement(value));
    }
    fn set(&self, value: f64) {
        self.0.iter().for_each(|c| c.set(value));
    }
}

impl HistogramFn for Tee {
    fn record(&self, _value: f64) {}
}

#[derive(Default, Debug)]
struct Cell(AtomicU64);

impl CounterFn for Cell {
    fn increment(&self, value: u64) {
        self.0.fetch_add(value, Ordering::SeqCst);
    }
    fn absolute(&self, value: u64) {
        self.0.store(value, Ordering::SeqCst);
    }
}

impl GaugeFn for Cell {
    fn increment(&self, value: f64) {
        self.0.fetch_add(value as u64, Ordering::SeqCst);
    }
    fn decrement(&self, value: f64) {
        self.0.fetch_sub(value as u64, Ordering::SeqCst);
    }
    fn set(&self, value: f64) {
        self.0.store(value as u64, Ordering::SeqCst);
    }
}

impl HistogramFn for Cell {
    fn record(&self, _value: f64) {}
}

impl TestRecorder {
    fn cell(&self, key: &Key) -> Arc<Tee> {
        let mut cells = {
            let mut values = self.values.lock().unwrap();
            vec![Arc::clone(values.entry(key.name().to_owned()).or_default())]
        };
        if let Some(stream) = key.labels().find(|l| l.key() == "stream") {
            let mut by_stream = self.by_stream.lock().unwrap();
            let at = (key.name().to_owned(), stream.value().to_owned());
            cells.push(Arc::clone(by_stream.entry(at).or_default()));
        }
        Arc::new(Tee(cells))
    }

    fn get_for(&self, name: &str, stream: &str) -> u64 {
        self.by_stream
            .lock()
            .unwrap()
            .get(&(name.to_owned(), stream.to_owned()))
            .map_or(0, |c| c.0.load(Ordering::SeqCst))
    }

    fn get(&self, name: &str) -> u64 {
        self.values
            .lock()
            .unwrap()
            .get(name)
            .map_or(0, |c| c.0.load(Ordering::SeqCst))
    }
}

impl Recorder for TestRecorder {
    fn describe_counter(&self, _: KeyName, _: Option<metrics::Unit>, _: metrics::SharedString) {}
    fn describe_gauge(&self, _: KeyName, _: Option<metrics::Unit>, _: metrics::SharedString) {}
    fn describe_histogram(&self, _: KeyName, _: Option<metrics::Unit>, _: metrics::SharedString) {}
    fn register_counter(&self, key: &Key, _: &Metadata<'_>) -> Counter {
        Counter::from_arc(self.cell(key))
    }
    fn register_gauge(&self, key: &Key, _: &Metadata<'_>) -> Gauge {
        Gauge::from_arc(self.cell(key))
    }
    fn register_histogram(&self, key: &Key, _: &Metadata<'_>) -> Histogram {
        Histogram::from_arc(self.cell(key))
    }
}

/// One open shard with ten records; the first GetRecords is throttled.
#[derive(Debug, Default, Clone)]
struct FakeSource {
    calls: Arc<AtomicU64>,
}

#[async_trait]
impl RecordSource for FakeSource {
    async fn list_shards(&self, _: &ShardFilter) -> Result<Vec<ShardDescription>, Error> {
        Ok(vec![ShardDescription::new("shard-0")])
    }

    fn open_reader(&self, request: ReadRequest) -> Box<dyn ShardReader> {
        Box::new(PollingReader::new(self.clone(), request))
    }
}

#[async_trait]
impl ShardIteratorApi for FakeSource {
    async fn get_shard_iterator(&self, _: &str, position: &IteratorPosition) -> Result<String, Error> {
        Ok(match position {
            IteratorPosition::AfterSequence(s) => format!("after-{s}"),
            _ => "start".to_owned(),
        })
    }

    async fn get_records(&self, _: &str, iterator: &str, _: usize) -> Result<GetRecordsOutput, Error> {
        if self.calls.fetch_add(1, Ordering::SeqCst) == 0 {
            return Err(Error::Throttled {
                operation: "GetRecords",
                source: None,
            });
        }
        let records = if iterator == "start" {
            (1..=10u128)
                .map(|n| Record::new(vec![b'x'; 90], format!("key-{n}"), SequenceNumber::from(n)))
                .collect()
        } else {
            Vec::new()
        };
        let mut out = GetRecordsOutput::new(records, Some("after-10".to_owned()));
        out.millis_behind_latest = Some(if iterator == "start" { 1_500 } else { 0 });
        Ok(out)
    }
}

struct Checkpointing;

#[async_trait]
impl ShardRecordProcessor for Checkpointing {
    async fn process_records(
        &mut self,
        input: &ProcessRecordsInput,
        checkpointer: &Checkpointer,
    ) -> Result<(), ProcessorError> {
        if !input.records.is_empty() {
            checkpointer.checkpoint().await?;
        }
        Ok(())
    }
}

#[test]
fn the_worker_counts_records_bytes_leases_and_throttles() {
    let recorder = TestRecorder::default();
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_time()
        .start_paused(true)
        .build()
        .unwrap();
    metrics::with_local_recorder(&recorder, || {
        runtime.block_on(async {
            let store: Arc<dyn LeaseStore> = Arc::new(InMemoryLeaseStore::new());
            let config = WorkerConfig::builder()
                .initial_position(InitialPosition::TrimHorizon)
                .build()
                .unwrap();
            let factory = |_: &str| Box::new(Checkpointing) as Box<dyn ShardRecordProcessor>;
            let handle = Worker::builder(store, Arc::new(FakeSource::default()), factory, "w")
                .config(config)
                .build()
                .unwrap()
                .spawn();
            tokio::time::sleep(Duration::from_secs(10)).await;
            assert_eq!(recorder.get(m::LEASES_HELD), 1);
            handle.shutdown().await.unwrap();
        });
    });
    assert_eq!(recorder.get(m::RECORDS_PROCESSED), 10);
    assert_eq!(
        recorder.get(m::BYTES_PROCESSED),
        10 * 90 + (1..=10).map(|n| format!("key-{n}").len() as u64).sum::<u64>()
    );
    assert_eq!(recorder.get(m::LEASES_CREATED), 1);
    assert_eq!(recorder.get(m::LEASES_TAKEN), 1);
    assert_eq!(recorder.get(m::THROTTLES), 1);
    assert_eq!(
        recorder.get(m::MILLIS_BEHIND_LATEST),
        0,
        "caught up after the first batch"
    );
    assert_eq!(recorder.get(m::LEASES_HELD), 0, "released at shutdown");
    assert_eq!(recorder.get(m::LEASES_LOST), 0);
}

#[test]
fn a_multi_stream_worker_labels_record_metrics_with_the_stream() {
    use kcl_checkpoint::StreamIdentifier;
    use kcl_core::multi_stream::{MultiStreamSource, StreamConfig, StreamSet};

    let recorder = TestRecorder::default();
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_time()
        .start_paused(true)
        .build()
        .unwrap();
    metrics::with_local_recorder(&recorder, || {
        runtime.block_on(async {
            let store: Arc<dyn LeaseStore> = Arc::new(InMemoryLeaseStore::new());
            let streams = StreamSet::new();
            for name in ["orders", "payments"] {
                let stream = StreamIdentifier {
                    account_id: "123456789012".into(),
                    stream_name: name.into(),
                    creation_epoch: 1,
                };
                let factory = |_: &str| Box::new(Checkpointing) as Box<dyn ShardRecordProcessor>;
                streams.add(StreamConfig::new(
                    stream,
                    Arc::new(FakeSource::default()),
                    factory,
                ));
            }
            let config = WorkerConfig::builder()
                .initial_position(InitialPosition::TrimHorizon)
                .build()
                .unwrap();
            let multi = Arc::new(MultiStreamSource::new(streams));
            let handle = Worker::builder_multi_stream(store, multi, "w")
                .config(config)
                .build()
                .unwrap()
                .spawn();
            tokio::time::sleep(Duration::from_secs(10)).await;
            handle.shutdown().await.unwrap();
        });
    });
    assert_eq!(recorder.get(m::RECORDS_PROCESSED), 20);
    assert_eq!(recorder.get_for(m::RECORDS_PROCESSED, "orders"), 10);
    assert_eq!(recorder.get_for(m::RECORDS_PROCESSED, "payments"), 10);
    let bytes = 10 * 90 + (1..=10).map(|n| format!("key-{n}").len() as u64).sum::<u64>();
    assert_eq!(recorder.get_for(m::BYTES_PROCESSED, "orders"), bytes);
    assert_eq!(recorder.get_for(m::BYTES_PROCESSED, "payments"), bytes);
    assert_eq!(recorder.get(m::LEASES_CREATED), 2);
}
