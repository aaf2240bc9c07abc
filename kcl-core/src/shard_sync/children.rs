//! Child leases created at a shard end: the consumer that reaches a parent's end creates its children's
//! leases from the GetRecords `ChildShards`, so they start without waiting for the next shard sync.

use std::collections::BTreeSet;

use kcl_checkpoint::{DisplayChain, ExtendedSequenceNumber, Lease, LeaseKey, LeaseStore, StreamIdentifier};

use crate::held::HeldLease;
use crate::metrics as m;
use crate::record::ChildShard;

/// Creates leases (at `TRIM_HORIZON`) for the `children` reported at the end of `lease`'s shard and, once
/// every one of them exists, records them on `lease`. A merge child whose other parent has no lease yet is
/// left to shard sync (as the Java KCL does); failures are logged, shard sync repairs them.
///
/// In multi-stream mode `stream` is the stream of `lease`: the children's shard ids (as the stream's
/// source reports them) become lease keys of that stream, and so do their parents.
pub(crate) async fn create_child_leases(
    store: &dyn LeaseStore,
    worker_id: &str,
    lease: &HeldLease,
    stream: Option<&StreamIdentifier>,
    children: &[ChildShard],
) {
    if children.is_empty() {
        return;
    }
    let key_of = |shard_id: &str| match stream {
        Some(stream) => LeaseKey::multi_stream(stream, shard_id),
        None => LeaseKey::new(shard_id),
    };
    let mut ids = BTreeSet::new();
    'children: for child in children {
        let parents: Vec<LeaseKey> = child.parent_shards.iter().map(|p| key_of(p)).collect();
        // As the Java KCL: a merge child's lease waits until its other parent has one (shard sync,
        // run right after this shard end, creates both in order).
        for parent in parents.iter().filter(|p| p.as_str() != lease.key()) {
            if !matches!(store.get(parent).await, Ok(Some(_))) {
                tracing::debug!(child = %child.shard_id, %parent, "other parent has no lease yet; leaving the child to shard sync");
                continue 'children;
            }
        }
        let child_key = key_of(&child.shard_id);
        let mut new = Lease::new(child_key.clone(), ExtendedSequenceNumber::TrimHorizon)
            .with_parents(parents.iter().map(|p| p.as_str().to_owned()));
        if let Some(range) = child.hash_key_range {
            new = new.with_hash_key_range(range);
        }
        match store.create_if_absent(&new).await {
            Ok(created) => {
                if created {
                    tracing::info!(child = %child.shard_id, "child lease created at shard end");
                    metrics::counter!(m::LEASES_CREATED, "worker" => worker_id.to_owned()).increment(1);
                }
                ids.insert(child_key.as_str().to_owned());
            }
            Err(e) => {
                tracing::warn!(child = %child.shard_id, error = %DisplayChain(&e), "creating a child lease failed; shard sync will")
            }
        }
    }
    if ids.len() == children.len() {
        if let Err(e) = lease.set_children(&ids).await {
            tracing::warn!(error = %DisplayChain(&e), "recording child shard ids failed");
        }
    }
}
