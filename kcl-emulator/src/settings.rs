//! Stream and account settings beyond shards and records: encryption, enhanced monitoring, the maximum
//! record size, warm throughput, the record distribution strategy, resource policies, and the account's
//! minimum throughput billing commitment.
//!
//! These are state the emulator keeps and reports (DescribeStreamSummary, DescribeStream,
//! DescribeAccountSettings) and persists in snapshots; of them only the maximum record size and the
//! distribution strategy change how records are written (see `write.rs`). The operations that set them
//! live under `ops/` (StartStreamEncryption, EnableEnhancedMonitoring, UpdateMaxRecordSize, ...).

use std::collections::BTreeSet;
use std::time::Duration;

use serde::{Deserialize, Serialize};

use crate::error::KinesisError;
use crate::shapes::{
    EncryptionType, MinimumThroughputBillingCommitmentOutput, MinimumThroughputBillingCommitmentStatus,
    RecordDistributionStrategy, Timestamp,
};
use crate::shapes::{StreamMode, WarmThroughputObject};
use crate::state::{StreamMeta, StreamState};

/// The default and smallest maximum record size, in KiB (1 MiB).
pub(crate) const DEFAULT_MAX_RECORD_KIB: u32 = 1024;
/// The largest maximum record size, in KiB (10 MiB).
pub(crate) const LARGEST_MAX_RECORD_KIB: u32 = 10240;

/// The shard-level metrics of EnableEnhancedMonitoring, without `ALL` (which stands for all of them).
pub(crate) const SHARD_LEVEL_METRICS: [&str; 7] = [
    "IncomingBytes",
    "IncomingRecords",
    "OutgoingBytes",
    "OutgoingRecords",
    "WriteProvisionedThroughputExceeded",
    "ReadProvisionedThroughputExceeded",
    "IteratorAgeMilliseconds",
];

/// How long a minimum throughput billing commitment lasts at least once enabled.
pub(crate) const COMMITMENT_MINIMUM: Duration = Duration::from_secs(24 * 3600);

/// A stream's settings (in its metadata, persisted as one value).
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(default)]
pub(crate) struct StreamSettings {
    /// Server-side encryption (KMS is only recorded: data is stored as given).
    pub(crate) encryption: EncryptionType,
    /// The KMS key of KMS encryption.
    pub(crate) key_id: Option<String>,
    /// Enabled shard-level metrics (names from [`SHARD_LEVEL_METRICS`]).
    pub(crate) metrics: BTreeSet<String>,
    /// Largest record (data plus partition key) in KiB; `None` is the default 1 MiB.
    pub(crate) max_record_kib: Option<u32>,
    /// Warm throughput target of an ON_DEMAND stream, in MiB/s.
    pub(crate) warm_target_mibps: Option<u32>,
    /// While a warm throughput update is UPDATING: until when, and the warm throughput reported as current
    /// meanwhile. Not persisted.
    #[serde(skip)]
    pub(crate) warm_change: Option<(tokio::time::Instant, i32)>,
    /// How records are spread over shards.
    pub(crate) distribution: RecordDistributionStrategy,
    /// The resource policy attached to the stream (a JSON document as given).
    pub(crate) policy: Option<String>,
    /// While an encryption change is UPDATING: until when, and the encryption records still get (as in
    /// AWS, records are encrypted from when the stream is ACTIVE again). Not persisted.
    #[serde(skip)]
    pub(crate) encryption_change: Option<(tokio::time::Instant, EncryptionType)>,
}

impl StreamSettings {
    /// The encryption of a record written now.
    pub(crate) fn write_encryption(&self) -> EncryptionType {
        match self.encryption_change {
            Some((until, previous)) if tokio::time::Instant::now() < until => previous,
            _ => self.encryption,
        }
    }

    /// Switches the encryption, recording the one in force until `until` (the end of the UPDATING
    /// transition the change starts).
    pub(crate) fn change_encryption(
        &mut self,
        encryption: EncryptionType,
        key_id: Option<String>,
        until: tokio::time::Instant,
    ) {
        self.encryption_change = Some((until, self.write_encryption()));
        self.encryption = encryption;
        self.key_id = key_id;
    }

    /// The largest record in bytes.
    pub(crate) fn max_record_bytes(&self) -> usize {
        self.max_record_kib.unwrap_or(DEFAULT_MAX_RECORD_KIB) as usize * 1024
    }
}

/// A deterministic stream id of the form `[a-z0-9]{20}-[a-z0-9]{3}`, derived from the stream's ARN and
/// epoch (so it survives snapshots and differs between incarnations of a name).
pub(crate) fn stream_id(stream: &StreamState) -> String {
    use md5::{Digest, Md5};
    let digest = Md5::digest(format!("{}#{}", stream.arn, stream.epoch).as_bytes());
    let hex: String = digest.iter().map(|b| format!("{b:02x}")).collect();
    format!("{}-{}", &hex[..20], &hex[20..23])
}

