//! Shard sync: lease creation for new shards, and cleanup of finished parents.
//!
//! Each sync lists the stream's shards (ListShards, every page) and the lease table, then:
//!
//! 1. **creates a lease for every shard that has none**, following the Java KCL's ancestry rules: a shard
//!    descending from a leased shard starts at `TRIM_HORIZON` (so nothing written after its parent closed
//!    is missed); any other shard starts at the configured initial position. With `LATEST`, only open
//!    shards get leases (closed shards unrelated to any lease hold only old data); with `TRIM_HORIZON` or
//!    `AT_TIMESTAMP` every shard does, parents before children in time through the parent-wait rule;
//! 2. **deletes a finished parent lease** (checkpoint `SHARD_END`) once every child has started, i.e.
//!    checkpointed past `TRIM_HORIZON` (or finished and been deleted itself).
//!
//! 3. **finds leases whose shard expired from retention** before it was fully processed: a lease that is
//!    not finished, whose shard is absent from the full listing although it is known to be closed (a
//!    listed shard or another lease names it as a parent, or its lease records children). Its records
//!    are gone for good; the consumer treats the shard as ended (`shard_ended`, `SHARD_END`) so its
//!    children proceed and cleanup deletes it, instead of retrying GetShardIterator forever. A shard
//!    merely missing from a listing (a brand-new shard) is never closed-proven, so it is never affected.
//!
//! Leases for children are also created by the consumer that reaches a parent's end (from the
//! GetRecords `ChildShards`), so children start without waiting for the next sync.

use std::collections::{BTreeMap, BTreeSet};
use std::sync::Arc;

use kcl_checkpoint::{ExtendedSequenceNumber, Lease, LeaseStore};

use crate::config::InitialPosition;
use crate::error::Result;
use crate::metrics as m;
use crate::source::{RecordSource, ShardDescription, ShardFilter};

/// What a sync did.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub(crate) struct SyncReport {
    /// Lease keys created.
    pub(crate) created: Vec<String>,
    /// Finished parent leases deleted.
    pub(crate) deleted: Vec<String>,
    /// What consumers need to know from the listing.
    pub(crate) findings: SyncFindings,
}

/// What shard sync learnt from the listing that consumers act on.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub(crate) struct SyncFindings {
    /// Unfinished leases whose (closed) shard expired from retention: their consumers end them.
    pub(crate) expired: BTreeSet<String>,
    /// Known shards (lease keys and parents) absent from the full listing: expired from retention, so a
    /// child waiting on one of them as a parent need not wait.
    pub(crate) gone: BTreeSet<String>,
}

/// Creates and cleans up leases from the stream's shard list.
#[derive(Debug, Clone)]
pub(crate) struct ShardSyncer {
    pub(crate) worker_id: Arc<str>,
    pub(crate) store: Arc<dyn LeaseStore>,
    pub(crate) source: Arc<dyn RecordSource>,
    pub(crate) initial_position: InitialPosition,
    /// Heartbeat mode: bump the table version after creating or deleting leases, so peers rescan.
    pub(crate) announce: bool,
}

/// The checkpoint a new lease starts from under the initial position, when not a descendant.
fn initial_checkpoint(position: InitialPosition, shard: &ShardDescription) -> Option<ExtendedSequenceNumber> {
    match position {
        InitialPosition::Latest => shard.is_open().then_some(ExtendedSequenceNumber::Latest),
        InitialPosition::TrimHorizon => Some(ExtendedSequenceNumber::TrimHorizon),
        InitialPosition::AtTimestamp(_) => Some(ExtendedSequenceNumber::AtTimestamp),
    }
}

/// The shard graph as far as this worker knows it: the listing's parent links plus the parents each lease
/// records (a lease may name a parent the listing no longer shows, or be the child the listing does not
/// show yet).
struct ShardGraph<'a> {
    parents_of: BTreeMap<&'a str, BTreeSet<&'a str>>,
    children_of: BTreeMap<&'a str, BTreeSet<&'a str>>,
}

