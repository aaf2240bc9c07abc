//! Checkpoint positions through a worker: two-phase checkpoints (prepared state reaches the next owner's
//! `initialize`), and the LATEST and AT_TIMESTAMP initial positions.

use std::collections::BTreeSet;
use std::sync::{Arc, Mutex};
use std::time::{Duration, SystemTime};

use crate::support::*;
use bytes::Bytes;
use kcl::checkpoint::{ExtendedSequenceNumber, LeaseKey};
use kcl::core::{
    async_trait, Checkpointer, InitialPosition, InitializationInput, ProcessRecordsInput, ProcessorError,
    ShardRecordProcessor, Worker,
};
use kcl::emulator::{Emulator, EmulatorConfig};

/// Prepares (never commits) a checkpoint at each batch's last record with the batch size as state; once
/// it was initialized with a pending checkpoint, commits that one instead.
struct Preparer {
    inits: Arc<Mutex<Vec<InitializationInput>>>,
    pending: Option<ExtendedSequenceNumber>,
    processed: Arc<Mutex<usize>>,
}

#[async_trait]
impl ShardRecordProcessor for Preparer {
    async fn initialize(&mut self, input: &InitializationInput) -> Result<(), ProcessorError> {
        self.inits.lock().unwrap().push(input.clone());
        self.pending.clone_from(&input.pending_checkpoint);
        Ok(())
    }

    async fn process_records(
        &mut self,
        input: &ProcessRecordsInput,
        checkpointer: &Checkpointer,
    ) -> Result<(), ProcessorError> {
        *self.processed.lock().unwrap() += input.records.len();
        if let Some(pending) = self.pending.take() {
            checkpointer.checkpoint_position(pending).await?;
            return Ok(());
        }
        if let Some(last) = input.records.last() {
            let state = Bytes::from(format!("batch of {}", input.records.len()));
            let prepared = checkpointer.prepare_checkpoint_record(last, Some(state)).await?;
            assert_eq!(*prepared.pending(), last.extended_sequence_number());
            // Deliberately not committed: the worker "crashes" before the second phase.
        }
        Ok(())
    }
}

#[tokio::test(start_paused = true)]
async fn a_prepared_checkpoint_and_its_state_reach_the_next_owners_initialize() {
    let stream = Stream::new(1).await;
    let inits = Arc::new(Mutex::new(Vec::new()));
    let processed = Arc::new(Mutex::new(0));
    let spawn = |id: &str| {
        let (inits, processed) = (Arc::clone(&inits), Arc::clone(&processed));
        let factory = move |_: &str| {
            Box::new(Preparer {
                inits: Arc::clone(&inits),
                pending: None,
                processed: Arc::clone(&processed),
            }) as Box<dyn ShardRecordProcessor>
        };
        Worker::builder(Arc::clone(&stream.store), Arc::clone(&stream.source), factory, id)
            .config(config().build().unwrap())
            .build()
            .unwrap()
            .spawn()
    };
    stream.produce(30, 3).await;
    let first = spawn("first");
    wait_until(Duration::from_secs(10), Duration::from_millis(50), || {
        *processed.lock().unwrap() == 30
    })
    .await
    .expect("first owner processed everything");
    let key = LeaseKey::new(first.leases().pop().unwrap());
    let lease = stream.store.get(&key).await.unwrap().unwrap();
    assert_eq!(lease.checkpoint, ExtendedSequenceNumber::TrimHorizon);
    let prepared = lease.pending_checkpoint.clone().expect("a pending checkpoint");
    assert!(matches!(prepared, ExtendedSequenceNumber::Sequence { .. }));
    first.abort().await;

    // The next owner (after the lease expires) sees the pending checkpoint and its state.
    let second = spawn("second");
    wait_until(Duration::from_secs(30), Duration::from_millis(100), || {
        inits.lock().unwrap().len() == 2
    })
    .await
    .expect("the second owner initialized");
    let init = inits.lock().unwrap()[1].clone();
    assert_eq!(init.checkpoint, ExtendedSequenceNumber::TrimHorizon);
    assert_eq!(init.pending_checkpoint, Some(prepared.clone()));
    assert_eq!(
        init.pending_checkpoint_state.as_deref(),
        lease.pending_checkpoint_state.as_deref()
    );
    assert!(init
        .pending_checkpoint_state
        .as_deref()
        .is_some_and(|s| s.starts_with(b"batch of ")));
    // It commits the pending position once the records up to it are delivered again.
    wait_until(Duration::from_secs(10), Duration::from_millis(50), || {
        *processed.lock().unwrap() >= 60
    })
    .await
    .expect("redelivered from the committed checkpoint");
    let lease = stream.store.get(&key).await.unwrap().unwrap();
    assert_eq!(lease.checkpoint, prepared);
    assert_eq!(lease.pending_checkpoint, None);
    second.shutdown().await.unwrap();
}

