//! Persistence by journal: a restart keeps the streams.
//!
//! The in-process emulator keeps its state in memory. To survive a restart, the server appends every
//! successful state-changing request (CreateStream, PutRecords, SplitShard, ...) to `journal.jsonl` in the
//! persistence directory — one JSON line `{"op": "<Operation>", "request": {...}}` in the canonical JSON form —
//! and replays the lines through the emulator at start-up. A request is journalled before its answer is sent,
//! so anything a client saw acknowledged is replayed, in an order consistent with what clients observed.
//!
//! Replay re-executes requests, so replayed records get fresh sequence numbers and arrival times; stream
//! names, shard layout, tags, retention and record contents are what survive. A torn last line (a crash while
//! writing) is skipped with a warning.

use std::path::{Path, PathBuf};

use serde_json::{Map, Value};
use tokio::io::AsyncWriteExt;
use tokio::sync::Mutex;

use super::error::ServerError;
use super::operation::Operation;

/// The journal file's name inside the persistence directory.
pub(crate) const JOURNAL_FILE: &str = "journal.jsonl";

/// One journalled request.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Entry {
    pub(crate) operation: Operation,
    pub(crate) request: Map<String, Value>,
}

/// An append-only journal of state-changing requests.
#[derive(Debug)]
pub(crate) struct Journal {
    path: PathBuf,
    file: Mutex<tokio::fs::File>,
}

impl Journal {
    /// Opens (creating if needed) the journal in `dir` and returns it with the entries already in it.
    pub(crate) async fn open(dir: &Path) -> Result<(Self, Vec<Entry>), ServerError> {
        let path = dir.join(JOURNAL_FILE);
        let error = |message: String| ServerError::Journal {
            path: path.clone(),
            message,
        };
        tokio::fs::create_dir_all(dir)
            .await
            .map_err(|e| error(format!("cannot create the directory: {e}")))?;
        let (entries, torn) = match tokio::fs::read(&path).await {
            Ok(bytes) => (parse(&bytes, &path), bytes.last().is_some_and(|b| *b != b'\n')),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => (Vec::new(), false),
            Err(e) => return Err(error(format!("cannot read: {e}"))),
        };
        let mut file = tokio::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(&path)
            .await
            .map_err(|e| error(format!("cannot open for appending: {e}")))?;
        if torn {
            // Terminate a torn last line so that the next entry starts on a line of its own.
            file.write_all(b"\n")
                .await
                .map_err(|e| error(format!("cannot append: {e}")))?;
        }
        Ok((
            Self {
                path,
                file: Mutex::new(file),
            },
            entries,
        ))
    }

    /// Appends one request and flushes it to the operating system.
    pub(crate) async fn append(
        &self,
        operation: Operation,
        request: &Map<String, Value>,
    ) -> Result<(), ServerError> {
        let mut line = serde_json::json!({"op": operation.name(), "request": request}).to_string();
        line.push('\n');
        let mut file = self.file.lock().await;
        let result = async {
            file.write_all(line.as_bytes()).await?;
            file.flush().await
        }
        .await;
        result.map_err(|e| ServerError::Journal {
            path: self.path.clone(),
            message: format!("cannot append: {e}"),
        })
    }
}

fn parse(bytes: &[u8], path: &Path) -> Vec<Entry> {
    let mut entries = Vec::new();
    for (index, line) in bytes.split(|b| *b == b'\n').enumerate() {
        if line.iter().all(u8::is_ascii_whitespace) {
            continue;
        }
        let entry = serde_json::from_slice::<Value>(line).ok().and_then(|value| {
            let operation = Operation::from_name(value.get("op")?.as_str()?)?;
            let request = value.get("request")?.as_object()?.clone();
            Some(Entry { operation, request })
        });
        match entry {
            Some(entry) => entries.push(entry),
            None => {
                tracing::warn!(path = %path.display(), line = index + 1, "skipping an unreadable journal line")
            }
        }
    }
    entries
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn entries_survive_reopening_and_torn_lines_are_skipped() {
        let dir = tempfile::tempdir().unwrap();
        {
            let (journal, entries) = Journal::open(dir.path()).await.unwrap();
            assert!(entries.is_empty());
            let mut request = Map::new();
            request.insert("StreamName".into(), Value::String("a".into()));
            request.insert("ShardCount".into(), Value::from(2));
            journal.append(Operation::CreateStream, &request).await.unwrap();
            journal
                .append(Operation::DeleteStream, &Map::new())
                .await
                .unwrap();
        }
        // Simulate a crash in the middle of a write.
        let path = dir.path().join(JOURNAL_FILE);
        let mut bytes = tokio::fs::read(&path).await.unwrap();
        bytes.extend_from_slice(b"{\"op\": \"PutRec");
        tokio::fs::write(&path, bytes).await.unwrap();

        let (journal, entries) = Journal::open(dir.path()).await.unwrap();
        assert_eq!(entries.len(), 2);
        journal.append(Operation::SplitShard, &Map::new()).await.unwrap();
        drop(journal);
        let (_journal, entries) = Journal::open(dir.path()).await.unwrap();
        assert_eq!(entries.len(), 3);
        assert_eq!(entries[2].operation, Operation::SplitShard);
        assert_eq!(entries[0].operation, Operation::CreateStream);
        assert_eq!(entries[0].request["ShardCount"], Value::from(2));
        assert_eq!(entries[1].operation, Operation::DeleteStream);
    }
}
