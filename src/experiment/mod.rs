//! The rebalancing experiment harness (feature `experiment`): runs the real [`Worker`](kcl_core::Worker)
//! code for N workers over M shards in paused virtual time, under a scenario of joins, crashes, graceful
//! leaves, rolling deploys, splits, merges and lease-store latency or throttling, once per assignment
//! strategy with the same seed, and writes what happened.
//!
//! ```toml
//! # scenarios/hot-shard.toml
//! name = "hot-shard"
//! seed = 7
//! workers = 4
//! shards = 40
//! duration = "8m"
//! strategies = ["count-balanced", "kcl2", "utilization"]
//!
//! [load]
//! model = "hot"          # uniform | zipf | hot
//! records_per_sec = 5.0  # mean per shard
//! record_bytes = 1024
//! hot_share = 0.3        # the first shard's share of the stream
//!
//! [[events]]
//! at = "2m"
//! kind = "join"          # join | crash | leave | rolling-deploy | split | merge | store-latency | store-throttle
//! count = 1
//! ```
//!
//! Run one with `cargo run --release --features experiment --example rebalance -- scenarios/join.toml`, or
//! from code with [`run`]. For each strategy it records, every `sample_interval`: leases and load (KB/s,
//! from the load model) per worker, leases not owned by a live worker, lease moves, lease-store calls,
//! records processed and duplicates (a record processed again after a move or a crash); and at the end,
//! processor starts, processing gaps (from a shard's last record before a move to the new owner's
//! first), convergence after each event (the time until leases stop moving and every lease is owned) and
//! lease-store calls by operation. [`Report::write`] writes:
//! - `timeseries.csv` (one row per sample, worker and strategy) and `report.json` (everything);
//! - `summary.md`: one table comparing the strategies on this scenario and seed;
//! - plots, PNG and SVG (drawn with `plotters`; the font is the `dejavu` crate's DejaVu Sans, embedded so
//!   that no system font is needed): leases per worker over time, load spread (most loaded worker / mean)
//!   over time, lease moves over time with the events marked, lease moves per event (bars), lease-store
//!   calls per second.
//!
//! **Time.** Against the in-memory store the run is in paused tokio time: a 30-minute scenario takes as
//! long as the work in it, and a seed replays the same run. With [`Backend::DynamoDb`] (dynalite, DynamoDB
//! Local) the lease store is a real server, so the run is in real time (paused time would fire every
//! timeout while a request is on the wire): use short scenarios there; the calls are counted at the
//! client, one request each (a listing is one Scan per 1 MB page).
//!
//! **The synthetic stream** ([`SyntheticStream`]) computes records from the clock instead of storing
//! them: record `i` of a shard arrives at `i / rate`. It is what lets 100 workers over 10,000 shards run
//! for 30 virtual minutes on a laptop (BENCHMARKS.md has the wall time and memory).
//!
//! Why these crates: `plotters` draws PNG and SVG from one chart description without a browser or a
//! system library; `indicatif` is the maintained progress bar (drawn only on a terminal); `toml` and
//! `serde_json` read the scenario files.

mod error;
mod outcome;
mod report;
mod run;
mod scenario;
mod source;
mod store;

pub use error::ExperimentError;
pub use outcome::{Report, Sample, StrategyRun, Summary};
pub use report::Files;
pub use run::{run, Backend, RunOptions};
pub use scenario::{Event, EventKind, LoadModel, LoadShape, Renewal, Scenario, StrategyName, WorkerSettings};
pub use source::SyntheticStream;
pub use store::CountingLeaseStore;
