//! Persistence: a restart restores the exact state, sequence numbers and arrival times included.
//!
//! Two files in the persistence directory:
//! - `snapshot.json`: an [`EmulatorSnapshot`], written atomically (temporary file, fsync, rename);
//! - `records.jsonl`: the records accepted since that snapshot, one JSON line per record with the
//!   *result* of the write (stream epoch, shard, sequence counter, arrival time, key, data). Appending a
//!   result instead of the request makes applying it exact: the record gets back its sequence number and
//!   arrival timestamp, whatever order concurrent writes reached the file in.
//!
//! A PutRecord / PutRecords answer is sent only after its records are in `records.jsonl` (written to the
//! operating system, so a killed process loses nothing it acknowledged; a power cut may lose the last few).
//! Writes hold the journal from executing until journalled, so the journal holds each shard's records in
//! sequence order and a crash can only cut off its unacknowledged tail (this serializes writes while
//! persistence is on).
//! Every other state change (CreateStream, SplitShard, RegisterStreamConsumer, tags, ...) writes a new
//! snapshot before it is answered, and so does a graceful shutdown and a journal grown past
//! [`COMPACT_BYTES`]; each snapshot empties `records.jsonl`. A gate orders the two: changes hold it shared
//! while they execute (writes until journalled), a snapshot holds it exclusively, so the journal never
//! holds a record the snapshot misses.
//!
//! At start the snapshot is imported and the journal applied (sorted by shard and counter; a record the
//! snapshot already holds is skipped). A torn last journal line (a crash while writing) is skipped with a
//! warning; any other unreadable content is a startup error naming the file.

use std::path::{Path, PathBuf};
use std::sync::Arc;

use serde_json::Value;
use tokio::io::AsyncWriteExt;
use tokio::sync::{Mutex, MutexGuard, Notify, RwLock, RwLockReadGuard};

use super::error::ServerError;
use crate::snapshot::{self, Applied, JournalRecord};
use crate::{Emulator, EmulatorSnapshot};

/// The snapshot file's name inside the persistence directory.
pub(crate) const SNAPSHOT_FILE: &str = "snapshot.json";
/// The record journal's name inside the persistence directory.
pub(crate) const JOURNAL_FILE: &str = "records.jsonl";
/// The request journal of earlier versions, which cannot be restored exactly.
const LEGACY_JOURNAL_FILE: &str = "journal.jsonl";
/// A journal larger than this is folded into a new snapshot.
pub(crate) const COMPACT_BYTES: u64 = 64 * 1024 * 1024;

/// The persistence of one server.
#[derive(Debug)]
pub(crate) struct Persistence {
    dir: PathBuf,
    emulator: Emulator,
    gate: RwLock<()>,
    journal: Mutex<Journal>,
    /// Woken when the journal passes `compact_bytes`.
    compact: Notify,
    /// [`COMPACT_BYTES`], lowered by tests.
    compact_bytes: std::sync::atomic::AtomicU64,
    /// Held while a snapshot file is written: a checkpoint whose task was cancelled keeps writing in the
    /// background, and the next one must not write the same temporary file meanwhile.
    writing: Arc<parking_lot::Mutex<()>>,
}

#[derive(Debug)]
struct Journal {
    file: tokio::fs::File,
    len: u64,
}

fn error(path: &Path, message: impl Into<String>) -> ServerError {
    ServerError::Persistence {
        path: path.to_owned(),
        message: message.into(),
    }
}

