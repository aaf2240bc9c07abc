//! [`PrefixedReader`]: a stream's shard reader whose child shards are named by their lease keys.

use async_trait::async_trait;
use kcl_checkpoint::{LeaseKey, StreamIdentifier};

use crate::error::{Error, Result};
use crate::source::{ShardBatch, ShardReader};

/// Reads a shard through its stream's own reader and names the child shards of its last batch (and their
/// parents) by their multi-stream lease keys `account:stream:creationEpoch:shardId`. What
/// [`MultiStreamSource::open_reader`](super::MultiStreamSource) hands out.
#[derive(Debug)]
pub struct PrefixedReader {
    stream: StreamIdentifier,
    inner: Box<dyn ShardReader>,
}

impl PrefixedReader {
    /// Wraps `inner`, a reader of a shard of `stream`.
    pub fn new(stream: StreamIdentifier, inner: Box<dyn ShardReader>) -> Self {
        PrefixedReader { stream, inner }
    }
}

#[async_trait]
impl ShardReader for PrefixedReader {
    async fn next_batch(&mut self) -> Result<ShardBatch> {
        let mut batch = self.inner.next_batch().await?;
        let key = |id: &str| LeaseKey::multi_stream(&self.stream, id).as_str().to_owned();
        for child in &mut batch.child_shards {
            child.shard_id = key(&child.shard_id);
            for parent in &mut child.parent_shards {
                *parent = key(parent);
            }
        }
        Ok(batch)
    }
}

/// The reader of a key whose stream is not tracked: every read fails with `ResourceNotFound`.
#[derive(Debug)]
pub(super) struct Missing {
    pub(super) key: String,
}

#[async_trait]
impl ShardReader for Missing {
    async fn next_batch(&mut self) -> Result<ShardBatch> {
        Err(Error::ResourceNotFound {
            operation: "GetRecords",
            resource: format!("{}: not a shard of a tracked stream", self.key),
        })
    }
}
