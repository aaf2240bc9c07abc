//! Load reports, for strategies that balance by measured load: every load-report interval, each held
//! lease's load (and optionally this process's CPU utilization) is written to the lease when it changed
//! noticeably.

use std::sync::Arc;

use futures::StreamExt;

use crate::config::WorkerConfig;
use crate::held::HeldSet;
use crate::load::CpuMeter;
use crate::metrics as m;

/// The load-report loop, forever (the worker stops it with its other background tasks).
pub(crate) async fn report_loads(held: Arc<HeldSet>, cfg: Arc<WorkerConfig>, worker: String) {
    let mut cpu = cfg.report_cpu().then(CpuMeter::new);
    let mut tick = tokio::time::interval(cfg.load_report_interval());
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    tick.tick().await;
    loop {
        tick.tick().await;
        let utilization = cpu.as_mut().and_then(CpuMeter::sample);
        let mut written = 0u64;
        let mut reports = futures::stream::iter(held.all())
            .map(|lease| async move { lease.report_load(utilization).await })
            .buffer_unordered(8);
        while let Some(landed) = reports.next().await {
            written += u64::from(landed);
        }
        metrics::counter!(m::LOAD_REPORTS, "worker" => worker.clone()).increment(written);
    }
}
