//! CreateQueue: a queue delivering the records of one or more ON_DEMAND streams from a starting
//! position, with its visibility timeout and dead-letter handling (see the `queue` module for the
//! semantics). CREATING for the configured creating delay, then ACTIVE.
//!
//! Errors: `ValidationException` (name, list sizes, ranges, a timestamp with the wrong position type),
//! `ResourceNotFoundException` (a stream), `ResourceInUseException` (the name is taken, a stream is not
//! ACTIVE), `InvalidArgumentException` (a PROVISIONED stream, a stream listed twice, an inconsistent
//! dead-letter configuration), `LimitExceededException` (the stream's consumers and queues are at the
//! consumer limit).

use std::collections::{BTreeMap, HashSet};
use std::sync::Arc;

use parking_lot::Mutex;
use serde::{Deserialize, Serialize};

use crate::error::KinesisError;
use crate::lookup;
use crate::queue::shapes::{QueueAttributes, QueueDescription, QueueStatus, QueueStreamConfiguration};
use crate::queue::{self, QueueData, QueueState};
use crate::shapes::StreamMode;
use crate::state::Inner;
use crate::validate;

/// CreateQueue request.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase", default)]
pub struct CreateQueueInput {
    /// Queue name: 1..=128 characters of `[a-zA-Z0-9_.-]`.
    pub queue_name: String,
    /// The streams to deliver from (1..=10000, each once), with their starting positions.
    pub stream_configuration_list: Vec<QueueStreamConfiguration>,
    /// Visibility timeout (default 30 s) and dead-letter handling (default `BUILT_IN`, 6 receives).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub queue_attributes: Option<QueueAttributes>,
    /// Tags (1..=200 when given).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub tags: Option<BTreeMap<String, String>>,
}

/// CreateQueue response.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct CreateQueueOutput {
    /// The new queue (CREATING, or ACTIVE when the creating delay is zero).
    pub queue_description: QueueDescription,
}

impl crate::dispatch::Scoped for CreateQueueInput {
    fn stream_hint(&self, inner: &Inner) -> Option<String> {
        let arn = &self.stream_configuration_list.first()?.stream_arn;
        lookup::hint(inner, None, Some(arn))
    }
}

fn validate_tags(tags: &BTreeMap<String, String>) -> Result<(), KinesisError> {
    if tags.is_empty() || tags.len() > 200 {
        return Err(validate::error(
            format!("{{{} tags}}", tags.len()),
            "tags",
            "Member must have length between 1 and 200",
        ));
    }
    crate::tags::validate(tags)
}

pub(crate) async fn execute(
    inner: &Inner,
    input: CreateQueueInput,
) -> Result<CreateQueueOutput, KinesisError> {
    validate::name(&input.queue_name, "queueName", 128)?;
    let configs = &input.stream_configuration_list;
    if configs.is_empty() || configs.len() > 10_000 {
        return Err(validate::error(
            format!("[{} streams]", configs.len()),
            "streamConfigurationList",
            "Member must have length between 1 and 10000",
        ));
    }
    let mut visibility_secs = queue::DEFAULT_VISIBILITY_SECS;
    let mut max_receive_count = Some(queue::DEFAULT_MAX_RECEIVE_COUNT);
    if let Some(attributes) = &input.queue_attributes {
        queue::apply_attributes(attributes, &mut visibility_secs, &mut max_receive_count)?;
    }
    if let Some(tags) = &input.tags {
        validate_tags(tags)?;
    }
    let mut epochs = HashSet::new();
    let mut sources = Vec::with_capacity(configs.len());
    for config in configs {
        let stream = lookup::resolve(inner, None, Some(&config.stream_arn))?;
        if !epochs.insert(stream.epoch) {
            return Err(KinesisError::invalid(format!(
                "Stream {} appears more than once in the StreamConfigurationList.",
                config.stream_arn
            )));
        }
        lookup::require_active(inner, &stream)?;
        let consumers = {
            let meta = stream.meta.read();
            if meta.mode != StreamMode::OnDemand {
                return Err(KinesisError::invalid(format!(
                    "Stream {} under account {} is in PROVISIONED mode; queues are supported only on \
                     ON_DEMAND streams.",
                    stream.name, inner.config.account_id
                )));
            }
            meta.consumers.len()
        };
        let queues = queue::on_stream(inner, stream.epoch).len();
        if consumers + queues >= inner.config.max_consumers_per_stream as usize {
            return Err(KinesisError::limit(format!(
                "Stream {} under account {} has reached its limit of {} consumers and queues.",
                stream.name, inner.config.account_id, inner.config.max_consumers_per_stream
            )));
        }
        sources.push(queue::new_source(
            inner,
            &stream,
            config.starting_position.as_ref(),
        )?);
    }
    let mut data = QueueData {
        status: QueueStatus::Creating,
        transition_until: None,
        visibility_secs,
        max_receive_count,
        tags: input.tags.unwrap_or_default(),
        policy: None,
        sources,
    };
    data.begin_transition(QueueStatus::Creating, inner.config.creating_delay);
    let in_use = || {
        KinesisError::in_use(format!(
            "Queue {} under account {} already exists.",
            input.queue_name, inner.config.account_id
        ))
    };
    if queue::by_name(inner, &input.queue_name).is_some() {
        return Err(in_use());
    }
    let state = Arc::new(QueueState {
        arn: queue::queue_arn(inner, &input.queue_name),
        name: input.queue_name.clone(),
        id: inner.queues.new_id(),
        created: inner.clock.timestamp(),
        data: Mutex::new(data),
    });
    {
        let mut map = inner.queues.by_name.write();
        if map.contains_key(&state.name) {
            return Err(in_use());
        }
        map.insert(state.name.clone(), state.clone());
    }
    let queue_description = state.describe(&state.data.lock());
    Ok(CreateQueueOutput { queue_description })
}
