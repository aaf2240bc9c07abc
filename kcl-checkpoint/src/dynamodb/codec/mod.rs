//! Lease items in the Java KCL 2.x/3.x table format.
//!
//! | attribute | type | field |
//! |---|---|---|
//! | `leaseKey` | S | [`Lease::key`] (hash key) |
//! | `leaseOwner` | S | [`Lease::owner`] (absent when unowned) |
//! | `leaseCounter` | N | [`Lease::counter`] |
//! | `checkpoint` | S | [`Lease::checkpoint`] (digits or a sentinel) |
//! | `checkpointSubSequenceNumber` | N | its sub-sequence |
//! | `pendingCheckpoint` | S | [`Lease::pending_checkpoint`] |
//! | `pendingCheckpointSubSequenceNumber` | N | its sub-sequence |
//! | `pendingCheckpointState` | B | [`Lease::pending_checkpoint_state`] |
//! | `ownerSwitchesSinceCheckpoint` | N | [`Lease::owner_switches_since_checkpoint`] |
//! | `parentShardId` | SS | [`Lease::parent_shard_ids`] (absent when empty) |
//! | `childShardIds` | SS | [`Lease::child_shard_ids`] (absent when empty) |
//! | `startingHashKey`, `endingHashKey` | S | [`Lease::hash_key_range`] (decimal) |
//! | `throughputKBps` | N | [`Lease::throughput_kbps`] (KCL 3) |
//! | `recordsPerSecond` | N | [`Lease::records_per_sec`] (kcl-rs) |
//! | `ownerCpuUtilization` | N | [`Lease::owner_cpu`] (kcl-rs) |
//! | `checkpointOwner` | S | [`Lease::checkpoint_owner`] (KCL 3) |
//! | `streamName`, `shardId` | S | written for multi-stream keys, as the Java KCL does |
//!
//! **Multi-stream leases.** In memory, the parents and children of a lease keyed
//! `account:stream:creationEpoch:shardId` are lease keys of the same stream (so the worker can look them
//! up in the table as they are). The Java KCL stores them as plain shard ids; so does this codec: the
//! lease's own stream prefix is stripped from `parentShardId` and `childShardIds` when an item is written
//! (`stored_ids`) and added back when it is read (`lease_ids`). Ids already in the multi-stream form are
//! read as they are, and ids of another stream (never written by kcl-rs) are written as they are.
//!
//! Required on read: `leaseKey`, `leaseCounter`, `checkpoint`; the rest default when absent (as the Java
//! KCL's reader does). A wrongly typed or unparsable attribute is a [`MalformedLease`] naming the item and the
//! attribute; nothing here panics.

use std::collections::{BTreeSet, HashMap};

use aws_sdk_dynamodb::primitives::Blob;
use aws_sdk_dynamodb::types::AttributeValue;
use bytes::Bytes;

use crate::error::MalformedLease;
use crate::lease::{HashKeyRange, Lease, LeaseKey};
use crate::sequence::ExtendedSequenceNumber;

