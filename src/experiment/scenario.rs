//! Scenario files: what fleet to run, under which load, and which events happen when.

use std::path::Path;
use std::time::Duration;

use serde::{Deserialize, Deserializer};

use super::error::ExperimentError;

mod load;
#[cfg(test)]
mod tests;

pub use load::{LoadModel, LoadShape};

/// A scenario, read from TOML or JSON (see the [module docs](super) for an example).
#[derive(Clone, Debug, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
#[non_exhaustive]
pub struct Scenario {
    /// A name for reports (default: the file stem).
    #[serde(default)]
    pub name: String,
    /// Seeds everything random in the run: worker jitter, store faults, which workers crash, which shards
    /// split.
    #[serde(default = "defaults::seed")]
    pub seed: u64,
    /// Workers at the start.
    pub workers: usize,
    /// Open shards at the start.
    pub shards: usize,
    /// How long the run lasts (virtual time; real time against DynamoDB).
    #[serde(deserialize_with = "duration")]
    pub duration: Duration,
    /// The strategies to compare (default: all three built in).
    #[serde(default = "defaults::strategies")]
    pub strategies: Vec<StrategyName>,
    /// Worker settings.
    #[serde(default)]
    pub worker: WorkerSettings,
    /// The per-shard load.
    #[serde(default)]
    pub load: LoadModel,
    /// How often the time series is sampled (default 5 s).
    #[serde(default = "defaults::sample_interval", deserialize_with = "duration")]
    pub sample_interval: Duration,
    /// The events, in any order.
    #[serde(default)]
    pub events: Vec<Event>,
}

/// A built-in strategy.
#[derive(Clone, Copy, Debug, Deserialize, serde::Serialize, PartialEq, Eq, PartialOrd, Ord)]
#[serde(rename_all = "kebab-case")]
pub enum StrategyName {
    /// [`CountBalanced`](kcl_core::CountBalanced).
    CountBalanced,
    /// [`Kcl2Compatible`](kcl_core::Kcl2Compatible).
    Kcl2,
    /// [`UtilizationAware`](kcl_core::UtilizationAware).
    Utilization,
}

impl StrategyName {
    /// The name used in files and tables.
    pub fn as_str(self) -> &'static str {
        match self {
            StrategyName::CountBalanced => "count-balanced",
            StrategyName::Kcl2 => "kcl2",
            StrategyName::Utilization => "utilization",
        }
    }

    /// A fresh instance (each worker needs its own: two of them remember when they last stole).
    pub fn build(self) -> std::sync::Arc<dyn kcl_core::AssignmentStrategy> {
        match self {
            StrategyName::CountBalanced => std::sync::Arc::new(kcl_core::CountBalanced::new()),
            StrategyName::Kcl2 => std::sync::Arc::new(kcl_core::Kcl2Compatible::new()),
            StrategyName::Utilization => std::sync::Arc::new(kcl_core::UtilizationAware::new()),
        }
    }
}

impl std::str::FromStr for StrategyName {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s {
            "count-balanced" => Ok(StrategyName::CountBalanced),
            "kcl2" => Ok(StrategyName::Kcl2),
            "utilization" => Ok(StrategyName::Utilization),
            other => Err(format!(
                "unknown strategy {other:?}: use count-balanced, kcl2 or utilization"
            )),
        }
    }
}

/// Worker settings for every worker of the run.
#[derive(Clone, Debug, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
#[non_exhaustive]
pub struct WorkerSettings {
    /// Lease duration (default 10 s).
    #[serde(default = "defaults::lease_duration", deserialize_with = "duration")]
    pub lease_duration: Duration,
    /// `per-lease` (default) or `heartbeat`.
    #[serde(default)]
    pub renewal: Renewal,
    /// Cooperative handoffs for balancing moves (default true).
    #[serde(default = "defaults::yes")]
    pub graceful_handoff: bool,
    /// Idle time between reads of a shard (default 1 s).
    #[serde(default = "defaults::idle", deserialize_with = "duration")]
    pub idle_time_between_reads: Duration,
    /// How often workers report lease loads (utilization strategy; default 30 s).
    #[serde(default = "defaults::load_report", deserialize_with = "duration")]
    pub load_report_interval: Duration,
    /// How often each processor checkpoints (default 10 s; and always when asked to hand off).
    #[serde(default = "defaults::checkpoint", deserialize_with = "duration")]
    pub checkpoint_interval: Duration,
}

impl Default for WorkerSettings {
    fn default() -> Self {
        WorkerSettings {
            lease_duration: defaults::lease_duration(),
            renewal: Renewal::default(),
            graceful_handoff: true,
            idle_time_between_reads: defaults::idle(),
            load_report_interval: defaults::load_report(),
            checkpoint_interval: defaults::checkpoint(),
        }
    }
}