impl Persistence {
    /// Restores `emulator` from `dir` (if it holds a snapshot or journal), writes a fresh snapshot, and
    /// returns the persistence ready for writes.
    pub(crate) async fn open(dir: &Path, emulator: Emulator) -> Result<Arc<Self>, ServerError> {
        tokio::fs::create_dir_all(dir)
            .await
            .map_err(|e| error(dir, format!("cannot create the directory: {e}")))?;
        let legacy = dir.join(LEGACY_JOURNAL_FILE);
        if tokio::fs::try_exists(&legacy).await.unwrap_or(false) {
            return Err(error(
                &legacy,
                "a request journal of an earlier kcl-emulator version; it cannot be restored exactly \
                 (sequence numbers would change): remove it or use another directory",
            ));
        }
        let snapshot_path = dir.join(SNAPSHOT_FILE);
        match tokio::fs::read(&snapshot_path).await {
            Ok(bytes) => {
                let snapshot: EmulatorSnapshot = serde_json::from_slice(&bytes)
                    .map_err(|e| error(&snapshot_path, format!("not a readable snapshot: {e}")))?;
                emulator
                    .import(&snapshot)
                    .map_err(|e| error(&snapshot_path, e.to_string()))?;
                tracing::info!(path = %snapshot_path.display(), streams = snapshot.stream_count(),
                    records = snapshot.record_count(), "snapshot restored");
            }
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
            Err(e) => return Err(error(&snapshot_path, format!("cannot read: {e}"))),
        }
        let journal_path = dir.join(JOURNAL_FILE);
        match tokio::fs::read(&journal_path).await {
            Ok(bytes) => apply_journal(&emulator, &journal_path, &bytes)?,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
            Err(e) => return Err(error(&journal_path, format!("cannot read: {e}"))),
        }
        let file = tokio::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(&journal_path)
            .await
            .map_err(|e| error(&journal_path, format!("cannot open for appending: {e}")))?;
        let len = file.metadata().await.map(|m| m.len()).unwrap_or(0);
        let this = Arc::new(Self {
            dir: dir.to_owned(),
            emulator,
            gate: RwLock::new(()),
            journal: Mutex::new(Journal { file, len }),
            compact: Notify::new(),
            compact_bytes: std::sync::atomic::AtomicU64::new(COMPACT_BYTES),
            writing: Arc::new(parking_lot::Mutex::new(())),
        });
        // Fold the applied journal into a snapshot, so the next start reads one file.
        this.checkpoint().await?;
        Ok(this)
    }

    /// Held (shared) by a state change other than a write while it executes, so that the snapshot that
    /// follows it does not start before it ends.
    pub(crate) async fn change_gate(&self) -> RwLockReadGuard<'_, ()> {
        self.gate.read().await
    }

    /// Starts a PutRecord / PutRecords: holds the gate (shared) and the journal until
    /// [`PutGuard::commit`], so that records reach the journal in the order they were numbered.
    pub(crate) async fn begin_put(&self) -> PutGuard<'_> {
        let gate = self.gate.read().await;
        let journal = self.journal.lock().await;
        PutGuard {
            persistence: self,
            _gate: gate,
            journal,
        }
    }

    /// Writes a snapshot of the current state and empties the journal. Waits for writes in flight.
    pub(crate) async fn checkpoint(&self) -> Result<(), ServerError> {
        let _exclusive = self.gate.write().await;
        let mut journal = self.journal.lock().await;
        let emulator = self.emulator.clone();
        let dir = self.dir.clone();
        let writing = self.writing.clone();
        tokio::task::spawn_blocking(move || {
            let _writing = writing.lock();
            write_snapshot(&dir, &emulator.snapshot())
        })
        .await
        .map_err(|e| {
            error(
                &self.dir.join(SNAPSHOT_FILE),
                format!("snapshot task failed: {e}"),
            )
        })??;
        let path = self.dir.join(JOURNAL_FILE);
        journal
            .file
            .set_len(0)
            .await
            .map_err(|e| error(&path, format!("cannot truncate: {e}")))?;
        journal.len = 0;
        Ok(())
    }

    /// Folds the journal into a snapshot whenever it grows past [`COMPACT_BYTES`]; runs until aborted.
    pub(crate) async fn compact_when_large(self: Arc<Self>) {
        loop {
            self.compact.notified().await;
            if let Err(e) = self.checkpoint().await {
                tracing::error!(error = %e, "snapshot failed");
            }
        }
    }
}

/// A PutRecord / PutRecords in progress (see [`Persistence::begin_put`]).
#[derive(Debug)]
pub(crate) struct PutGuard<'a> {
    persistence: &'a Persistence,
    _gate: RwLockReadGuard<'a, ()>,
    journal: MutexGuard<'a, Journal>,
}

