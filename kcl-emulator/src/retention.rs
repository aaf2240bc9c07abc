//! Changing a stream's retention period, shared by IncreaseStreamRetentionPeriod and
//! DecreaseStreamRetentionPeriod.

use std::sync::atomic::Ordering;

use crate::error::KinesisError;
use crate::lookup;
use crate::shapes::StreamStatus;
use crate::state::{Inner, StreamState};
use crate::validate;

/// Validates and applies a retention change (`increase` says which of the two operations asks).
pub(crate) fn change(
    inner: &Inner,
    stream: &StreamState,
    hours: i32,
    increase: bool,
) -> Result<(), KinesisError> {
    validate::int_in(Some(hours), "retentionPeriodHours", 1, i32::MAX, 24)?;
    if hours < 24 {
        return Err(KinesisError::invalid(format!(
            "Minimum allowed retention period is 24 hours. Requested retention period ({hours} hours) is \
             too short."
        )));
    }
    if hours > 8760 {
        return Err(KinesisError::invalid(format!(
            "Maximum allowed retention period is 8760 hours. Requested retention period ({hours} hours) is \
             too long."
        )));
    }
    lookup::require_active(inner, stream)?;
    let hours = u32::try_from(hours).unwrap_or(24);
    let mut meta = stream.meta.write();
    if increase && hours < meta.retention_hours {
        return Err(KinesisError::invalid(format!(
            "Requested retention period ({hours} hours) for stream {} can not be shorter than existing \
             retention period ({} hours). Use DecreaseRetentionPeriod API.",
            stream.name, meta.retention_hours
        )));
    }
    if !increase && hours > meta.retention_hours {
        return Err(KinesisError::invalid(format!(
            "Requested retention period ({hours} hours) for stream {} can not be longer than existing \
             retention period ({} hours). Use IncreaseRetentionPeriod API.",
            stream.name, meta.retention_hours
        )));
    }
    // Trim with the old retention first, so that raising it cannot bring expired records back.
    let now = inner.now_millis();
    let cutoff = now.saturating_sub(stream.retention_ms());
    for shard in &meta.shards {
        shard.data.lock().trim(cutoff);
    }
    meta.retention_hours = hours;
    stream
        .retention_ms
        .store(u64::from(hours) * 3_600_000, Ordering::Relaxed);
    stream.begin_transition(&mut meta, StreamStatus::Updating, inner.config.updating_delay);
    Ok(())
}
