//! The JSON answers of GetRecords and PutRecords, written by hand.
//!
//! They carry up to 10,000 and 500 records, and through serde_json every byte of every record's base64 data
//! went through its string escaping, which no base64 character needs: that scan was the largest single cost
//! of a GetRecords answer. Here the base64 is written straight into the buffer, the buffer is sized for the
//! whole answer up front, and every other member is written by serde_json as the types' `Serialize`
//! implementations write it, in their order, so the bytes are the same as `serde_json::to_vec` (the tests
//! compare). The structs are destructured without `..`, so a new member fails to compile here.

use base64::Engine as _;
use serde::ser::Error as _;
use serde::Serialize;

use crate::types::{GetRecordsOutput, PutRecordsOutput, PutRecordsResultEntry, Record};

/// An upper bound of a record's JSON without its data and partition key: member names, quotes,
/// separators, the timestamp and a 56-digit sequence number (a PutRecords result entry, with its shard id,
/// fits too).
const PER_RECORD: usize = 200;
/// Room for the members outside the records (iterator, child shards, ...).
const ENVELOPE: usize = 1024;

/// GetRecords' answer, byte for byte what `serde_json::to_vec(output)` writes.
pub(super) fn get_records(output: &GetRecordsOutput) -> Result<Vec<u8>, serde_json::Error> {
    let GetRecordsOutput {
        records,
        next_shard_iterator,
        millis_behind_latest,
        child_shards,
    } = output;
    let capacity: usize = records
        .iter()
        .map(|r| r.data.len().div_ceil(3) * 4 + r.partition_key.len() + PER_RECORD)
        .sum();
    let mut out = Vec::with_capacity(capacity + ENVELOPE);
    out.extend_from_slice(b"{\"Records\":[");
    for (i, record) in records.iter().enumerate() {
        let Record {
            sequence_number,
            approximate_arrival_timestamp,
            data,
            partition_key,
            encryption_type,
        } = record;
        if i > 0 {
            out.push(b',');
        }
        out.extend_from_slice(b"{\"SequenceNumber\":");
        string(&mut out, sequence_number)?;
        out.extend_from_slice(b",\"ApproximateArrivalTimestamp\":");
        member(&mut out, approximate_arrival_timestamp)?;
        out.extend_from_slice(b",\"Data\":\"");
        base64(&mut out, data)?;
        out.extend_from_slice(b"\",\"PartitionKey\":");
        string(&mut out, partition_key)?;
        if let Some(encryption_type) = encryption_type {
            out.extend_from_slice(b",\"EncryptionType\":");
            member(&mut out, encryption_type)?;
        }
        out.push(b'}');
    }
    out.push(b']');
    if let Some(iterator) = next_shard_iterator {
        out.extend_from_slice(b",\"NextShardIterator\":");
        member(&mut out, iterator)?;
    }
    out.extend_from_slice(b",\"MillisBehindLatest\":");
    member(&mut out, millis_behind_latest)?;
    if let Some(children) = child_shards {
        out.extend_from_slice(b",\"ChildShards\":");
        member(&mut out, children)?;
    }
    out.push(b'}');
    Ok(out)
}

/// PutRecords' answer, byte for byte what `serde_json::to_vec(output)` writes.
pub(super) fn put_records(output: &PutRecordsOutput) -> Result<Vec<u8>, serde_json::Error> {
    let PutRecordsOutput {
        failed_record_count,
        records,
        encryption_type,
    } = output;
    let mut out = Vec::with_capacity(records.len() * PER_RECORD + ENVELOPE);
    out.extend_from_slice(b"{\"FailedRecordCount\":");
    member(&mut out, failed_record_count)?;
    out.extend_from_slice(b",\"Records\":[");
    for (i, entry) in records.iter().enumerate() {
        let PutRecordsResultEntry {
            sequence_number,
            shard_id,
            error_code,
            error_message,
        } = entry;
        if i > 0 {
            out.push(b',');
        }
        out.push(b'{');
        let mut first = true;
        for (name, value) in [
            ("SequenceNumber", sequence_number),
            ("ShardId", shard_id),
            ("ErrorCode", error_code),
            ("ErrorMessage", error_message),
        ] {
            if let Some(value) = value {
                if !first {
                    out.push(b',');
                }
                first = false;
                out.push(b'"');
                out.extend_from_slice(name.as_bytes());
                out.extend_from_slice(b"\":");
                string(&mut out, value)?;
            }
        }
        out.push(b'}');
    }
    out.push(b']');
    if let Some(encryption_type) = encryption_type {
        out.extend_from_slice(b",\"EncryptionType\":");
        member(&mut out, encryption_type)?;
    }
    out.push(b'}');
    Ok(out)
}

