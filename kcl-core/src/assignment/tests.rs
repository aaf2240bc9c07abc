//! Unit tests of the built-in strategies, on fleets simulated in memory.

use std::collections::{BTreeMap, BTreeSet};

use super::utilization::Loads;
use super::*;

/// A fleet simulated in memory: owner per lease; a cycle lets each worker decide and act in turn.
struct Fleet {
    owners: BTreeMap<String, Option<String>>,
    workers: Vec<String>,
    moves: usize,
}

impl Fleet {
    fn new(leases: usize) -> Self {
        Fleet {
            owners: (0..leases).map(|i| (format!("shard-{i:03}"), None)).collect(),
            workers: Vec::new(),
            moves: 0,
        }
    }

    fn snapshot(&self, me: &str) -> AssignmentSnapshot {
        let leases = self
            .owners
            .iter()
            .map(|(k, o)| LeaseInfo::new(k.clone(), o.clone(), false))
            .collect();
        let live = self.owners.values().flatten().cloned().collect();
        AssignmentSnapshot::new(me, leases, live, usize::MAX)
    }

    fn cycle(&mut self, strategy: &dyn AssignmentStrategy) -> usize {
        let mut moved = 0;
        for w in self.workers.clone() {
            let decision = strategy.assign(&self.snapshot(&w));
            for key in decision.take.iter().chain(&decision.steal) {
                let slot = self.owners.get_mut(key).unwrap();
                if slot.is_some() {
                    self.moves += 1;
                }
                *slot = Some(w.clone());
                moved += 1;
            }
        }
        moved
    }

    fn spread(&self) -> (usize, usize) {
        let mut counts: BTreeMap<&str, usize> = self.workers.iter().map(|w| (w.as_str(), 0)).collect();
        for o in self.owners.values().flatten() {
            *counts.get_mut(o.as_str()).unwrap() += 1;
        }
        (*counts.values().min().unwrap(), *counts.values().max().unwrap())
    }
}

#[test]
fn joining_workers_balance_within_two_cycles_and_settle() {
    let strategy = CountBalanced::new();
    for leases in [1, 2, 7, 16, 33, 100] {
        let mut fleet = Fleet::new(leases);
        fleet.workers.push("w0".into());
        fleet.cycle(&strategy);
        for joiner in 1..6 {
            fleet.workers.push(format!("w{joiner}"));
            let moves_before = fleet.moves;
            fleet.cycle(&strategy);
            fleet.cycle(&strategy);
            let (min, max) = fleet.spread();
            assert!(
                max - min <= 1,
                "{leases} leases, {} workers: {min}..{max}",
                joiner + 1
            );
            // No more moves than the joiner's fair share (floor).
            let moved = fleet.moves - moves_before;
            assert!(moved <= leases.div_ceil(joiner + 1), "moved {moved}");
            // Balanced fleets never move again.
            assert_eq!(fleet.cycle(&strategy), 0, "oscillation with {leases} leases");
        }
    }
}

#[test]
fn expired_and_unowned_leases_are_taken_first() {
    let leases = vec![
        LeaseInfo::new("a", Some("dead".into()), true),
        LeaseInfo::new("b", None, false),
        LeaseInfo::new("c", Some("other".into()), false),
        LeaseInfo::new("d", Some("other".into()), false),
    ];
    let live = ["other".to_owned()].into_iter().collect();
    let decision = CountBalanced::new().assign(&AssignmentSnapshot::new("me", leases, live, usize::MAX));
    let mut take = decision.take.clone();
    take.sort();
    assert_eq!(take, vec!["a", "b"]);
    assert!(decision.steal.is_empty(), "{decision:?}");
}

#[tokio::test(start_paused = true)]
async fn kcl2_takes_free_leases_first_and_steals_one_per_interval() {
    let strategy = Kcl2Compatible::new();
    let big = |n: usize| -> Vec<LeaseInfo> {
        (0..n)
            .map(|i| LeaseInfo::new(format!("k{i}"), Some("big".into()), false))
            .collect()
    };
    let live = || ["big".to_owned()].into_iter().collect::<BTreeSet<_>>();
    // Free leases exist: take them up to the target, steal nothing.
    let mut leases = big(6);
    leases.push(LeaseInfo::new("free", None, false));
    let d = strategy.assign(&AssignmentSnapshot::new("me", leases, live(), usize::MAX));
    assert_eq!((d.take, d.steal.len()), (vec!["free".to_owned()], 0));
    // None free: one steal, then none until 20 s passed.
    let snap = AssignmentSnapshot::new("me", big(10), live(), usize::MAX);
    assert_eq!(strategy.assign(&snap).steal.len(), 1);
    assert!(strategy.assign(&snap).is_empty());
    tokio::time::advance(std::time::Duration::from_secs(19)).await;
    assert!(strategy.assign(&snap).is_empty());
    tokio::time::advance(std::time::Duration::from_secs(1)).await;
    assert_eq!(strategy.assign(&snap).steal.len(), 1);
    // Balanced within the target: nothing moves (5 / 5; and 6 / 5 with 11 leases).
    let mut leases = big(5);
    leases.extend((0..5).map(|i| LeaseInfo::new(format!("m{i}"), Some("me".into()), false)));
    tokio::time::advance(std::time::Duration::from_secs(30)).await;
    assert!(strategy
        .assign(&AssignmentSnapshot::new("me", leases, live(), usize::MAX))
        .is_empty());
}

