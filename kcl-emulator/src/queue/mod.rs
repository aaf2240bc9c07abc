//! Queues: per-record delivery of one or more streams' records with receipt handles, visibility
//! timeouts, acknowledgements and built-in dead-letter handling, shared by the twelve queue operations
//! (`ops/*queue*.rs`), which only validate and shape requests.
//!
//! # Semantics
//! - A queue is created on ON_DEMAND streams only (`InvalidArgumentException` otherwise, as AWS
//!   documents) that are ACTIVE; it counts against the stream's consumer limit together with registered
//!   consumers (`LimitExceededException`). Its ARN is `arn:aws:kinesis:REGION:ACCOUNT:queue/NAME`. It
//!   is CREATING for the configured creating delay, UPDATING for the updating delay after UpdateQueue
//!   (new attributes apply at once), DELETING for the deleting delay; with the default zero delays it
//!   is ACTIVE at once and gone at once.
//! - Where delivery starts, per stream: `LATEST` (the default) after the records present at creation;
//!   `TRIM_HORIZON` every retained record; `AT_TIMESTAMP` records that arrived at or after the
//!   timestamp. Shards created later by resharding are delivered from their first record.
//! - Every record from there on is delivered at least once: ReceiveQueueRecords returns up to `Limit`
//!   (default and maximum 10) visible records, oldest arrival first across shards and streams (AWS
//!   promises no order), each with a new receipt handle, and makes them invisible for the visibility
//!   timeout (the request's, else the queue's, default 30 s). It waits up to `WaitTimeSeconds` (default
//!   9 s, as AWS documents) for a record to become visible: a write to a source stream, a visibility
//!   timeout running out, an UpdateQueueRecordsVisibility to 0 or a restore wakes it.
//! - A receipt handle is signed and names the queue incarnation, the record and the delivery. Only the
//!   newest handle of a record is accepted: AcknowledgeQueueRecords with it removes the record for good,
//!   even after its visibility timeout ran out as long as nobody received it again (as SQS standard
//!   queues do); UpdateQueueRecordsVisibility with it needs the record still in flight. Failures are
//!   per entry: `InvalidArgumentException` for a malformed, foreign, superseded or wrong-side handle or
//!   a record not in flight, `ResourceNotFoundException` for a record no longer in the queue
//!   (acknowledged, or past the stream's retention). A malformed queue ARN, an unknown queue or a queue
//!   that is not ACTIVE/UPDATING fails the whole request.
//! - Dead letters (`BUILT_IN`, the default with `MaxReceiveCount` 6): a record received
//!   `MaxReceiveCount` times whose last visibility timeout runs out without acknowledgement becomes a
//!   dead-letter record of the same queue. ReceiveDeadLetterQueueRecords delivers those the same way
//!   (their `ReceiveCount` counts dead-letter receives; they never move further);
//!   AcknowledgeDeadLetterQueueRecords discards them, UpdateDeadLetterQueueRecordsVisibility changes
//!   their timeout, RestoreDeadLetterQueueRecords puts them back on the normal side, visible at once
//!   with their receive count reset (so they get `MaxReceiveCount` more deliveries). With `NONE`
//!   records are redelivered until acknowledged; records already dead stay dead.
//! - Retention: records leave the queue (both sides) when they leave the stream's retention; a queue
//!   never extends it. DeleteStream of a stream with queues fails with `ResourceInUseException` unless
//!   `EnforceConsumerDeletion` is set (a queue counts as a consumer), which deletes the queues too.
//!
//! # State and persistence
//! Per source shard a queue keeps a cursor (the first record never delivered; everything from it on is
//! visible) and a map of the records before it that are not acknowledged (their side, receive count,
//! first receive time, invisibility deadline and delivery generation); a record before the cursor that
//! is not in the map has been acknowledged. Deadlines are wall-clock milliseconds of the emulator's
//! clock, which follows tokio time, so paused-time tests drive visibility timeouts. Due transitions
//! (retention, dead-lettering) are applied lazily whenever the queue is touched.
//!
//! Snapshots hold queues with their exact delivery state. The server persists a snapshot after every
//! control-plane change, but the data-plane operations (receive, acknowledge, visibility, restore) are
//! not persisted on their own (a full snapshot per receive would be too costly): after a crash, delivery
//! state goes back to the last snapshot, so records acknowledged since are delivered again (at least
//! once still holds), and a graceful shutdown keeps everything.
//!
//! Lock order: the queue registry -> one queue's state -> the stream locks (`state/`).

