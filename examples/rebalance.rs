//! Rebalancing experiments: runs scenario files for each assignment strategy and writes the time series,
//! a Markdown comparison and plots (see `kcl::experiment`).
//!
//! ```text
//! cargo run --release --features experiment --example rebalance -- scenarios/join.toml [more.toml ...]
//!     [--out DIR]              where to write (default target/experiments); one directory per scenario
//!     [--strategies a,b]       count-balanced, kcl2, utilization (default: the scenario's list)
//!     [--seed N]               override the scenario's seed
//!     [--dynamodb URL]         leases in a DynamoDB-compatible server (dynalite) instead of in memory;
//!                              the run is then in real time (use a short scenario)
//! ```

use std::path::PathBuf;
use std::process::ExitCode;

use kcl::experiment::{Backend, RunOptions, Scenario, StrategyName};

fn usage(problem: &str) -> ExitCode {
    eprintln!("rebalance: {problem}");
    eprintln!(
        "usage: rebalance SCENARIO.toml|json ... [--out DIR] [--strategies count-balanced,kcl2,utilization] [--seed N] [--dynamodb URL]"
    );
    ExitCode::from(2)
}

fn main() -> ExitCode {
    let mut files = Vec::new();
    let mut out = PathBuf::from("target/experiments");
    let mut strategies: Option<Vec<StrategyName>> = None;
    let mut seed: Option<u64> = None;
    let mut options = RunOptions::default();
    options.progress = true;
    let mut args = std::env::args().skip(1);
    while let Some(arg) = args.next() {
        let mut value = |name: &str| args.next().ok_or_else(|| format!("{name} needs a value"));
        match arg.as_str() {
            "--out" => match value("--out") {
                Ok(v) => out = v.into(),
                Err(e) => return usage(&e),
            },
            "--strategies" => match value("--strategies") {
                Ok(v) => match v.split(',').map(str::parse).collect::<Result<Vec<_>, _>>() {
                    Ok(list) => strategies = Some(list),
                    Err(e) => return usage(&e),
                },
                Err(e) => return usage(&e),
            },
            "--seed" => match value("--seed")
                .and_then(|v| v.parse().map_err(|_| format!("--seed {v:?} is not a number")))
            {
                Ok(v) => seed = Some(v),
                Err(e) => return usage(&e),
            },
            "--dynamodb" => match value("--dynamodb") {
                Ok(v) => options.backend = Backend::DynamoDb { endpoint: v },
                Err(e) => return usage(&e),
            },
            "-h" | "--help" => return usage("help"),
            other if other.starts_with("--") => return usage(&format!("unknown option {other}")),
            file => files.push(PathBuf::from(file)),
        }
    }
    if files.is_empty() {
        return usage("name at least one scenario file (the repository ships some in scenarios/)");
    }
    for file in files {
        let mut scenario = match Scenario::from_file(&file) {
            Ok(s) => s,
            Err(e) => {
                eprintln!("rebalance: {e}");
                return ExitCode::from(2);
            }
        };
        if let Some(list) = &strategies {
            scenario.strategies = list.clone();
        }
        if let Some(seed) = seed {
            scenario.seed = seed;
        }
        let report = match kcl::experiment::run(&scenario, &options) {
            Ok(r) => r,
            Err(e) => {
                eprintln!("rebalance: {}: {e}", file.display());
                return ExitCode::FAILURE;
            }
        };
        let dir = out.join(&scenario.name);
        match report.write(&dir) {
            Ok(files) => {
                println!("{}", report.markdown());
                println!(
                    "wrote {}, {}, {} and {} plots in {}",
                    files.csv.display(),
                    files.json.display(),
                    files.markdown.display(),
                    files.plots.len(),
                    dir.display()
                );
                if let Some(mib) = report.peak_memory_mib {
                    println!("peak memory {mib:.0} MiB");
                }
            }
            Err(e) => {
                eprintln!("rebalance: {e}");
                return ExitCode::FAILURE;
            }
        }
    }
    ExitCode::SUCCESS
}