fn loaded(key: &str, owner: Option<&str>, kbps: f64) -> LeaseInfo {
    let mut info = LeaseInfo::new(key, owner.map(str::to_owned), false);
    info.load = Some(kcl_checkpoint::LeaseLoad {
        records_per_sec: 0.0,
        kbps,
        owner_cpu: None,
    });
    info
}

/// Runs `cycles` taker cycles of a fleet where every worker applies a fresh UtilizationAware to the
/// shared ownership (each worker its own instance); returns the loads per worker and the moves.
fn utilization_fleet(
    leases: &[(String, f64)],
    owners: &mut BTreeMap<String, String>,
    workers: &[&str],
    cycles: usize,
) -> (BTreeMap<String, f64>, usize) {
    let strategies: BTreeMap<&str, UtilizationAware> = workers
        .iter()
        .map(|w| {
            (
                *w,
                UtilizationAware::new().with_cooldown(std::time::Duration::ZERO),
            )
        })
        .collect();
    let mut moves = 0;
    for _ in 0..cycles {
        for w in workers {
            let infos: Vec<LeaseInfo> = leases
                .iter()
                .map(|(k, kbps)| loaded(k, owners.get(k).map(String::as_str), *kbps))
                .collect();
            let live = workers.iter().map(|w| (*w).to_owned()).collect();
            let d = strategies[w].assign(&AssignmentSnapshot::new(*w, infos, live, usize::MAX));
            for key in d.take.iter().chain(&d.steal) {
                if owners.insert(key.clone(), (*w).to_owned()).is_some() {
                    moves += 1;
                }
            }
        }
    }
    let mut loads: BTreeMap<String, f64> = workers.iter().map(|w| ((*w).to_owned(), 0.0)).collect();
    for (k, kbps) in leases {
        *loads.get_mut(&owners[k]).unwrap() += kbps;
    }
    (loads, moves)
}

#[test]
fn utilization_aware_moves_other_leases_off_a_hot_shard_and_settles() {
    // 40 leases of 10 KB/s and one of 300 KB/s (about 43% of 700), all on w0; three more workers.
    let mut leases: Vec<(String, f64)> = (0..40).map(|i| (format!("s{i:02}"), 10.0)).collect();
    leases.push(("hot".to_owned(), 300.0));
    let mut owners: BTreeMap<String, String> =
        leases.iter().map(|(k, _)| (k.clone(), "w0".to_owned())).collect();
    let workers = ["w0", "w1", "w2", "w3"];
    let (loads, moves) = utilization_fleet(&leases, &mut owners, &workers, 200);
    let hot = owners["hot"].clone();
    assert!(
        loads[&hot] <= 320.0,
        "{hot} kept others' leases beside the hot one: {loads:?}"
    );
    let rest: Vec<f64> = workers.iter().filter(|w| **w != hot).map(|w| loads[*w]).collect();
    let (min, max) = (
        rest.iter().cloned().fold(f64::MAX, f64::min),
        rest.iter().cloned().fold(0.0, f64::max),
    );
    assert!(max - min <= 50.0, "the others share the rest evenly: {loads:?}");
    // Settled: no more moves.
    let (_, again) = utilization_fleet(&leases, &mut owners, &workers, 50);
    assert_eq!(again, 0, "oscillation after {moves} moves: {loads:?}");
}