impl<'a> ShardGraph<'a> {
    fn new(shards: &'a [ShardDescription], leases: &'a BTreeMap<String, Lease>) -> Self {
        let mut graph = ShardGraph {
            parents_of: BTreeMap::new(),
            children_of: BTreeMap::new(),
        };
        let links = shards
            .iter()
            .flat_map(|s| s.parents().map(move |p| (s.shard_id.as_str(), p)))
            .chain(
                leases
                    .values()
                    .flat_map(|l| l.parent_shard_ids.iter().map(move |p| (l.shard_id(), p.as_str()))),
            );
        for (child, parent) in links {
            graph.parents_of.entry(child).or_default().insert(parent);
            graph.children_of.entry(parent).or_default().insert(child);
        }
        graph
    }

    /// True when some ancestor of `id` has a lease.
    fn descends_from_leased(
        &self,
        id: &'a str,
        leases: &BTreeMap<String, Lease>,
        memo: &mut BTreeMap<&'a str, bool>,
    ) -> bool {
        if let Some(known) = memo.get(id) {
            return *known;
        }
        // Guard against cycles in a malformed shard list.
        memo.insert(id, false);
        let result = self.parents_of.get(id).is_some_and(|parents| {
            parents
                .iter()
                .any(|p| leases.contains_key(*p) || self.descends_from_leased(p, leases, memo))
        });
        memo.insert(id, result);
        result
    }

    /// What lies below `id`: (some descendant's lease has started, some descendant's lease waits for its
    /// ancestors at `TRIM_HORIZON` / `AT_TIMESTAMP`).
    fn below(
        &self,
        id: &'a str,
        leases: &BTreeMap<String, Lease>,
        memo: &mut BTreeMap<&'a str, (bool, bool)>,
    ) -> (bool, bool) {
        if let Some(known) = memo.get(id) {
            return *known;
        }
        memo.insert(id, (false, false));
        let mut result = (false, false);
        for child in self.children_of.get(id).into_iter().flatten() {
            match leases.get(*child).map(|l| &l.checkpoint) {
                Some(ExtendedSequenceNumber::Sequence { .. } | ExtendedSequenceNumber::ShardEnd) => {
                    result.0 = true;
                }
                Some(ExtendedSequenceNumber::TrimHorizon | ExtendedSequenceNumber::AtTimestamp) => {
                    result.1 = true;
                }
                _ => {}
            }
            let (started, waiting) = self.below(child, leases, memo);
            result = (result.0 || started, result.1 || waiting);
        }
        memo.insert(id, result);
        result
    }

    /// How many ancestors deep `id` is (to create parents' leases before their children's).
    fn depth(&self, id: &'a str, memo: &mut BTreeMap<&'a str, usize>) -> usize {
        if let Some(known) = memo.get(id) {
            return *known;
        }
        memo.insert(id, 0);
        let depth = self
            .parents_of
            .get(id)
            .into_iter()
            .flatten()
            .map(|p| self.depth(p, memo) + 1)
            .max()
            .unwrap_or(0);
        memo.insert(id, depth);
        depth
    }
}