#[tokio::test(start_paused = true)]
async fn latest_skips_what_was_written_before_the_worker_started() {
    let stream = Stream::new(2).await;
    stream.produce(40, 8).await;
    let old = stream.produced();
    let log = Arc::new(Log::default());
    let cfg = config()
        .initial_position(InitialPosition::Latest)
        .build()
        .unwrap();
    let worker = stream.spawn_worker("w", cfg, &log, Behaviour::default());
    wait_until(Duration::from_secs(10), Duration::from_millis(50), || {
        let states = worker.shard_states();
        states.len() == 2
            && states
                .values()
                .all(|s| *s == kcl::core::ConsumerState::Processing)
    })
    .await
    .expect("both shards processing");
    tokio::time::sleep(Duration::from_secs(2)).await;
    assert_eq!(log.count(), 0, "records from before the start were delivered");

    stream.produce(40, 8).await;
    let new: BTreeSet<(String, u64)> = stream.produced().difference(&old).cloned().collect();
    wait_until(Duration::from_secs(10), Duration::from_millis(50), || {
        log.count() >= 40
    })
    .await
    .expect("new records delivered");
    tokio::time::sleep(Duration::from_secs(2)).await;
    let seen: BTreeSet<(String, u64)> = log.seen().into_iter().map(|s| (s.key, s.n)).collect();
    assert_eq!(seen, new);
    assert_no_duplicates(&log);
    worker.shutdown().await.unwrap();
}

#[tokio::test(start_paused = true)]
async fn at_timestamp_starts_at_the_first_record_written_at_or_after_it() {
    let t0 = SystemTime::UNIX_EPOCH + Duration::from_secs(1_800_000_000);
    let config_emu = EmulatorConfig::builder()
        .without_throughput_limits()
        .start_time(t0)
        .seed(7)
        .build()
        .unwrap();
    let stream = Stream::with_emulator(Emulator::new(config_emu), 2).await;
    stream.produce(40, 8).await;
    let old = stream.produced();
    tokio::time::advance(Duration::from_secs(3600)).await;
    stream.produce(40, 8).await;
    let new: BTreeSet<(String, u64)> = stream.produced().difference(&old).cloned().collect();

    let log = Arc::new(Log::default());
    let cfg = config()
        .initial_position(InitialPosition::AtTimestamp(t0 + Duration::from_secs(1800)))
        .build()
        .unwrap();
    let worker = stream.spawn_worker("w", cfg, &log, Behaviour::default());
    wait_until(Duration::from_secs(10), Duration::from_millis(50), || {
        log.count() >= 40
    })
    .await
    .expect("records after the timestamp delivered");
    tokio::time::sleep(Duration::from_secs(2)).await;
    let seen: BTreeSet<(String, u64)> = log.seen().into_iter().map(|s| (s.key, s.n)).collect();
    assert_eq!(seen, new, "exactly the records written after the timestamp");
    assert_no_duplicates(&log);
    worker.shutdown().await.unwrap();
}