mod delivery;
mod handle;
pub(crate) mod shapes;
pub(crate) mod snapshot;

use std::collections::BTreeMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::Duration;

use parking_lot::{Mutex, RwLock};
use tokio::sync::Notify;
use tokio::time::Instant;

pub(crate) use delivery::{Outcome, Side};
use shapes::{
    DeadLetterConfiguration, QueueAttributes, QueueDescription, QueueStartingPosition,
    QueueStartingPositionType, QueueStatus, QueueStreamConfiguration, QueueStreamIdentifier, QueueSummary,
    TargetType,
};

use crate::error::KinesisError;
use crate::shapes::Timestamp;
use crate::state::{deadline_after, Inner, StreamState};
use crate::validate;

/// The visibility timeout of a queue created without one.
pub(crate) const DEFAULT_VISIBILITY_SECS: u32 = 30;
/// The `MaxReceiveCount` of a queue created without a dead-letter configuration.
pub(crate) const DEFAULT_MAX_RECEIVE_COUNT: u32 = 6;
/// Largest visibility timeout (12 hours).
pub(crate) const MAX_VISIBILITY_SECS: i32 = 43_200;

/// Every queue of an emulator, by name, and the signal long-polling receives wait on.
#[derive(Debug, Default)]
pub(crate) struct Queues {
    pub(crate) by_name: RwLock<BTreeMap<String, Arc<QueueState>>>,
    /// Woken by writes to any stream and by queue changes that make records visible.
    pub(crate) wake: Notify,
    /// Queue incarnations, so receipt handles of a deleted queue never work on a new one of that name.
    pub(crate) next_id: AtomicU64,
}

impl Queues {
    /// Wakes every waiting receive (they re-check their queue).
    pub(crate) fn wake(&self) {
        self.wake.notify_waiters();
    }

    pub(crate) fn new_id(&self) -> u64 {
        self.next_id.fetch_add(1, Ordering::Relaxed) + 1
    }
}

/// One queue incarnation.
#[derive(Debug)]
pub(crate) struct QueueState {
    pub(crate) name: String,
    pub(crate) arn: String,
    pub(crate) id: u64,
    pub(crate) created: Timestamp,
    pub(crate) data: Mutex<QueueData>,
}

/// A queue's mutable state.
#[derive(Debug)]
pub(crate) struct QueueData {
    pub(crate) status: QueueStatus,
    /// When the current transitional status ends.
    pub(crate) transition_until: Option<Instant>,
    pub(crate) visibility_secs: u32,
    /// `None`: dead-letter handling off (`NONE`).
    pub(crate) max_receive_count: Option<u32>,
    pub(crate) tags: BTreeMap<String, String>,
    /// The resource policy (PutResourcePolicy), kept, never evaluated.
    pub(crate) policy: Option<String>,
    pub(crate) sources: Vec<delivery::Source>,
}

impl QueueData {
    /// The attributes with every member present.
    pub(crate) fn attributes(&self) -> QueueAttributes {
        QueueAttributes {
            visibility_timeout_seconds: Some(i32::try_from(self.visibility_secs).unwrap_or(i32::MAX)),
            dead_letter_configuration: Some(match self.max_receive_count {
                Some(n) => DeadLetterConfiguration {
                    target_type: TargetType::BuiltIn,
                    max_receive_count: Some(i32::try_from(n).unwrap_or(i32::MAX)),
                },
                None => DeadLetterConfiguration {
                    target_type: TargetType::None,
                    max_receive_count: None,
                },
            }),
        }
    }

    /// Settles a due CREATING / UPDATING transition; returns `true` once a DELETING queue is gone.
    fn settle(&mut self, now: Instant) -> bool {
        match self.transition_until {
            Some(until) if now >= until => {
                self.transition_until = None;
                if self.status == QueueStatus::Deleting {
                    return true;
                }
                self.status = QueueStatus::Active;
                false
            }
            _ => false,
        }
    }

    /// Enters `status` for `delay` (CREATING / UPDATING end ACTIVE at once when it is zero).
    pub(crate) fn begin_transition(&mut self, status: QueueStatus, delay: Duration) {
        if delay.is_zero() && status != QueueStatus::Deleting {
            self.status = QueueStatus::Active;
            self.transition_until = None;
        } else {
            self.status = status;
            self.transition_until = Some(deadline_after(delay));
        }
    }
}

