//! Request and response shapes of the Kinesis API.
//!
//! Field names serialize as AWS spells them (`StreamName`, `StreamARN`, `ShardIterator`, ...) so the server
//! face can (de)serialize wire bodies straight into these types. Optional fields are skipped when `None`.
//! Record data is [`Bytes`](bytes::Bytes): base64 in human-readable formats (JSON), a byte string otherwise
//! (CBOR). Timestamps are [`Timestamp`] (epoch milliseconds): epoch seconds in JSON, epoch milliseconds in
//! CBOR.
//!
//! Required string fields are plain `String`s that default to empty, so a body that omits them still
//! deserializes and the operation itself answers with the AWS `ValidationException`.
//!
//! Each operation's request and response are defined next to the operation (`ops/<operation>.rs`); the
//! shapes several operations share in `shapes.rs`. This module gathers both under one public path.

pub use crate::queue::shapes::*;
pub use crate::shapes::*;

pub use crate::channel::{
    ChannelDescription, ChannelDestinationType, ChannelEncryptionConfiguration, ChannelLoggingConfiguration,
    ChannelStatus, ChannelStreamConfiguration, ChannelStreamDescription, ChannelStreamIdentifier,
    ChannelSummary, CloudWatchLogs, DeadLetterQueueS3Configuration, PartitionField, PartitionSpec,
    RecordConfiguration, RecordFormatType, S3DestinationConfiguration, S3DestinationDescription,
    S3StorageConfiguration, S3TablesConfiguration, S3TablesDestinationConfiguration,
    S3TablesDestinationDescription,
};
pub use crate::ops::acknowledge_dead_letter_queue_records::{
    AcknowledgeDeadLetterQueueRecordsInput, AcknowledgeDeadLetterQueueRecordsOutput,
    AcknowledgeDeadLetterQueueRecordsRequestEntry,
};
pub use crate::ops::acknowledge_queue_records::{
    AcknowledgeQueueRecordsInput, AcknowledgeQueueRecordsOutput, AcknowledgeQueueRecordsRequestEntry,
};
pub use crate::ops::add_tags_to_stream::{AddTagsToStreamInput, AddTagsToStreamOutput};
pub use crate::ops::create_channel::{CreateChannelInput, CreateChannelOutput};
pub use crate::ops::create_queue::{CreateQueueInput, CreateQueueOutput};
pub use crate::ops::create_stream::{CreateStreamInput, CreateStreamOutput};
pub use crate::ops::decrease_stream_retention_period::{
    DecreaseStreamRetentionPeriodInput, DecreaseStreamRetentionPeriodOutput,
};
pub use crate::ops::delete_channel::{DeleteChannelInput, DeleteChannelOutput};
pub use crate::ops::delete_queue::{DeleteQueueInput, DeleteQueueOutput};
pub use crate::ops::delete_resource_policy::{DeleteResourcePolicyInput, DeleteResourcePolicyOutput};
pub use crate::ops::delete_stream::{DeleteStreamInput, DeleteStreamOutput};
pub use crate::ops::deregister_stream_consumer::{
    DeregisterStreamConsumerInput, DeregisterStreamConsumerOutput,
};
pub use crate::ops::describe_account_settings::{
    DescribeAccountSettingsInput, DescribeAccountSettingsOutput,
};
pub use crate::ops::describe_channel::{DescribeChannelInput, DescribeChannelOutput};
pub use crate::ops::describe_limits::{DescribeLimitsInput, DescribeLimitsOutput};
pub use crate::ops::describe_queue::{DescribeQueueInput, DescribeQueueOutput};
pub use crate::ops::describe_stream::{DescribeStreamInput, DescribeStreamOutput};
pub use crate::ops::describe_stream_consumer::{DescribeStreamConsumerInput, DescribeStreamConsumerOutput};
pub use crate::ops::describe_stream_summary::{DescribeStreamSummaryInput, DescribeStreamSummaryOutput};
pub use crate::ops::disable_enhanced_monitoring::DisableEnhancedMonitoringInput;
pub use crate::ops::enable_enhanced_monitoring::EnableEnhancedMonitoringInput;
pub use crate::ops::get_records::{GetRecordsInput, GetRecordsOutput};
pub use crate::ops::get_resource_policy::{GetResourcePolicyInput, GetResourcePolicyOutput};
pub use crate::ops::get_shard_iterator::{GetShardIteratorInput, GetShardIteratorOutput};
pub use crate::ops::increase_stream_retention_period::{
    IncreaseStreamRetentionPeriodInput, IncreaseStreamRetentionPeriodOutput,
};
pub use crate::ops::list_channels::StreamFilter;
pub use crate::ops::list_channels::{ListChannelsInput, ListChannelsOutput};
pub use crate::ops::list_queues::{ListQueuesInput, ListQueuesOutput};
pub use crate::ops::list_shards::{ListShardsInput, ListShardsOutput, ShardFilter};
pub use crate::ops::list_stream_consumers::{ListStreamConsumersInput, ListStreamConsumersOutput};
pub use crate::ops::list_streams::{ListStreamsInput, ListStreamsOutput};
pub use crate::ops::list_tags_for_resource::{ListTagsForResourceInput, ListTagsForResourceOutput};
pub use crate::ops::list_tags_for_stream::{ListTagsForStreamInput, ListTagsForStreamOutput};
pub use crate::ops::merge_shards::{MergeShardsInput, MergeShardsOutput};
pub use crate::ops::put_record::{PutRecordInput, PutRecordOutput};
pub use crate::ops::put_records::{
    PutRecordsInput, PutRecordsOutput, PutRecordsRequestEntry, PutRecordsResultEntry,
};
pub use crate::ops::put_resource_policy::{PutResourcePolicyInput, PutResourcePolicyOutput};
pub use crate::ops::receive_dead_letter_queue_records::{
    ReceiveDeadLetterQueueRecordsInput, ReceiveDeadLetterQueueRecordsOutput,
};
pub use crate::ops::receive_queue_records::{ReceiveQueueRecordsInput, ReceiveQueueRecordsOutput};
pub use crate::ops::register_stream_consumer::{RegisterStreamConsumerInput, RegisterStreamConsumerOutput};
pub use crate::ops::remove_tags_from_stream::{RemoveTagsFromStreamInput, RemoveTagsFromStreamOutput};
pub use crate::ops::restore_dead_letter_queue_records::{
    RestoreDeadLetterQueueRecordsInput, RestoreDeadLetterQueueRecordsOutput,
    RestoreDeadLetterQueueRecordsRequestEntry,
};
pub use crate::ops::split_shard::{SplitShardInput, SplitShardOutput};
pub use crate::ops::start_stream_encryption::{StartStreamEncryptionInput, StartStreamEncryptionOutput};
pub use crate::ops::stop_stream_encryption::{StopStreamEncryptionInput, StopStreamEncryptionOutput};
pub use crate::ops::subscribe_to_shard::{StartingPosition, SubscribeToShardInput};
pub use crate::ops::tag_resource::{TagResourceInput, TagResourceOutput};
pub use crate::ops::untag_resource::{UntagResourceInput, UntagResourceOutput};
pub use crate::ops::update_account_settings::{UpdateAccountSettingsInput, UpdateAccountSettingsOutput};
pub use crate::ops::update_channel::{ChannelLoggingUpdateInput, DestinationUpdateInput};
pub use crate::ops::update_channel::{UpdateChannelInput, UpdateChannelOutput};
pub use crate::ops::update_dead_letter_queue_records_visibility::{
    UpdateDeadLetterQueueRecordsVisibilityInput, UpdateDeadLetterQueueRecordsVisibilityOutput,
    UpdateDeadLetterQueueRecordsVisibilityRequestEntry,
};
pub use crate::ops::update_max_record_size::{UpdateMaxRecordSizeInput, UpdateMaxRecordSizeOutput};
pub use crate::ops::update_queue::{UpdateQueueInput, UpdateQueueOutput};
pub use crate::ops::update_queue_records_visibility::{
    UpdateQueueRecordsVisibilityInput, UpdateQueueRecordsVisibilityOutput,
    UpdateQueueRecordsVisibilityRequestEntry,
};
pub use crate::ops::update_shard_count::{UpdateShardCountInput, UpdateShardCountOutput};
pub use crate::ops::update_stream_mode::{UpdateStreamModeInput, UpdateStreamModeOutput};
pub use crate::ops::update_stream_record_distribution_strategy::{
    UpdateStreamRecordDistributionStrategyInput, UpdateStreamRecordDistributionStrategyOutput,
};
pub use crate::ops::update_stream_warm_throughput::{
    UpdateStreamWarmThroughputInput, UpdateStreamWarmThroughputOutput,
};
pub use crate::settings::{EnhancedMonitoringInput, StreamEncryptionInput, StreamEncryptionOutput};