/// `leaseKey` (S, the table's hash key).
pub const LEASE_KEY: &str = "leaseKey";
/// `leaseOwner` (S).
pub const LEASE_OWNER: &str = "leaseOwner";
/// `leaseCounter` (N).
pub const LEASE_COUNTER: &str = "leaseCounter";
/// `checkpoint` (S).
pub const CHECKPOINT: &str = "checkpoint";
/// `checkpointSubSequenceNumber` (N).
pub const CHECKPOINT_SUB_SEQUENCE: &str = "checkpointSubSequenceNumber";
/// `pendingCheckpoint` (S).
pub const PENDING_CHECKPOINT: &str = "pendingCheckpoint";
/// `pendingCheckpointSubSequenceNumber` (N).
pub const PENDING_CHECKPOINT_SUB_SEQUENCE: &str = "pendingCheckpointSubSequenceNumber";
/// `pendingCheckpointState` (B).
pub const PENDING_CHECKPOINT_STATE: &str = "pendingCheckpointState";
/// `ownerSwitchesSinceCheckpoint` (N).
pub const OWNER_SWITCHES: &str = "ownerSwitchesSinceCheckpoint";
/// `parentShardId` (SS).
pub const PARENT_SHARD_IDS: &str = "parentShardId";
/// `childShardIds` (SS).
pub const CHILD_SHARD_IDS: &str = "childShardIds";
/// `startingHashKey` (S, decimal).
pub const STARTING_HASH_KEY: &str = "startingHashKey";
/// `endingHashKey` (S, decimal).
pub const ENDING_HASH_KEY: &str = "endingHashKey";
/// `throughputKBps` (N, KCL 3).
pub const THROUGHPUT_KBPS: &str = "throughputKBps";
/// `recordsPerSecond` (N, kcl-rs): the owner's measured record rate.
pub const RECORDS_PER_SECOND: &str = "recordsPerSecond";
/// `ownerCpuUtilization` (N, kcl-rs): the owner's CPU utilization (0-1) when it reported the load.
pub const OWNER_CPU: &str = "ownerCpuUtilization";
/// `checkpointOwner` (S, KCL 3).
pub const CHECKPOINT_OWNER: &str = "checkpointOwner";
/// `streamName` (S, multi-stream leases: `account:stream:creationEpoch`).
pub const STREAM_NAME: &str = "streamName";
/// `shardId` (S, multi-stream leases).
pub const SHARD_ID: &str = "shardId";

/// `entityType` (S): marks items that are not leases (the fleet record; KCL 3 metadata items).
pub const ENTITY_TYPE: &str = "entityType";
/// `fleetVersion` (N, the fleet record).
pub const FLEET_VERSION: &str = "fleetVersion";
/// The prefix of the fleet record's per-worker heartbeat attributes (N): `heartbeat:<worker id>`.
pub const HEARTBEAT_PREFIX: &str = "heartbeat:";

/// A DynamoDB item.
pub(crate) type Item = HashMap<String, AttributeValue>;

/// Encodes a whole lease as an item (for `PutItem`).
pub(crate) fn lease_to_item(lease: &Lease) -> Item {
    let mut item = Item::new();
    item.insert(LEASE_KEY.into(), s(lease.key.as_str()));
    item.insert(LEASE_COUNTER.into(), n(lease.counter));
    if let Some(owner) = &lease.owner {
        item.insert(LEASE_OWNER.into(), s(owner));
    }
    item.insert(OWNER_SWITCHES.into(), n(lease.owner_switches_since_checkpoint));
    item.insert(CHECKPOINT.into(), s(lease.checkpoint.checkpoint_str()));
    item.insert(CHECKPOINT_SUB_SEQUENCE.into(), n(lease.checkpoint.sub_sequence()));
    if let Some(pending) = &lease.pending_checkpoint {
        item.insert(PENDING_CHECKPOINT.into(), s(pending.checkpoint_str()));
        item.insert(PENDING_CHECKPOINT_SUB_SEQUENCE.into(), n(pending.sub_sequence()));
    }
    if let Some(state) = &lease.pending_checkpoint_state {
        item.insert(PENDING_CHECKPOINT_STATE.into(), b(state));
    }
    if let Some(parents) = ss(&stored_ids(&lease.key, &lease.parent_shard_ids)) {
        item.insert(PARENT_SHARD_IDS.into(), parents);
    }
    if let Some(children) = ss(&stored_ids(&lease.key, &lease.child_shard_ids)) {
        item.insert(CHILD_SHARD_IDS.into(), children);
    }
    if let Some(range) = &lease.hash_key_range {
        item.insert(STARTING_HASH_KEY.into(), s(&range.starting_hash_key.to_string()));
        item.insert(ENDING_HASH_KEY.into(), s(&range.ending_hash_key.to_string()));
    }
    if let Some(kbps) = lease.throughput_kbps.filter(|v| v.is_finite()) {
        item.insert(THROUGHPUT_KBPS.into(), AttributeValue::N(kbps.to_string()));
    }
    if let Some(rate) = lease.records_per_sec.filter(|v| v.is_finite()) {
        item.insert(RECORDS_PER_SECOND.into(), AttributeValue::N(rate.to_string()));
    }
    if let Some(cpu) = lease.owner_cpu.filter(|v| v.is_finite()) {
        item.insert(OWNER_CPU.into(), AttributeValue::N(cpu.to_string()));
    }
    if let Some(owner) = &lease.checkpoint_owner {
        item.insert(CHECKPOINT_OWNER.into(), s(owner));
    }
    if let Some(stream) = lease.key.stream() {
        item.insert(STREAM_NAME.into(), s(&stream.serialize()));
        item.insert(SHARD_ID.into(), s(lease.key.shard_id()));
    }
    item
}

