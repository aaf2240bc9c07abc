//! The report's plots (PNG and SVG of each): lease counts per worker, the line plots (a table of captions
//! and series) and the moves-per-event bars, each a [`Plot`] drawn on any plotters backend.

use std::path::{Path, PathBuf};

use plotters::coord::types::RangedCoordf64;
use plotters::coord::Shift;
use plotters::prelude::*;

use crate::experiment::error::ExperimentError;
use crate::experiment::outcome::{Report, StrategyRun};

/// Draws every plot of `report` into `dir`: the files written.
pub(super) fn write_all(report: &Report, dir: &Path) -> Result<Vec<PathBuf>, ExperimentError> {
    let mut plots = Vec::new();
    register_font();
    render(&Leases, report, dir, &mut plots)?;
    for plot in LINE_PLOTS {
        render(&Lines(plot), report, dir, &mut plots)?;
    }
    render(&MovesPerEvent, report, dir, &mut plots)?;
    Ok(plots)
}

fn register_font() {
    static ONCE: std::sync::Once = std::sync::Once::new();
    ONCE.call_once(|| {
        // DejaVu Sans, embedded: plots need no system font.
        let _ = plotters::style::register_font("sans-serif", FontStyle::Normal, dejavu::sans::regular());
    });
}

/// One plot, drawn on any plotters backend.
trait Plot {
    fn name(&self) -> &str;
    fn size(&self, report: &Report) -> (u32, u32) {
        let _ = report;
        (1000, 480)
    }
    fn draw<DB: DrawingBackend>(&self, report: &Report, root: &DrawingArea<DB, Shift>) -> Result<(), String>
    where
        DB::ErrorType: 'static;
}

fn render<P: Plot>(
    plot: &P,
    report: &Report,
    dir: &Path,
    out: &mut Vec<PathBuf>,
) -> Result<(), ExperimentError> {
    let size = plot.size(report);
    for ext in ["png", "svg"] {
        let path = dir.join(format!("{}.{ext}", plot.name()));
        let fail = |message: String| ExperimentError::Plot {
            path: path.display().to_string(),
            message,
        };
        if ext == "png" {
            let root = BitMapBackend::new(&path, size).into_drawing_area();
            plot.draw(report, &root).map_err(fail)?;
            root.present().map_err(|e| fail(e.to_string()))?;
        } else {
            let root = SVGBackend::new(&path, size).into_drawing_area();
            plot.draw(report, &root).map_err(fail)?;
            root.present().map_err(|e| fail(e.to_string()))?;
        }
        out.push(path);
    }
    Ok(())
}

fn err<E: std::fmt::Display>(e: E) -> String {
    e.to_string()
}

fn end_time(report: &Report) -> f64 {
    report.duration_seconds.max(1.0)
}

type Chart<'a, DB> = ChartContext<'a, DB, Cartesian2d<RangedCoordf64, RangedCoordf64>>;

/// Axes over `0..end` seconds and `0..y_max`, with the events as grey vertical lines.
fn frame<'a, DB: DrawingBackend>(
    area: &'a DrawingArea<DB, Shift>,
    caption: &str,
    end: f64,
    y_max: f64,
    y_desc: &str,
    events: &[(f64, String)],
) -> Result<Chart<'a, DB>, String>
where
    DB::ErrorType: 'static,
{
    let mut chart = ChartBuilder::on(area)
        .caption(caption, ("sans-serif", 20))
        .margin(10)
        .x_label_area_size(32)
        .y_label_area_size(56)
        .build_cartesian_2d(0f64..end, 0f64..y_max)
        .map_err(err)?;
    chart
        .configure_mesh()
        .x_desc("seconds")
        .y_desc(y_desc)
        .light_line_style(WHITE.mix(0.0))
        .draw()
        .map_err(err)?;
    for (t, _) in events {
        chart
            .draw_series(std::iter::once(PathElement::new(
                vec![(*t, 0.0), (*t, y_max)],
                BLACK.mix(0.3),
            )))
            .map_err(err)?;
    }
    Ok(chart)
}

