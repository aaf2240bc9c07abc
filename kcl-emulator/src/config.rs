//! Emulator configuration: [`EmulatorConfig`] and its builder.
//!
//! Defaults mirror a fresh AWS account in `us-east-1`: per-shard throughput limits on (1 MiB/s and 1,000
//! records/s written, 2 MiB/s and 5 calls/s read), 24 h retention, a 500-shard account limit, and, unlike
//! AWS, instant state transitions (CREATING/UPDATING/DELETING take zero time unless configured).

use std::time::{Duration, SystemTime};

use crate::error::ConfigError;

/// Per-shard throughput limits. `None` in a field switches that limit off.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ThroughputLimits {
    /// Bytes (data + partition key) written per second per shard; AWS: 1 MiB.
    pub write_bytes_per_sec: Option<u64>,
    /// Records written per second per shard; AWS: 1,000.
    pub write_records_per_sec: Option<u64>,
    /// Bytes returned by GetRecords per second per shard; AWS: 2 MiB.
    pub read_bytes_per_sec: Option<u64>,
    /// GetRecords calls per second per shard; AWS: 5.
    pub read_calls_per_sec: Option<u64>,
}

impl ThroughputLimits {
    /// The AWS limits for a provisioned shard.
    pub const AWS: Self = Self {
        write_bytes_per_sec: Some(1024 * 1024),
        write_records_per_sec: Some(1000),
        read_bytes_per_sec: Some(2 * 1024 * 1024),
        read_calls_per_sec: Some(5),
    };

    /// No limit at all.
    pub const UNLIMITED: Self = Self {
        write_bytes_per_sec: None,
        write_records_per_sec: None,
        read_bytes_per_sec: None,
        read_calls_per_sec: None,
    };
}

impl Default for ThroughputLimits {
    fn default() -> Self {
        Self::AWS
    }
}

/// How the emulator behaves; build it with [`EmulatorConfig::builder`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EmulatorConfig {
    pub(crate) region: String,
    pub(crate) account_id: String,
    pub(crate) throughput: ThroughputLimits,
    pub(crate) creating_delay: Duration,
    pub(crate) updating_delay: Duration,
    pub(crate) deleting_delay: Duration,
    pub(crate) consumer_delay: Duration,
    pub(crate) shard_limit: u32,
    pub(crate) default_retention_hours: u32,
    pub(crate) on_demand_shard_count: u32,
    pub(crate) max_consumers_per_stream: u32,
    pub(crate) on_demand_stream_limit: u32,
    pub(crate) channel_limit: u32,
    pub(crate) start_time: Option<SystemTime>,
    pub(crate) seed: Option<u64>,
}

impl EmulatorConfig {
    /// The same configuration in another region (the server's per-region emulators).
    #[cfg(feature = "server")]
    pub(crate) fn for_region(&self, region: &str) -> Self {
        Self {
            region: region.to_owned(),
            ..self.clone()
        }
    }

    /// A builder starting from the defaults.
    pub fn builder() -> EmulatorConfigBuilder {
        EmulatorConfigBuilder {
            config: Self::default(),
        }
    }

    /// The region used in ARNs.
    pub fn region(&self) -> &str {
        &self.region
    }

    /// The account id used in ARNs and messages.
    pub fn account_id(&self) -> &str {
        &self.account_id
    }

    /// The per-shard throughput limits.
    pub fn throughput(&self) -> ThroughputLimits {
        self.throughput
    }

    /// The account's open-shard limit.
    pub fn shard_limit(&self) -> u32 {
        self.shard_limit
    }

    /// The retention period new streams get, in hours.
    pub fn default_retention_hours(&self) -> u32 {
        self.default_retention_hours
    }
}

impl Default for EmulatorConfig {
    fn default() -> Self {
        Self {
            region: "us-east-1".to_owned(),
            account_id: "000000000000".to_owned(),
            throughput: ThroughputLimits::AWS,
            creating_delay: Duration::ZERO,
            updating_delay: Duration::ZERO,
            deleting_delay: Duration::ZERO,
            consumer_delay: Duration::ZERO,
            shard_limit: 500,
            default_retention_hours: 24,
            on_demand_shard_count: 4,
            max_consumers_per_stream: 20,
            on_demand_stream_limit: 50,
            channel_limit: 50,
            start_time: None,
            seed: None,
        }
    }
}

/// Builder for [`EmulatorConfig`]; every setting has a documented default.
#[derive(Debug, Clone)]
pub struct EmulatorConfigBuilder {
    config: EmulatorConfig,
}

impl EmulatorConfigBuilder {
    /// Region in ARNs (default `us-east-1`).
    pub fn region(mut self, region: impl Into<String>) -> Self {
        self.config.region = region.into();
        self
    }

    /// 12-digit account id in ARNs (default `000000000000`).
    pub fn account_id(mut self, account_id: impl Into<String>) -> Self {
        self.config.account_id = account_id.into();
        self
    }

    /// Per-shard throughput limits (default [`ThroughputLimits::AWS`]).
    pub fn throughput_limits(mut self, limits: ThroughputLimits) -> Self {
        self.config.throughput = limits;
        self
    }