impl QueueState {
    /// The queue as the describe operations report it.
    pub(crate) fn describe(&self, data: &QueueData) -> QueueDescription {
        QueueDescription {
            queue_name: self.name.clone(),
            queue_arn: self.arn.clone(),
            queue_status: data.status,
            queue_creation_timestamp: self.created,
            stream_configuration_list: data
                .sources
                .iter()
                .map(|s| QueueStreamConfiguration {
                    stream_arn: s.stream_arn.clone(),
                    starting_position: Some(s.effective_position(data.status, self.created)),
                })
                .collect(),
            queue_attributes: Some(data.attributes()),
        }
    }

    /// The queue as ListQueues reports it.
    pub(crate) fn summary(&self, data: &QueueData) -> QueueSummary {
        QueueSummary {
            queue_name: self.name.clone(),
            queue_arn: self.arn.clone(),
            queue_status: data.status,
            queue_creation_timestamp: self.created,
            streams: data
                .sources
                .iter()
                .map(|s| QueueStreamIdentifier {
                    stream_arn: s.stream_arn.clone(),
                    stream_creation_timestamp: s.stream_created,
                })
                .collect(),
        }
    }
}

/// `arn:aws:kinesis:REGION:ACCOUNT:queue/NAME`.
pub(crate) fn queue_arn(inner: &Inner, name: &str) -> String {
    format!(
        "arn:aws:kinesis:{}:{}:queue/{}",
        inner.config.region, inner.config.account_id, name
    )
}

fn queue_not_found(inner: &Inner, name: &str) -> KinesisError {
    KinesisError::not_found(format!(
        "Queue {name} under account {} not found.",
        inner.config.account_id
    ))
}

/// The queue name in a queue ARN.
///
/// # Errors
/// `ValidationException` when malformed; `ResourceNotFoundException` for another region or account.
pub(crate) fn name_from_arn(inner: &Inner, arn: &str) -> Result<String, KinesisError> {
    let bad = || {
        validate::error(
            arn,
            "queueARN",
            "Member must satisfy regular expression pattern: arn:aws.*:kinesis:.*:\\d{12}:queue/\\S+",
        )
    };
    validate::length(arn, "queueARN", 1, 2048)?;
    let parts: Vec<&str> = arn.splitn(6, ':').collect();
    let [scheme, partition, service, region, account, resource] = parts.as_slice() else {
        return Err(bad());
    };
    if *scheme != "arn" || !partition.starts_with("aws") || *service != "kinesis" {
        return Err(bad());
    }
    let Some(name) = resource.strip_prefix("queue/") else {
        return Err(bad());
    };
    validate::name(name, "queueARN", 128).map_err(|_| bad())?;
    if *region != inner.config.region || *account != inner.config.account_id {
        return Err(KinesisError::not_found(format!(
            "Queue {name} under account {account} not found."
        )));
    }
    Ok((*name).to_owned())
}

/// The queue with this name, settling due transitions (a finished deletion removes it).
pub(crate) fn by_name(inner: &Inner, name: &str) -> Option<Arc<QueueState>> {
    let queue = inner.queues.by_name.read().get(name).cloned()?;
    let gone = queue.data.lock().settle(Instant::now());
    if gone {
        let mut map = inner.queues.by_name.write();
        if map.get(name).is_some_and(|q| Arc::ptr_eq(q, &queue)) {
            map.remove(name);
        }
        return None;
    }
    Some(queue)
}

/// The queue a request's `QueueARN` names.
///
/// # Errors
/// `ValidationException` for a malformed ARN, `ResourceNotFoundException` for an unknown queue.
pub(crate) fn resolve(inner: &Inner, arn: &str) -> Result<Arc<QueueState>, KinesisError> {
    let name = name_from_arn(inner, arn)?;
    by_name(inner, &name).ok_or_else(|| queue_not_found(inner, &name))
}

/// Every queue, by name (settled).
pub(crate) fn all(inner: &Inner) -> Vec<Arc<QueueState>> {
    let names: Vec<String> = inner.queues.by_name.read().keys().cloned().collect();
    names.iter().filter_map(|n| by_name(inner, n)).collect()
}

/// `ResourceNotFoundException` unless the queue delivers (ACTIVE or UPDATING); the data-plane check.
pub(crate) fn require_delivering(
    inner: &Inner,
    queue: &QueueState,
    data: &QueueData,
) -> Result<(), KinesisError> {
    match data.status {
        QueueStatus::Active | QueueStatus::Updating => Ok(()),
        status => Err(KinesisError::not_found(format!(
            "Queue {} under account {} is not ACTIVE, instead in state {}.",
            queue.name,
            inner.config.account_id,
            status_name(status)
        ))),
    }
}