/// One named line in palette colour `i`.
fn line<'a, DB: DrawingBackend + 'a>(
    chart: &mut Chart<'a, DB>,
    points: Vec<(f64, f64)>,
    i: usize,
    name: &str,
) -> Result<(), String>
where
    DB::ErrorType: 'static,
{
    let color = Palette99::pick(i).to_rgba();
    chart
        .draw_series(LineSeries::new(points, color.stroke_width(2)))
        .map_err(err)?
        .label(name)
        .legend(move |(x, y)| PathElement::new(vec![(x, y), (x + 20, y)], color.stroke_width(2)));
    Ok(())
}

fn legend<'a, DB: DrawingBackend + 'a>(chart: &mut Chart<'a, DB>) -> Result<(), String>
where
    DB::ErrorType: 'static,
{
    chart
        .configure_series_labels()
        .background_style(WHITE.mix(0.8))
        .border_style(BLACK)
        .position(SeriesLabelPosition::UpperRight)
        .draw()
        .map_err(err)
}

fn events(report: &Report) -> &[(f64, String)] {
    report.runs.first().map_or(&[], |r| r.events.as_slice())
}

/// A line chart of one value per strategy over time, with the events marked.
fn per_strategy_lines<DB: DrawingBackend>(
    report: &Report,
    root: &DrawingArea<DB, Shift>,
    caption: &str,
    y_desc: &str,
    series: impl Fn(&StrategyRun) -> Vec<(f64, f64)>,
) -> Result<(), String>
where
    DB::ErrorType: 'static,
{
    root.fill(&WHITE).map_err(err)?;
    let all: Vec<Vec<(f64, f64)>> = report.runs.iter().map(&series).collect();
    let y_max = all.iter().flatten().map(|p| p.1).fold(0.0, f64::max).max(1e-9) * 1.1;
    let mut chart = frame(root, caption, end_time(report), y_max, y_desc, events(report))?;
    for (i, points) in all.into_iter().enumerate() {
        line(&mut chart, points, i, report.runs[i].strategy.as_str())?;
    }
    legend(&mut chart)
}

struct Leases;

impl Plot for Leases {
    fn name(&self) -> &str {
        "leases"
    }
    fn size(&self, report: &Report) -> (u32, u32) {
        (1000, 300 * report.runs.len().max(1) as u32)
    }
    fn draw<DB: DrawingBackend>(&self, report: &Report, root: &DrawingArea<DB, Shift>) -> Result<(), String>
    where
        DB::ErrorType: 'static,
    {
        root.fill(&WHITE).map_err(err)?;
        let panels = root.split_evenly((report.runs.len().max(1), 1));
        for (run, area) in report.runs.iter().zip(panels.iter()) {
            let y_max = run
                .samples
                .iter()
                .flat_map(|s| s.leases.values())
                .copied()
                .max()
                .unwrap_or(1)
                .max(1) as f64
                * 1.1;
            let caption = format!("leases per worker: {}", run.strategy.as_str());
            let mut chart = frame(area, &caption, end_time(report), y_max, "leases", &run.events)?;
            let workers: std::collections::BTreeSet<&String> =
                run.samples.iter().flat_map(|s| s.leases.keys()).collect();
            if workers.len() <= 12 {
                for (i, w) in workers.iter().enumerate() {
                    let points = run
                        .samples
                        .iter()
                        .filter_map(|s| s.leases.get(*w).map(|n| (s.t, *n as f64)))
                        .collect();
                    line(&mut chart, points, i, w)?;
                }
            } else {
                // Too many workers for a line each: the most, the mean and the fewest.
                type Stat = fn(&[f64]) -> f64;
                let stats: [(&str, Stat); 3] = [
                    ("most", |v| v.iter().cloned().fold(0.0, f64::max)),
                    ("mean", |v| v.iter().sum::<f64>() / v.len() as f64),
                    ("fewest", |v| v.iter().cloned().fold(f64::MAX, f64::min)),
                ];
                for (i, (name, f)) in stats.into_iter().enumerate() {
                    let points = run
                        .samples
                        .iter()
                        .filter(|s| !s.leases.is_empty())
                        .map(|s| (s.t, f(&s.leases.values().map(|n| *n as f64).collect::<Vec<_>>())))
                        .collect();
                    line(&mut chart, points, i, name)?;
                }
            }
            legend(&mut chart)?;
        }
        Ok(())
    }
}

/// A time series per strategy, for the line plots.
type Series = fn(&StrategyRun) -> Vec<(f64, f64)>;

/// The line plots: file name, caption, y axis, the series.
const LINE_PLOTS: [(&str, &str, &str, Series); 3] = [
    (
        "load_spread",
        "load spread: most loaded worker / mean",
        "max / mean",
        load_spread,
    ),
    ("moves", "lease moves so far (events marked)", "moves", |run| {
        run.samples.iter().map(|s| (s.t, s.moves as f64)).collect()
    }),
    (
        "store_requests",
        "lease-store calls per second",
        "calls / s",
        |run| {
            run.samples
                .windows(2)
                .map(|w| {
                    let dt = (w[1].t - w[0].t).max(1e-9);
                    (w[1].t, w[1].requests.saturating_sub(w[0].requests) as f64 / dt)
                })
                .collect()
        },
    ),
];

fn load_spread(run: &StrategyRun) -> Vec<(f64, f64)> {
    run.samples
        .iter()
        .filter(|s| !s.load_kbps.is_empty())
        .map(|s| {
            let v: Vec<f64> = s.load_kbps.values().copied().collect();
            let mean = v.iter().sum::<f64>() / v.len() as f64;
            let ratio = if mean > 0.0 {
                v.iter().cloned().fold(0.0, f64::max) / mean
            } else {
                1.0
            };
            (s.t, ratio)
        })
        .collect()
}

/// One of [`LINE_PLOTS`].
struct Lines((&'static str, &'static str, &'static str, Series));

impl Plot for Lines {
    fn name(&self) -> &str {
        self.0 .0
    }
    fn draw<DB: DrawingBackend>(&self, report: &Report, root: &DrawingArea<DB, Shift>) -> Result<(), String>
    where
        DB::ErrorType: 'static,
    {
        let (_, caption, y_desc, series) = self.0;
        per_strategy_lines(report, root, caption, y_desc, series)
    }
}

struct MovesPerEvent;

impl Plot for MovesPerEvent {
    fn name(&self) -> &str {
        "moves_per_event"
    }
    fn draw<DB: DrawingBackend>(&self, report: &Report, root: &DrawingArea<DB, Shift>) -> Result<(), String>
    where
        DB::ErrorType: 'static,
    {
        root.fill(&WHITE).map_err(err)?;
        let mut phases = vec!["start".to_owned()];
        // Short labels: long ones (several events at one instant) are cut.
        phases.extend(events(report).iter().map(|(t, l)| {
            let short: String = if l.chars().count() > 16 {
                l.chars().take(15).chain(std::iter::once('…')).collect()
            } else {
                l.clone()
            };
            format!("{short} ({t:.0} s)")
        }));
        let strategies = report.runs.len().max(1);
        let y_max = report
            .runs
            .iter()
            .flat_map(|r| r.summary.moves_per_phase.iter())
            .copied()
            .max()
            .unwrap_or(1)
            .max(1) as f64
            * 1.15;
        let labels = phases.clone();
        let mut chart = ChartBuilder::on(root)
            .caption("lease moves after the start and each event", ("sans-serif", 20))
            .margin(10)
            .x_label_area_size(40)
            .y_label_area_size(56)
            .build_cartesian_2d(0f64..phases.len() as f64, 0f64..y_max)
            .map_err(err)?;
        chart
            .configure_mesh()
            .disable_x_mesh()
            .x_labels(phases.len() * 2 + 1)
            .x_label_formatter(&|x| {
                let i = x.floor() as usize;
                if (x - x.floor() - 0.5).abs() < 1e-6 {
                    labels.get(i).cloned().unwrap_or_default()
                } else {
                    String::new()
                }
            })
            .y_desc("moves")
            .draw()
            .map_err(err)?;
        let width = 0.8 / strategies as f64;
        for (i, run) in report.runs.iter().enumerate() {
            let color = Palette99::pick(i).to_rgba();
            let bars = run.summary.moves_per_phase.iter().enumerate().map(move |(p, m)| {
                let x0 = p as f64 + 0.1 + width * i as f64;
                Rectangle::new([(x0, 0.0), (x0 + width * 0.95, *m as f64)], color.filled())
            });
            chart
                .draw_series(bars)
                .map_err(err)?
                .label(run.strategy.as_str())
                .legend(move |(x, y)| Rectangle::new([(x, y - 5), (x + 15, y + 5)], color.filled()));
        }
        legend(&mut chart)
    }
}
