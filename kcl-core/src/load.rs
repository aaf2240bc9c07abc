//! Measured load: what each held lease processes (records and bytes per second) and the process's CPU
//! utilization, reported through the lease store for utilization-aware assignment.
//!
//! The consumer adds every delivered batch to its lease's load meter. Every load-report interval
//! (`WorkerConfigBuilder::load_report_interval`, 30 s by default) the renewer turns the counts into rates
//! (an exponentially weighted moving average over the intervals, so one burst does not move leases) and
//! writes a [`LeaseLoad`] with [`LeaseStore::report_load`](kcl_checkpoint::LeaseStore::report_load) for
//! each lease whose load changed noticeably since its last report (by a fifth, and by more than a small
//! absolute amount): a steady fleet writes almost nothing. Reports are only made when the worker's
//! assignment strategy asks for them ([`AssignmentStrategy::wants_load_reports`](crate::AssignmentStrategy::wants_load_reports)).
//!
//! CPU utilization is the process's CPU time (`/proc/self/stat`) over wall time, as a fraction of the CPUs
//! it may use: its cgroup's quota (v2 `cpu.max`, v1 `cpu.cfs_quota_us`, as ECS and Docker set them) or
//! else the CPUs available; where `/proc` is missing it is not reported. It is the process's figure:
//! several workers in one process report the same value (turn it off with
//! `WorkerConfigBuilder::report_cpu(false)`).

use std::sync::Mutex;
use std::time::Duration;

use kcl_checkpoint::LeaseLoad;
use tokio::time::Instant;

/// Weight of the newest interval in the moving average.
const SMOOTHING: f64 = 0.5;
/// A report is due when a figure moved by more than this fraction of its last reported value...
const RELATIVE_CHANGE: f64 = 0.2;
/// ...and by more than these absolute amounts (records/s, KB/s, CPU fraction).
const ABSOLUTE_CHANGE: (f64, f64, f64) = (1.0, 1.0, 0.05);

#[derive(Debug)]
struct MeterState {
    records: u64,
    bytes: u64,
    since: Instant,
    /// The smoothed rates (records/s, KB/s), after the first full interval.
    rate: Option<(f64, f64)>,
    reported: Option<LeaseLoad>,
}

/// Counts what one lease processes.
#[derive(Debug)]
pub(crate) struct LoadMeter {
    state: Mutex<MeterState>,
}

