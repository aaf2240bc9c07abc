//! The load model of a scenario: how fast records arrive on each shard (uniform, Zipf or one hot shard).

use serde::Deserialize;

/// How records arrive: a rate per shard.
#[derive(Clone, Debug, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
#[non_exhaustive]
pub struct LoadModel {
    /// `uniform` (default), `zipf` or `hot`.
    #[serde(default)]
    pub model: LoadShape,
    /// The mean rate per shard in records per second (default 5).
    #[serde(default = "defaults::rate")]
    pub records_per_sec: f64,
    /// Bytes per record (default 1,024).
    #[serde(default = "defaults::record_bytes")]
    pub record_bytes: usize,
    /// `zipf`: the exponent (default 1.0).
    #[serde(default = "defaults::zipf")]
    pub zipf_exponent: f64,
    /// `hot`: the share of the whole stream's records on the first shard (default 0.3).
    #[serde(default = "defaults::hot_share")]
    pub hot_share: f64,
}

impl Default for LoadModel {
    fn default() -> Self {
        LoadModel {
            model: LoadShape::default(),
            records_per_sec: defaults::rate(),
            record_bytes: defaults::record_bytes(),
            zipf_exponent: defaults::zipf(),
            hot_share: defaults::hot_share(),
        }
    }
}

/// The shape of the load over shards.
#[derive(Clone, Copy, Debug, Default, Deserialize, PartialEq, Eq)]
#[serde(rename_all = "kebab-case")]
pub enum LoadShape {
    /// Every shard the same rate.
    #[default]
    Uniform,
    /// Shard `i` gets a rate proportional to `1 / (i + 1)^s`.
    Zipf,
    /// The first shard carries `hot_share` of the stream, the others share the rest.
    Hot,
}

impl LoadModel {
    /// Records per second of each of `shards` shards; their mean is `records_per_sec`.
    pub fn rates(&self, shards: usize) -> Vec<f64> {
        let total = self.records_per_sec * shards as f64;
        match self.model {
            LoadShape::Uniform => vec![self.records_per_sec; shards],
            LoadShape::Zipf => {
                let weights: Vec<f64> = (0..shards)
                    .map(|i| 1.0 / ((i + 1) as f64).powf(self.zipf_exponent))
                    .collect();
                let sum: f64 = weights.iter().sum();
                weights.iter().map(|w| total * w / sum).collect()
            }
            LoadShape::Hot => {
                let rest = if shards > 1 {
                    total * (1.0 - self.hot_share) / (shards - 1) as f64
                } else {
                    0.0
                };
                (0..shards)
                    .map(|i| {
                        if i == 0 {
                            total * self.hot_share.min(1.0)
                        } else {
                            rest
                        }
                    })
                    .collect()
            }
        }
    }
}

mod defaults {
    pub(super) fn rate() -> f64 {
        5.0
    }
    pub(super) fn record_bytes() -> usize {
        1024
    }
    pub(super) fn zipf() -> f64 {
        1.0
    }
    pub(super) fn hot_share() -> f64 {
        0.3
    }
}
