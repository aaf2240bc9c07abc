//! A synthetic stream: records arrive at a fixed rate per shard, computed from the (virtual) clock rather
//! than stored, so 10,000 shards over 30 minutes cost no memory for records. Record `i` of a shard
//! (sequence number `i + 1`) arrives at `opened + i / rate`. Shards split and merge as Kinesis does: the
//! parent closes (its last record is the last that arrived before the reshard) and children open.

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex};

use bytes::Bytes;
use kcl_checkpoint::{HashKeyRange, SequenceNumber};
use kcl_core::source::{
    GetRecordsOutput, IteratorPosition, PollingReader, ReadRequest, RecordSource, ShardDescription,
    ShardFilter, ShardIteratorApi, ShardReader,
};
use kcl_core::{async_trait, ChildShard, Error, Record};
use tokio::time::Instant;

#[derive(Debug)]
struct Shard {
    parents: Vec<String>,
    range: HashKeyRange,
    rate: f64,
    opened: Instant,
    /// Records in the shard once closed.
    closed: Option<u64>,
    children: Vec<String>,
}

impl Shard {
    /// Records that have arrived by `now`.
    fn arrived(&self, now: Instant) -> u64 {
        if let Some(total) = self.closed {
            return total;
        }
        (self.rate * now.saturating_duration_since(self.opened).as_secs_f64()).floor() as u64
    }
}

#[derive(Debug, Default)]
struct Shards {
    shards: BTreeMap<String, Shard>,
    next_id: u64,
}

/// The synthetic stream (a [`RecordSource`] read by polling). Clones share the stream.
#[derive(Debug, Clone)]
pub struct SyntheticStream {
    inner: Arc<Mutex<Shards>>,
    payload: Bytes,
}

