//! Metric names (the `metrics` facade; install any recorder to export them).
//!
//! Every metric carries a `worker` label; per-shard metrics also carry `shard` (the shard id within its
//! stream). Metrics of records and shards carry a `stream` label too: the stream's name (in a
//! [multi-stream](crate::multi_stream) worker, the name in the lease key's stream; in a single-stream
//! worker, what [`RecordSource::stream`](crate::RecordSource::stream) says, or empty): records and bytes
//! processed, records filtered, skipped and sent to the destination, millis behind latest, prefetched
//! bytes and shards expired.

/// Counter: records delivered to processors and accepted.
pub const RECORDS_PROCESSED: &str = "kcl_records_processed_total";
/// Counter: payload bytes (data + partition key) delivered to processors and accepted.
pub const BYTES_PROCESSED: &str = "kcl_bytes_processed_total";
/// Gauge: how far behind the newest record of the shard the last batch was (`stream` and `shard` labels).
pub const MILLIS_BEHIND_LATEST: &str = "kcl_millis_behind_latest";
/// Histogram (seconds): how long each `process_records` call took (label `worker`).
pub const BATCH_PROCESSING_SECONDS: &str = "kcl_batch_processing_seconds";
/// Histogram (milliseconds): how far behind the newest record each batch read was (label `worker`).
pub const BATCH_MILLIS_BEHIND_LATEST: &str = "kcl_batch_millis_behind_latest";
/// Gauge: leases this worker holds.
pub const LEASES_HELD: &str = "kcl_leases_held";
/// Counter: unowned or expired leases taken.
pub const LEASES_TAKEN: &str = "kcl_leases_taken_total";
/// Counter: leases stolen from live workers for balance.
pub const LEASES_STOLEN: &str = "kcl_leases_stolen_total";
/// Counter: balancing moves this worker asked for as cooperative handoffs (part of the stolen count).
pub const HANDOFFS_ASKED: &str = "kcl_lease_handoffs_asked_total";
/// Counter: handoffs other workers asked of this worker.
pub const HANDOFFS_REQUESTED: &str = "kcl_lease_handoffs_requested_total";
/// Counter: handoffs this worker finished (the new owner starts from its checkpoint).
pub const HANDOFFS_COMPLETED: &str = "kcl_lease_handoffs_completed_total";
/// Counter: handoffs to this worker that the previous owner did not finish in time (taken over instead).
pub const HANDOFFS_TIMED_OUT: &str = "kcl_lease_handoffs_timed_out_total";
/// Counter: lease load reports written (utilization-aware strategies only; see [`crate::load`]).
pub const LOAD_REPORTS: &str = "kcl_lease_load_reports_total";
/// Counter: leases lost (taken by another worker, or not renewed in time).
pub const LEASES_LOST: &str = "kcl_leases_lost_total";
/// Counter: fenced store writes that lost (conflicts).
pub const STORE_CONFLICTS: &str = "kcl_lease_store_conflicts_total";
/// Counter: source calls throttled (`operation` label).
pub const THROTTLES: &str = "kcl_source_throttles_total";
/// Counter: failed processor calls (errors and panics).
pub const PROCESSOR_FAILURES: &str = "kcl_processor_failures_total";
/// Counter: records no filter pattern matched (never delivered; they count as processed).
pub const RECORDS_FILTERED: &str = "kcl_records_filtered_total";
/// Counter: records given up on and accepted by the on-failure destination (label `condition`:
/// `RetryAttemptsExhausted` or `RecordAgeExceeded`).
pub const RECORDS_TO_DESTINATION: &str = "kcl_records_sent_to_destination_total";
/// Counter: failed sends to the on-failure destination (each is retried; the shard waits).
pub const DESTINATION_ERRORS: &str = "kcl_failure_destination_errors_total";
/// Counter: records given up on (retry budget spent, or too old) and dropped because no on-failure
/// destination is set.
pub const RECORDS_SKIPPED: &str = "kcl_records_skipped_total";
/// Counter: leases created by shard sync or at shard end.
pub const LEASES_CREATED: &str = "kcl_leases_created_total";
/// Counter: finished parent leases deleted.
pub const LEASES_CLEANED: &str = "kcl_leases_cleaned_total";
/// Counter: leases of streams removed from a multi-stream worker's tracker, deleted after the grace period
/// (`stream` label; see [`crate::multi_stream`]).
pub const FORMER_STREAM_LEASES_DELETED: &str = "kcl_former_stream_leases_deleted_total";
/// Gauge: lease-table items that could not be read as leases, at the last listing (label `worker`).
pub const LEASES_MALFORMED: &str = "kcl_lease_items_malformed";
/// Counter: shards ended because they expired from retention before being fully processed (records lost).
pub const SHARDS_EXPIRED: &str = "kcl_shards_expired_total";
/// Counter: records starting with the KPL magic bytes that were not valid aggregates (bad MD5, protobuf or
/// key index), delivered as plain records.
pub const KPL_MALFORMED: &str = "kcl_kpl_malformed_aggregates_total";
/// Counter: KPL sub-records dropped because their hash key is outside the shard's range (after resharding).
pub const KPL_SUBRECORDS_DROPPED: &str = "kcl_kpl_subrecords_dropped_total";
/// Gauge: bytes held by the batches read ahead for a shard, the one being processed included (`shard`
/// label); stays below `prefetch_max_bytes` plus one batch.
pub const PREFETCH_BYTES: &str = "kcl_prefetch_bytes";