/// The AWS spelling of a queue status.
pub(crate) fn status_name(status: QueueStatus) -> &'static str {
    match status {
        QueueStatus::Creating => "CREATING",
        QueueStatus::Active => "ACTIVE",
        QueueStatus::Updating => "UPDATING",
        QueueStatus::Deleting => "DELETING",
    }
}

/// A validated visibility timeout in seconds.
pub(crate) fn visibility(value: i32, field: &str) -> Result<u32, KinesisError> {
    let v = validate::int_in(Some(value), field, 0, MAX_VISIBILITY_SECS, 0)?;
    Ok(u32::try_from(v).unwrap_or(0))
}

/// Applies requested attributes over `visibility` / `max_receive_count` (members left out keep theirs).
///
/// # Errors
/// `ValidationException` for out-of-range values, `InvalidArgumentException` for `BUILT_IN` without
/// `MaxReceiveCount` or `NONE` with one.
pub(crate) fn apply_attributes(
    attributes: &QueueAttributes,
    visibility_secs: &mut u32,
    max_receive_count: &mut Option<u32>,
) -> Result<(), KinesisError> {
    if let Some(v) = attributes.visibility_timeout_seconds {
        *visibility_secs = visibility(v, "queueAttributes.visibilityTimeoutSeconds")?;
    }
    if let Some(dl) = &attributes.dead_letter_configuration {
        *max_receive_count = match (dl.target_type, dl.max_receive_count) {
            (TargetType::BuiltIn, Some(n)) => {
                let n = validate::int_in(
                    Some(n),
                    "queueAttributes.deadLetterConfiguration.maxReceiveCount",
                    1,
                    1000,
                    1,
                )?;
                Some(u32::try_from(n).unwrap_or(1))
            }
            (TargetType::BuiltIn, None) => {
                return Err(KinesisError::invalid(
                    "MaxReceiveCount is required when the dead-letter TargetType is BUILT_IN.",
                ))
            }
            (TargetType::None, Some(_)) => {
                return Err(KinesisError::invalid(
                    "MaxReceiveCount cannot be specified when the dead-letter TargetType is NONE.",
                ))
            }
            (TargetType::None, None) => None,
        };
    }
    Ok(())
}

/// Validates a starting position and works out where each of the stream's current shards starts.
///
/// # Errors
/// `ValidationException` for a timestamp with a type other than `AT_TIMESTAMP` or a missing one with it.
pub(crate) fn new_source(
    inner: &Inner,
    stream: &StreamState,
    position: Option<&QueueStartingPosition>,
) -> Result<delivery::Source, KinesisError> {
    let position = position.cloned().unwrap_or_default();
    match (position.r#type, position.timestamp) {
        (QueueStartingPositionType::AtTimestamp, None) => {
            return Err(KinesisError::validation(
                "Timestamp is required when the StartingPosition Type is AT_TIMESTAMP.",
            ))
        }
        (QueueStartingPositionType::TrimHorizon | QueueStartingPositionType::Latest, Some(_)) => {
            return Err(KinesisError::validation(
                "Timestamp can only be specified when the StartingPosition Type is AT_TIMESTAMP.",
            ))
        }
        _ => {}
    }
    Ok(delivery::Source::new(inner, stream, position))
}

/// The live queues that read from the stream incarnation `epoch`.
pub(crate) fn on_stream(inner: &Inner, epoch: u64) -> Vec<Arc<QueueState>> {
    all(inner)
        .into_iter()
        .filter(|q| q.data.lock().sources.iter().any(|s| s.epoch == epoch))
        .collect()
}

/// Removes the queues of a stream being deleted (DeleteStream with `EnforceConsumerDeletion`).
pub(crate) fn remove_for_stream(inner: &Inner, epoch: u64) {
    let doomed = on_stream(inner, epoch);
    if doomed.is_empty() {
        return;
    }
    let mut map = inner.queues.by_name.write();
    for q in doomed {
        if map.get(&q.name).is_some_and(|m| Arc::ptr_eq(m, &q)) {
            map.remove(&q.name);
        }
    }
    drop(map);
    inner.queues.wake();
}

pub(crate) use delivery::{entries, receive, update_visibility};
