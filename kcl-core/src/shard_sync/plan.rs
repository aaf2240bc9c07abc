//! Shard sync's planning, pure functions of a shard listing and the lease table: which leases to create
//! (the ancestry rules), which finished parents to delete, which leases' shards expired from retention.

use std::collections::{BTreeMap, BTreeSet};

use kcl_checkpoint::{ExtendedSequenceNumber, Lease};

use crate::config::InitialPosition;
use crate::source::ShardDescription;

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
            .chain(leases.values().flat_map(|l| {
                l.parent_shard_ids
                    .iter()
                    .map(move |p| (l.key.as_str(), p.as_str()))
            }));
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
        .chain(leases.values().flat_map(|l| {
            std::iter::once(l.key.as_str()).chain(l.parent_shard_ids.iter().map(String::as_str))
        }))
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
            if let Some(listed) = children_of.get(lease.key.as_str()) {
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
            closed.insert(lease.key.as_str());
        }
    }
    leases
        .values()
        .filter(|lease| !lease.is_shard_end())
        .map(|l| l.key.as_str())
        .filter(|id| !listed.contains(id) && closed.contains(id))
        .map(str::to_owned)
        .collect()
}