#[test]
fn utilization_aware_spreads_several_hot_shards_one_per_worker() {
    // Three leases each above the mean, all on w0, with 30 small ones; four workers.
    let mut leases: Vec<(String, f64)> = (0..30).map(|i| (format!("s{i:02}"), 2.0)).collect();
    for (i, kbps) in [120.0, 90.0, 70.0].into_iter().enumerate() {
        leases.push((format!("hot{i}"), kbps));
    }
    let mut owners: BTreeMap<String, String> =
        leases.iter().map(|(k, _)| (k.clone(), "w0".to_owned())).collect();
    let workers = ["w0", "w1", "w2", "w3"];
    let (loads, _) = utilization_fleet(&leases, &mut owners, &workers, 100);
    let hot_owners: BTreeSet<&String> = (0..3).map(|i| &owners[&format!("hot{i}")]).collect();
    assert_eq!(hot_owners.len(), 3, "one hot shard per worker: {owners:?}");
    let max = loads.values().cloned().fold(0.0, f64::max);
    assert!(
        max <= 125.0,
        "the biggest load is about the biggest shard: {loads:?}"
    );
    let (_, again) = utilization_fleet(&leases, &mut owners, &workers, 30);
    assert_eq!(again, 0, "settled");
}

#[test]
fn utilization_aware_balances_load_not_counts_and_leaves_a_band_alone() {
    // Two heavy leases and many light ones on one worker: a joiner ends with about half the load.
    let mut leases: Vec<(String, f64)> = (0..20).map(|i| (format!("s{i:02}"), 5.0)).collect();
    leases.push(("big-a".to_owned(), 100.0));
    leases.push(("big-b".to_owned(), 100.0));
    let mut owners: BTreeMap<String, String> =
        leases.iter().map(|(k, _)| (k.clone(), "w0".to_owned())).collect();
    let (loads, _) = utilization_fleet(&leases, &mut owners, &["w0", "w1"], 50);
    // Both end inside the band (±20% of the average of 150).
    for load in loads.values() {
        assert!((120.0..=180.0).contains(load), "{loads:?}");
    }
    // Inside the band nothing moves even though counts differ.
    let (_, moves) = utilization_fleet(&leases, &mut owners, &["w0", "w1"], 10);
    assert_eq!(moves, 0);
}

#[test]
fn utilization_aware_takes_free_leases_and_uses_cpu_when_everyone_reports_it() {
    // Free leases with no reports yet spread by count between two workers.
    let leases: Vec<(String, f64)> = (0..10).map(|i| (format!("s{i}"), 0.0)).collect();
    let mut owners = BTreeMap::new();
    utilization_fleet(&leases, &mut owners, &["a", "b"], 3);
    let on_a = owners.values().filter(|o| *o == "a").count();
    assert_eq!(owners.len(), 10, "every free lease taken");
    assert!((4..=6).contains(&on_a), "{owners:?}");
    // CPU: equal throughput, but "busy" burns 90% CPU for it and "idle" 10%: CPU decides.
    let mut infos = Vec::new();
    for (i, owner, cpu) in [
        (0, "busy", 0.9),
        (1, "busy", 0.9),
        (2, "busy", 0.9),
        (3, "busy", 0.9),
        (4, "idle", 0.1),
    ] {
        let mut info = loaded(&format!("c{i}"), Some(owner), 10.0);
        info.load.as_mut().unwrap().owner_cpu = Some(cpu);
        infos.push(info);
    }
    let live: BTreeSet<String> = ["busy".to_owned(), "idle".to_owned()].into();
    let snapshot = AssignmentSnapshot::new("idle", infos.clone(), live.clone(), usize::MAX);
    let loads = Loads::of(&snapshot);
    assert!((loads.load["busy"] - 0.9).abs() < 1e-9 && (loads.load["idle"] - 0.1).abs() < 1e-9);
    let d = UtilizationAware::new().assign(&AssignmentSnapshot::new("idle", infos, live, usize::MAX));
    // One or two of busy's four leases (0.225 each) move toward 0.5 each.
    assert!((1..=2).contains(&d.steal.len()), "{d:?}");
}

#[test]
fn max_leases_and_steal_limit_are_respected() {
    let leases = (0..10)
        .map(|i| LeaseInfo::new(format!("k{i}"), Some("big".into()), false))
        .collect::<Vec<_>>();
    let live = ["big".to_owned()].into_iter().collect();
    let snapshot = AssignmentSnapshot::new("me", leases.clone(), live, 2);
    assert_eq!(CountBalanced::new().assign(&snapshot).steal.len(), 2);
    let live = ["big".to_owned()].into_iter().collect();
    let snapshot = AssignmentSnapshot::new("me", leases, live, usize::MAX);
    let limited = CountBalanced::new()
        .with_max_steals_per_cycle(1)
        .assign(&snapshot);
    assert_eq!(limited.steal.len(), 1);
    assert_eq!(CountBalanced::new().assign(&snapshot).steal.len(), 5);
}
