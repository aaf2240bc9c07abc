//! [`PollingReader`]: a [`ShardReader`] over the GetShardIterator/GetRecords pair ([`ShardIteratorApi`]).
//!
//! The reader keeps the iterator and the position just after the last record it returned. It reads again
//! at once after a read that returned records (a record arriving meanwhile waits no idle time) and waits
//! [`idle_time_between_reads`](super::ReadRequest::idle_time_between_reads) after an empty one, counted
//! from when that read returned. Either way it makes at most
//! [`max_reads_per_second`](super::ReadRequest::max_reads_per_second) calls a second (a token bucket as
//! large as the rate, so the per-shard limit of Kinesis, 5, is never exceeded by the reader itself and
//! its reads are not throttled for it). An expired iterator is replaced by one after the last record returned, so
//! nothing is lost or repeated; a failure is returned with the position kept, and the next call carries on
//! from there (getting a new iterator first if the failed call was for one).

use std::fmt;
use std::sync::Arc;

use super::{IteratorPosition, ReadRequest, ShardBatch, ShardReader};
use crate::error::Result;
use crate::record::{ChildShard, Record};
use async_trait::async_trait;

/// The result of one GetRecords call.
#[derive(Clone, Debug, Default, PartialEq)]
#[non_exhaustive]
pub struct GetRecordsOutput {
    /// The records, in sequence order (possibly none).
    pub records: Vec<Record>,
    /// The iterator for the next call; `None` once a closed shard has been read to its end.
    pub next_iterator: Option<String>,
    /// How far behind the newest record of the shard this read is, in milliseconds.
    pub millis_behind_latest: Option<u64>,
    /// At the end of a closed shard: its children.
    pub child_shards: Vec<ChildShard>,
}

impl GetRecordsOutput {
    /// An output (for tests and custom sources).
    pub fn new(records: Vec<Record>, next_iterator: Option<String>) -> Self {
        GetRecordsOutput {
            records,
            next_iterator,
            millis_behind_latest: None,
            child_shards: Vec::new(),
        }
    }
}

/// The two Kinesis calls a polling reader makes, for one stream.
#[async_trait]
pub trait ShardIteratorApi: Send + Sync + fmt::Debug {
    /// A shard iterator at `position`.
    ///
    /// # Errors
    ///
    /// As [`RecordSource::list_shards`](super::RecordSource::list_shards).
    async fn get_shard_iterator(&self, shard_id: &str, position: &IteratorPosition) -> Result<String>;

    /// Up to `limit` records from `iterator`.
    ///
    /// # Errors
    ///
    /// [`Error::ExpiredIterator`](crate::Error::ExpiredIterator) when the iterator is too old; otherwise as
    /// [`RecordSource::list_shards`](super::RecordSource::list_shards).
    async fn get_records(&self, shard_id: &str, iterator: &str, limit: usize) -> Result<GetRecordsOutput>;
}

#[async_trait]
impl<T: ShardIteratorApi + ?Sized> ShardIteratorApi for Arc<T> {
    async fn get_shard_iterator(&self, shard_id: &str, position: &IteratorPosition) -> Result<String> {
        (**self).get_shard_iterator(shard_id, position).await
    }

    async fn get_records(&self, shard_id: &str, iterator: &str, limit: usize) -> Result<GetRecordsOutput> {
        (**self).get_records(shard_id, iterator, limit).await
    }
}

/// Reads one shard with GetShardIterator/GetRecords: at once after a read that returned records,
/// [`idle_time_between_reads`](super::ReadRequest::idle_time_between_reads) after an empty one, at most
/// [`max_reads_per_second`](super::ReadRequest::max_reads_per_second) times a second; an expired iterator
/// is renewed after the last record returned.
#[derive(Debug)]
pub struct PollingReader<A> {
    api: A,
    request: ReadRequest,
    /// Where a new iterator starts: after the last record returned, else the request's start.
    position: IteratorPosition,
    iterator: Option<String>,
    /// After an empty read: no read before this instant.
    idle_until: Option<tokio::time::Instant>,
    pacer: Pacer,
    ended: bool,
}

/// A token bucket of GetRecords calls: `rate` tokens at most, `rate` more a second.
#[derive(Debug)]
struct Pacer {
    rate: f64,
    tokens: f64,
    at: tokio::time::Instant,
}

impl Pacer {
    fn new(rate: u32) -> Self {
        Pacer {
            rate: f64::from(rate),
            tokens: f64::from(rate),
            at: tokio::time::Instant::now(),
        }
    }