/// The leases to create for `shards` given the existing leases, parents before children.
///
/// A listed shard without a lease gets one unless it was already consumed — some descendant's lease has
/// started, which happens only after this shard finished (its lease was then cleaned up): it is never
/// leased again. Otherwise it starts at `TRIM_HORIZON` when it descends from a leased shard, or when a
/// descendant's lease waits for its ancestors (ancestry is made complete: every shard between a leased
/// ancestor and a waiting descendant gets a lease, empty intermediate shards included, so no child waits
/// on a parent that will never be processed); any other shard starts at the initial position.
pub(crate) fn plan_new_leases(
    shards: &[ShardDescription],
    leases: &BTreeMap<String, Lease>,
    position: InitialPosition,
) -> Vec<Lease> {
    // A planned lease can pull its own missing ancestors in: plan until nothing more is added.
    let mut known = leases.clone();
    let mut planned = Vec::new();
    loop {
        let more = plan_pass(shards, &known, position);
        if more.is_empty() {
            break;
        }
        for lease in more {
            known.insert(lease.key.as_str().to_owned(), lease.clone());
            planned.push(lease);
        }
    }
    let graph = ShardGraph::new(shards, &known);
    let mut depths = BTreeMap::new();
    let mut planned: Vec<(usize, Lease)> = planned
        .into_iter()
        .map(|lease| {
            let id = known
                .get_key_value(lease.key.as_str())
                .map_or("", |(key, _)| key.as_str());
            (graph.depth(id, &mut depths), lease)
        })
        .collect();
    planned.sort_by(|(a, x), (b, y)| a.cmp(b).then_with(|| x.key.as_str().cmp(y.key.as_str())));
    planned.into_iter().map(|(_, lease)| lease).collect()
}

/// One planning pass over the shards with no lease in `leases`.
fn plan_pass(
    shards: &[ShardDescription],
    leases: &BTreeMap<String, Lease>,
    position: InitialPosition,
) -> Vec<Lease> {
    let graph = ShardGraph::new(shards, leases);
    let (mut above, mut below) = (BTreeMap::new(), BTreeMap::new());
    let mut new = Vec::new();
    for shard in shards {
        let id = shard.shard_id.as_str();
        if leases.contains_key(id) {
            continue;
        }
        let (consumed, waited_on) = graph.below(id, leases, &mut below);
        if consumed {
            continue;
        }
        let checkpoint = if graph.descends_from_leased(id, leases, &mut above) {
            Some(ExtendedSequenceNumber::TrimHorizon)
        } else if waited_on {
            Some(
                initial_checkpoint(position, shard)
                    .filter(|c| *c != ExtendedSequenceNumber::Latest)
                    .unwrap_or(ExtendedSequenceNumber::TrimHorizon),
            )
        } else {
            initial_checkpoint(position, shard)
        };
        let Some(checkpoint) = checkpoint else { continue };
        let mut lease = Lease::new(shard.shard_id.clone(), checkpoint).with_parents(shard.parents());
        if let Some(range) = shard.hash_key_range {
            lease = lease.with_hash_key_range(range);
        }
        new.push(lease);
    }
    new
}

/// The shard ids known (as lease keys or as parents) that a full, non-empty listing no longer shows:
/// they expired from retention, nothing of them can be read any more.
pub(crate) fn gone_shards(leases: &BTreeMap<String, Lease>, shards: &[ShardDescription]) -> BTreeSet<String> {
    if shards.is_empty() {
        // An empty listing proves nothing (a stream being recreated, a source hiccup).
        return BTreeSet::new();
    }
    let listed: BTreeSet<&str> = shards.iter().map(|s| s.shard_id.as_str()).collect();
    shards
        .iter()
        .flat_map(|s| s.parents())
        .chain(
            leases.values().flat_map(|l| {
                std::iter::once(l.shard_id()).chain(l.parent_shard_ids.iter().map(String::as_str))
            }),
        )
        .filter(|id| !listed.contains(id))
        .map(str::to_owned)
        .collect()
}

/// The finished parent leases whose children have all started.
pub(crate) fn plan_cleanup<'a>(
    leases: &'a BTreeMap<String, Lease>,
    shards: &[ShardDescription],
) -> Vec<&'a Lease> {
    let mut children_of: BTreeMap<&str, BTreeSet<&str>> = BTreeMap::new();
    for shard in shards {
        for parent in shard.parents() {
            children_of.entry(parent).or_default().insert(&shard.shard_id);
        }
    }
    leases
        .values()
        .filter(|lease| lease.is_shard_end())
        .filter(|lease| {
            let mut children: BTreeSet<&str> = lease.child_shard_ids.iter().map(String::as_str).collect();
            if let Some(listed) = children_of.get(lease.shard_id()) {
                children.extend(listed.iter().copied());
            }
            !children.is_empty()
                && children.iter().all(|child| match leases.get(*child) {
                    Some(l) => matches!(
                        l.checkpoint,
                        ExtendedSequenceNumber::Sequence { .. } | ExtendedSequenceNumber::ShardEnd
                    ),
                    // Recorded at shard end, so it was created; gone now means finished and cleaned.
                    None => lease.child_shard_ids.contains(*child),
                })
        })
        .collect()
}