/// `ResourceNotFoundException` unless `given` (a request's `StreamId`) is absent or the stream's id.
pub(crate) fn check_stream_id(
    stream: &StreamState,
    given: Option<&str>,
    account_id: &str,
) -> Result<(), KinesisError> {
    match given {
        Some(id) if id != stream_id(stream) => Err(KinesisError::not_found(format!(
            "Stream {} with id {id} under account {account_id} not found.",
            stream.name
        ))),
        _ => Ok(()),
    }
}

/// The account's minimum throughput billing commitment.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(default)]
pub(crate) struct AccountSettings {
    /// Whether a commitment was enabled (and not yet ended).
    pub(crate) enabled: bool,
    pub(crate) started_at: Option<Timestamp>,
    /// Set when a disable was asked for: the commitment ends then (at the earliest allowed end or at once).
    pub(crate) ended_at: Option<Timestamp>,
    pub(crate) earliest_allowed_end_at: Option<Timestamp>,
}

impl AccountSettings {
    /// The commitment as the API reports it at `now`.
    pub(crate) fn output(&self, now: Timestamp) -> MinimumThroughputBillingCommitmentOutput {
        use MinimumThroughputBillingCommitmentStatus::*;
        let status = match (self.enabled, self.ended_at) {
            (false, _) => Disabled,
            (true, None) => Enabled,
            (true, Some(end)) if end > now => EnabledUntilEarliestAllowedEnd,
            (true, Some(_)) => Disabled,
        };
        MinimumThroughputBillingCommitmentOutput {
            status,
            started_at: self.started_at,
            ended_at: self.ended_at,
            earliest_allowed_end_at: self.earliest_allowed_end_at,
        }
    }

    /// Whether the commitment is in force at `now` (UpdateStreamWarmThroughput requires it).
    pub(crate) fn in_force(&self, now: Timestamp) -> bool {
        self.enabled && self.ended_at.is_none_or(|end| end > now)
    }
}

/// The metric names of a request, with `ALL` expanded.
///
/// # Errors
/// `ValidationException` for an empty list, more than seven names or an unknown name.
pub(crate) fn requested_metrics(metrics: &[String]) -> Result<Vec<&'static str>, KinesisError> {
    if metrics.is_empty() || metrics.len() > 7 {
        return Err(crate::validate::error(
            format!("{metrics:?}"),
            "shardLevelMetrics",
            "Member must have length between 1 and 7",
        ));
    }
    let mut out = Vec::new();
    for m in metrics {
        if m == "ALL" {
            out.extend(SHARD_LEVEL_METRICS);
        } else if let Some(known) = SHARD_LEVEL_METRICS.iter().find(|k| **k == m.as_str()) {
            out.push(*known);
        } else {
            return Err(crate::validate::error(
                m,
                "shardLevelMetrics.member",
                "Member must satisfy enum value set: [IncomingBytes, IncomingRecords, OutgoingBytes, \
                 OutgoingRecords, WriteProvisionedThroughputExceeded, ReadProvisionedThroughputExceeded, \
                 IteratorAgeMilliseconds, ALL]",
            ));
        }
    }
    Ok(out)
}

/// The warm throughput a stream reports (ON_DEMAND streams only): the target (at least the open shards'
/// 1 MiB/s each) once an update has finished UPDATING, the previous value while it has not.
pub(crate) fn warm_throughput(meta: &StreamMeta) -> Option<WarmThroughputObject> {
    if meta.mode != StreamMode::OnDemand {
        return None;
    }
    let baseline = i32::try_from(meta.routes.len()).unwrap_or(i32::MAX);
    let target = meta
        .settings
        .warm_target_mibps
        .map(|t| i32::try_from(t).unwrap_or(i32::MAX));
    let current = match (meta.settings.warm_change, target) {
        (Some((until, previous)), _) if tokio::time::Instant::now() < until => previous,
        (_, Some(t)) => t.max(baseline),
        (_, None) => baseline,
    };
    Some(WarmThroughputObject {
        target_mibps: target,
        current_mibps: Some(current),
    })
}

/// `LimitExceededException` when one more ON_DEMAND stream would exceed the account's limit.
pub(crate) fn check_on_demand_limit(inner: &crate::state::Inner) -> Result<(), KinesisError> {
    let on_demand = inner
        .all_streams()
        .iter()
        .filter(|s| s.meta.read().mode == StreamMode::OnDemand)
        .count();
    if on_demand >= inner.config.on_demand_stream_limit as usize {
        return Err(KinesisError::limit(format!(
            "This request would exceed the limit of {} ON_DEMAND streams for the account {} in {}.",
            inner.config.on_demand_stream_limit, inner.config.account_id, inner.config.region
        )));
    }
    Ok(())
}

