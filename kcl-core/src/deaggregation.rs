//! KPL de-aggregation: one Kinesis record written by the Kinesis Producer Library may carry many user
//! records.
//!
//! An aggregated record is the magic bytes `F3 89 9A C2`, a protobuf `AggregatedRecord` (a partition-key
//! table, an explicit-hash-key table and the sub-records, each naming its keys by table index), then the
//! MD5 of the protobuf bytes. Each sub-record becomes a [`Record`] sharing the Kinesis sequence number, with
//! sub-sequence numbers `0..n-1` in order, so checkpoints can land inside an aggregate and a restart
//! resumes right after the last sub-record checkpointed.
//!
//! Anything that does not check out — wrong magic, MD5 mismatch, undecodable protobuf, a key index out of
//! its table — is passed through unchanged as a plain record and counted in
//! `kcl_kpl_malformed_aggregates_total`: never dropped, never an error. After resharding, an aggregate
//! written to a parent may hold sub-records whose hash key now belongs to a sibling shard; when the
//! shard's hash-key range is known, those are dropped (the sibling's consumer delivers them) and counted in
//! `kcl_kpl_subrecords_dropped_total`.

use bytes::Bytes;
use kcl_checkpoint::HashKeyRange;
use md5::{Digest, Md5};
use prost::Message;

use crate::record::Record;

/// The four bytes every KPL aggregated record starts with.
pub(crate) const KPL_MAGIC: [u8; 4] = [0xF3, 0x89, 0x9A, 0xC2];
/// The length of the trailing MD5 digest.
const DIGEST_LEN: usize = 16;

/// The KPL `AggregatedRecord` protobuf message.
#[derive(Clone, PartialEq, Message)]
struct AggregatedRecord {
    #[prost(string, repeated, tag = "1")]
    partition_key_table: Vec<String>,
    #[prost(string, repeated, tag = "2")]
    explicit_hash_key_table: Vec<String>,
    #[prost(message, repeated, tag = "3")]
    records: Vec<SubRecord>,
}

/// One user record inside an [`AggregatedRecord`].
#[derive(Clone, PartialEq, Message)]
struct SubRecord {
    #[prost(uint64, required, tag = "1")]
    partition_key_index: u64,
    #[prost(uint64, optional, tag = "2")]
    explicit_hash_key_index: Option<u64>,
    #[prost(bytes = "bytes", required, tag = "3")]
    data: Bytes,
    #[prost(message, repeated, tag = "4")]
    tags: Vec<Tag>,
}

/// A KPL record tag (carried, not used).
#[derive(Clone, PartialEq, Message)]
struct Tag {
    #[prost(string, required, tag = "1")]
    key: String,
    #[prost(string, optional, tag = "2")]
    value: Option<String>,
}

/// What de-aggregating a batch found.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub(crate) struct DeaggregationStats {
    /// Records that looked aggregated (magic bytes) but did not check out: passed through as they are.
    pub(crate) malformed: u64,
    /// Sub-records dropped because their hash key is outside the shard's range.
    pub(crate) dropped: u64,
}

/// The hash key a sub-record maps to: its explicit hash key, else the MD5 of its partition key.
fn hash_key(partition_key: &str, explicit: Option<&str>) -> Option<u128> {
    match explicit {
        Some(ehk) => ehk.parse().ok(),
        None => Some(crate::record::partition_key_hash(partition_key)),
    }
}

/// The sub-records of `record` if it is a well-formed aggregate; `None` for anything else.
fn split(record: &Record, range: Option<&HashKeyRange>, dropped: &mut u64) -> Option<Vec<Record>> {
    let data = &record.data;
    let body = data.get(KPL_MAGIC.len()..data.len().checked_sub(DIGEST_LEN)?)?;
    let digest = data.get(data.len() - DIGEST_LEN..)?;
    if Md5::digest(body).as_slice() != digest {
        return None;
    }
    let aggregate = AggregatedRecord::decode(data.slice(KPL_MAGIC.len()..data.len() - DIGEST_LEN)).ok()?;
    // Resolve every key first: a single bad index makes the whole record malformed.
    let mut resolved = Vec::with_capacity(aggregate.records.len());
    for sub in aggregate.records {
        let pk = aggregate
            .partition_key_table
            .get(usize::try_from(sub.partition_key_index).ok()?)?;
        let ehk = match sub.explicit_hash_key_index {
            Some(i) => Some(
                aggregate
                    .explicit_hash_key_table
                    .get(usize::try_from(i).ok()?)?
                    .as_str(),
            ),
            None => None,
        };
        let hash = hash_key(pk, ehk)?;
        resolved.push((pk.clone(), ehk.map(str::to_owned), hash, sub.data));
    }
    let mut out = Vec::with_capacity(resolved.len());
    for (index, (pk, ehk, hash, data)) in resolved.into_iter().enumerate() {
        if range.is_some_and(|r| !r.contains(hash)) {
            *dropped += 1;
            continue;
        }
        out.push(Record {
            data,
            partition_key: pk,
            sequence_number: record.sequence_number.clone(),
            sub_sequence_number: index as u64,
            approximate_arrival_timestamp: record.approximate_arrival_timestamp,
            explicit_hash_key: ehk,
        });
    }
    Some(out)
}

