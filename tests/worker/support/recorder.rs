//! The recording processor: every record and lifecycle call it sees goes into a shared [`Log`]; a
//! [`Behaviour`] makes it fail, panic, refuse, hang or wait at a gate.

use std::sync::{Arc, Mutex};

use bytes::Bytes;
use kcl::core::{async_trait, Checkpointer, ProcessRecordsInput, ProcessorError, ShardRecordProcessor};

/// One record as a processor saw it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Seen {
    pub worker: String,
    pub shard: String,
    pub key: String,
    /// The producer's per-key counter (the payload is `key:counter`).
    pub n: u64,
    pub sequence: String,
    pub at: tokio::time::Instant,
}

/// Lifecycle events, for asserting call order.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Event {
    Initialized {
        worker: String,
        shard: String,
    },
    LeaseLost {
        worker: String,
        shard: String,
    },
    ShardEnded {
        worker: String,
        shard: String,
    },
    ShutdownRequested {
        worker: String,
        shard: String,
    },
    CheckpointFailed {
        worker: String,
        shard: String,
        lease_lost: bool,
    },
}

/// Everything processors recorded.
#[derive(Default, Debug)]
pub struct Log {
    pub seen: Mutex<Vec<Seen>>,
    pub events: Mutex<Vec<Event>>,
    pub poison_attempts: std::sync::atomic::AtomicU32,
}

impl Log {
    pub fn seen(&self) -> Vec<Seen> {
        self.seen.lock().unwrap().clone()
    }
    pub fn events(&self) -> Vec<Event> {
        self.events.lock().unwrap().clone()
    }
    pub fn count(&self) -> usize {
        self.seen.lock().unwrap().len()
    }
}

/// A recording processor with the default behaviour.
pub fn recorder(worker: &str, shard: &str, log: &Arc<Log>) -> Box<Recorder> {
    Box::new(Recorder::new(worker, shard, log, Behaviour::default()))
}

/// How a [`Recorder`] misbehaves.
#[derive(Clone, Default)]
pub struct Behaviour {
    /// Fail each batch this many times (alternating error and panic) before accepting it.
    pub fail_each_batch: u32,
    /// Fail every batch, always.
    pub always_fail: bool,
    /// Checkpoint in `shutdown_requested`.
    pub checkpoint_on_shutdown: bool,
    /// Return from `shard_ended` without checkpointing this many times first.
    pub shard_end_refusals: u32,
    /// Batches holding a record with this partition key always fail.
    pub poison_key: Option<String>,
    /// Before processing a batch, wait for this gate (a test opens it) - to hold a batch in flight.
    pub gate: Option<Arc<Gate>>,
    /// `shutdown_requested` never returns (a processor a shutdown deadline must cut off).
    pub hang_on_shutdown: bool,
}

/// A gate a processor waits on mid-batch.
#[derive(Default)]
pub struct Gate {
    pub entered: tokio::sync::Notify,
    pub open: tokio::sync::Notify,
    pub armed: std::sync::atomic::AtomicBool,
}

/// A processor that records everything and checkpoints after each batch.
pub struct Recorder {
    worker: String,
    shard: String,
    log: Arc<Log>,
    behaviour: Behaviour,
    attempts: u32,
}

fn parse(data: &Bytes) -> (String, u64) {
    let text = std::str::from_utf8(data).unwrap();
    let (key, n) = text.rsplit_once(':').unwrap();
    (key.to_owned(), n.parse().unwrap())
}

impl Recorder {
    /// A recorder for `shard` of `worker`, writing to `log`.
    pub fn new(worker: &str, shard: &str, log: &Arc<Log>, behaviour: Behaviour) -> Recorder {
        Recorder {
            worker: worker.to_owned(),
            shard: shard.to_owned(),
            log: Arc::clone(log),
            behaviour,
            attempts: 0,
        }
    }

    fn event(&self, make: impl FnOnce(String, String) -> Event) {
        self.log
            .events
            .lock()
            .unwrap()
            .push(make(self.worker.clone(), self.shard.clone()));
    }
}

#[async_trait]
impl ShardRecordProcessor for Recorder {
    async fn initialize(&mut self, _input: &kcl::core::InitializationInput) -> Result<(), ProcessorError> {
        self.event(|worker, shard| Event::Initialized { worker, shard });
        Ok(())
    }

    async fn process_records(
        &mut self,
        input: &ProcessRecordsInput,
        checkpointer: &Checkpointer,
    ) -> Result<(), ProcessorError> {
        if let Some(poison) = &self.behaviour.poison_key {
            if input.records.iter().any(|r| &r.partition_key == poison) {
                self.log
                    .poison_attempts
                    .fetch_add(1, std::sync::atomic::Ordering::SeqCst);
                return Err("poison record".into());
            }
        }
        if self.behaviour.always_fail && !input.records.is_empty() {
            return Err("always failing".into());
        }
        if self.attempts < self.behaviour.fail_each_batch && !input.records.is_empty() {
            self.attempts += 1;
            if self.attempts.is_multiple_of(2) {
                panic!("processor panic on attempt {}", self.attempts);
            }
            return Err(format!("transient failure {}", self.attempts).into());
        }
        self.attempts = 0;
        if let Some(gate) = &self.behaviour.gate {
            if gate.armed.swap(false, std::sync::atomic::Ordering::SeqCst) && !input.records.is_empty() {
                gate.entered.notify_one();
                gate.open.notified().await;
            }
        }
        {
            let now = tokio::time::Instant::now();
            let mut seen = self.log.seen.lock().unwrap();
            for r in &input.records {
                let (key, n) = parse(&r.data);
                assert_eq!(key, r.partition_key);
                seen.push(Seen {
                    worker: self.worker.clone(),
                    shard: self.shard.clone(),
                    key,
                    n,
                    sequence: r.sequence_number.to_string(),
                    at: now,
                });
            }
        }
        if !input.records.is_empty() {
            if let Err(e) = checkpointer.checkpoint().await {
                let lease_lost = e.is_lease_lost();
                self.event(|worker, shard| Event::CheckpointFailed {
                    worker,
                    shard,
                    lease_lost,
                });
            }
        }
        Ok(())
    }

    async fn lease_lost(&mut self) {
        self.event(|worker, shard| Event::LeaseLost { worker, shard });
    }

    async fn shard_ended(&mut self, checkpointer: &Checkpointer) -> Result<(), ProcessorError> {
        self.event(|worker, shard| Event::ShardEnded { worker, shard });
        if self.behaviour.shard_end_refusals > 0 {
            self.behaviour.shard_end_refusals -= 1;
            return Ok(());
        }
        checkpointer.checkpoint().await?;
        Ok(())
    }

    async fn shutdown_requested(&mut self, checkpointer: &Checkpointer) -> Result<(), ProcessorError> {
        self.event(|worker, shard| Event::ShutdownRequested { worker, shard });
        if self.behaviour.hang_on_shutdown {
            std::future::pending::<()>().await;
        }
        if self.behaviour.checkpoint_on_shutdown && checkpointer.largest_delivered().is_some() {
            checkpointer.checkpoint().await?;
        }
        Ok(())
    }
}
