//! The three built-in strategies on join, crash and hot-shard scenarios, through the experiment harness
//! (real workers, paused virtual time), with assertions on their outcomes; the harness's files; the shipped
//! scenario files.

use kcl::experiment::{run, Backend, Report, RunOptions, Scenario, StrategyName};

fn scenario(toml: &str) -> Scenario {
    Scenario::from_toml(toml).expect("scenario")
}

fn run_all(s: &Scenario) -> Report {
    let report = run(s, &RunOptions::default()).expect("run");
    eprintln!("{}", report.markdown());
    report
}

const JOIN: &str = r#"
name = "join-test"
seed = 11
workers = 4
shards = 40
duration = "8m"
[load]
records_per_sec = 5.0
[[events]]
at = "4m"
kind = "join"
"#;

#[test]
fn join_each_strategy_ends_balanced_without_duplicates_and_kcl2_moves_one_lease_per_cycle() {
    let report = run_all(&scenario(JOIN));
    for r in &report.runs {
        let s = &r.summary;
        let name = r.strategy.as_str();
        assert_eq!(s.duplicates, 0, "{name}: balancing moves are handoffs");
        assert!(
            s.processed > 40 * 5 * 200,
            "{name}: records flowed ({})",
            s.processed
        );
        assert!(
            s.final_load_ratio <= 1.2,
            "{name}: load ratio {}",
            s.final_load_ratio
        );
        assert!(
            s.convergence_seconds[0].is_some(),
            "{name}: did not settle after the join"
        );
        if r.strategy == StrategyName::Utilization {
            // Balances load within its band (±20%), so counts may differ by a lease or two.
            assert!(
                s.final_lease_spread <= 3,
                "{name}: lease spread {}",
                s.final_lease_spread
            );
            assert!((6..=12).contains(&s.moves_per_phase[1]), "{name}: {s:?}");
        } else {
            assert!(
                s.final_lease_spread <= 1,
                "{name}: lease spread {}",
                s.final_lease_spread
            );
            // 40 leases over 5 workers: the joiner needs 8, and nothing else moves.
            assert_eq!(s.moves_per_phase[1], 8, "{name}: moves after the join");
        }
    }
    // Count-balanced takes the joiner's share at once.
    let count = &report.run(StrategyName::CountBalanced).unwrap().summary;
    assert!(count.convergence_seconds[0].unwrap() <= 15.0, "{count:?}");
    // The Java KCL 2 rules: one steal per 20 s, so 8 moves take at least 7 cycles (140 s), and no 15 s
    // window holds two.
    let kcl2 = report.run(StrategyName::Kcl2).unwrap();
    assert!(
        kcl2.summary.convergence_seconds[0].unwrap() >= 140.0,
        "{:?}",
        kcl2.summary
    );
    let join_phase: Vec<_> = kcl2.samples.iter().filter(|s| s.t >= 240.0).collect();
    for (i, a) in join_phase.iter().enumerate() {
        for b in &join_phase[i + 1..] {
            if b.t - a.t <= 15.0 {
                assert!(
                    b.moves - a.moves <= 1,
                    "kcl2 moved {} leases between {} s and {} s",
                    b.moves - a.moves,
                    a.t,
                    b.t
                );
            }
        }
    }
}

#[test]
fn crash_every_strategy_takes_the_dead_workers_leases_within_the_lease_duration() {
    let report = run_all(&scenario(
        r#"
        name = "crash-test"
        seed = 12
        workers = 5
        shards = 50
        duration = "6m"
        [[events]]
        at = "4m"
        kind = "crash"
        "#,
    ));
    for r in &report.runs {
        let s = &r.summary;
        let name = r.strategy.as_str();
        // The dead worker held 10 leases; they are owned again within the lease duration (10 s) plus a
        // taker interval and a sample (5 s).
        let owned = s.all_owned_seconds[0].unwrap_or_else(|| panic!("{name}: leases left unowned"));
        assert!(owned <= 20.0, "{name}: {owned} s after the crash");
        if r.strategy != StrategyName::Kcl2 {
            let settled = s.convergence_seconds[0].unwrap_or_else(|| panic!("{name}: never settled"));
            assert!(
                settled <= 20.0,
                "{name}: moves went on {settled} s after the crash"
            );
        }
        assert!(s.moves_per_phase[1] >= 10, "{name}: {s:?}");
        let last = r.samples.last().unwrap();
        assert_eq!(last.unowned, 0, "{name}");
        assert_eq!(last.leases.len(), 4, "{name}: four live workers");
        if r.strategy == StrategyName::Utilization {
            assert!(s.final_load_ratio <= 1.2, "{name}: {s:?}");
        } else {
            assert!(s.final_lease_spread <= 1, "{name}: {s:?}");
        }
        // Only what the dead worker processed after its last checkpoint (every 10 s) is seen again.
        assert!(s.duplicates <= 10 * 5 * 12, "{name}: {} duplicates", s.duplicates);
    }
}

