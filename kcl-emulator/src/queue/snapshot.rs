//! Queues in an [`EmulatorSnapshot`](crate::EmulatorSnapshot): their configuration and their exact
//! delivery state (cursors, tracked records, invisibility deadlines as wall-clock milliseconds), so a
//! restored emulator accepts the receipt handles issued before the snapshot.

use std::collections::{BTreeMap, HashSet};
use std::sync::atomic::Ordering;
use std::sync::Arc;
use std::time::Duration;

use parking_lot::Mutex;
use serde::{Deserialize, Serialize};
use tokio::time::Instant;

use super::delivery::Source;
use super::shapes::QueueStatus;
use super::{QueueData, QueueState};
use crate::error::ConfigError;
use crate::shapes::Timestamp;
use crate::state::{deadline_after, Inner};

/// One queue, as snapshots hold it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub(crate) struct QueueSnapshot {
    name: String,
    arn: String,
    id: u64,
    created_ms: i64,
    status: QueueStatus,
    transition_remaining_ms: Option<u64>,
    visibility_secs: u32,
    max_receive_count: Option<u32>,
    tags: BTreeMap<String, String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    policy: Option<String>,
    sources: Vec<Source>,
}

/// Every queue (settled), and the queue-id counter.
pub(crate) fn export(inner: &Inner) -> (Vec<QueueSnapshot>, u64) {
    let now = Instant::now();
    let queues = super::all(inner)
        .iter()
        .map(|q| {
            let data = q.data.lock();
            QueueSnapshot {
                name: q.name.clone(),
                arn: q.arn.clone(),
                id: q.id,
                created_ms: q.created.as_millis(),
                status: data.status,
                transition_remaining_ms: data
                    .transition_until
                    .map(|u| u64::try_from(u.saturating_duration_since(now).as_millis()).unwrap_or(u64::MAX)),
                visibility_secs: data.visibility_secs,
                max_receive_count: data.max_receive_count,
                tags: data.tags.clone(),
                policy: data.policy.clone(),
                sources: data.sources.clone(),
            }
        })
        .collect();
    (queues, inner.queues.next_id.load(Ordering::Relaxed))
}

/// The queues of a snapshot, checked (unique names and ids), ready to [`install`].
pub(crate) fn build(queues: &[QueueSnapshot]) -> Result<Vec<Arc<QueueState>>, ConfigError> {
    let mut names = HashSet::new();
    let mut ids = HashSet::new();
    queues
        .iter()
        .map(|q| {
            if !names.insert(q.name.as_str()) || !ids.insert(q.id) {
                return Err(ConfigError::InvalidSnapshot {
                    reason: format!("queue {} (id {}) appears twice", q.name, q.id),
                });
            }
            if q.sources.is_empty() {
                return Err(ConfigError::InvalidSnapshot {
                    reason: format!("queue {} has no stream", q.name),
                });
            }
            Ok(Arc::new(QueueState {
                name: q.name.clone(),
                arn: q.arn.clone(),
                id: q.id,
                created: Timestamp::from_millis(q.created_ms),
                data: Mutex::new(QueueData {
                    status: q.status,
                    transition_until: q
                        .transition_remaining_ms
                        .map(|ms| deadline_after(Duration::from_millis(ms))),
                    visibility_secs: q.visibility_secs,
                    max_receive_count: q.max_receive_count,
                    tags: q.tags.clone(),
                    policy: q.policy.clone(),
                    sources: q.sources.clone(),
                }),
            }))
        })
        .collect()
}

/// Replaces every queue with `queues` (from [`build`]).
pub(crate) fn install(inner: &Inner, queues: Vec<Arc<QueueState>>, next_id: u64) {
    let max_id = queues.iter().map(|q| q.id).max().unwrap_or(0);
    let mut map = inner.queues.by_name.write();
    map.clear();
    for q in queues {
        map.insert(q.name.clone(), q);
    }
    drop(map);
    inner.queues.next_id.store(next_id.max(max_id), Ordering::Relaxed);
    inner.queues.wake();
}