impl PutGuard<'_> {
    /// Journals the records the answer `output` accepted, then releases the journal.
    pub(crate) async fn commit(mut self, output: &Value) -> Result<(), ServerError> {
        let p = self.persistence;
        let seqs: Vec<&str> = match output.get("Records").and_then(Value::as_array) {
            Some(results) => results
                .iter()
                .filter_map(|r| r.get("SequenceNumber").and_then(Value::as_str))
                .collect(),
            None => output
                .get("SequenceNumber")
                .and_then(Value::as_str)
                .into_iter()
                .collect(),
        };
        let records = snapshot::journal_records(p.emulator.shared(), seqs);
        if records.is_empty() {
            return Ok(());
        }
        let mut lines = Vec::with_capacity(records.len() * 128);
        for record in &records {
            // Serializing plain strings and integers cannot fail.
            let _ = serde_json::to_writer(&mut lines, record);
            lines.push(b'\n');
        }
        let journal = &mut *self.journal;
        let written = async {
            journal.file.write_all(&lines).await?;
            journal.file.flush().await
        }
        .await;
        written.map_err(|e| error(&p.dir.join(JOURNAL_FILE), format!("cannot append: {e}")))?;
        journal.len += lines.len() as u64;
        if journal.len > p.compact_bytes.load(std::sync::atomic::Ordering::Relaxed) {
            p.compact.notify_one();
        }
        Ok(())
    }
}

/// Writes `snapshot` to `dir/snapshot.json` atomically: temporary file, fsync, rename, fsync of the directory.
fn write_snapshot(dir: &Path, snapshot: &EmulatorSnapshot) -> Result<(), ServerError> {
    use std::io::Write as _;
    let path = dir.join(SNAPSHOT_FILE);
    let temp = dir.join(format!("{SNAPSHOT_FILE}.tmp"));
    let result = (|| -> std::io::Result<()> {
        let mut file = std::io::BufWriter::new(std::fs::File::create(&temp)?);
        serde_json::to_writer(&mut file, snapshot)?;
        file.flush()?;
        file.get_ref().sync_all()?;
        drop(file);
        std::fs::rename(&temp, &path)?;
        // Make the rename durable; not every platform can open a directory, so this is best effort.
        if let Ok(d) = std::fs::File::open(dir) {
            let _ = d.sync_all();
        }
        Ok(())
    })();
    result.map_err(|e| error(&path, format!("cannot write the snapshot: {e}")))
}