impl SyntheticStream {
    /// `rates.len()` open shards with these rates (records/s), evenly splitting the hash-key space, and
    /// records of `record_bytes` bytes each.
    pub fn new(rates: &[f64], record_bytes: usize) -> Self {
        let now = Instant::now();
        let n = rates.len().max(1) as u128;
        let step = u128::MAX / n;
        let mut shards = Shards::default();
        for (i, rate) in rates.iter().enumerate() {
            let start = step * i as u128;
            let end = if i as u128 == n - 1 {
                u128::MAX
            } else {
                start + step - 1
            };
            let id = shards.fresh_id();
            shards.shards.insert(
                id,
                Shard {
                    parents: Vec::new(),
                    range: HashKeyRange::new(start, end).expect("start <= end"),
                    rate: *rate,
                    opened: now,
                    closed: None,
                    children: Vec::new(),
                },
            );
        }
        SyntheticStream {
            inner: Arc::new(Mutex::new(shards)),
            payload: Bytes::from(vec![0u8; record_bytes]),
        }
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Shards> {
        self.inner.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Open shards with their rates, in hash-key order.
    pub fn open_shards(&self) -> Vec<(String, f64)> {
        let inner = self.lock();
        let mut open: Vec<(&String, &Shard)> =
            inner.shards.iter().filter(|(_, s)| s.closed.is_none()).collect();
        open.sort_by_key(|(_, s)| s.range.starting_hash_key);
        open.into_iter().map(|(id, s)| (id.clone(), s.rate)).collect()
    }

    /// The rate of every shard (closed ones: 0 once their last record is read, but they stay listed).
    pub fn rates(&self) -> BTreeMap<String, f64> {
        self.lock()
            .shards
            .iter()
            .map(|(id, s)| (id.clone(), if s.closed.is_some() { 0.0 } else { s.rate }))
            .collect()
    }

    /// Records that have arrived in each shard by now.
    pub fn arrived(&self) -> BTreeMap<String, u64> {
        let now = Instant::now();
        self.lock()
            .shards
            .iter()
            .map(|(id, s)| (id.clone(), s.arrived(now)))
            .collect()
    }

    /// Splits an open shard in two halves of its hash range and rate; returns the children.
    pub fn split(&self, shard_id: &str) -> Option<[String; 2]> {
        let now = Instant::now();
        let mut inner = self.lock();
        let parent = inner.shards.get(shard_id).filter(|s| s.closed.is_none())?;
        let (range, rate) = (parent.range, parent.rate);
        let mid = range.starting_hash_key + (range.ending_hash_key - range.starting_hash_key) / 2;
        let children = [inner.fresh_id(), inner.fresh_id()];
        let halves = [
            HashKeyRange::new(range.starting_hash_key, mid)?,
            HashKeyRange::new(mid + 1, range.ending_hash_key)?,
        ];
        for (id, half) in children.iter().zip(halves) {
            inner.shards.insert(
                id.clone(),
                Shard {
                    parents: vec![shard_id.to_owned()],
                    range: half,
                    rate: rate / 2.0,
                    opened: now,
                    closed: None,
                    children: Vec::new(),
                },
            );
        }
        let parent = inner.shards.get_mut(shard_id)?;
        parent.closed = Some(parent.arrived(now));
        parent.children = children.to_vec();
        Some(children)
    }

    /// Merges two adjacent open shards into one with both rates; returns the child.
    pub fn merge(&self, a: &str, b: &str) -> Option<String> {
        let now = Instant::now();
        let mut inner = self.lock();
        let (ra, rb) = {
            let sa = inner.shards.get(a).filter(|s| s.closed.is_none())?;
            let sb = inner.shards.get(b).filter(|s| s.closed.is_none())?;
            (sa.range, sb.range)
        };
        let (lo, hi) = if ra.starting_hash_key < rb.starting_hash_key {
            (ra, rb)
        } else {
            (rb, ra)
        };
        if lo.ending_hash_key.checked_add(1) != Some(hi.starting_hash_key) {
            return None;
        }
        let rate = inner.shards[a].rate + inner.shards[b].rate;
        let child = inner.fresh_id();
        inner.shards.insert(
            child.clone(),
            Shard {
                parents: vec![a.to_owned(), b.to_owned()],
                range: HashKeyRange::new(lo.starting_hash_key, hi.ending_hash_key)?,
                rate,
                opened: now,
                closed: None,
                children: Vec::new(),
            },
        );
        for id in [a, b] {
            let s = inner.shards.get_mut(id)?;
            s.closed = Some(s.arrived(now));
            s.children = vec![child.clone()];
        }
        Some(child)
    }
}

impl Shards {
    fn fresh_id(&mut self) -> String {
        let id = format!("shardId-{:012}", self.next_id);
        self.next_id += 1;
        id
    }
}

fn not_found(operation: &'static str, shard_id: &str) -> Error {
    Error::ResourceNotFound {
        operation,
        resource: format!("shard {shard_id} of the synthetic stream"),
    }
}

fn bad_iterator(iterator: &str) -> Error {
    Error::Source {
        operation: "GetRecords",
        code: "InvalidArgumentException".into(),
        message: format!("invalid shard iterator {iterator:?}"),
        retryable: false,
        source: None,
    }
}

#[async_trait]
impl RecordSource for SyntheticStream {
    async fn list_shards(&self, filter: &ShardFilter) -> kcl_core::Result<Vec<ShardDescription>> {
        let inner = self.lock();
        Ok(inner
            .shards
            .iter()
            .filter(|(_, s)| !matches!(filter, ShardFilter::AtLatest) || s.closed.is_none())
            .map(|(id, s)| {
                let mut d = ShardDescription::new(id.clone())
                    .with_parents(s.parents.first().cloned(), s.parents.get(1).cloned());
                d.hash_key_range = Some(s.range);
                match s.closed {
                    Some(total) => d.closed(total.max(1).to_string()),
                    None => d,
                }
            })
            .collect())
    }

    fn open_reader(&self, request: ReadRequest) -> Box<dyn ShardReader> {
        Box::new(PollingReader::new(self.clone(), request))
    }
}

#[async_trait]
impl ShardIteratorApi for SyntheticStream {
    async fn get_shard_iterator(
        &self,
        shard_id: &str,
        position: &IteratorPosition,
    ) -> kcl_core::Result<String> {
        let now = Instant::now();
        let inner = self.lock();
        let shard = inner
            .shards
            .get(shard_id)
            .ok_or_else(|| not_found("GetShardIterator", shard_id))?;
        let seq = |s: &SequenceNumber| s.as_str().parse::<u64>().unwrap_or(0);
        let next = match position {
            IteratorPosition::TrimHorizon => 0,
            IteratorPosition::Latest => shard.arrived(now),
            IteratorPosition::AtSequence(s) => seq(s).saturating_sub(1),
            IteratorPosition::AfterSequence(s) => seq(s),
            IteratorPosition::AtTimestamp(_) => 0,
            _ => 0,
        };
        Ok(format!("{shard_id}/{next}"))
    }

    async fn get_records(
        &self,
        shard_id: &str,
        iterator: &str,
        limit: usize,
    ) -> kcl_core::Result<GetRecordsOutput> {
        let now = Instant::now();
        let (id, next) = iterator.rsplit_once('/').ok_or_else(|| bad_iterator(iterator))?;
        let next: u64 = next.parse().map_err(|_| bad_iterator(iterator))?;
        if id != shard_id {
            return Err(bad_iterator(iterator));
        }
        let (arrived, rate, closed, children) = {
            let inner = self.lock();
            let shard = inner
                .shards
                .get(shard_id)
                .ok_or_else(|| not_found("GetRecords", shard_id))?;
            let children: Vec<ChildShard> = shard
                .children
                .iter()
                .map(|c| {
                    let child = &inner.shards[c];
                    ChildShard::new(c.clone(), child.parents.clone(), Some(child.range))
                })
                .collect();
            (shard.arrived(now), shard.rate, shard.closed.is_some(), children)
        };
        let end = arrived.min(next.saturating_add(limit as u64));
        let records: Vec<Record> = (next..end)
            .map(|i| {
                let seq = SequenceNumber::new((i + 1).to_string()).expect("digits");
                Record::new(self.payload.clone(), "k", seq)
            })
            .collect();
        let at_end = closed && end >= arrived;
        let mut out = GetRecordsOutput::new(records, (!at_end).then(|| format!("{shard_id}/{end}")));
        out.millis_behind_latest = Some(if rate > 0.0 {
            ((arrived - end) as f64 / rate * 1000.0) as u64
        } else {
            0
        });
        if at_end {
            out.child_shards = children;
        }
        Ok(out)
    }
}