/// The parent or child ids of the lease keyed `key` as stored: for a multi-stream lease, plain shard ids
/// (its stream's prefix stripped), as the Java KCL writes them; for any other lease, as they are.
pub(crate) fn stored_ids(key: &LeaseKey, ids: &BTreeSet<String>) -> BTreeSet<String> {
    let Some(stream) = key.stream() else {
        return ids.clone();
    };
    let prefix = format!("{}:", stream.serialize());
    ids.iter()
        .map(|id| id.strip_prefix(&prefix).unwrap_or(id).to_owned())
        .collect()
}

/// The parent or child ids of the lease keyed `key` as read: for a multi-stream lease, plain shard ids
/// become lease keys of its stream (ids already in the multi-stream form are kept); for any other lease,
/// as they are.
pub(crate) fn lease_ids(key: &LeaseKey, ids: BTreeSet<String>) -> BTreeSet<String> {
    let Some(stream) = key.stream() else {
        return ids;
    };
    ids.into_iter()
        .map(|id| {
            let as_key = LeaseKey::new(id);
            if as_key.stream().is_some() {
                as_key.as_str().to_owned()
            } else {
                LeaseKey::multi_stream(&stream, as_key.as_str())
                    .as_str()
                    .to_owned()
            }
        })
        .collect()
}

/// True for items the Java KCL 3 keeps in the lease table that are not leases (they carry `entityType`).
pub(crate) fn is_non_lease_item(item: &Item) -> bool {
    item.contains_key(ENTITY_TYPE)
}

/// Decodes the fleet record's item. Attributes that are not numbers are skipped with a warning (a worker
/// whose heartbeat cannot be read looks absent, so its leases expire by their own counters).
pub(crate) fn fleet_from_item(item: &Item) -> crate::fleet::FleetRecord {
    let number = |name: &str, value: &AttributeValue| match value {
        AttributeValue::N(n) => n.parse::<u64>().ok(),
        _ => {
            tracing::warn!(
                attribute = name,
                "fleet record attribute is not a number; ignored"
            );
            None
        }
    };
    let mut fleet = crate::fleet::FleetRecord::default();
    for (name, value) in item {
        if name == FLEET_VERSION {
            fleet.version = number(name, value).unwrap_or_default();
        } else if let Some(worker) = name.strip_prefix(HEARTBEAT_PREFIX) {
            if let Some(beat) = number(name, value) {
                fleet.heartbeats.insert(worker.to_owned(), beat);
            }
        }
    }
    fleet
}

