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
    /// Unfinished leases whose (closed) shard expired from retention.
    pub(crate) expired: BTreeSet<String>,
}

/// Creates and cleans up leases from the stream's shard list.
#[derive(Debug, Clone)]
pub(crate) struct ShardSyncer {
    pub(crate) worker_id: Arc<str>,
    pub(crate) store: Arc<dyn LeaseStore>,
    pub(crate) source: Arc<dyn RecordSource>,
    pub(crate) initial_position: InitialPosition,
}

/// The checkpoint a new lease starts from under the initial position, when not a descendant.
fn initial_checkpoint(position: InitialPosition, shard: &ShardDescription) -> Option<ExtendedSequenceNumber> {
    match position {
        InitialPosition::Latest => shard.is_open().then_some(ExtendedSequenceNumber::Latest),
        InitialPosition::TrimHorizon => Some(ExtendedSequenceNumber::TrimHorizon),
        InitialPosition::AtTimestamp(_) => Some(ExtendedSequenceNumber::AtTimestamp),
    }
}

/// True when some ancestor of `id` (within the listed shards) has a lease.
fn descends_from_leased(
    id: &str,
    shards: &BTreeMap<&str, &ShardDescription>,
    leased: &BTreeSet<String>,
    memo: &mut BTreeMap<String, bool>,
) -> bool {
    if let Some(known) = memo.get(id) {
        return *known;
    }
    // Guard against cycles in a malformed shard list.
    memo.insert(id.to_owned(), false);
    let mut result = false;
    if let Some(shard) = shards.get(id) {
        for parent in shard.parents() {
            if leased.contains(parent) || descends_from_leased(parent, shards, leased, memo) {
                result = true;
                break;
            }
        }
    }
    memo.insert(id.to_owned(), result);
    result
}

/// True when some descendant of `id` (within the listed shards) has a lease.
fn has_leased_descendant(
    id: &str,
    children_of: &BTreeMap<&str, Vec<&str>>,
    leased: &BTreeSet<String>,
    memo: &mut BTreeMap<String, bool>,
) -> bool {
    if let Some(known) = memo.get(id) {
        return *known;
    }
    memo.insert(id.to_owned(), false);
    let result = children_of.get(id).is_some_and(|children| {
        children
            .iter()
            .any(|c| leased.contains(*c) || has_leased_descendant(c, children_of, leased, memo))
    });
    memo.insert(id.to_owned(), result);
    result
}

/// The leases to create for `shards` given the existing lease keys.
pub(crate) fn plan_new_leases(
    shards: &[ShardDescription],
    leased: &BTreeSet<String>,
    position: InitialPosition,
) -> Vec<Lease> {
    let by_id: BTreeMap<&str, &ShardDescription> = shards.iter().map(|s| (s.shard_id.as_str(), s)).collect();
    let mut children_of: BTreeMap<&str, Vec<&str>> = BTreeMap::new();
    for shard in shards {
        for parent in shard.parents() {
            children_of.entry(parent).or_default().push(&shard.shard_id);
        }
    }
    let mut memo = BTreeMap::new();
    let mut below = BTreeMap::new();
    let mut new = Vec::new();
    for shard in by_id.values() {
        if leased.contains(&shard.shard_id) {
            continue;
        }
        // A shard with a leased descendant was already consumed (its lease finished and was cleaned up
        // after its children started): never lease it again.
        if has_leased_descendant(&shard.shard_id, &children_of, leased, &mut below) {
            continue;
        }
        let checkpoint = if descends_from_leased(&shard.shard_id, &by_id, leased, &mut memo) {
            Some(ExtendedSequenceNumber::TrimHorizon)
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
        let shards = self.source.list_shards(&ShardFilter::FromTrimHorizon).await?;
        let listing = self.store.list().await?;
        let mut leases: BTreeMap<String, Lease> = listing
            .leases
            .into_iter()
            .map(|l| (l.key.as_str().to_owned(), l))
            .collect();
        let leased: BTreeSet<String> = leases.keys().cloned().collect();
        let mut report = SyncReport::default();
        let worker = self.worker_id.to_string();
        for lease in plan_new_leases(&shards, &leased, self.initial_position) {
            if self.store.create_if_absent(&lease).await? {
                tracing::info!(lease = %lease.key, checkpoint = %lease.checkpoint, "lease created");
                metrics::counter!(m::LEASES_CREATED, "worker" => worker.clone()).increment(1);
                report.created.push(lease.key.as_str().to_owned());
            }
            leases.insert(lease.key.as_str().to_owned(), lease);
        }
        report.expired = plan_expired(&leases, &shards);
        for key in &report.expired {
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

    #[test]
    fn empty_table_latest_leases_open_shards_only() {
        let shards = vec![
            shard("p", &[], false),
            shard("a", &["p"], true),
            shard("b", &["p"], true),
        ];
        let plan = plan_new_leases(&shards, &BTreeSet::new(), InitialPosition::Latest);
        assert_eq!(keys(&plan), vec![("a", "LATEST".into()), ("b", "LATEST".into())]);
    }

    #[test]
    fn empty_table_trim_horizon_leases_the_whole_tree_with_parents() {
        let shards = vec![shard("p", &[], false), shard("a", &["p"], true)];
        let plan = plan_new_leases(&shards, &BTreeSet::new(), InitialPosition::TrimHorizon);
        assert_eq!(
            keys(&plan),
            vec![("a", "TRIM_HORIZON".into()), ("p", "TRIM_HORIZON".into())]
        );
        assert!(plan[0].parent_shard_ids.contains("p"));
    }

    #[test]
    fn descendants_of_leased_shards_start_at_trim_horizon() {
        let shards = vec![
            shard("p", &[], false),
            shard("q", &[], false),
            shard("c", &["p", "q"], false),
            shard("g", &["c"], true),
            shard("other", &[], true),
        ];
        let leased = ["p".to_owned()].into_iter().collect();
        let plan = plan_new_leases(&shards, &leased, InitialPosition::Latest);
        assert_eq!(
            keys(&plan),
            vec![
                ("c", "TRIM_HORIZON".into()),
                ("g", "TRIM_HORIZON".into()),
                ("other", "LATEST".into()),
            ]
        );
    }

    #[test]
    fn cleaned_up_parents_are_never_leased_again() {
        let shards = vec![
            shard("p", &[], false),
            shard("a", &["p"], true),
            shard("b", &["p"], true),
        ];
        let leased = ["a".to_owned(), "b".to_owned()].into_iter().collect();
        for position in [InitialPosition::TrimHorizon, InitialPosition::Latest] {
            assert!(plan_new_leases(&shards, &leased, position).is_empty());
        }
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
