//! [`Timestamp`]: a point in wall time with millisecond precision, as Kinesis keeps them, and its
//! conversions to and from `SystemTime`.
//!
//! Its own module so that both the [`clock`](crate::clock) (which produces timestamps) and the
//! [`types`](crate::types) (which carry them) depend on it without depending on each other.

use std::fmt;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use serde::{Deserialize, Serialize};

/// A point in time with millisecond precision (epoch milliseconds), as Kinesis keeps them.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Default)]
pub struct Timestamp(i64);

impl Timestamp {
    /// The timestamp `millis` milliseconds after the Unix epoch.
    pub const fn from_millis(millis: i64) -> Self {
        Self(millis)
    }

    /// Milliseconds since the Unix epoch.
    pub const fn as_millis(self) -> i64 {
        self.0
    }

    /// From fractional epoch seconds (the JSON wire format), rounded to the nearest millisecond: a
    /// decimal such as `1.001` is slightly below itself in binary, and must not come out 1 ms early.
    pub fn from_secs_f64(secs: f64) -> Self {
        if secs.is_finite() {
            // `as` saturates for out-of-range floats; no panic.
            Self((secs * 1000.0).round() as i64)
        } else {
            Self(0)
        }
    }

    /// Fractional epoch seconds (the JSON wire format).
    pub fn as_secs_f64(self) -> f64 {
        self.0 as f64 / 1000.0
    }

    /// From a `SystemTime`, truncated to the millisecond.
    pub fn from_system_time(t: SystemTime) -> Self {
        Self(system_time_to_millis(t))
    }

    /// As a `SystemTime`.
    pub fn to_system_time(self) -> SystemTime {
        millis_to_system_time(self.0)
    }
}

impl From<SystemTime> for Timestamp {
    fn from(t: SystemTime) -> Self {
        Self::from_system_time(t)
    }
}

impl Serialize for Timestamp {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        if serializer.is_human_readable() {
            serializer.serialize_f64(self.as_secs_f64())
        } else {
            serializer.serialize_i64(self.0)
        }
    }
}

impl<'de> Deserialize<'de> for Timestamp {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct V(bool);
        impl serde::de::Visitor<'_> for V {
            type Value = Timestamp;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("a timestamp (epoch seconds in JSON, epoch milliseconds in CBOR)")
            }
            fn visit_i64<E: serde::de::Error>(self, v: i64) -> Result<Timestamp, E> {
                Ok(if self.0 {
                    Timestamp(v.saturating_mul(1000))
                } else {
                    Timestamp(v)
                })
            }
            fn visit_u64<E: serde::de::Error>(self, v: u64) -> Result<Timestamp, E> {
                self.visit_i64(i64::try_from(v).unwrap_or(i64::MAX))
            }
            fn visit_f64<E: serde::de::Error>(self, v: f64) -> Result<Timestamp, E> {
                Ok(Timestamp::from_secs_f64(v))
            }
            fn visit_str<E: serde::de::Error>(self, v: &str) -> Result<Timestamp, E> {
                v.trim()
                    .parse::<f64>()
                    .map(Timestamp::from_secs_f64)
                    .map_err(|_| E::custom("timestamp string is not a number of epoch seconds"))
            }
        }
        let human = deserializer.is_human_readable();
        deserializer.deserialize_any(V(human))
    }
}

/// Milliseconds since the Unix epoch of `t` (negative before 1970), saturating.
pub(crate) fn system_time_to_millis(t: SystemTime) -> i64 {
    match t.duration_since(UNIX_EPOCH) {
        Ok(d) => i64::try_from(d.as_millis()).unwrap_or(i64::MAX),
        Err(e) => i64::try_from(e.duration().as_millis())
            .map(|m| -m)
            .unwrap_or(i64::MIN),
    }
}

/// The `SystemTime` `millis` milliseconds after the Unix epoch.
pub(crate) fn millis_to_system_time(millis: i64) -> SystemTime {
    if millis >= 0 {
        UNIX_EPOCH
            .checked_add(Duration::from_millis(millis.unsigned_abs()))
            .unwrap_or(UNIX_EPOCH)
    } else {
        UNIX_EPOCH
            .checked_sub(Duration::from_millis(millis.unsigned_abs()))
            .unwrap_or(UNIX_EPOCH)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn millis_round_trip() {
        for m in [0_i64, 1, 1_700_000_000_123, -5_000] {
            assert_eq!(system_time_to_millis(millis_to_system_time(m)), m);
        }
    }
}
