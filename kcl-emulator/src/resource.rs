//! Resources named by ARN (TagResource, UntagResource, ListTagsForResource and the resource-policy
//! operations): streams, consumers, channels and queues, each with its tags and resource policy.
//!
//! To add a kind of resource: a variant of [`Resource`], an arm in [`parse`] recognising its ARN and
//! finding it, and an arm in [`Resource::with_parts`] lending its `tags` map and policy slot; the tag and
//! policy operations then work on it unchanged.

use std::collections::BTreeMap;
use std::sync::Arc;

use crate::channel;
use crate::consumer;
use crate::error::KinesisError;
use crate::lookup;
use crate::settings;
use crate::state::{Inner, StreamState};
use crate::validate;

/// A resource an ARN names.
#[derive(Debug, Clone)]
pub(crate) enum Resource {
    /// A stream.
    Stream(Arc<StreamState>),
    /// A registered consumer of a stream (by name).
    Consumer(Arc<StreamState>, String),
    /// A channel (by name).
    Channel(String),
    /// A queue.
    Queue(Arc<crate::queue::QueueState>),
}

/// The stream a resource ARN names (for fault scoping), without validation.
pub(crate) fn stream_hint(inner: &Inner, arn: &str) -> Option<String> {
    if arn.contains("/consumer/") {
        consumer::stream_hint(inner, None, Some(arn))
    } else {
        lookup::hint(inner, None, Some(arn))
    }
}

/// The live resource `arn` names; `stream_id`, when given, must be that of the stream (or the consumer's).
///
/// # Errors
/// `ValidationException` for a malformed ARN, `ResourceNotFoundException` when there is no such resource.
pub(crate) fn parse(inner: &Inner, arn: &str, stream_id: Option<&str>) -> Result<Resource, KinesisError> {
    validate::length(arn, "resourceARN", 1, 2048)?;
    let resource = arn.splitn(6, ':').nth(5).unwrap_or_default();
    let resolved = if resource.starts_with("channel/") {
        let name = channel::name_from_arn(inner, arn)?;
        channel::settle_all(inner);
        if !inner.channels.read().contains_key(&name) {
            return Err(channel::not_found(inner, &name));
        }
        Resource::Channel(name)
    } else if resource.starts_with("queue/") {
        Resource::Queue(crate::queue::resolve(inner, arn)?)
    } else if resource.starts_with("stream/") && resource.contains("/consumer/") {
        let (stream, c) = consumer::find(inner, None, None, Some(arn))?;
        settings::check_stream_id(&stream, stream_id, &inner.config.account_id)?;
        Resource::Consumer(stream, c.name)
    } else if resource.starts_with("stream/") {
        let stream = lookup::resolve(inner, None, Some(arn))?;
        settings::check_stream_id(&stream, stream_id, &inner.config.account_id)?;
        Resource::Stream(stream)
    } else {
        return Err(validate::error(
            arn,
            "resourceARN",
            "Member must satisfy regular expression pattern: \
             arn:aws.*:kinesis:.*:\\d{12}:.*(stream|channel|queue)/\\S+",
        ));
    };
    Ok(resolved)
}

impl Resource {
    /// Runs `f` on the resource's tags and policy under its lock.
    ///
    /// # Errors
    /// `ResourceNotFoundException` when the resource vanished since [`parse`].
    pub(crate) fn with_parts<R>(
        &self,
        inner: &Inner,
        f: impl FnOnce(&mut BTreeMap<String, String>, &mut Option<String>) -> R,
    ) -> Result<R, KinesisError> {
        match self {
            Self::Stream(stream) => {
                let mut meta = stream.meta.write();
                let meta = &mut *meta;
                Ok(f(&mut meta.tags, &mut meta.settings.policy))
            }
            Self::Consumer(stream, name) => {
                let mut meta = stream.meta.write();
                let c = meta.consumers.get_mut(name).ok_or_else(|| {
                    KinesisError::not_found(format!(
                        "Consumer {name}, account {} not found.",
                        inner.config.account_id
                    ))
                })?;
                Ok(f(&mut c.tags, &mut c.policy))
            }
            Self::Channel(name) => {
                let mut channels = inner.channels.write();
                let c = channels
                    .get_mut(name)
                    .ok_or_else(|| channel::not_found(inner, name))?;
                Ok(f(&mut c.tags, &mut c.policy))
            }
            Self::Queue(queue) => {
                let mut data = queue.data.lock();
                let data = &mut *data;
                Ok(f(&mut data.tags, &mut data.policy))
            }
        }
    }
}