/// Decodes an item into a lease.
///
/// # Errors
///
/// [`MalformedLease`] naming the item and the first attribute that is missing, wrongly typed or
/// unparsable.
pub(crate) fn lease_from_item(item: &Item) -> Result<Lease, MalformedLease> {
    let key = match item.get(LEASE_KEY) {
        Some(AttributeValue::S(key)) if !key.is_empty() => key.clone(),
        Some(AttributeValue::S(_)) => return Err(malformed(None, LEASE_KEY, "is empty")),
        Some(other) => {
            return Err(malformed(
                None,
                LEASE_KEY,
                &format!("has type {}, expected S", type_name(other)),
            ))
        }
        None => return Err(malformed(None, LEASE_KEY, "is missing")),
    };
    let reader = Reader { item, key: &key };

    let counter = reader.required_u64(LEASE_COUNTER)?;
    let checkpoint_text = reader.required_string(CHECKPOINT)?;
    let checkpoint_sub = reader.optional_u64(CHECKPOINT_SUB_SEQUENCE)?.unwrap_or(0);
    let checkpoint = ExtendedSequenceNumber::from_parts(checkpoint_text, checkpoint_sub)
        .map_err(|e| reader.malformed(CHECKPOINT, &e.to_string()))?;

    let pending_checkpoint = match reader.optional_string(PENDING_CHECKPOINT)? {
        // The Java KCL treats an empty pending checkpoint as none.
        None | Some("") => None,
        Some(text) => {
            let sub = reader.optional_u64(PENDING_CHECKPOINT_SUB_SEQUENCE)?.unwrap_or(0);
            Some(
                ExtendedSequenceNumber::from_parts(text, sub)
                    .map_err(|e| reader.malformed(PENDING_CHECKPOINT, &e.to_string()))?,
            )
        }
    };

    let hash_key_range = match (
        reader.optional_string(STARTING_HASH_KEY)?,
        reader.optional_string(ENDING_HASH_KEY)?,
    ) {
        (None, None) => None,
        (Some(start), Some(end)) => {
            let start = reader.parse_u128(STARTING_HASH_KEY, start)?;
            let end = reader.parse_u128(ENDING_HASH_KEY, end)?;
            Some(
                HashKeyRange::new(start, end)
                    .ok_or_else(|| reader.malformed(STARTING_HASH_KEY, "is greater than endingHashKey"))?,
            )
        }
        (Some(_), None) => {
            return Err(reader.malformed(ENDING_HASH_KEY, "is missing (startingHashKey is set)"))
        }
        (None, Some(_)) => {
            return Err(reader.malformed(STARTING_HASH_KEY, "is missing (endingHashKey is set)"))
        }
    };

    let figure = |name: &str| -> Result<Option<f64>, MalformedLease> {
        match reader.optional_number(name)? {
            None => Ok(None),
            Some(text) => Ok(Some(
                text.parse::<f64>()
                    .ok()
                    .filter(|v| v.is_finite())
                    .ok_or_else(|| reader.malformed(name, &format!("is not a number: {text:?}")))?,
            )),
        }
    };
    let throughput_kbps = figure(THROUGHPUT_KBPS)?;
    let records_per_sec = figure(RECORDS_PER_SECOND)?;
    let owner_cpu = figure(OWNER_CPU)?;

    let mut lease = Lease::new(LeaseKey::new(key.clone()), checkpoint);
    lease.owner = reader.optional_string(LEASE_OWNER)?.map(str::to_owned);
    lease.counter = counter;
    lease.pending_checkpoint = pending_checkpoint;
    lease.pending_checkpoint_state = reader.optional_bytes(PENDING_CHECKPOINT_STATE)?;
    lease.owner_switches_since_checkpoint = reader.optional_u64(OWNER_SWITCHES)?.unwrap_or(0);
    lease.parent_shard_ids = lease_ids(&lease.key, reader.optional_string_set(PARENT_SHARD_IDS)?);
    lease.child_shard_ids = lease_ids(&lease.key, reader.optional_string_set(CHILD_SHARD_IDS)?);
    lease.hash_key_range = hash_key_range;
    lease.throughput_kbps = throughput_kbps;
    lease.records_per_sec = records_per_sec;
    lease.owner_cpu = owner_cpu;
    lease.checkpoint_owner = reader.optional_string(CHECKPOINT_OWNER)?.map(str::to_owned);
    Ok(lease)
}

/// Typed attribute access that reports the item and attribute on failure.
struct Reader<'a> {
    item: &'a Item,
    key: &'a str,
}

impl<'a> Reader<'a> {
    fn malformed(&self, attribute: &str, problem: &str) -> MalformedLease {
        malformed(Some(self.key), attribute, problem)
    }

    fn wrong_type(&self, attribute: &str, found: &AttributeValue, expected: &str) -> MalformedLease {
        self.malformed(
            attribute,
            &format!("has type {}, expected {expected}", type_name(found)),
        )
    }