/// How leases are renewed ([`LeaseRenewal`](kcl_core::LeaseRenewal)).
#[derive(Clone, Copy, Debug, Default, Deserialize, PartialEq, Eq)]
#[serde(rename_all = "kebab-case")]
pub enum Renewal {
    /// Every lease renewed (the Java KCL's rule).
    #[default]
    PerLease,
    /// One heartbeat per worker.
    Heartbeat,
}

/// Something that happens during the run. (Unknown fields are refused by [`EventKind`].)
#[derive(Clone, Debug, Deserialize, PartialEq)]
#[non_exhaustive]
pub struct Event {
    /// When (from the start).
    #[serde(deserialize_with = "duration")]
    pub at: Duration,
    /// What.
    #[serde(flatten)]
    pub kind: EventKind,
}

/// What an [`Event`] does.
#[derive(Clone, Debug, Deserialize, PartialEq)]
#[serde(tag = "kind", rename_all = "kebab-case", deny_unknown_fields)]
#[non_exhaustive]
pub enum EventKind {
    /// New workers start.
    Join {
        /// How many (default 1).
        #[serde(default = "defaults::one")]
        count: usize,
    },
    /// Workers die without a word (`kill -9`): their leases are taken after they expire.
    Crash {
        /// How many, chosen at random among the live workers (default 1).
        #[serde(default = "defaults::one")]
        count: usize,
    },
    /// Workers shut down gracefully (checkpoint, release).
    Leave {
        /// How many, chosen at random (default 1).
        #[serde(default = "defaults::one")]
        count: usize,
    },
    /// Every worker live at that moment is replaced, one at a time: its replacement starts, then it leaves.
    RollingDeploy {
        /// Time between replacements (default 30 s).
        #[serde(default = "defaults::deploy_step", deserialize_with = "duration")]
        interval: Duration,
    },
    /// Open shards split in two (each child gets half the parent's rate).
    Split {
        /// How many, chosen at random (default 1).
        #[serde(default = "defaults::one")]
        count: usize,
    },
    /// Pairs of adjacent open shards merge (the child gets both rates).
    Merge {
        /// How many merges (default 1).
        #[serde(default = "defaults::one")]
        count: usize,
    },
    /// Every lease-store call takes this long from now on (uniform between `min` and `max`).
    StoreLatency {
        /// The least latency.
        #[serde(deserialize_with = "duration")]
        min: Duration,
        /// The most latency.
        #[serde(deserialize_with = "duration")]
        max: Duration,
    },
    /// This fraction of lease-store calls is throttled from now on (0 ends throttling).
    StoreThrottle {
        /// The probability of a throttle per call.
        probability: f64,
    },
}

impl EventKind {
    /// A short label for tables and plots.
    pub fn label(&self) -> String {
        match self {
            EventKind::Join { count } => format!("join {count}"),
            EventKind::Crash { count } => format!("crash {count}"),
            EventKind::Leave { count } => format!("leave {count}"),
            EventKind::RollingDeploy { .. } => "rolling deploy".into(),
            EventKind::Split { count } => format!("split {count}"),
            EventKind::Merge { count } => format!("merge {count}"),
            EventKind::StoreLatency { max, .. } if max.is_zero() => "store latency off".into(),
            EventKind::StoreLatency { min, max } => format!(
                "store latency {}-{}",
                humantime::format_duration(*min),
                humantime::format_duration(*max)
            ),
            EventKind::StoreThrottle { probability } if *probability == 0.0 => "throttling off".into(),
            EventKind::StoreThrottle { probability } => format!("throttle {:.0}%", probability * 100.0),
        }
    }
}

impl Scenario {
    /// Reads a scenario from a `.toml` or `.json` file and checks it.
    ///
    /// # Errors
    ///
    /// [`ExperimentError::Io`] when the file cannot be read; [`ExperimentError::Scenario`] when it does not
    /// parse or a value is out of range (the message says which and what to change).
    pub fn from_file(path: impl AsRef<Path>) -> Result<Self, ExperimentError> {
        let path = path.as_ref();
        let text = std::fs::read_to_string(path).map_err(|source| ExperimentError::Io {
            path: path.display().to_string(),
            source,
        })?;
        let json = path.extension().is_some_and(|e| e.eq_ignore_ascii_case("json"));
        let mut scenario = if json {
            Self::from_json(&text)
        } else {
            Self::from_toml(&text)
        }
        .map_err(|e| match e {
            ExperimentError::Scenario { message, .. } => ExperimentError::Scenario {
                source_name: path.display().to_string(),
                message,
            },
            other => other,
        })?;
        if scenario.name.is_empty() {
            scenario.name = path
                .file_stem()
                .map_or_else(|| "scenario".into(), |s| s.to_string_lossy().into_owned());
        }
        Ok(scenario)
    }

    /// Parses and checks a TOML scenario.
    ///
    /// # Errors
    ///
    /// [`ExperimentError::Scenario`].
    pub fn from_toml(text: &str) -> Result<Self, ExperimentError> {
        let scenario: Scenario = toml::from_str(text).map_err(|e| invalid(e.to_string()))?;
        scenario.validate()?;
        Ok(scenario)
    }

