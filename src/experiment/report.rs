//! Writing a [`Report`]: CSV, JSON and a Markdown table here, the plots in [`plot`].

use std::fmt::Write as _;
use std::path::{Path, PathBuf};

use super::error::ExperimentError;
use super::outcome::Report;

mod plot;

/// The files [`Report::write`](super::Report::write) wrote.
#[derive(Clone, Debug, Default)]
#[non_exhaustive]
pub struct Files {
    /// `timeseries.csv`.
    pub csv: PathBuf,
    /// `report.json`.
    pub json: PathBuf,
    /// `summary.md`.
    pub markdown: PathBuf,
    /// The PNG and SVG plots.
    pub plots: Vec<PathBuf>,
}

impl Report {
    /// Writes the CSV, JSON, Markdown and plots into `dir` (created if missing).
    ///
    /// # Errors
    ///
    /// [`ExperimentError::Io`] or [`ExperimentError::Plot`].
    pub fn write(&self, dir: impl Into<PathBuf>) -> Result<Files, ExperimentError> {
        write(self, &dir.into())
    }

    /// The Markdown comparison table.
    pub fn markdown(&self) -> String {
        markdown(self)
    }
}

fn io(path: &Path) -> impl FnOnce(std::io::Error) -> ExperimentError + '_ {
    move |source| ExperimentError::Io {
        path: path.display().to_string(),
        source,
    }
}

fn write(report: &Report, dir: &Path) -> Result<Files, ExperimentError> {
    std::fs::create_dir_all(dir).map_err(io(dir))?;
    let csv = dir.join("timeseries.csv");
    std::fs::write(&csv, timeseries_csv(report)).map_err(io(&csv))?;
    let json = dir.join("report.json");
    let text = serde_json::to_string_pretty(report).map_err(|e| ExperimentError::Io {
        path: json.display().to_string(),
        source: std::io::Error::other(e),
    })?;
    std::fs::write(&json, text).map_err(io(&json))?;
    let markdown = dir.join("summary.md");
    std::fs::write(&markdown, self::markdown(report)).map_err(io(&markdown))?;
    let plots = plot::write_all(report, dir)?;
    Ok(Files {
        csv,
        json,
        markdown,
        plots,
    })
}

/// `strategy,t,worker,leases,load_kbps,unowned,moves,requests,processed,duplicates`: one row per sample
/// and live worker.
fn timeseries_csv(report: &Report) -> String {
    let mut out = String::from(
        "strategy,t_seconds,worker,leases,load_kbps,unowned,moves,requests,processed,duplicates\n",
    );
    for run in &report.runs {
        for s in &run.samples {
            for (worker, leases) in &s.leases {
                let load = s.load_kbps.get(worker).copied().unwrap_or(0.0);
                let _ = writeln!(
                    out,
                    "{},{},{},{},{:.3},{},{},{},{},{}",
                    run.strategy.as_str(),
                    s.t,
                    worker,
                    leases,
                    load,
                    s.unowned,
                    s.moves,
                    s.requests,
                    s.processed,
                    s.duplicates
                );
            }
        }
    }
    out
}

fn opt(v: Option<f64>) -> String {
    v.map_or_else(|| "-".into(), |v| format!("{v:.1}"))
}

fn markdown(report: &Report) -> String {
    let mut out = String::new();
    let _ = writeln!(
        out,
        "Scenario `{}`, seed {}: {} workers, {} shards, {} s.\n",
        report.scenario, report.seed, report.workers, report.shards, report.duration_seconds
    );
    let events = report
        .runs
        .first()
        .map(|r| {
            r.events
                .iter()
                .map(|(t, l)| format!("{l} at {t:.0} s"))
                .collect::<Vec<_>>()
                .join(", ")
        })
        .unwrap_or_default();
    if !events.is_empty() {
        let _ = writeln!(out, "Events: {events}.\n");
    }
    out.push_str("| strategy | moves | moves per phase | converged after start / each event (s) | duplicates | processor starts | final load max/mean | mean load max/mean | final lease spread | store calls per lease-minute | move gap median / max (s) | wall (s) |\n");
    out.push_str("| --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- |\n");
    for run in &report.runs {
        let s = &run.summary;
        let phases = s
            .moves_per_phase
            .iter()
            .map(u64::to_string)
            .collect::<Vec<_>>()
            .join(" / ");
        let mut conv = vec![opt(s.start_convergence_seconds)];
        conv.extend(s.convergence_seconds.iter().map(|c| opt(*c)));
        let _ = writeln!(
            out,
            "| {} | {} | {} | {} | {} | {} | {:.2} | {:.2} | {} | {:.2} | {} / {} | {:.1} |",
            run.strategy.as_str(),
            s.moves,
            phases,
            conv.join(" / "),
            s.duplicates,
            s.processor_starts,
            s.final_load_ratio,
            s.mean_load_ratio,
            s.final_lease_spread,
            s.requests_per_lease_minute,
            opt(s.gap_median_seconds),
            opt(s.gap_max_seconds),
            s.wall_seconds
        );
    }
    // Lease-store calls by operation, per lease-minute.
    let ops: std::collections::BTreeSet<&String> =
        report.runs.iter().flat_map(|r| r.requests_by_op.keys()).collect();
    if !ops.is_empty() {
        let minutes = (report.duration_seconds / 60.0).max(1e-9);
        let per = |n: u64| n as f64 / report.shards.max(1) as f64 / minutes;
        let _ = writeln!(out, "\nLease-store calls per lease-minute, by operation:\n");
        let _ = writeln!(
            out,
            "| strategy | {} |",
            ops.iter().map(|o| o.as_str()).collect::<Vec<_>>().join(" | ")
        );
        let _ = writeln!(out, "| --- |{}", " --- |".repeat(ops.len()));
        for run in &report.runs {
            let cells: Vec<String> = ops
                .iter()
                .map(|op| format!("{:.2}", per(run.requests_by_op.get(*op).copied().unwrap_or(0))))
                .collect();
            let _ = writeln!(out, "| {} | {} |", run.strategy.as_str(), cells.join(" | "));
        }
    }
    out
}
