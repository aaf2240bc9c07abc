//! [`JsonLinesDestination`]: failed batches appended to a local file, one JSON object per line, each
//! synced to disk before it counts as sent.

use std::io::{self, Read as _, Seek as _, SeekFrom};
use std::path::{Path, PathBuf};

use async_trait::async_trait;
use tokio::io::AsyncWriteExt as _;
use tokio::sync::Mutex;

use super::{FailedBatch, FailureDestination};
use crate::error::BoxError;

/// Appends each failed batch as one JSON line to a file, durably.
///
/// Each accepted batch is one line, [`FailedBatch::to_json`] in compact form followed by `\n`, written,
/// flushed and `fsync`ed (`sync_data`) before [`send`](FailureDestination::send) returns `Ok`: a batch the
/// worker moved past is on disk even if the machine crashes right after. Sends from many shards are
/// serialized by a lock around the file, so lines never interleave. A write that fails part-way is cut
/// back off the file, and a file whose last line was torn (a crash in the middle of a write) gets a line
/// break before the next line, so every line the destination accepted stays whole and parseable.
///
/// Read the file back with [`read_all`](Self::read_all), or any JSON-lines tool (`jq -c . file`).
///
/// ```no_run
/// # fn demo() -> std::io::Result<()> {
/// use std::sync::Arc;
/// use kcl_core::policy::{FailureDestination, JsonLinesDestination};
/// let destination: Arc<dyn FailureDestination> = Arc::new(JsonLinesDestination::open("failed-batches.jsonl")?);
/// # let _ = destination;
/// # Ok(())
/// # }
/// ```
#[derive(Debug)]
pub struct JsonLinesDestination {
    path: PathBuf,
    file: Mutex<Appender>,
}

/// The open file, behind the lock.
#[derive(Debug)]
struct Appender {
    file: tokio::fs::File,
    /// The file does not end with a line break (a torn line, or a failed write that could not be cut
    /// back): the next line starts with one.
    needs_line_break: bool,
}

/// Why a send failed; the I/O error is its source.
#[derive(Debug, thiserror::Error)]
#[error("appending a failed batch (shard {shard_id}, from {start_sequence_number}) to {path} failed")]
struct AppendError {
    path: PathBuf,
    shard_id: String,
    start_sequence_number: String,
    #[source]
    source: io::Error,
}

impl JsonLinesDestination {
    /// Opens `path` for appending, creating it if needed (and, on Unix, syncing the directory so a new
    /// file's entry survives a crash too).
    ///
    /// # Errors
    ///
    /// The I/O error when the file cannot be opened, read or created.
    pub fn open(path: impl AsRef<Path>) -> io::Result<Self> {
        let path = path.as_ref().to_path_buf();
        let existed = path.exists();
        let mut file = std::fs::OpenOptions::new()
            .read(true)
            .append(true)
            .create(true)
            .open(&path)?;
        let needs_line_break = match file.seek(SeekFrom::End(0))? {
            0 => false,
            _ => {
                file.seek(SeekFrom::End(-1))?;
                let mut last = [0u8; 1];
                file.read_exact(&mut last)?;
                last[0] != b'\n'
            }
        };
        if !existed {
            sync_parent_dir(&path)?;
        }
        Ok(JsonLinesDestination {
            path,
            file: Mutex::new(Appender {
                file: tokio::fs::File::from_std(file),
                needs_line_break,
            }),
        })
    }

    /// The file's path.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// Every line of the file at `path`, parsed (blank lines skipped): for tests and tools.
    ///
    /// # Errors
    ///
    /// The I/O error when the file cannot be read; an [`io::ErrorKind::InvalidData`] error naming the line
    /// when a line is not JSON (a line torn by a crash during a write, never accepted by the destination).
    pub async fn read_all(path: impl AsRef<Path>) -> io::Result<Vec<serde_json::Value>> {
        let text = tokio::fs::read_to_string(path.as_ref()).await?;
        text.lines()
            .enumerate()
            .filter(|(_, line)| !line.trim().is_empty())
            .map(|(i, line)| {
                serde_json::from_str(line).map_err(|e| {
                    io::Error::new(
                        io::ErrorKind::InvalidData,
                        format!("{} line {}: {e}", path.as_ref().display(), i + 1),
                    )
                })
            })
            .collect()
    }
}

/// Syncs the directory holding `path`, so that a newly created file's entry is durable (Unix only; other
/// systems cannot open a directory as a file).
fn sync_parent_dir(path: &Path) -> io::Result<()> {
    #[cfg(unix)]
    {
        let dir = match path.parent() {
            Some(p) if !p.as_os_str().is_empty() => p,
            _ => Path::new("."),
        };
        std::fs::File::open(dir)?.sync_all()?;
    }
    #[cfg(not(unix))]
    let _ = path;
    Ok(())
}

impl Appender {
    /// Appends `line` (which ends with `\n`) durably; on failure, cuts the file back to where it was.
    async fn append(&mut self, line: &[u8]) -> io::Result<()> {
        let before = self.file.metadata().await?.len();
        match self.write_synced(line).await {
            Ok(()) => {
                self.needs_line_break = false;
                Ok(())
            }
            Err(e) => {
                // Cut a partial line off so the next one starts clean; if that fails too, the next line
                // starts with a line break instead.
                let cut = async {
                    self.file.set_len(before).await?;
                    self.file.sync_data().await
                };
                if cut.await.is_err() {
                    self.needs_line_break = true;
                }
                Err(e)
            }
        }
    }

    async fn write_synced(&mut self, line: &[u8]) -> io::Result<()> {
        if self.needs_line_break {
            self.file.write_all(b"\n").await?;
        }
        self.file.write_all(line).await?;
        self.file.flush().await?;
        self.file.sync_data().await
    }
}

#[async_trait]
impl FailureDestination for JsonLinesDestination {
    /// Appends the batch's JSON as one line and syncs it to disk.
    ///
    /// # Errors
    ///
    /// The I/O error (as the source) when the line cannot be written or synced; the file is left without
    /// a partial line.
    async fn send(&self, batch: &FailedBatch) -> Result<(), BoxError> {
        let mut line = serde_json::to_vec(&batch.to_json())?;
        line.push(b'\n');
        let mut appender = self.file.lock().await;
        appender.append(&line).await.map_err(|source| {
            Box::new(AppendError {
                path: self.path.clone(),
                shard_id: batch.shard_id.clone(),
                start_sequence_number: batch.start_sequence_number.clone(),
                source,
            }) as BoxError
        })
    }
}
