//! Unit tests of shard sync's planning (which leases to create, delete, treat as expired).

use std::collections::BTreeMap;

use kcl_checkpoint::{ExtendedSequenceNumber, Lease};

use super::plan::*;
use crate::config::InitialPosition;
use crate::source::ShardDescription;

fn shard(id: &str, parents: &[&str], open: bool) -> ShardDescription {
    let mut s = ShardDescription::new(id).with_parents(
        parents.first().map(|p| (*p).to_owned()),
        parents.get(1).map(|p| (*p).to_owned()),
    );
    if !open {
        s = s.closed("100");
    }
    s
}

fn keys(leases: &[Lease]) -> Vec<(&str, String)> {
    leases
        .iter()
        .map(|l| (l.key.as_str(), l.checkpoint.to_string()))
        .collect()
}

#[test]
fn leases_of_closed_shards_missing_from_the_listing_are_expired() {
    let lease = |id: &str, parents: &[&str], cp: ExtendedSequenceNumber| {
        (
            id.to_owned(),
            Lease::new(id, cp).with_parents(parents.iter().map(|p| (*p).to_owned())),
        )
    };
    let th = || ExtendedSequenceNumber::TrimHorizon;
    let leases: BTreeMap<String, Lease> = [
        // Parent trimmed away, children listed: expired.
        lease("p", &[], th()),
        lease("a", &["p"], th()),
        lease("b", &["p"], th()),
        // Grandparent whose child lease is also gone from the listing: expired too.
        lease("gp", &[], th()),
        lease("q", &["gp"], th()),
        lease("c", &["q"], th()),
        // Finished and missing: nothing to do (cleanup's business).
        lease("done", &[], ExtendedSequenceNumber::ShardEnd),
        lease("d", &["done"], th()),
        // Missing but with no known descendant (maybe brand new): left alone.
        lease("new", &[], th()),
    ]
    .into_iter()
    .collect();
    let shards = vec![
        shard("a", &["p"], true),
        shard("b", &["p"], true),
        shard("c", &["q"], true),
        shard("d", &["done"], true),
    ];
    let expired = plan_expired(&leases, &shards);
    assert_eq!(
        expired.iter().map(String::as_str).collect::<Vec<_>>(),
        vec!["gp", "p", "q"]
    );
    // An empty listing proves nothing.
    assert!(plan_expired(&leases, &[]).is_empty());
}

fn table(entries: &[(&str, &[&str], ExtendedSequenceNumber)]) -> BTreeMap<String, Lease> {
    entries
        .iter()
        .map(|(id, parents, cp)| {
            (
                (*id).to_owned(),
                Lease::new(*id, cp.clone()).with_parents(parents.iter().map(|p| (*p).to_owned())),
            )
        })
        .collect()
}

fn started() -> ExtendedSequenceNumber {
    ExtendedSequenceNumber::sequence(kcl_checkpoint::SequenceNumber::from(5u128))
}

#[test]
fn empty_table_latest_leases_open_shards_only() {
    let shards = vec![
        shard("p", &[], false),
        shard("a", &["p"], true),
        shard("b", &["p"], true),
    ];
    let plan = plan_new_leases(&shards, &BTreeMap::new(), InitialPosition::Latest);
    assert_eq!(keys(&plan), vec![("a", "LATEST".into()), ("b", "LATEST".into())]);
}

#[test]
fn empty_table_trim_horizon_leases_the_whole_tree_parents_first() {
    let shards = vec![shard("p", &[], false), shard("a", &["p"], true)];
    let plan = plan_new_leases(&shards, &BTreeMap::new(), InitialPosition::TrimHorizon);
    assert_eq!(
        keys(&plan),
        vec![("p", "TRIM_HORIZON".into()), ("a", "TRIM_HORIZON".into())]
    );
    assert!(plan[1].parent_shard_ids.contains("p"));
}

#[test]
fn descendants_of_leased_shards_start_at_trim_horizon_with_every_parent_leased() {
    let shards = vec![
        shard("p", &[], false),
        shard("q", &[], false),
        shard("c", &["p", "q"], false),
        shard("g", &["c"], true),
        shard("other", &[], true),
    ];
    let leases = table(&[("p", &[], ExtendedSequenceNumber::Latest)]);
    let plan = plan_new_leases(&shards, &leases, InitialPosition::Latest);
    // `c` waits for both its parents, so `q` (no leased ancestor, closed) is leased too.
    assert_eq!(
        keys(&plan),
        vec![
            ("other", "LATEST".into()),
            ("q", "TRIM_HORIZON".into()),
            ("c", "TRIM_HORIZON".into()),
            ("g", "TRIM_HORIZON".into()),
        ]
    );
}