    /// Parses and checks a JSON scenario.
    ///
    /// # Errors
    ///
    /// [`ExperimentError::Scenario`].
    pub fn from_json(text: &str) -> Result<Self, ExperimentError> {
        let scenario: Scenario = serde_json::from_str(text).map_err(|e| invalid(e.to_string()))?;
        scenario.validate()?;
        Ok(scenario)
    }

    /// Checks ranges.
    ///
    /// # Errors
    ///
    /// [`ExperimentError::Scenario`] naming the value and what to change.
    pub fn validate(&self) -> Result<(), ExperimentError> {
        let fail = |m: String| Err(invalid(m));
        if self.workers == 0 {
            return fail("workers must be at least 1".into());
        }
        if self.shards == 0 {
            return fail("shards must be at least 1".into());
        }
        if self.duration.is_zero() {
            return fail("duration must be more than 0 (e.g. \"5m\")".into());
        }
        if self.sample_interval < Duration::from_millis(100) || self.sample_interval > self.duration {
            return fail(format!(
                "sample_interval {:?} must be at least 100 ms and at most the duration",
                self.sample_interval
            ));
        }
        if self.strategies.is_empty() {
            return fail(
                "strategies is empty: name at least one of count-balanced, kcl2, utilization".into(),
            );
        }
        let l = &self.load;
        if !(l.records_per_sec.is_finite() && l.records_per_sec >= 0.0) {
            return fail(format!(
                "load.records_per_sec must be >= 0, not {}",
                l.records_per_sec
            ));
        }
        if !(l.hot_share.is_finite() && (0.0..=1.0).contains(&l.hot_share)) {
            return fail(format!(
                "load.hot_share must be between 0 and 1, not {}",
                l.hot_share
            ));
        }
        if !(l.zipf_exponent.is_finite() && l.zipf_exponent >= 0.0) {
            return fail(format!(
                "load.zipf_exponent must be >= 0, not {}",
                l.zipf_exponent
            ));
        }
        if l.record_bytes == 0 || l.record_bytes > 1024 * 1024 {
            return fail(format!(
                "load.record_bytes must be 1 to 1,048,576, not {}",
                l.record_bytes
            ));
        }
        for e in &self.events {
            if e.at > self.duration {
                return fail(format!(
                    "event {} at {:?} is after the end ({:?})",
                    e.kind.label(),
                    e.at,
                    self.duration
                ));
            }
            match &e.kind {
                EventKind::StoreThrottle { probability } if !(0.0..=1.0).contains(probability) => {
                    return fail(format!(
                        "store-throttle probability must be 0 to 1, not {probability}"
                    ));
                }
                EventKind::StoreLatency { min, max } if min > max => {
                    return fail(format!("store-latency min {min:?} is above max {max:?}"));
                }
                EventKind::RollingDeploy { interval } if interval.is_zero() => {
                    return fail("rolling-deploy interval must be more than 0".into());
                }
                _ => {}
            }
        }
        Ok(())
    }

    /// The events in time order.
    pub fn schedule(&self) -> Vec<Event> {
        let mut events = self.events.clone();
        events.sort_by_key(|e| e.at);
        events
    }
}

fn invalid(message: String) -> ExperimentError {
    ExperimentError::Scenario {
        source_name: "scenario".into(),
        message,
    }
}

/// A duration written as humantime text (`"30s"`, `"2m 30s"`, `"1h"`).
fn duration<'de, D: Deserializer<'de>>(d: D) -> Result<Duration, D::Error> {
    let text = String::deserialize(d)?;
    humantime::parse_duration(&text).map_err(|e| {
        serde::de::Error::custom(format!(
            "{text:?} is not a duration ({e}); write e.g. \"30s\" or \"5m\""
        ))
    })
}

mod defaults {
    use std::time::Duration;

    use super::StrategyName;

    pub(super) fn seed() -> u64 {
        1
    }
    pub(super) fn strategies() -> Vec<StrategyName> {
        vec![
            StrategyName::CountBalanced,
            StrategyName::Kcl2,
            StrategyName::Utilization,
        ]
    }
    pub(super) fn sample_interval() -> Duration {
        Duration::from_secs(5)
    }
    pub(super) fn lease_duration() -> Duration {
        Duration::from_secs(10)
    }
    pub(super) fn yes() -> bool {
        true
    }
    pub(super) fn idle() -> Duration {
        Duration::from_secs(1)
    }
    pub(super) fn load_report() -> Duration {
        Duration::from_secs(30)
    }
    pub(super) fn checkpoint() -> Duration {
        Duration::from_secs(10)
    }
    pub(super) fn one() -> usize {
        1
    }
    pub(super) fn deploy_step() -> Duration {
        Duration::from_secs(30)
    }
}