impl LoadMeter {
    pub(crate) fn new() -> Self {
        LoadMeter {
            state: Mutex::new(MeterState {
                records: 0,
                bytes: 0,
                since: Instant::now(),
                rate: None,
                reported: None,
            }),
        }
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, MeterState> {
        self.state.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Adds a delivered batch.
    pub(crate) fn record(&self, records: u64, bytes: u64) {
        let mut state = self.lock();
        state.records += records;
        state.bytes += bytes;
    }

    /// Closes the interval ending now; returns the load to report when it changed noticeably since the
    /// last report (or was never reported).
    pub(crate) fn sample(&self, cpu: Option<f64>) -> Option<LeaseLoad> {
        let now = Instant::now();
        let mut state = self.lock();
        let elapsed = now.saturating_duration_since(state.since).as_secs_f64();
        if elapsed < 1.0 {
            return None;
        }
        let rps = state.records as f64 / elapsed;
        let kbps = state.bytes as f64 / 1024.0 / elapsed;
        let (rps, kbps) = match state.rate {
            Some((r, k)) => (r + SMOOTHING * (rps - r), k + SMOOTHING * (kbps - k)),
            None => (rps, kbps),
        };
        state.rate = Some((rps, kbps));
        state.records = 0;
        state.bytes = 0;
        state.since = now;
        let load = LeaseLoad {
            records_per_sec: round(rps),
            kbps: round(kbps),
            owner_cpu: cpu.map(round),
        };
        if state.reported.as_ref().is_some_and(|last| !changed(last, &load)) {
            return None;
        }
        Some(load)
    }

    /// The report landed.
    pub(crate) fn reported(&self, load: LeaseLoad) {
        self.lock().reported = Some(load);
    }
}

/// Three significant decimals are plenty, and keep items small.
fn round(v: f64) -> f64 {
    (v * 1000.0).round() / 1000.0
}

fn changed(last: &LeaseLoad, now: &LeaseLoad) -> bool {
    let moved =
        |a: f64, b: f64, floor: f64| (a - b).abs() > floor && (a - b).abs() > RELATIVE_CHANGE * a.abs();
    moved(last.records_per_sec, now.records_per_sec, ABSOLUTE_CHANGE.0)
        || moved(last.kbps, now.kbps, ABSOLUTE_CHANGE.1)
        || match (last.owner_cpu, now.owner_cpu) {
            (Some(a), Some(b)) => moved(a, b, ABSOLUTE_CHANGE.2),
            (None, None) => false,
            _ => true,
        }
}

/// Samples the process's CPU utilization between calls.
#[derive(Debug)]
pub(crate) struct CpuMeter {
    last: Option<(Instant, Duration)>,
    cpus: f64,
}

impl CpuMeter {
    pub(crate) fn new() -> Self {
        let cpus = cgroup_cpu_limit()
            .or_else(|| std::thread::available_parallelism().ok().map(|n| n.get() as f64))
            .unwrap_or(1.0);
        CpuMeter { last: None, cpus }
    }

    /// Utilization since the previous call (0.0-1.0 of the CPUs the process may use); `None` on the first
    /// call, within a second of the previous one, or where CPU time cannot be read.
    pub(crate) fn sample(&mut self) -> Option<f64> {
        let used = cpu_time()?;
        let now = Instant::now();
        let previous = self.last.replace((now, used));
        let (at, before) = previous?;
        let wall = now.saturating_duration_since(at).as_secs_f64();
        if wall < 1.0 {
            self.last = Some((at, before));
            return None;
        }
        let busy = used.saturating_sub(before).as_secs_f64();
        Some((busy / wall / self.cpus).clamp(0.0, 1.0))
    }
}

/// CPU time used by this process.
fn cpu_time() -> Option<Duration> {
    proc_self_cpu_time()
}

/// `utime + stime` of `/proc/self/stat`, in clock ticks of 1/100 s (the Linux USER_HZ).
fn proc_self_cpu_time() -> Option<Duration> {
    let stat = std::fs::read_to_string("/proc/self/stat").ok()?;
    // The command name may contain spaces: fields are counted after its closing parenthesis.
    let rest = &stat[stat.rfind(')')? + 1..];
    let fields: Vec<&str> = rest.split_whitespace().collect();
    // After the name: state is field 3 of the whole line, utime 14, stime 15.
    let utime: u64 = fields.get(11)?.parse().ok()?;
    let stime: u64 = fields.get(12)?.parse().ok()?;
    Some(Duration::from_millis((utime + stime) * 10))
}

/// The CPUs the process's cgroup may use (`cpu.max` in v2, `cpu.cfs_quota_us / cpu.cfs_period_us` in v1),
/// when limited.
fn cgroup_cpu_limit() -> Option<f64> {
    let quota = |q: &str, p: &str| -> Option<f64> {
        let q: f64 = q.trim().parse().ok()?;
        let p: f64 = p.trim().parse().ok()?;
        (q > 0.0 && p > 0.0).then_some(q / p)
    };
    let cgroups = std::fs::read_to_string("/proc/self/cgroup").ok()?;
    for line in cgroups.lines() {
        // `hierarchy-id:controllers:path`; v2 is `0::path`.
        let mut parts = line.splitn(3, ':');
        let (_, controllers, path) = (parts.next()?, parts.next()?, parts.next()?);
        let path = path.trim_start_matches('/');
        if controllers.is_empty() {
            if let Ok(max) = std::fs::read_to_string(format!("/sys/fs/cgroup/{path}/cpu.max")) {
                let mut fields = max.split_whitespace();
                if let (Some(q), Some(p)) = (fields.next(), fields.next()) {
                    if q != "max" {
                        return quota(q, p);
                    }
                }
            }
        } else if controllers.split(',').any(|c| c == "cpu") {
            let dir = format!("/sys/fs/cgroup/cpu/{path}");
            let q = std::fs::read_to_string(format!("{dir}/cpu.cfs_quota_us")).ok()?;
            let p = std::fs::read_to_string(format!("{dir}/cpu.cfs_period_us")).ok()?;
            return quota(&q, &p);
        }
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test(start_paused = true)]
    async fn rates_are_smoothed_and_reported_only_when_they_change() {
        let meter = LoadMeter::new();
        meter.record(1000, 1024 * 500);
        tokio::time::advance(Duration::from_secs(10)).await;
        let first = meter.sample(None).expect("never reported");
        assert_eq!((first.records_per_sec, first.kbps), (100.0, 50.0));
        meter.reported(first);
        // The same rate again: nothing to report.
        meter.record(1000, 1024 * 500);
        tokio::time::advance(Duration::from_secs(10)).await;
        assert_eq!(meter.sample(None), None);
        // Idle: the average halves (smoothing 0.5), a change worth reporting.
        tokio::time::advance(Duration::from_secs(10)).await;
        let idle = meter.sample(None).expect("halved");
        assert_eq!((idle.records_per_sec, idle.kbps), (50.0, 25.0));
        // Within a second of the last sample: no new interval.
        assert_eq!(meter.sample(None), None);
    }

    #[test]
    fn small_changes_are_not_reports() {
        let at = |r, k| LeaseLoad {
            records_per_sec: r,
            kbps: k,
            owner_cpu: None,
        };
        assert!(!changed(&at(100.0, 50.0), &at(110.0, 55.0)));
        assert!(changed(&at(100.0, 50.0), &at(130.0, 50.0)));
        assert!(!changed(&at(0.2, 0.1), &at(0.9, 0.6)), "below the absolute floor");
        assert!(changed(
            &at(1.0, 1.0),
            &LeaseLoad {
                owner_cpu: Some(0.5),
                ..at(1.0, 1.0)
            }
        ));
    }

    #[test]
    fn cpu_time_is_readable_on_linux() {
        if cfg!(target_os = "linux") {
            assert!(cpu_time().is_some(), "/proc/self/stat gave no CPU time");
        }
    }
}