    fn optional_string(&self, attribute: &str) -> Result<Option<&'a str>, MalformedLease> {
        match self.item.get(attribute) {
            None | Some(AttributeValue::Null(_)) => Ok(None),
            Some(AttributeValue::S(text)) => Ok(Some(text)),
            Some(other) => Err(self.wrong_type(attribute, other, "S")),
        }
    }

    fn required_string(&self, attribute: &str) -> Result<&'a str, MalformedLease> {
        self.optional_string(attribute)?
            .ok_or_else(|| self.malformed(attribute, "is missing"))
    }

    fn optional_number(&self, attribute: &str) -> Result<Option<&'a str>, MalformedLease> {
        match self.item.get(attribute) {
            None | Some(AttributeValue::Null(_)) => Ok(None),
            Some(AttributeValue::N(text)) => Ok(Some(text)),
            Some(other) => Err(self.wrong_type(attribute, other, "N")),
        }
    }

    fn optional_u64(&self, attribute: &str) -> Result<Option<u64>, MalformedLease> {
        match self.optional_number(attribute)? {
            None => Ok(None),
            Some(text) => {
                text.trim().parse::<u64>().map(Some).map_err(|_| {
                    self.malformed(attribute, &format!("is not a non-negative integer: {text:?}"))
                })
            }
        }
    }

    fn required_u64(&self, attribute: &str) -> Result<u64, MalformedLease> {
        self.optional_u64(attribute)?
            .ok_or_else(|| self.malformed(attribute, "is missing"))
    }

    fn parse_u128(&self, attribute: &str, text: &str) -> Result<u128, MalformedLease> {
        text.parse::<u128>()
            .map_err(|_| self.malformed(attribute, &format!("is not a 128-bit unsigned decimal: {text:?}")))
    }

    fn optional_bytes(&self, attribute: &str) -> Result<Option<Bytes>, MalformedLease> {
        match self.item.get(attribute) {
            None | Some(AttributeValue::Null(_)) => Ok(None),
            Some(AttributeValue::B(blob)) => Ok(Some(Bytes::copy_from_slice(blob.as_ref()))),
            Some(other) => Err(self.wrong_type(attribute, other, "B")),
        }
    }

    fn optional_string_set(&self, attribute: &str) -> Result<BTreeSet<String>, MalformedLease> {
        match self.item.get(attribute) {
            None | Some(AttributeValue::Null(_)) => Ok(BTreeSet::new()),
            Some(AttributeValue::Ss(values)) => Ok(values.iter().cloned().collect()),
            Some(other) => Err(self.wrong_type(attribute, other, "SS")),
        }
    }
}

fn malformed(key: Option<&str>, attribute: &str, problem: &str) -> MalformedLease {
    MalformedLease {
        key: key.map(str::to_owned),
        attribute: attribute.to_owned(),
        problem: problem.to_owned(),
    }
}

/// The DynamoDB type descriptor of a value, for error messages.
fn type_name(value: &AttributeValue) -> &'static str {
    match value {
        AttributeValue::S(_) => "S",
        AttributeValue::N(_) => "N",
        AttributeValue::B(_) => "B",
        AttributeValue::Ss(_) => "SS",
        AttributeValue::Ns(_) => "NS",
        AttributeValue::Bs(_) => "BS",
        AttributeValue::Bool(_) => "BOOL",
        AttributeValue::Null(_) => "NULL",
        AttributeValue::L(_) => "L",
        AttributeValue::M(_) => "M",
        _ => "unknown",
    }
}

pub(crate) fn s(value: &str) -> AttributeValue {
    AttributeValue::S(value.to_owned())
}

pub(crate) fn n(value: u64) -> AttributeValue {
    AttributeValue::N(value.to_string())
}

pub(crate) fn b(value: &Bytes) -> AttributeValue {
    AttributeValue::B(Blob::new(value.to_vec()))
}

/// A string set, or `None` for an empty set (DynamoDB rejects empty sets).
pub(crate) fn ss(values: &BTreeSet<String>) -> Option<AttributeValue> {
    (!values.is_empty()).then(|| AttributeValue::Ss(values.iter().cloned().collect()))
}

#[cfg(test)]
mod proptests;
#[cfg(test)]
mod tests;
