//! What a run reports about itself while and after it runs: the progress bar (or plain lines off a terminal),
//! the wall clock it is timed on, and the peak memory of the process.

use super::StrategyName;

/// The progress bar, or plain lines when standard error is not a terminal.
pub(super) struct Progress {
    pub(super) bar: indicatif::ProgressBar,
    pub(super) plain: bool,
    /// Wall time of the last plain line (at most one per 10 s: short runs print none).
    pub(super) last_line: std::sync::Mutex<std::time::Duration>,
}

impl Progress {
    /// `t` virtual seconds of `strategy`'s run are done (of `total`), `step` since the last call.
    pub(super) fn advance(
        &self,
        strategy: StrategyName,
        step: u64,
        t: f64,
        total: f64,
        wall: std::time::Duration,
    ) {
        self.bar.inc(step);
        if self.plain {
            let tenth = (total / 10.0).max(1.0);
            let mut last = self.last_line.lock().unwrap_or_else(|p| p.into_inner());
            let crossed = (t / tenth).floor() > ((t - step as f64) / tenth).floor();
            if crossed && wall >= *last + std::time::Duration::from_secs(10) {
                *last = wall;
                eprintln!(
                    "rebalance: {}: {:.0} of {:.0} virtual s after {:.0} s wall",
                    strategy.as_str(),
                    t,
                    total,
                    wall.as_secs_f64()
                );
            }
        }
    }
}

/// The real clock, for the wall time a run takes (never for anything the workers do: they run on tokio
/// time, paused here).
pub(super) fn wall_clock() -> std::time::Instant {
    #[allow(clippy::disallowed_methods)]
    std::time::Instant::now()
}

/// `VmHWM` of `/proc/self/status`.
pub(super) fn peak_memory_mib() -> Option<f64> {
    let status = std::fs::read_to_string("/proc/self/status").ok()?;
    let kib: f64 = status
        .lines()
        .find_map(|l| l.strip_prefix("VmHWM:"))?
        .trim()
        .trim_end_matches("kB")
        .trim()
        .parse()
        .ok()?;
    Some(kib / 1024.0)
}