/// Appends a string as serde_json writes it: as it is between quotes when nothing in it needs escaping (as
/// with sequence numbers, shard ids and most partition keys), otherwise by serde_json.
fn string(out: &mut Vec<u8>, value: &str) -> Result<(), serde_json::Error> {
    // What serde_json escapes: control characters, the quote and the backslash (not DEL, not non-ASCII).
    // Folded without an early exit, so the compiler checks many bytes at a time (these strings are short
    // and almost never need escaping).
    let escape = value
        .bytes()
        .fold(false, |any, b| any | (b < 0x20) | (b == b'"') | (b == b'\\'));
    if escape {
        return member(out, value);
    }
    out.reserve(value.len() + 2);
    out.push(b'"');
    out.extend_from_slice(value.as_bytes());
    out.push(b'"');
    Ok(())
}

/// Appends one member's value as serde_json writes it.
fn member<T: Serialize + ?Sized>(out: &mut Vec<u8>, value: &T) -> Result<(), serde_json::Error> {
    serde_json::to_writer(out, value)
}

/// Appends `data` in standard padded base64 (no quotes: no base64 character needs escaping in JSON).
fn base64(out: &mut Vec<u8>, data: &[u8]) -> Result<(), serde_json::Error> {
    let engine = &base64::engine::general_purpose::STANDARD;
    let len = base64::encoded_len(data.len(), true)
        .ok_or_else(|| serde_json::Error::custom("record data too large to encode"))?;
    let start = out.len();
    out.resize(start + len, 0);
    engine
        .encode_slice(data, &mut out[start..])
        .map_err(|e| serde_json::Error::custom(format!("cannot encode record data: {e}")))?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use bytes::Bytes;

    use super::*;
    use crate::types::{ChildShard, EncryptionType, HashKeyRange, Timestamp};

    fn record(n: usize, key: &str) -> Record {
        Record {
            sequence_number: format!("{:056}", n),
            approximate_arrival_timestamp: Timestamp::from_millis(1_733_000_000_123 + n as i64),
            data: Bytes::from((0..n).map(|i| (i * 37) as u8).collect::<Vec<u8>>()),
            partition_key: key.to_owned(),
            encryption_type: (n % 2 == 1).then_some(EncryptionType::Kms),
        }
    }

    #[test]
    fn get_records_matches_serde_json_byte_for_byte() {
        let keys = [
            "k",
            "quote\" back\\slash",
            "tab\tnewline\n\u{1}",
            "ünïcødé ☃",
            "",
            "del\u{7f} \u{1f}/",
        ];
        let records: Vec<Record> = (0..12).map(|n| record(n, keys[n % keys.len()])).collect();
        let children = vec![ChildShard {
            shard_id: "shardId-000000000002".into(),
            parent_shards: vec!["shardId-000000000000".into(), "shardId-000000000001".into()],
            hash_key_range: HashKeyRange {
                starting_hash_key: "0".into(),
                ending_hash_key: "340282366920938463463374607431768211455".into(),
            },
        }];
        for (records, iterator, children) in [
            (records.clone(), Some("AAAA+/=="), None),
            (records, None, Some(children)),
            (Vec::new(), Some("it"), None),
            (Vec::new(), None, Some(Vec::new())),
        ] {
            let output = GetRecordsOutput {
                records,
                next_shard_iterator: iterator.map(str::to_owned),
                millis_behind_latest: 42,
                child_shards: children,
            };
            let ours = get_records(&output).unwrap();
            let serde = serde_json::to_vec(&output).unwrap();
            assert_eq!(
                String::from_utf8(ours).unwrap(),
                String::from_utf8(serde).unwrap()
            );
        }
    }

    #[test]
    fn put_records_matches_serde_json_byte_for_byte() {
        let entry = |seq: Option<&str>, shard: Option<&str>, code: Option<&str>, message: Option<&str>| {
            PutRecordsResultEntry {
                sequence_number: seq.map(str::to_owned),
                shard_id: shard.map(str::to_owned),
                error_code: code.map(str::to_owned),
                error_message: message.map(str::to_owned),
            }
        };
        for (records, encryption_type) in [
            (
                vec![
                    entry(Some("4962"), Some("shardId-000000000000"), None, None),
                    entry(
                        None,
                        None,
                        Some("ProvisionedThroughputExceededException"),
                        Some("Rate \"exceeded\""),
                    ),
                    entry(None, None, None, None),
                    entry(Some("1"), None, None, Some("odd")),
                ],
                Some(EncryptionType::None),
            ),
            (Vec::new(), None),
        ] {
            let output = PutRecordsOutput {
                failed_record_count: 1,
                records,
                encryption_type,
            };
            let ours = put_records(&output).unwrap();
            let serde = serde_json::to_vec(&output).unwrap();
            assert_eq!(
                String::from_utf8(ours).unwrap(),
                String::from_utf8(serde).unwrap()
            );
        }
    }
}