/// The unfinished leases whose shard is closed (proven by a descendant) yet absent from the full listing,
/// i.e. expired from retention.
pub(crate) fn plan_expired(
    leases: &BTreeMap<String, Lease>,
    shards: &[ShardDescription],
) -> BTreeSet<String> {
    if shards.is_empty() {
        // An empty listing proves nothing (a stream being recreated, a source hiccup).
        return BTreeSet::new();
    }
    let listed: BTreeSet<&str> = shards.iter().map(|s| s.shard_id.as_str()).collect();
    let mut closed: BTreeSet<&str> = shards.iter().flat_map(|s| s.parents()).collect();
    for lease in leases.values() {
        closed.extend(lease.parent_shard_ids.iter().map(String::as_str));
        if !lease.child_shard_ids.is_empty() {
            closed.insert(lease.shard_id());
        }
    }
    leases
        .values()
        .filter(|lease| !lease.is_shard_end())
        .map(Lease::shard_id)
        .filter(|id| !listed.contains(id) && closed.contains(id))
        .map(str::to_owned)
        .collect()
}

impl ShardSyncer {
    /// One sync: create missing leases, delete finished parents.
    pub(crate) async fn sync(&self) -> Result<SyncReport> {
        // The lease table first, the shards second: every shard whose lease the listing shows was created
        // before the shard listing is taken, so the listing shows the children of every lease cleaned up
        // before (a finished shard is never mistaken for a new one).
        let listing = self.store.list().await?;
        let shards = self.source.list_shards(&ShardFilter::FromTrimHorizon).await?;
        let mut leases: BTreeMap<String, Lease> = listing
            .leases
            .into_iter()
            .map(|l| (l.key.as_str().to_owned(), l))
            .collect();
        let mut report = SyncReport::default();
        let worker = self.worker_id.to_string();
        for lease in plan_new_leases(&shards, &leases, self.initial_position) {
            if self.store.create_if_absent(&lease).await? {
                tracing::info!(lease = %lease.key, checkpoint = %lease.checkpoint, "lease created");
                metrics::counter!(m::LEASES_CREATED, "worker" => worker.clone()).increment(1);
                report.created.push(lease.key.as_str().to_owned());
            }
            leases.insert(lease.key.as_str().to_owned(), lease);
        }
        report.findings.expired = plan_expired(&leases, &shards);
        report.findings.gone = gone_shards(&leases, &shards);
        for key in &report.findings.expired {
            tracing::warn!(
                lease = %key,
                "shard expired from retention before it was fully processed: its remaining records are \
                 lost; treating it as ended so its children proceed"
            );
        }
        let doomed: Vec<Lease> = plan_cleanup(&leases, &shards).into_iter().cloned().collect();
        for lease in doomed {
            match self.store.delete(&lease).await {
                Ok(()) => {
                    tracing::info!(lease = %lease.key, "finished parent lease deleted");
                    metrics::counter!(m::LEASES_CLEANED, "worker" => worker.clone()).increment(1);
                    report.deleted.push(lease.key.as_str().to_owned());
                }
                Err(e) if e.is_conflict() => {
                    tracing::debug!(lease = %lease.key, "cleanup lost a race; retrying next sync");
                }
                Err(e) => return Err(e.into()),
            }
        }
        if self.announce && (!report.created.is_empty() || !report.deleted.is_empty()) {
            if let Err(e) = self.store.bump_version().await {
                tracing::warn!(error = %kcl_checkpoint::DisplayChain(&e), "bumping the lease table version failed");
            }
        }
        Ok(report)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

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
}
