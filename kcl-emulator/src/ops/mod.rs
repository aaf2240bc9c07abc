//! The Kinesis operations: one module per operation, and the one list they are dispatched from.
//!
//! Each module holds its operation's request and response types (re-exported from
//! [`types`](crate::types)), its validation and its logic, and imports no other module of `ops/`: what
//! operations share lives in the crate's own modules (stream and consumer lookup, iterators, the read
//! and write paths, tags, retention, resharding, queues). The list below generates the
//! [`Operation`](crate::Operation) enum, the [`Emulator`](crate::Emulator) methods and the server's
//! routing (see `dispatch.rs` for the syntax and for how scripted faults wrap each call).

pub(crate) mod acknowledge_dead_letter_queue_records;
pub(crate) mod acknowledge_queue_records;
pub(crate) mod add_tags_to_stream;
pub(crate) mod create_queue;
pub(crate) mod create_stream;
pub(crate) mod decrease_stream_retention_period;
pub(crate) mod delete_queue;
pub(crate) mod delete_stream;
pub(crate) mod deregister_stream_consumer;
pub(crate) mod describe_queue;
pub(crate) mod describe_stream;
pub(crate) mod describe_stream_consumer;
pub(crate) mod describe_stream_summary;
pub(crate) mod get_records;
pub(crate) mod get_shard_iterator;
pub(crate) mod increase_stream_retention_period;
pub(crate) mod list_queues;
pub(crate) mod list_shards;
pub(crate) mod list_stream_consumers;
pub(crate) mod list_streams;
pub(crate) mod list_tags_for_stream;
pub(crate) mod merge_shards;
pub(crate) mod put_record;
pub(crate) mod put_records;
pub(crate) mod receive_dead_letter_queue_records;
pub(crate) mod receive_queue_records;
pub(crate) mod register_stream_consumer;
pub(crate) mod remove_tags_from_stream;
pub(crate) mod restore_dead_letter_queue_records;
pub(crate) mod split_shard;
pub(crate) mod subscribe_to_shard;
pub(crate) mod update_dead_letter_queue_records_visibility;
pub(crate) mod update_queue;
pub(crate) mod update_queue_records_visibility;
pub(crate) mod update_shard_count;
pub(crate) mod update_stream_mode;
// Settings, resource policies, tags by ARN, channels.
pub(crate) mod create_channel;
pub(crate) mod delete_channel;
pub(crate) mod delete_resource_policy;
pub(crate) mod describe_account_settings;
pub(crate) mod describe_channel;
pub(crate) mod describe_limits;
pub(crate) mod disable_enhanced_monitoring;
pub(crate) mod enable_enhanced_monitoring;
pub(crate) mod get_resource_policy;
pub(crate) mod list_channels;
pub(crate) mod list_tags_for_resource;
pub(crate) mod put_resource_policy;
pub(crate) mod start_stream_encryption;
pub(crate) mod stop_stream_encryption;
pub(crate) mod tag_resource;
pub(crate) mod untag_resource;
pub(crate) mod update_account_settings;
pub(crate) mod update_channel;
pub(crate) mod update_max_record_size;
pub(crate) mod update_stream_record_distribution_strategy;
pub(crate) mod update_stream_warm_throughput;