#[test]
fn a_merge_child_already_leased_pulls_in_its_unleased_parents() {
    // Defect seen in the fleet simulation: split 9 -> 10, 11; merge 2 + 10 -> 12. The lease of 12
    // was created at 2's end while 10 had none: 10 must still get one (it descends from 9).
    let shards = vec![
        shard("2", &[], false),
        shard("9", &[], false),
        shard("10", &["9"], false),
        shard("11", &["9"], true),
        shard("12", &["2", "10"], true),
    ];
    let leases = table(&[
        ("2", &[], ExtendedSequenceNumber::ShardEnd),
        ("9", &[], ExtendedSequenceNumber::ShardEnd),
        ("11", &["9"], ExtendedSequenceNumber::TrimHorizon),
        ("12", &["2", "10"], ExtendedSequenceNumber::TrimHorizon),
    ]);
    let plan = plan_new_leases(&shards, &leases, InitialPosition::Latest);
    assert_eq!(keys(&plan), vec![("10", "TRIM_HORIZON".into())]);
}

#[test]
fn intermediate_shards_between_a_leased_ancestor_and_a_leased_child_get_leases() {
    // 2 split into 5 + 6, merged back into 7; 7 got a lease, 5 and 6 must too.
    let shards = vec![
        shard("2", &[], false),
        shard("5", &["2"], false),
        shard("6", &["2"], false),
        shard("7", &["5", "6"], true),
    ];
    let leases = table(&[
        ("2", &[], ExtendedSequenceNumber::ShardEnd),
        ("7", &["5", "6"], ExtendedSequenceNumber::TrimHorizon),
    ]);
    for position in [InitialPosition::Latest, InitialPosition::TrimHorizon] {
        let plan = plan_new_leases(&shards, &leases, position);
        assert_eq!(
            keys(&plan),
            vec![("5", "TRIM_HORIZON".into()), ("6", "TRIM_HORIZON".into())]
        );
    }
}

#[test]
fn consumed_shards_are_never_leased_again() {
    let shards = vec![
        shard("p", &[], false),
        shard("a", &["p"], false),
        shard("b", &["p"], true),
        shard("g", &["a"], true),
    ];
    for position in [InitialPosition::TrimHorizon, InitialPosition::Latest] {
        // Children started: the parent was finished and cleaned up (only `a`'s child is new).
        let leases = table(&[("a", &["p"], started()), ("b", &["p"], started())]);
        let plan = plan_new_leases(&shards, &leases, position);
        assert_eq!(keys(&plan), vec![("g", "TRIM_HORIZON".into())]);
        // A grandchild started (its parent `a` finished and was cleaned up too): neither `p` nor
        // `a` is leased again, even though `b` has not started.
        let leases = table(&[
            ("b", &["p"], ExtendedSequenceNumber::TrimHorizon),
            ("g", &["a"], started()),
        ]);
        assert!(plan_new_leases(&shards, &leases, position).is_empty());
        // A listing older than the lease table (it still shows `p` open, no children): the leases'
        // own parent links prove `p` consumed.
        let leases = table(&[("a", &["p"], started()), ("b", &["p"], started())]);
        assert!(plan_new_leases(&[shard("p", &[], true)], &leases, position).is_empty());
        // The grandchild's lease alone links `a` to `g` when the listing does not show `g` yet.
        let leases = table(&[("g", &["a"], started())]);
        let plan = plan_new_leases(&shards[..3], &leases, position);
        assert!(plan.iter().all(|l| l.shard_id() == "b"), "{:?}", keys(&plan));
    }
}

#[test]
fn shards_known_but_missing_from_a_full_listing_are_gone() {
    let leases = table(&[("c", &["p", "q"], ExtendedSequenceNumber::TrimHorizon)]);
    let shards = vec![shard("q", &["old"], false), shard("c", &["p", "q"], true)];
    let gone = gone_shards(&leases, &shards);
    assert_eq!(
        gone.iter().map(String::as_str).collect::<Vec<_>>(),
        vec!["old", "p"]
    );
    assert!(
        gone_shards(&leases, &[]).is_empty(),
        "an empty listing proves nothing"
    );
}

#[test]
fn cleanup_waits_for_every_child_to_start() {
    let shards = vec![
        shard("p", &[], false),
        shard("a", &["p"], true),
        shard("b", &["p"], true),
    ];
    let mut leases = BTreeMap::new();
    let mut parent = Lease::new("p", ExtendedSequenceNumber::ShardEnd);
    parent.child_shard_ids = ["a".to_owned(), "b".to_owned()].into_iter().collect();
    leases.insert("p".to_owned(), parent);
    let started = ExtendedSequenceNumber::sequence(kcl_checkpoint::SequenceNumber::from(5));
    leases.insert("a".to_owned(), Lease::new("a", started.clone()));
    leases.insert(
        "b".to_owned(),
        Lease::new("b", ExtendedSequenceNumber::TrimHorizon),
    );
    assert!(plan_cleanup(&leases, &shards).is_empty());
    leases.insert("b".to_owned(), Lease::new("b", started));
    let doomed: Vec<_> = plan_cleanup(&leases, &shards)
        .iter()
        .map(|l| l.shard_id().to_owned())
        .collect();
    assert_eq!(doomed, vec!["p"]);
    // A finished child that was itself cleaned up counts as started.
    leases.remove("a");
    assert_eq!(plan_cleanup(&leases, &shards).len(), 1);
}