    /// Waits until a call may be made and counts it.
    async fn call(&mut self) {
        if self.rate <= 0.0 {
            return;
        }
        let now = tokio::time::Instant::now();
        self.tokens = (self.tokens + (now - self.at).as_secs_f64() * self.rate).min(self.rate);
        self.at = now;
        if self.tokens < 1.0 {
            let wait = std::time::Duration::from_secs_f64((1.0 - self.tokens) / self.rate);
            tokio::time::sleep(wait).await;
            self.at = tokio::time::Instant::now();
            self.tokens = 1.0;
        }
        self.tokens -= 1.0;
    }
}

impl<A: ShardIteratorApi> PollingReader<A> {
    /// A reader of `request.shard_id` through `api`; makes no call until the first batch is asked for.
    pub fn new(api: A, request: ReadRequest) -> Self {
        PollingReader {
            api,
            position: request.start.clone(),
            pacer: Pacer::new(request.max_reads_per_second),
            request,
            iterator: None,
            idle_until: None,
            ended: false,
        }
    }

    async fn iterator(&mut self) -> Result<String> {
        if let Some(it) = &self.iterator {
            return Ok(it.clone());
        }
        let it = self
            .api
            .get_shard_iterator(&self.request.shard_id, &self.position)
            .await?;
        self.iterator = Some(it.clone());
        Ok(it)
    }

    /// One GetRecords call, renewing an expired iterator once.
    async fn read(&mut self) -> Result<GetRecordsOutput> {
        let limit = self.request.max_records.clamp(1, 10_000);
        let mut renewed = false;
        loop {
            let iterator = self.iterator().await?;
            self.pacer.call().await;
            match self
                .api
                .get_records(&self.request.shard_id, &iterator, limit)
                .await
            {
                Err(e) if e.is_expired_iterator() && !renewed => {
                    tracing::debug!("iterator expired; renewing it after the last record returned");
                    self.iterator = None;
                    renewed = true;
                }
                Err(e) => {
                    if e.is_expired_iterator() {
                        self.iterator = None;
                    }
                    return Err(e);
                }
                Ok(out) => return Ok(out),
            }
        }
    }
}

#[async_trait]
impl<A: ShardIteratorApi> ShardReader for PollingReader<A> {
    async fn next_batch(&mut self) -> Result<ShardBatch> {
        if self.ended {
            return Ok(ShardBatch::shard_end(Vec::new(), Vec::new()));
        }
        if let Some(at) = self.idle_until {
            tokio::time::sleep_until(at).await;
            self.idle_until = None;
        }
        let out = self.read().await?;
        if let Some(last) = out.records.last() {
            self.position = IteratorPosition::AfterSequence(last.sequence_number.clone());
        }
        self.iterator = out.next_iterator;
        self.ended = self.iterator.is_none();
        if out.records.is_empty() && !self.ended {
            self.idle_until = Some(tokio::time::Instant::now() + self.request.idle_time_between_reads);
        }
        Ok(ShardBatch {
            records: out.records,
            millis_behind_latest: out.millis_behind_latest,
            at_shard_end: self.ended,
            child_shards: out.child_shards,
        })
    }
}

#[cfg(test)]
mod tests {
    use std::collections::VecDeque;
    use std::sync::Mutex;
    use std::time::Duration;

    use kcl_checkpoint::SequenceNumber;
    use tokio::time::Instant;

    use super::*;
    use crate::error::Error;

    /// Answers GetRecords from a script and logs every call with its instant.
    #[derive(Debug, Default)]
    struct Scripted {
        answers: Mutex<VecDeque<Result<GetRecordsOutput>>>,
        calls: Mutex<Vec<(Instant, String)>>,
    }

    impl Scripted {
        fn new(answers: Vec<Result<GetRecordsOutput>>) -> Arc<Self> {
            Arc::new(Scripted {
                answers: Mutex::new(answers.into()),
                calls: Mutex::default(),
            })
        }

        fn calls(&self) -> Vec<(Instant, String)> {
            self.calls.lock().unwrap().clone()
        }
    }

    #[async_trait]
    impl ShardIteratorApi for Scripted {
        async fn get_shard_iterator(&self, _: &str, position: &IteratorPosition) -> Result<String> {
            let it = format!("{position:?}");
            self.calls
                .lock()
                .unwrap()
                .push((Instant::now(), format!("iterator {it}")));
            Ok(it)
        }