/// The one list of operations: `operations!(generate)` expands to `generate! { entries }`, so each
/// generator (the [`Operation`](crate::Operation) enum in `operation.rs`, the
/// [`Emulator`](crate::Emulator) methods in `emulator.rs`, the server's routing in `server/backend.rs`)
/// sits next to what it generates, and all of them read this list. Entry syntax and flags: see
/// `dispatch.rs`.
macro_rules! operations {
    ($generate:ident) => {
        $generate! {
            /// CreateStream: a PROVISIONED stream of `shard_count` shards, or an ON_DEMAND stream.
            CreateStream => create_stream(CreateStreamInput) -> CreateStreamOutput [writes];
            /// DeleteStream.
            DeleteStream => delete_stream(DeleteStreamInput) -> DeleteStreamOutput [writes];
            /// DescribeStream: the stream and a page of its shards.
            DescribeStream => describe_stream(DescribeStreamInput) -> DescribeStreamOutput [reads];
            /// DescribeStreamSummary: the stream without its shards.
            DescribeStreamSummary => describe_stream_summary(DescribeStreamSummaryInput)
                -> DescribeStreamSummaryOutput [reads];
            /// ListStreams, paginated.
            ListStreams => list_streams(ListStreamsInput) -> ListStreamsOutput [reads];
            /// AddTagsToStream.
            AddTagsToStream => add_tags_to_stream(AddTagsToStreamInput) -> AddTagsToStreamOutput [writes];
            /// RemoveTagsFromStream.
            RemoveTagsFromStream => remove_tags_from_stream(RemoveTagsFromStreamInput)
                -> RemoveTagsFromStreamOutput [writes];
            /// ListTagsForStream, paginated.
            ListTagsForStream => list_tags_for_stream(ListTagsForStreamInput) -> ListTagsForStreamOutput [reads];
            /// IncreaseStreamRetentionPeriod (24..=8760 hours).
            IncreaseStreamRetentionPeriod => increase_stream_retention_period(IncreaseStreamRetentionPeriodInput)
                -> IncreaseStreamRetentionPeriodOutput [writes];
            /// DecreaseStreamRetentionPeriod (24..=8760 hours).
            DecreaseStreamRetentionPeriod => decrease_stream_retention_period(DecreaseStreamRetentionPeriodInput)
                -> DecreaseStreamRetentionPeriodOutput [writes];
            /// UpdateStreamMode: switch between PROVISIONED and ON_DEMAND.
            UpdateStreamMode => update_stream_mode(UpdateStreamModeInput) -> UpdateStreamModeOutput [writes];
            /// PutRecord.
            PutRecord => put_record(PutRecordInput) -> PutRecordOutput [writes, per_record];
            /// PutRecords: 1..=500 records with per-record results (partial failure).
            PutRecords => put_records(PutRecordsInput) -> PutRecordsOutput [writes, per_record];
            /// GetShardIterator: a five-minute token for GetRecords.
            GetShardIterator => get_shard_iterator(GetShardIteratorInput) -> GetShardIteratorOutput [reads, at_shard];
            /// GetRecords.
            GetRecords => get_records(GetRecordsInput) -> GetRecordsOutput [reads, at_shard];
            /// ListShards, with filters and pagination.
            ListShards => list_shards(ListShardsInput) -> ListShardsOutput [reads];
            /// SplitShard.
            SplitShard => split_shard(SplitShardInput) -> SplitShardOutput [writes];
            /// MergeShards.
            MergeShards => merge_shards(MergeShardsInput) -> MergeShardsOutput [writes];
            /// UpdateShardCount (UNIFORM_SCALING).
            UpdateShardCount => update_shard_count(UpdateShardCountInput) -> UpdateShardCountOutput [writes];
            /// RegisterStreamConsumer.
            RegisterStreamConsumer => register_stream_consumer(RegisterStreamConsumerInput)
                -> RegisterStreamConsumerOutput [writes];
            /// DescribeStreamConsumer.
            DescribeStreamConsumer => describe_stream_consumer(DescribeStreamConsumerInput)
                -> DescribeStreamConsumerOutput [reads];
            /// ListStreamConsumers, paginated.
            ListStreamConsumers => list_stream_consumers(ListStreamConsumersInput)
                -> ListStreamConsumersOutput [reads];
            /// DeregisterStreamConsumer.
            DeregisterStreamConsumer => deregister_stream_consumer(DeregisterStreamConsumerInput)
                -> DeregisterStreamConsumerOutput [writes];
            /// SubscribeToShard: a [`Subscription`](crate::Subscription) stream of events that lives up to five minutes.
            SubscribeToShard => subscribe_to_shard(SubscribeToShardInput) -> Subscription [reads, at_shard, events];
            /// CreateQueue: a queue delivering ON_DEMAND streams' records with receipt handles.
            CreateQueue => create_queue(CreateQueueInput) -> CreateQueueOutput [writes];
            /// DeleteQueue.
            DeleteQueue => delete_queue(DeleteQueueInput) -> DeleteQueueOutput [writes];
            /// DescribeQueue.
            DescribeQueue => describe_queue(DescribeQueueInput) -> DescribeQueueOutput [reads];
            /// ListQueues, paginated, with a stream filter.
            ListQueues => list_queues(ListQueuesInput) -> ListQueuesOutput [reads];
            /// UpdateQueue: visibility timeout and dead-letter handling.
            UpdateQueue => update_queue(UpdateQueueInput) -> UpdateQueueOutput [writes];
            // The queue data-plane operations below change the queues' delivery state but are flagged
            // `reads`: the server would otherwise write a full snapshot (every retained record) per
            // receive or acknowledgement. Snapshots taken for other reasons include the delivery state;
            // see the `queue` module for what a hard kill loses.
            /// ReceiveQueueRecords: up to 10 records with receipt handles, long polling.
            ReceiveQueueRecords => receive_queue_records(ReceiveQueueRecordsInput)
                -> ReceiveQueueRecordsOutput [reads];
            /// AcknowledgeQueueRecords, per entry.
            AcknowledgeQueueRecords => acknowledge_queue_records(AcknowledgeQueueRecordsInput)
                -> AcknowledgeQueueRecordsOutput [reads];
            /// UpdateQueueRecordsVisibility, per entry.
            UpdateQueueRecordsVisibility => update_queue_records_visibility(
                UpdateQueueRecordsVisibilityInput
            ) -> UpdateQueueRecordsVisibilityOutput [reads];
            /// ReceiveDeadLetterQueueRecords: up to 10 dead-letter records with receipt handles.
            ReceiveDeadLetterQueueRecords => receive_dead_letter_queue_records(
                ReceiveDeadLetterQueueRecordsInput
            ) -> ReceiveDeadLetterQueueRecordsOutput [reads];
            /// AcknowledgeDeadLetterQueueRecords, per entry.
            AcknowledgeDeadLetterQueueRecords => acknowledge_dead_letter_queue_records(
                AcknowledgeDeadLetterQueueRecordsInput
            ) -> AcknowledgeDeadLetterQueueRecordsOutput [reads];
            /// RestoreDeadLetterQueueRecords, per entry: back on the normal side.
            RestoreDeadLetterQueueRecords => restore_dead_letter_queue_records(
                RestoreDeadLetterQueueRecordsInput
            ) -> RestoreDeadLetterQueueRecordsOutput [reads];
            /// UpdateDeadLetterQueueRecordsVisibility, per entry.
            UpdateDeadLetterQueueRecordsVisibility => update_dead_letter_queue_records_visibility(
                UpdateDeadLetterQueueRecordsVisibilityInput
            ) -> UpdateDeadLetterQueueRecordsVisibilityOutput [reads];
            /// DescribeLimits: the account's shard, ON_DEMAND stream and channel limits and counts.
            DescribeLimits => describe_limits(DescribeLimitsInput) -> DescribeLimitsOutput [reads];
            /// DescribeAccountSettings: the minimum throughput billing commitment.
            DescribeAccountSettings => describe_account_settings(DescribeAccountSettingsInput)
                -> DescribeAccountSettingsOutput [reads];
            /// UpdateAccountSettings: enable or disable the minimum throughput billing commitment.
            UpdateAccountSettings => update_account_settings(UpdateAccountSettingsInput)
                -> UpdateAccountSettingsOutput [writes];
            /// StartStreamEncryption: KMS encryption recorded with its key id (no KMS).
            StartStreamEncryption => start_stream_encryption(StartStreamEncryptionInput)
                -> StartStreamEncryptionOutput [writes];
            /// StopStreamEncryption.
            StopStreamEncryption => stop_stream_encryption(StopStreamEncryptionInput)
                -> StopStreamEncryptionOutput [writes];
            /// EnableEnhancedMonitoring: shard-level metrics recorded (no CloudWatch).
            EnableEnhancedMonitoring => enable_enhanced_monitoring(EnableEnhancedMonitoringInput)
                -> EnhancedMonitoringOutput [writes];
            /// DisableEnhancedMonitoring.
            DisableEnhancedMonitoring => disable_enhanced_monitoring(DisableEnhancedMonitoringInput)
                -> EnhancedMonitoringOutput [writes];
            /// PutResourcePolicy: a stream's, consumer's or channel's policy, kept (not evaluated).
            PutResourcePolicy => put_resource_policy(PutResourcePolicyInput)
                -> PutResourcePolicyOutput [writes];
            /// GetResourcePolicy (`{}` when none).
            GetResourcePolicy => get_resource_policy(GetResourcePolicyInput)
                -> GetResourcePolicyOutput [reads];
            /// DeleteResourcePolicy.
            DeleteResourcePolicy => delete_resource_policy(DeleteResourcePolicyInput)
                -> DeleteResourcePolicyOutput [writes];
            /// TagResource: tags of a stream, consumer or channel by ARN.
            TagResource => tag_resource(TagResourceInput) -> TagResourceOutput [writes];
            /// UntagResource.
            UntagResource => untag_resource(UntagResourceInput) -> UntagResourceOutput [writes];
            /// ListTagsForResource.
            ListTagsForResource => list_tags_for_resource(ListTagsForResourceInput)
                -> ListTagsForResourceOutput [reads];
            /// UpdateMaxRecordSize: records up to 1024..=10240 KiB.
            UpdateMaxRecordSize => update_max_record_size(UpdateMaxRecordSizeInput)
                -> UpdateMaxRecordSizeOutput [writes];
            /// UpdateStreamWarmThroughput (ON_DEMAND streams).
            UpdateStreamWarmThroughput => update_stream_warm_throughput(UpdateStreamWarmThroughputInput)
                -> UpdateStreamWarmThroughputOutput [writes];
            /// UpdateStreamRecordDistributionStrategy: USER_PARTITION_KEY or AUTO (round robin).
            UpdateStreamRecordDistributionStrategy => update_stream_record_distribution_strategy(UpdateStreamRecordDistributionStrategyInput)
                -> UpdateStreamRecordDistributionStrategyOutput [writes];
            /// CreateChannel (state only: nothing is delivered).
            CreateChannel => create_channel(CreateChannelInput) -> CreateChannelOutput [writes];
            /// DeleteChannel.
            DeleteChannel => delete_channel(DeleteChannelInput) -> DeleteChannelOutput [writes];
            /// DescribeChannel.
            DescribeChannel => describe_channel(DescribeChannelInput) -> DescribeChannelOutput [reads];
            /// ListChannels, paginated.
            ListChannels => list_channels(ListChannelsInput) -> ListChannelsOutput [reads];
            /// UpdateChannel.
            UpdateChannel => update_channel(UpdateChannelInput) -> UpdateChannelOutput [writes];
        }
    };
}
pub(crate) use operations;