/// Applies the journal's records to the restored state, in (stream, shard, counter) order.
fn apply_journal(emulator: &Emulator, path: &Path, bytes: &[u8]) -> Result<(), ServerError> {
    let mut records = Vec::new();
    let lines: Vec<&[u8]> = bytes.split(|b| *b == b'\n').collect();
    let last = lines.len().saturating_sub(1);
    for (index, line) in lines.iter().enumerate() {
        if line.iter().all(u8::is_ascii_whitespace) {
            continue;
        }
        match serde_json::from_slice::<JournalRecord>(line) {
            Ok(record) => records.push(record),
            // The last line without its newline: a write cut short by a crash, never acknowledged.
            Err(_) if index == last => {
                tracing::warn!(path = %path.display(), line = index + 1, "skipping a torn last journal line");
            }
            Err(e) => return Err(error(path, format!("line {}: {e}", index + 1))),
        }
    }
    records.sort_by_key(|r| (r.epoch, r.shard, r.counter));
    let (mut applied, mut skipped) = (0usize, 0usize);
    for record in &records {
        match snapshot::apply_journal_record(emulator.shared(), record) {
            Applied::Appended => applied += 1,
            Applied::AlreadyPresent => {}
            Applied::Gap | Applied::Unusable => {
                skipped += 1;
                tracing::warn!(path = %path.display(), epoch = record.epoch, shard = record.shard,
                    counter = record.counter, "journalled record cannot be applied; skipped");
            }
        }
    }
    if !records.is_empty() {
        tracing::info!(path = %path.display(), applied, skipped, "record journal applied");
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::types::*;

    async fn emulator_with_records() -> (Emulator, Vec<PutRecordOutput>) {
        let emulator = Emulator::default();
        emulator
            .create_stream(CreateStreamInput {
                stream_name: "s".into(),
                shard_count: Some(1),
                ..Default::default()
            })
            .await
            .unwrap();
        let mut puts = Vec::new();
        for i in 0..3 {
            puts.push(
                emulator
                    .put_record(PutRecordInput {
                        stream_name: Some("s".into()),
                        data: format!("r{i}").into(),
                        partition_key: "k".into(),
                        ..Default::default()
                    })
                    .await
                    .unwrap(),
            );
        }
        (emulator, puts)
    }

    #[tokio::test]
    async fn journal_restores_records_out_of_order_and_skips_a_torn_line() {
        let dir = tempfile::tempdir().unwrap();
        let (source, puts) = emulator_with_records().await;
        let snapshot = source.snapshot();
        // The snapshot has no records; the journal holds them, written in reverse order.
        let mut empty = serde_json::to_value(&snapshot).unwrap();
        for shard in empty["streams"][0]["shards"].as_array_mut().unwrap() {
            shard["records"] = Value::Array(Vec::new());
        }
        tokio::fs::write(dir.path().join(SNAPSHOT_FILE), empty.to_string())
            .await
            .unwrap();
        let seqs = puts.iter().rev().map(|p| p.sequence_number.as_str());
        let mut journal = Vec::new();
        for record in snapshot::journal_records(source.shared(), seqs) {
            serde_json::to_writer(&mut journal, &record).unwrap();
            journal.push(b'\n');
        }
        journal.extend_from_slice(b"{\"epoch\": 12");
        tokio::fs::write(dir.path().join(JOURNAL_FILE), &journal)
            .await
            .unwrap();

        let restored = Emulator::default();
        let _persistence = Persistence::open(dir.path(), restored.clone()).await.unwrap();
        assert_eq!(restored.snapshot(), source.snapshot());
        // The journal was folded into the snapshot.
        assert_eq!(
            tokio::fs::metadata(dir.path().join(JOURNAL_FILE))
                .await
                .unwrap()
                .len(),
            0
        );
    }

    #[tokio::test]
    async fn a_large_journal_is_folded_into_a_snapshot() {
        let dir = tempfile::tempdir().unwrap();
        let (emulator, _) = emulator_with_records().await;
        let persistence = Persistence::open(dir.path(), emulator.clone()).await.unwrap();
        let compactor = tokio::spawn(persistence.clone().compact_when_large());
        let journal = dir.path().join(JOURNAL_FILE);
        for i in 0..3 {
            let put = persistence.begin_put().await;
            let output = emulator
                .put_record(PutRecordInput {
                    stream_name: Some("s".into()),
                    data: format!("late{i}").into(),
                    partition_key: "k".into(),
                    ..Default::default()
                })
                .await
                .unwrap();
            put.commit(&serde_json::to_value(&output).unwrap()).await.unwrap();
            if i == 0 {
                // The first line stays in the journal; the next one takes it past the threshold.
                let one_line = tokio::fs::metadata(&journal).await.unwrap().len();
                assert!(one_line > 0);
                persistence
                    .compact_bytes
                    .store(one_line + one_line / 2, std::sync::atomic::Ordering::Relaxed);
            }
        }
        let mut folded = false;
        for _ in 0..200 {
            if tokio::fs::metadata(&journal).await.unwrap().len() == 0 {
                folded = true;
                break;
            }
            tokio::time::sleep(std::time::Duration::from_millis(10)).await;
        }
        compactor.abort();
        assert!(folded, "the journal was not folded into a snapshot");
        let bytes = tokio::fs::read(dir.path().join(SNAPSHOT_FILE)).await.unwrap();
        let stored: EmulatorSnapshot = serde_json::from_slice(&bytes).unwrap();
        assert_eq!(stored.record_count(), 6);
        assert_eq!(stored, emulator.snapshot());
    }

    #[tokio::test]
    async fn corrupt_files_are_startup_errors_naming_the_file() {
        let dir = tempfile::tempdir().unwrap();
        tokio::fs::write(dir.path().join(SNAPSHOT_FILE), b"{not json")
            .await
            .unwrap();
        let err = Persistence::open(dir.path(), Emulator::default())
            .await
            .unwrap_err();
        assert!(err.to_string().contains(SNAPSHOT_FILE), "{err}");

        let dir = tempfile::tempdir().unwrap();
        tokio::fs::write(dir.path().join(JOURNAL_FILE), b"garbage\n{}\n")
            .await
            .unwrap();
        let err = Persistence::open(dir.path(), Emulator::default())
            .await
            .unwrap_err();
        assert!(
            err.to_string().contains(JOURNAL_FILE) && err.to_string().contains("line 1"),
            "{err}"
        );

        let dir = tempfile::tempdir().unwrap();
        tokio::fs::write(dir.path().join(LEGACY_JOURNAL_FILE), b"")
            .await
            .unwrap();
        let err = Persistence::open(dir.path(), Emulator::default())
            .await
            .unwrap_err();
        assert!(err.to_string().contains(LEGACY_JOURNAL_FILE), "{err}");
    }
}