#[cfg(test)]
mod tests {
    use bytes::Bytes;

    use super::*;

    #[test]
    fn json_uses_aws_names_base64_and_epoch_seconds() {
        let r = Record {
            sequence_number: "1".into(),
            approximate_arrival_timestamp: Timestamp::from_millis(1_500),
            data: Bytes::from_static(b"hi"),
            partition_key: "k".into(),
            encryption_type: None,
        };
        let v = serde_json::to_value(&r).expect("serializes");
        assert_eq!(v["Data"], "aGk=");
        assert_eq!(v["ApproximateArrivalTimestamp"], 1.5);
        assert_eq!(v["PartitionKey"], "k");
        assert!(v.get("EncryptionType").is_none());
        let back: Record = serde_json::from_value(v).expect("deserializes");
        assert_eq!(back, r);
    }

    #[test]
    fn fractional_seconds_round_to_the_nearest_millisecond() {
        // 1.001 and 1700000000.123 as JSON clients write them; 1.001 * 1000 is 1000.9999... in binary.
        assert_eq!(Timestamp::from_secs_f64(1.001).as_millis(), 1_001);
        assert_eq!(Timestamp::from_secs_f64(1.015).as_millis(), 1_015);
        assert_eq!(
            Timestamp::from_secs_f64(1_700_000_000.123).as_millis(),
            1_700_000_000_123
        );
        assert_eq!(
            Timestamp::from_secs_f64(1_700_000_000.122_9).as_millis(),
            1_700_000_000_123
        );
        assert_eq!(Timestamp::from_secs_f64(-0.001).as_millis(), -1);
        let parsed: GetShardIteratorInput = serde_json::from_str(
            r#"{"ShardId": "s", "ShardIteratorType": "AT_TIMESTAMP", "Timestamp": 1.001}"#,
        )
        .expect("parses");
        assert_eq!(parsed.timestamp, Some(Timestamp::from_millis(1_001)));
        for millis in 0..5_000 {
            assert_eq!(
                Timestamp::from_secs_f64(millis as f64 / 1000.0).as_millis(),
                millis
            );
        }
    }

