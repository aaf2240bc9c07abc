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
//!
//! In multi-stream mode (see [`crate::multi_stream`]) a sync asks the stream tracker for its streams
//! first, then does the above for each tracked stream on its own (its shards and its leases only, named by
//! lease keys, with its initial position), and finally deletes the leases of streams removed longer than
//! the grace period ago (`streams`).
//!
//! Layout: this file holds one sync ([`ShardSyncer::sync`]) and what it reports; `plan` decides what to
//! create, delete and treat as expired (pure functions of the listings); `streams` the multi-stream sync;
//! `children` creates child leases at a shard end; `sync_loop` runs the syncs for the worker
//! ([`SyncLoop`]).

use std::collections::{BTreeMap, BTreeSet};
use std::sync::Arc;

use kcl_checkpoint::{Lease, LeaseStore};

use crate::config::InitialPosition;
use crate::error::Result;
use crate::metrics as m;
use crate::source::{RecordSource, ShardFilter};

mod children;
mod plan;
mod streams;
mod sync_loop;

pub(crate) use children::create_child_leases;
use plan::{gone_shards, plan_cleanup, plan_expired, plan_new_leases};
pub(crate) use sync_loop::SyncLoop;

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
    /// Multi-stream mode: the streams to sync (`source` is then this composite).
    pub(crate) multi: Option<Arc<crate::multi_stream::MultiStreamSource>>,
}

impl ShardSyncer {
    /// One sync: create missing leases, delete finished parents.
    pub(crate) async fn sync(&self) -> Result<SyncReport> {
        // The lease table first, the shards second: every shard whose lease the listing shows was created
        // before the shard listing is taken, so the listing shows the children of every lease cleaned up
        // before (a finished shard is never mistaken for a new one).
        let listing = self.store.list().await?;
        let leases: BTreeMap<String, Lease> = listing
            .leases
            .into_iter()
            .map(|l| (l.key.as_str().to_owned(), l))
            .collect();
        let mut report = SyncReport::default();
        match &self.multi {
            Some(multi) => self.sync_streams(multi, leases, &mut report).await?,
            None => {
                let shards = self.source.list_shards(&ShardFilter::FromTrimHorizon).await?;
                self.sync_shards(&shards, leases, self.initial_position, &mut report)
                    .await?;
            }
        }
        if self.announce && (!report.created.is_empty() || !report.deleted.is_empty()) {
            if let Err(e) = self.store.bump_version().await {
                tracing::warn!(error = %kcl_checkpoint::DisplayChain(&e), "bumping the lease table version failed");
            }
        }
        Ok(report)
    }

    /// Syncs one stream: `shards` is its full listing, `leases` its leases (named alike), `position` its
    /// initial position. Adds what it did to `report`.
    async fn sync_shards(
        &self,
        shards: &[crate::source::ShardDescription],
        mut leases: BTreeMap<String, Lease>,
        position: InitialPosition,
        report: &mut SyncReport,
    ) -> Result<()> {
        let worker = self.worker_id.to_string();
        for lease in plan_new_leases(shards, &leases, position) {
            if self.store.create_if_absent(&lease).await? {
                tracing::info!(lease = %lease.key, checkpoint = %lease.checkpoint, "lease created");
                metrics::counter!(m::LEASES_CREATED, "worker" => worker.clone()).increment(1);
                report.created.push(lease.key.as_str().to_owned());
            }
            leases.insert(lease.key.as_str().to_owned(), lease);
        }
        let expired = plan_expired(&leases, shards);
        report.findings.gone.extend(gone_shards(&leases, shards));
        for key in &expired {
            tracing::warn!(
                lease = %key,
                "shard expired from retention before it was fully processed: its remaining records are \
                 lost; treating it as ended so its children proceed"
            );
        }
        report.findings.expired.extend(expired);
        let doomed: Vec<Lease> = plan_cleanup(&leases, shards).into_iter().cloned().collect();
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
        Ok(())
    }
}

#[cfg(test)]
mod tests;