#[test]
fn hot_shard_utilization_aware_evens_out_the_load_that_count_based_strategies_leave() {
    let report = run_all(&scenario(
        r#"
        name = "hot-test"
        seed = 13
        workers = 5
        shards = 40
        duration = "6m"
        [load]
        model = "hot"
        hot_share = 0.3
        records_per_sec = 5.0
        "#,
    ));
    let ratio = |s: StrategyName| report.run(s).unwrap().summary.final_load_ratio;
    // 5 workers, the hot shard alone is 30% of the stream = 1.5 x the mean: the best possible.
    let util = ratio(StrategyName::Utilization);
    assert!(util <= 1.6, "utilization-aware ended at {util}");
    for other in [StrategyName::CountBalanced, StrategyName::Kcl2] {
        assert!(
            ratio(other) >= util + 0.3,
            "{}: {} vs {util}",
            other.as_str(),
            ratio(other)
        );
    }
    // The hot shard's worker is left with few other leases; the others share the rest.
    let u = report.run(StrategyName::Utilization).unwrap();
    let last = u.samples.last().unwrap();
    let fewest = last.leases.values().min().copied().unwrap();
    assert!(
        fewest <= 3,
        "the hot worker keeps at most a few small leases: {:?}",
        last.leases
    );
    assert_eq!(u.summary.duplicates, 0);
}

#[test]
fn a_seed_replays_the_same_run() {
    let s = scenario(
        r#"
        name = "replay"
        seed = 21
        workers = 3
        shards = 12
        duration = "2m"
        strategies = ["utilization"]
        [load]
        model = "zipf"
        [[events]]
        at = "40s"
        kind = "join"
        [[events]]
        at = "80s"
        kind = "split"
        count = 2
        "#,
    );
    let a = run(&s, &RunOptions::default()).unwrap();
    let b = run(&s, &RunOptions::default()).unwrap();
    let key = |r: &Report| {
        r.runs[0]
            .samples
            .iter()
            .map(|x| (x.leases.clone(), x.moves, x.processed, x.duplicates, x.requests))
            .collect::<Vec<_>>()
    };
    assert_eq!(key(&a), key(&b));
}

#[test]
fn a_short_run_writes_its_time_series_summary_and_plots() {
    let s = scenario(
        r#"
        name = "files"
        workers = 2
        shards = 6
        duration = "90s"
        [[events]]
        at = "30s"
        kind = "join"
        [[events]]
        at = "60s"
        kind = "leave"
        "#,
    );
    let report = run(&s, &RunOptions::default()).unwrap();
    let dir = std::env::temp_dir().join(format!("kcl-experiment-{}", std::process::id()));
    let files = report.write(&dir).unwrap();
    let csv = std::fs::read_to_string(&files.csv).unwrap();
    assert!(csv.starts_with("strategy,t_seconds,worker,leases,load_kbps"));
    for strategy in ["count-balanced", "kcl2", "utilization"] {
        assert!(
            csv.lines().filter(|l| l.starts_with(strategy)).count() >= 18 * 2,
            "{strategy} rows"
        );
    }
    let json: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(&files.json).unwrap()).unwrap();
    assert_eq!(json["runs"].as_array().unwrap().len(), 3);
    let md = std::fs::read_to_string(&files.markdown).unwrap();
    assert!(
        md.contains("| utilization |") && md.contains("join 1 at 30 s"),
        "{md}"
    );
    assert_eq!(files.plots.len(), 10);
    for plot in &files.plots {
        let bytes = std::fs::read(plot).unwrap();
        if plot.extension().unwrap() == "png" {
            assert!(
                bytes.starts_with(b"\x89PNG") && bytes.len() > 10_000,
                "{}",
                plot.display()
            );
        } else {
            let text = String::from_utf8(bytes).unwrap();
            assert!(
                text.contains("<svg") && text.contains("<polyline"),
                "{}",
                plot.display()
            );
        }
    }
    std::fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn the_shipped_scenarios_parse() {
    let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("scenarios");
    let mut names = Vec::new();
    for entry in std::fs::read_dir(&dir).unwrap() {
        let path = entry.unwrap().path();
        let s = Scenario::from_file(&path).unwrap_or_else(|e| panic!("{e}"));
        names.push(s.name);
    }
    names.sort();
    assert_eq!(
        names,
        [
            "crash",
            "hot-shard",
            "join",
            "rolling-deploy",
            "scale",
            "split-storm"
        ]
    );
}

#[test]
fn the_same_scenario_runs_against_dynalite_and_counts_its_requests() {
    let Some(endpoint) = kcl_emulator::test_util::server_url(
        "KCL_TEST_DYNALITE_URL",
        "the_same_scenario_runs_against_dynalite_and_counts_its_requests",
    ) else {
        return;
    };
    // Real time against a real server: a short run.
    let s = scenario(
        r#"
        name = "dynalite"
        workers = 2
        shards = 6
        duration = "25s"
        sample_interval = "1s"
        strategies = ["count-balanced"]
        [worker]
        lease_duration = "6s"
        [[events]]
        at = "12s"
        kind = "join"
        "#,
    );
    let mut options = RunOptions::default();
    options.backend = Backend::DynamoDb { endpoint };
    let report = run(&s, &options).unwrap();
    eprintln!("{}", report.markdown());
    let r = &report.runs[0];
    let last = r.samples.last().unwrap();
    assert_eq!(last.leases.values().sum::<usize>(), 6, "{:?}", last.leases);
    assert_eq!(last.unowned, 0);
    assert!(
        r.summary.moves_per_phase[1] >= 2,
        "the joiner got its share: {:?}",
        r.summary
    );
    assert_eq!(r.summary.duplicates, 0);
    for op in ["list", "renew", "take", "checkpoint", "request_handoff"] {
        assert!(
            r.requests_by_op.get(op).copied().unwrap_or(0) > 0,
            "no {op} counted: {:?}",
            r.requests_by_op
        );
    }
    assert!(
        r.summary.wall_seconds >= 25.0,
        "real time: {}",
        r.summary.wall_seconds
    );
}
