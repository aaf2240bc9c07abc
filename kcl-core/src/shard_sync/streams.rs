//! The multi-stream sync: the tracker's streams first, then each tracked stream synced on its own, then
//! the leases of streams removed longer than the grace period ago deleted (see [`crate::multi_stream`]).

use std::collections::BTreeMap;

use kcl_checkpoint::{DisplayChain, Lease, LeaseKey};

use super::{ShardSyncer, SyncReport};
use crate::error::{Error, Result};
use crate::metrics as m;
use crate::multi_stream::{prefix_shards, MultiStreamSource};
use crate::source::ShardFilter;

/// How often a fenced delete of a former stream's lease is tried again within one sync when its owner
/// renewed it meanwhile.
const DELETE_ATTEMPTS: usize = 3;

impl ShardSyncer {
    /// One multi-stream sync over the lease table's `leases`.
    ///
    /// A stream whose listing fails is skipped (logged) and synced again next time; the sync fails only
    /// when every tracked stream's listing failed (so a run of such failures is fatal, as a single
    /// stream's is). A tracker that fails leaves the streams as they were.
    pub(super) async fn sync_streams(
        &self,
        multi: &MultiStreamSource,
        leases: BTreeMap<String, Lease>,
        report: &mut SyncReport,
    ) -> Result<()> {
        if let Err(e) = multi.refresh().await {
            tracing::warn!(error = %DisplayChain(&e), "asking the stream tracker failed; syncing the streams known so far");
        }
        // The leases of each stream, by serialized stream identifier (plain keys belong to no stream).
        let mut by_stream: BTreeMap<String, BTreeMap<String, Lease>> = BTreeMap::new();
        for (key, lease) in leases {
            if let Some(stream) = lease.key.stream() {
                by_stream
                    .entry(stream.serialize())
                    .or_default()
                    .insert(key, lease);
            }
        }
        let tracked = multi.tracked();
        let mut failure: Option<Error> = None;
        let mut listed = 0usize;
        for config in &tracked {
            let stream = config.stream();
            let id = stream.serialize();
            let shards = match config.source().list_shards(&ShardFilter::FromTrimHorizon).await {
                Ok(shards) => prefix_shards(stream, shards),
                Err(e) => {
                    tracing::warn!(stream = %id, error = %DisplayChain(&e), "listing the stream's shards failed; syncing it again next time");
                    failure.get_or_insert(e);
                    continue;
                }
            };
            listed += 1;
            let position = config
                .initial_position_override()
                .unwrap_or(self.initial_position);
            let leases = by_stream.remove(&id).unwrap_or_default();
            self.sync_shards(&shards, leases, position, report).await?;
        }
        if listed == 0 {
            if let Some(e) = failure {
                return Err(e);
            }
        }
        self.delete_former(multi, &mut by_stream, report).await
    }

    /// Deletes the leases of the former streams whose grace period ran out (fenced; a lease renewed
    /// meanwhile is read again and deleted at its new counter), and forgets a former stream once a sync
    /// finds none of its leases left.
    async fn delete_former(
        &self,
        multi: &MultiStreamSource,
        by_stream: &mut BTreeMap<String, BTreeMap<String, Lease>>,
        report: &mut SyncReport,
    ) -> Result<()> {
        let worker = self.worker_id.to_string();
        for stream in multi.expired_former(tokio::time::Instant::now()) {
            let leases = by_stream.remove(&stream).unwrap_or_default();
            if leases.is_empty() {
                multi.forget(&stream);
                continue;
            }
            for lease in leases.into_values() {
                let mut current = Some(lease);
                let mut attempts = 0;
                while let Some(lease) = current.take() {
                    attempts += 1;
                    match self.store.delete(&lease).await {
                        Ok(()) => {
                            tracing::info!(lease = %lease.key, owner = ?lease.owner, "lease of a removed stream deleted after the grace period");
                            let name = lease.key.stream().map(|s| s.stream_name).unwrap_or_default();
                            metrics::counter!(m::FORMER_STREAM_LEASES_DELETED, "worker" => worker.clone(), "stream" => name)
                                .increment(1);
                            report.deleted.push(lease.key.as_str().to_owned());
                        }
                        Err(e) if e.is_conflict() && attempts < DELETE_ATTEMPTS => {
                            current = self.store.get(&LeaseKey::new(lease.key.as_str())).await?;
                        }
                        Err(e) if e.is_conflict() => {
                            tracing::debug!(lease = %lease.key, "deleting a removed stream's lease lost a race; retrying next sync");
                        }
                        Err(e) => return Err(e.into()),
                    }
                }
            }
        }
        Ok(())
    }
}