/// Replaces every KPL aggregate in `records` by its sub-records (see the [module docs](self)).
pub(crate) fn deaggregate(
    records: Vec<Record>,
    range: Option<&HashKeyRange>,
) -> (Vec<Record>, DeaggregationStats) {
    let mut stats = DeaggregationStats::default();
    if !records.iter().any(|r| r.data.starts_with(&KPL_MAGIC)) {
        return (records, stats);
    }
    let mut out = Vec::with_capacity(records.len());
    for record in records {
        if !record.data.starts_with(&KPL_MAGIC) {
            out.push(record);
            continue;
        }
        let mut dropped = 0;
        match split(&record, range, &mut dropped) {
            Some(subs) => {
                stats.dropped += dropped;
                out.extend(subs);
            }
            None => {
                stats.malformed += 1;
                out.push(record);
            }
        }
    }
    (out, stats)
}

#[cfg(test)]
mod tests {
    use super::*;
    use kcl_checkpoint::SequenceNumber;

    fn sub(pk: u64, ehk: Option<u64>, data: &'static [u8]) -> SubRecord {
        SubRecord {
            partition_key_index: pk,
            explicit_hash_key_index: ehk,
            data: Bytes::from_static(data),
            tags: Vec::new(),
        }
    }

    fn encode(aggregate: &AggregatedRecord) -> Bytes {
        let body = aggregate.encode_to_vec();
        let mut out = KPL_MAGIC.to_vec();
        out.extend_from_slice(&body);
        out.extend_from_slice(&Md5::digest(&body));
        Bytes::from(out)
    }

    fn record(data: Bytes, seq: u128) -> Record {
        Record::new(data, "outer", SequenceNumber::from(seq))
    }

    fn sample() -> AggregatedRecord {
        AggregatedRecord {
            partition_key_table: vec!["a".into(), "b".into()],
            explicit_hash_key_table: vec!["5".into()],
            records: vec![
                sub(0, None, b"one"),
                sub(1, None, b"two"),
                sub(0, Some(0), b"three"),
            ],
        }
    }

    #[test]
    fn aggregates_become_sub_records_sharing_the_sequence_number() {
        let plain = record(Bytes::from_static(b"plain"), 1);
        let (out, stats) = deaggregate(vec![plain.clone(), record(encode(&sample()), 2)], None);
        assert_eq!(stats, DeaggregationStats::default());
        assert_eq!(out[0], plain);
        let subs: Vec<(&str, &[u8], u64, Option<&str>)> = out[1..]
            .iter()
            .map(|r| {
                assert_eq!(r.sequence_number, SequenceNumber::from(2u128));
                (
                    r.partition_key.as_str(),
                    &r.data[..],
                    r.sub_sequence_number,
                    r.explicit_hash_key.as_deref(),
                )
            })
            .collect();
        assert_eq!(
            subs,
            vec![
                ("a", &b"one"[..], 0, None),
                ("b", &b"two"[..], 1, None),
                ("a", &b"three"[..], 2, Some("5")),
            ]
        );
    }

    #[test]
    fn bad_magic_digest_protobuf_or_index_pass_through_and_are_counted() {
        let good = encode(&sample());
        let mut bad_digest = good.to_vec();
        *bad_digest.last_mut().unwrap() ^= 1;
        let mut bad_proto = KPL_MAGIC.to_vec();
        let junk = [0xFFu8, 0xFF, 0xFF];
        bad_proto.extend_from_slice(&junk);
        bad_proto.extend_from_slice(&Md5::digest(junk));
        let mut bad_index = sample();
        bad_index.records.push(sub(7, None, b"x"));
        let short = KPL_MAGIC.to_vec();
        let inputs: Vec<Bytes> = vec![
            Bytes::from(bad_digest),
            Bytes::from(bad_proto),
            encode(&bad_index),
            Bytes::from(short),
        ];
        let records: Vec<Record> = inputs.iter().cloned().map(|d| record(d, 3)).collect();
        let (out, stats) = deaggregate(records.clone(), None);
        assert_eq!(out, records, "passed through unchanged");
        assert_eq!(stats.malformed, 4);
        // Not starting with the magic: plain, not counted.
        let (out, stats) = deaggregate(vec![record(good.slice(1..), 4)], None);
        assert_eq!(out.len(), 1);
        assert_eq!(stats, DeaggregationStats::default());
    }

    #[test]
    fn sub_records_outside_the_shard_range_are_dropped() {
        let hash_a = hash_key("a", None).unwrap();
        let hash_b = hash_key("b", None).unwrap();
        // A range holding "a" only (and the explicit hash key 5 when it is low enough).
        let (lo, hi) = if hash_a < hash_b {
            (0, hash_a)
        } else {
            (hash_a, u128::MAX)
        };
        let range = HashKeyRange::new(lo, hi).unwrap();
        let (out, stats) = deaggregate(vec![record(encode(&sample()), 9)], Some(&range));
        let kept: Vec<(u64, bool)> = out
            .iter()
            .map(|r| {
                (
                    r.sub_sequence_number,
                    range.contains(hash_key(&r.partition_key, r.explicit_hash_key.as_deref()).unwrap()),
                )
            })
            .collect();
        assert!(kept.iter().all(|(_, inside)| *inside), "{kept:?}");
        assert!(kept.iter().any(|(s, _)| *s == 0), "sub-record 0 (key a) kept");
        assert!(!kept.iter().any(|(s, _)| *s == 1), "sub-record 1 (key b) dropped");
        assert_eq!(stats.dropped as usize, 3 - out.len());
        assert_eq!(stats.malformed, 0);
    }
}