    /// Switches every throughput limit off (benchmarks, bulk loading).
    pub fn without_throughput_limits(self) -> Self {
        self.throughput_limits(ThroughputLimits::UNLIMITED)
    }

    /// How long a new stream stays CREATING (default zero).
    pub fn creating_delay(mut self, delay: Duration) -> Self {
        self.config.creating_delay = delay;
        self
    }

    /// How long a stream stays UPDATING after resharding, retention or mode changes (default zero).
    pub fn updating_delay(mut self, delay: Duration) -> Self {
        self.config.updating_delay = delay;
        self
    }

    /// How long a deleted stream stays DELETING before it disappears (default zero).
    pub fn deleting_delay(mut self, delay: Duration) -> Self {
        self.config.deleting_delay = delay;
        self
    }

    /// How long a registered consumer stays CREATING, and a deregistered one DELETING (default zero).
    pub fn consumer_delay(mut self, delay: Duration) -> Self {
        self.config.consumer_delay = delay;
        self
    }

    /// The account's open-shard limit across all streams (default 500, the us-east-1 default).
    pub fn shard_limit(mut self, limit: u32) -> Self {
        self.config.shard_limit = limit;
        self
    }

    /// Retention of new streams in hours, 24..=8760 (default 24).
    pub fn default_retention_hours(mut self, hours: u32) -> Self {
        self.config.default_retention_hours = hours;
        self
    }

    /// Shards an ON_DEMAND stream starts with (default 4, as AWS).
    pub fn on_demand_shard_count(mut self, count: u32) -> Self {
        self.config.on_demand_shard_count = count;
        self
    }

    /// Registered consumers allowed per stream (default 20, as AWS).
    pub fn max_consumers_per_stream(mut self, count: u32) -> Self {
        self.config.max_consumers_per_stream = count;
        self
    }

    /// ON_DEMAND streams allowed in the account (default 50, the AWS default); CreateStream and
    /// UpdateStreamMode past it fail with `LimitExceededException`.
    pub fn on_demand_stream_limit(mut self, limit: u32) -> Self {
        self.config.on_demand_stream_limit = limit;
        self
    }

    /// Channels allowed in the account (default 50, the emulator's choice); CreateChannel past it fails
    /// with `LimitExceededException`.
    pub fn channel_limit(mut self, limit: u32) -> Self {
        self.config.channel_limit = limit;
        self
    }

    /// Pins the emulator's wall clock to start at `start` (default: the system time at creation).
    pub fn start_time(mut self, start: SystemTime) -> Self {
        self.config.start_time = Some(start);
        self
    }

    /// Seeds the emulator's randomness (iterator keys, stream epochs, fault rates) for reproducible runs.
    pub fn seed(mut self, seed: u64) -> Self {
        self.config.seed = Some(seed);
        self
    }

    /// Validates and returns the configuration.
    ///
    /// # Errors
    /// [`ConfigError::Invalid`] when the account id is not 12 digits, the region is empty, the retention is
    /// outside 24..=8760 hours, or a count is zero.
    pub fn build(self) -> Result<EmulatorConfig, ConfigError> {
        let c = self.config;
        let invalid = |field, reason: &str| ConfigError::Invalid {
            field,
            reason: reason.to_owned(),
        };
        if c.account_id.len() != 12 || !c.account_id.bytes().all(|b| b.is_ascii_digit()) {
            return Err(invalid("account_id", "must be 12 digits"));
        }
        if c.region.is_empty() || !c.region.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-') {
            return Err(invalid(
                "region",
                "must be a non-empty region name like us-east-1",
            ));
        }
        if !(24..=8760).contains(&c.default_retention_hours) {
            return Err(invalid("default_retention_hours", "must be within 24..=8760"));
        }
        if c.shard_limit == 0 {
            return Err(invalid("shard_limit", "must be at least 1"));
        }
        if c.on_demand_shard_count == 0 {
            return Err(invalid("on_demand_shard_count", "must be at least 1"));
        }
        let limits = [
            c.throughput.write_bytes_per_sec,
            c.throughput.write_records_per_sec,
            c.throughput.read_bytes_per_sec,
            c.throughput.read_calls_per_sec,
        ];
        if limits.contains(&Some(0)) {
            return Err(invalid(
                "throughput",
                "a limit must be positive (use None to switch it off)",
            ));
        }
        Ok(c)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn defaults_mirror_aws() {
        let c = EmulatorConfig::builder().build().expect("defaults are valid");
        assert_eq!(c.throughput(), ThroughputLimits::AWS);
        assert_eq!(c.default_retention_hours(), 24);
        assert_eq!(c.region(), "us-east-1");
        assert_eq!(c.creating_delay, Duration::ZERO);
    }

    #[test]
    fn rejects_bad_values() {
        assert!(EmulatorConfig::builder().account_id("12").build().is_err());
        assert!(EmulatorConfig::builder()
            .default_retention_hours(23)
            .build()
            .is_err());
        assert!(EmulatorConfig::builder().shard_limit(0).build().is_err());
        let zero = ThroughputLimits {
            read_calls_per_sec: Some(0),
            ..ThroughputLimits::AWS
        };
        assert!(EmulatorConfig::builder().throughput_limits(zero).build().is_err());
    }
}