        async fn get_records(&self, _: &str, iterator: &str, _: usize) -> Result<GetRecordsOutput> {
            self.calls
                .lock()
                .unwrap()
                .push((Instant::now(), format!("read {iterator}")));
            self.answers.lock().unwrap().pop_front().expect("script ran out")
        }
    }

    fn records(seqs: &[u128]) -> Vec<Record> {
        seqs.iter()
            .map(|&n| Record::new(vec![b'x'], "k", SequenceNumber::from(n)))
            .collect()
    }

    fn out(seqs: &[u128], next: &str) -> Result<GetRecordsOutput> {
        Ok(GetRecordsOutput::new(records(seqs), Some(next.to_owned())))
    }

    fn reader(api: &Arc<Scripted>, idle: Duration) -> PollingReader<Arc<Scripted>> {
        let request = ReadRequest::new("s", IteratorPosition::TrimHorizon).with_idle_time_between_reads(idle);
        PollingReader::new(Arc::clone(api), request)
    }

    #[tokio::test(start_paused = true)]
    async fn reads_again_at_once_after_records_and_waits_the_idle_time_only_after_an_empty_read() {
        let idle = Duration::from_millis(1_500);
        let api = Scripted::new(vec![
            out(&[1, 2], "i2"),
            out(&[], "i3"),
            out(&[3], "i4"),
            out(&[4], "i5"),
        ]);
        let mut reader = reader(&api, idle);
        let start = Instant::now();
        for _ in 0..4 {
            reader.next_batch().await.unwrap();
        }
        let reads: Vec<Duration> = api
            .calls()
            .iter()
            .filter(|(_, what)| what.starts_with("read"))
            .map(|(at, _)| *at - start)
            .collect();
        // After a batch with records the next read is immediate; after the empty one it waits `idle`.
        assert_eq!(reads, [Duration::ZERO, Duration::ZERO, idle, idle]);
    }

    #[tokio::test(start_paused = true)]
    async fn reads_are_paced_to_the_shard_limit_in_bursts_of_as_many() {
        let answers = (1..=12u128).map(|n| out(&[n], &format!("i{n}"))).collect();
        let api = Scripted::new(answers);
        let mut reader = reader(&api, Duration::from_secs(1));
        let start = Instant::now();
        for _ in 0..12 {
            reader.next_batch().await.unwrap();
        }
        let reads: Vec<u128> = api
            .calls()
            .iter()
            .filter(|(_, what)| what.starts_with("read"))
            .map(|(at, _)| (*at - start).as_millis())
            .collect();
        // Five at once (the bucket starts full), then one every 200 ms: never more than 5 in a second.
        assert_eq!(reads, [0, 0, 0, 0, 0, 200, 400, 600, 800, 1000, 1200, 1400]);
    }

    #[tokio::test(start_paused = true)]
    async fn an_expired_iterator_is_renewed_after_the_last_record_returned_and_failures_keep_the_place() {
        let api = Scripted::new(vec![
            out(&[1, 2, 3], "i4"),
            Err(Error::ExpiredIterator { shard_id: "s".into() }),
            out(&[4], "i5"),
            Err(Error::Throttled {
                operation: "GetRecords",
                source: None,
            }),
            Ok(GetRecordsOutput::new(records(&[5]), None)),
        ]);
        let mut reader = reader(&api, Duration::from_secs(1));
        assert_eq!(reader.next_batch().await.unwrap().records.len(), 3);
        // The expiry is handled inside the call: a new iterator after record 3, and record 4 read.
        let batch = reader.next_batch().await.unwrap();
        assert_eq!(batch.records[0].sequence_number, SequenceNumber::from(4u128));
        // A throttled read is returned; the next call reads from the same iterator again.
        assert!(reader.next_batch().await.unwrap_err().is_throttled());
        let last = reader.next_batch().await.unwrap();
        assert!(last.at_shard_end);
        assert_eq!(last.records[0].sequence_number, SequenceNumber::from(5u128));
        let after_3 = format!(
            "iterator {:?}",
            IteratorPosition::AfterSequence(SequenceNumber::from(3u128))
        );
        let calls: Vec<String> = api.calls().into_iter().map(|(_, what)| what).collect();
        assert_eq!(
            calls,
            [
                format!("iterator {:?}", IteratorPosition::TrimHorizon),
                format!("read {:?}", IteratorPosition::TrimHorizon),
                "read i4".to_owned(),
                after_3.clone(),
                format!("read {}", after_3.trim_start_matches("iterator ")),
                "read i5".to_owned(),
                "read i5".to_owned(),
            ]
        );
    }
}