    #[test]
    fn cbor_uses_byte_strings_and_millis() {
        let r = Record {
            sequence_number: "1".into(),
            approximate_arrival_timestamp: Timestamp::from_millis(1_500),
            data: Bytes::from_static(b"hi"),
            partition_key: "k".into(),
            encryption_type: None,
        };
        let mut buf = Vec::new();
        ciborium::into_writer(&r, &mut buf).expect("serializes");
        let v: ciborium::Value = ciborium::from_reader(buf.as_slice()).expect("parses");
        let map = v.as_map().expect("a map");
        let get = |k: &str| {
            map.iter()
                .find(|(key, _)| key.as_text() == Some(k))
                .map(|(_, v)| v.clone())
        };
        assert_eq!(get("Data"), Some(ciborium::Value::Bytes(b"hi".to_vec())));
        assert_eq!(
            get("ApproximateArrivalTimestamp"),
            Some(ciborium::Value::Integer(1500.into()))
        );
        let back: Record = ciborium::from_reader(buf.as_slice()).expect("deserializes");
        assert_eq!(back, r);
    }

    #[test]
    fn requests_accept_stream_arn_and_missing_fields() {
        let v: GetShardIteratorInput = serde_json::from_str(
            r#"{"StreamARN":"arn:aws:kinesis:us-east-1:000000000000:stream/s","ShardId":"shardId-000000000000",
                "ShardIteratorType":"AT_TIMESTAMP","Timestamp":12.5}"#,
        )
        .expect("deserializes");
        assert_eq!(
            v.stream_arn.as_deref(),
            Some("arn:aws:kinesis:us-east-1:000000000000:stream/s")
        );
        assert_eq!(v.timestamp, Some(Timestamp::from_millis(12_500)));
        let empty: PutRecordInput = serde_json::from_str("{}").expect("missing fields default");
        assert!(empty.partition_key.is_empty());
    }
}