/// An EnableEnhancedMonitoring or DisableEnhancedMonitoring request (the two have the same members).
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase", default)]
pub struct EnhancedMonitoringInput {
    /// Stream name (or give `stream_arn`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub stream_name: Option<String>,
    /// 1..=7 of `IncomingBytes`, `IncomingRecords`, `OutgoingBytes`, `OutgoingRecords`,
    /// `WriteProvisionedThroughputExceeded`, `ReadProvisionedThroughputExceeded`,
    /// `IteratorAgeMilliseconds`, `ALL`.
    pub shard_level_metrics: Vec<String>,
    /// Stream ARN (or give `stream_name`).
    #[serde(rename = "StreamARN", skip_serializing_if = "Option::is_none")]
    pub stream_arn: Option<String>,
    /// The stream's id, if given it must match.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub stream_id: Option<String>,
}

crate::dispatch::named_stream!(EnhancedMonitoringInput);

/// Enable or Disable EnhancedMonitoring: `change` applies the requested metrics (`ALL` expanded) to the
/// stream's set; the stream goes UPDATING and the answer gives the metrics before and after.
pub(crate) fn change_metrics(
    inner: &crate::state::Inner,
    input: EnhancedMonitoringInput,
    change: impl FnOnce(&mut BTreeSet<String>, Vec<&'static str>),
) -> Result<crate::shapes::EnhancedMonitoringOutput, KinesisError> {
    let metrics = requested_metrics(&input.shard_level_metrics)?;
    let stream = crate::lookup::resolve_with_id(
        inner,
        input.stream_name.as_deref(),
        input.stream_arn.as_deref(),
        input.stream_id.as_deref(),
    )?;
    crate::lookup::require_active(inner, &stream)?;
    let mut meta = stream.meta.write();
    let current: Vec<String> = meta.settings.metrics.iter().cloned().collect();
    change(&mut meta.settings.metrics, metrics);
    let desired: Vec<String> = meta.settings.metrics.iter().cloned().collect();
    stream.begin_transition(
        &mut meta,
        crate::shapes::StreamStatus::Updating,
        inner.config.updating_delay,
    );
    Ok(crate::shapes::EnhancedMonitoringOutput {
        stream_name: Some(stream.name.clone()),
        current_shard_level_metrics: Some(current),
        desired_shard_level_metrics: Some(desired),
        stream_arn: Some(stream.arn.clone()),
    })
}

/// A StartStreamEncryption or StopStreamEncryption request (the two have the same members).
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase", default)]
pub struct StreamEncryptionInput {
    /// Stream name (or give `stream_arn`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub stream_name: Option<String>,
    /// Must be KMS.
    pub encryption_type: EncryptionType,
    /// The KMS key (id, ARN, alias name or alias ARN; 1..=2048 characters); to stop, the stream's key.
    pub key_id: String,
    /// Stream ARN (or give `stream_name`).
    #[serde(rename = "StreamARN", skip_serializing_if = "Option::is_none")]
    pub stream_arn: Option<String>,
    /// The stream's id, if given it must match.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub stream_id: Option<String>,
}

/// The empty answer of StartStreamEncryption and StopStreamEncryption.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct StreamEncryptionOutput {}

crate::dispatch::named_stream!(StreamEncryptionInput);

/// Start or Stop StreamEncryption (`operation` names it in messages): checks the request, lets `check`
/// refuse it given the stream's settings, then records `to` (type and key id) from the end of an UPDATING
/// period.
pub(crate) fn change_encryption(
    inner: &crate::state::Inner,
    operation: &str,
    input: StreamEncryptionInput,
    check: impl FnOnce(&StreamState, &StreamSettings, &str) -> Result<(), KinesisError>,
    to: impl FnOnce(String) -> (EncryptionType, Option<String>),
) -> Result<StreamEncryptionOutput, KinesisError> {
    if input.encryption_type != EncryptionType::Kms {
        return Err(KinesisError::invalid(format!(
            "{operation} requires EncryptionType KMS."
        )));
    }
    crate::validate::length(&input.key_id, "keyId", 1, 2048)?;
    let stream = crate::lookup::resolve_with_id(
        inner,
        input.stream_name.as_deref(),
        input.stream_arn.as_deref(),
        input.stream_id.as_deref(),
    )?;
    crate::lookup::require_active(inner, &stream)?;
    let mut meta = stream.meta.write();
    check(&stream, &meta.settings, &input.key_id)?;
    let until = crate::state::deadline_after(inner.config.updating_delay);
    let (kind, key) = to(input.key_id);
    meta.settings.change_encryption(kind, key, until);
    stream.begin_transition(
        &mut meta,
        crate::shapes::StreamStatus::Updating,
        inner.config.updating_delay,
    );
    Ok(StreamEncryptionOutput {})
}
