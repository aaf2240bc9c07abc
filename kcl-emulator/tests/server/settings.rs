//! The settings, resource-policy, tag-by-ARN and channel operations over the wire: aws-sdk-kinesis
//! against the server, raw JSON for the member names, and persistence across a restart (`--data-dir`).

use std::time::Duration;

use crate::raw::{http1, json_call};

use aws_sdk_kinesis::primitives::Blob;
use aws_sdk_kinesis::types::{
    ChannelStatus, ChannelStreamConfiguration, EncryptionType, MetricsName,
    MinimumThroughputBillingCommitmentInput, MinimumThroughputBillingCommitmentInputStatus,
    MinimumThroughputBillingCommitmentOutputStatus, RecordConfiguration, RecordDistributionStrategy,
    RecordFormatType, S3CompressionType, S3DestinationConfiguration, S3StorageConfiguration, StreamMode,
    StreamModeDetails,
};
use kcl_emulator::server::Server;
use kcl_emulator::test_util::{stream_arn, unique_name, wait_active, TestServer};
use serde_json::json;

const ROLE: &str = "arn:aws:iam::000000000000:role/delivery";

async fn create(client: &aws_sdk_kinesis::Client, shards: i32) -> String {
    let name = unique_name("settings");
    client
        .create_stream()
        .stream_name(&name)
        .shard_count(shards)
        .send()
        .await
        .unwrap();
    wait_active(client, &name).await;
    name
}

/// Switches a stream to ON_DEMAND and waits until it is ACTIVE again.
async fn to_on_demand(client: &aws_sdk_kinesis::Client, arn: &str, stream: &str) {
    client
        .update_stream_mode()
        .stream_arn(arn)
        .stream_mode_details(
            aws_sdk_kinesis::types::StreamModeDetails::builder()
                .stream_mode(aws_sdk_kinesis::types::StreamMode::OnDemand)
                .build()
                .unwrap(),
        )
        .send()
        .await
        .unwrap();
    wait_active(client, stream).await;
}

fn s3_destination() -> S3DestinationConfiguration {
    S3DestinationConfiguration::builder()
        .storage_configuration(
            S3StorageConfiguration::builder()
                .bucket_arn("arn:aws:s3:::my-bucket")
                .expected_bucket_owner("000000000000")
                .compression_type(S3CompressionType::Gzip)
                .build()
                .unwrap(),
        )
        .build()
}

async fn create_channel(client: &aws_sdk_kinesis::Client, name: &str, stream_arn: &str) -> String {
    let out = client
        .create_channel()
        .channel_name(name)
        .service_execution_role_arn(ROLE)
        .stream_configuration_list(
            ChannelStreamConfiguration::builder()
                .stream_arn(stream_arn)
                .record_configuration(
                    RecordConfiguration::builder()
                        .record_format_type(RecordFormatType::Json)
                        .build()
                        .unwrap(),
                )
                .build()
                .unwrap(),
        )
        .s3_destination_configuration(s3_destination())
        .tags("team", "data")
        .send()
        .await
        .unwrap();
    out.channel_description().unwrap().channel_arn().to_owned()
}

#[tokio::test]
async fn sdk_settings_policies_tags_and_limits() {
    let server = TestServer::start().await;
    let client = server.client();
    let stream = create(&client, 2).await;
    let arn = stream_arn(&client, &stream).await;

    let limits = client.describe_limits().send().await.unwrap();
    assert_eq!(limits.shard_limit(), 500);
    assert!(limits.open_shard_count() >= 2);
    assert_eq!(limits.on_demand_stream_count_limit(), 50);

    let account = client.describe_account_settings().send().await.unwrap();
    assert_eq!(
        account.minimum_throughput_billing_commitment().unwrap().status(),
        &MinimumThroughputBillingCommitmentOutputStatus::Disabled
    );
    let enabled = client
        .update_account_settings()
        .minimum_throughput_billing_commitment(
            MinimumThroughputBillingCommitmentInput::builder()
                .status(MinimumThroughputBillingCommitmentInputStatus::Enabled)
                .build()
                .unwrap(),
        )
        .send()
        .await
        .unwrap();
    let commitment = enabled.minimum_throughput_billing_commitment().unwrap();
    assert_eq!(
        commitment.status(),
        &MinimumThroughputBillingCommitmentOutputStatus::Enabled
    );
    assert!(commitment.started_at().is_some() && commitment.earliest_allowed_end_at().is_some());

    client
        .start_stream_encryption()
        .stream_arn(&arn)
        .encryption_type(EncryptionType::Kms)
        .key_id("alias/aws/kinesis")
        .send()
        .await
        .unwrap();
    wait_active(&client, &stream).await;
    let monitoring = client
        .enable_enhanced_monitoring()
        .stream_name(&stream)
        .shard_level_metrics(MetricsName::IncomingBytes)
        .send()
        .await
        .unwrap();
    assert_eq!(
        monitoring.desired_shard_level_metrics(),
        &[MetricsName::IncomingBytes]
    );
    wait_active(&client, &stream).await;
    // AUTO is an on-demand setting: switch the stream first.
    to_on_demand(&client, &arn, &stream).await;
    client
        .update_stream_record_distribution_strategy()
        .stream_arn(&arn)
        .record_distribution_strategy(RecordDistributionStrategy::Auto)
        .send()
        .await
        .unwrap();
    wait_active(&client, &stream).await;
    client
        .update_max_record_size()
        .stream_arn(&arn)
        .max_record_size_in_kib(4096)
        .send()
        .await
        .unwrap();
    wait_active(&client, &stream).await;

    let summary = client
        .describe_stream_summary()
        .stream_name(&stream)
        .send()
        .await
        .unwrap();
    let summary = summary.stream_description_summary().unwrap();
    assert_eq!(summary.encryption_type(), Some(&EncryptionType::Kms));
    assert_eq!(summary.key_id(), Some("alias/aws/kinesis"));
    assert_eq!(summary.max_record_size_in_kib(), Some(4096));
    assert_eq!(
        summary.record_distribution_strategy(),
        Some(&RecordDistributionStrategy::Auto)
    );
    assert_eq!(
        summary.enhanced_monitoring()[0].shard_level_metrics(),
        &[MetricsName::IncomingBytes]
    );
    assert_eq!(summary.stream_id().map(str::len), Some(24));

    // A 2 MiB record fits through the server's request limit and the stream's new record size.
    let put = client
        .put_record()
        .stream_name(&stream)
        .partition_key("k")
        .data(Blob::new(vec![1u8; 2 * 1024 * 1024]))
        .send()
        .await
        .unwrap();
    assert_eq!(put.encryption_type(), Some(&EncryptionType::Kms));

    // Tags and policies by ARN.
    client
        .tag_resource()
        .resource_arn(&arn)
        .tags("env", "prod")
        .send()
        .await
        .unwrap();
    let tags = client
        .list_tags_for_resource()
        .resource_arn(&arn)
        .send()
        .await
        .unwrap();
    assert_eq!(tags.tags().len(), 1);
    assert_eq!(tags.tags()[0].key(), "env");
    let bad_tag = client
        .tag_resource()
        .resource_arn(&arn)
        .tags("bad;key", "v")
        .send()
        .await
        .unwrap_err();
    assert_eq!(
        bad_tag.as_service_error().and_then(|e| e.meta().code()),
        Some("InvalidArgumentException")
    );
    client
        .untag_resource()
        .resource_arn(&arn)
        .tag_keys("env")
        .send()
        .await
        .unwrap();
    let empty = client
        .get_resource_policy()
        .resource_arn(&arn)
        .send()
        .await
        .unwrap();
    assert_eq!(empty.policy(), "{}");
    let policy = r#"{"Version":"2012-10-17","Statement":[]}"#;
    client
        .put_resource_policy()
        .resource_arn(&arn)
        .policy(policy)
        .send()
        .await
        .unwrap();
    let got = client
        .get_resource_policy()
        .resource_arn(&arn)
        .send()
        .await
        .unwrap();
    assert_eq!(got.policy(), policy);
    client
        .delete_resource_policy()
        .resource_arn(&arn)
        .send()
        .await
        .unwrap();
    let none = client
        .delete_resource_policy()
        .resource_arn(&arn)
        .send()
        .await
        .unwrap_err();
    assert!(none
        .as_service_error()
        .is_some_and(|e| e.is_resource_not_found_exception()));

    // Warm throughput of an ON_DEMAND stream (the commitment is enabled above); PROVISIONED is refused.
    let od = unique_name("settings-od");
    client
        .create_stream()
        .stream_name(&od)
        .stream_mode_details(
            StreamModeDetails::builder()
                .stream_mode(StreamMode::OnDemand)
                .build()
                .unwrap(),
        )
        .send()
        .await
        .unwrap();
    wait_active(&client, &od).await;
    let warm = client
        .update_stream_warm_throughput()
        .stream_name(&od)
        .warm_throughput_mibps(50)
        .send()
        .await
        .unwrap();
    assert_eq!(warm.warm_throughput().and_then(|w| w.target_mibps()), Some(50));
    let provisioned_stream = create(&client, 1).await;
    let provisioned = client
        .update_stream_warm_throughput()
        .stream_name(&provisioned_stream)
        .warm_throughput_mibps(50)
        .send()
        .await
        .unwrap_err();
    assert!(provisioned
        .as_service_error()
        .is_some_and(|e| e.is_invalid_argument_exception()));
    server.shutdown().await;
}

#[tokio::test]
async fn sdk_channels() {
    let server = TestServer::start().await;
    let client = server.client();
    let stream = create(&client, 1).await;
    let arn = stream_arn(&client, &stream).await;
    let channel = unique_name("channel");
    let channel_arn = create_channel(&client, &channel, &arn).await;
    assert!(channel_arn.ends_with(&format!(":channel/{channel}")));
    let described = client
        .describe_channel()
        .channel_arn(&channel_arn)
        .send()
        .await
        .unwrap();
    let d = described.channel_description().unwrap();
    assert_eq!(d.channel_status(), &ChannelStatus::Active);
    assert_eq!(d.stream_configuration_list()[0].stream_arn(), arn);
    let listed = client.list_channels().send().await.unwrap();
    assert!(listed
        .channel_summaries()
        .iter()
        .any(|c| c.channel_arn() == channel_arn));
    let tags = client
        .list_tags_for_resource()
        .resource_arn(&channel_arn)
        .send()
        .await
        .unwrap();
    assert_eq!(tags.tags()[0].key(), "team");
    let updated = client
        .update_channel()
        .channel_arn(&channel_arn)
        .s3_destination_configuration(
            aws_sdk_kinesis::types::S3DestinationUpdateInput::builder()
                .data_freshness_in_seconds(60)
                .build()
                .unwrap(),
        )
        .send()
        .await
        .unwrap();
    assert_eq!(
        updated
            .channel_description()
            .and_then(|d| d.s3_destination_configuration())
            .map(|s| s.data_freshness_in_seconds()),
        Some(60)
    );
    client
        .delete_channel()
        .channel_arn(&channel_arn)
        .send()
        .await
        .unwrap();
    let gone = client
        .describe_channel()
        .channel_arn(&channel_arn)
        .send()
        .await
        .unwrap_err();
    assert!(gone
        .as_service_error()
        .is_some_and(|e| e.is_resource_not_found_exception()));
    server.shutdown().await;
}

#[tokio::test]
async fn raw_json_member_names() {
    let server = TestServer::start().await;
    let ep = &server.endpoint;
    let http = http1();
    let (status, _) = json_call(
        &http,
        ep,
        "CreateStream",
        json!({"StreamName": "raw", "ShardCount": 1}),
    )
    .await;
    assert_eq!(status, 200);
    let arn = server.emulator.stream_arn("raw");
    let (status, _) = json_call(
        &http,
        ep,
        "UpdateMaxRecordSize",
        json!({"StreamARN": arn, "MaxRecordSizeInKiB": 2048}),
    )
    .await;
    assert_eq!(status, 200);
    let (_, body) = json_call(&http, ep, "DescribeStreamSummary", json!({"StreamName": "raw"})).await;
    let summary = &body["StreamDescriptionSummary"];
    assert_eq!(summary["MaxRecordSizeInKiB"], 2048);
    assert_eq!(summary["RecordDistributionStrategy"], "USER_PARTITION_KEY");
    assert_eq!(summary["ChannelCount"], 0);
    assert!(summary["StreamId"].as_str().is_some_and(|id| id.len() == 24));
    let (_, limits) = json_call(&http, ep, "DescribeLimits", json!({})).await;
    for member in [
        "ShardLimit",
        "OpenShardCount",
        "OnDemandStreamCount",
        "OnDemandStreamCountLimit",
    ] {
        assert!(limits[member].is_number(), "{member}: {limits}");
    }
    let (status, error) = json_call(
        &http,
        ep,
        "StopStreamEncryption",
        json!({"StreamName": "raw", "EncryptionType": "KMS", "KeyId": "k"}),
    )
    .await;
    assert_eq!(status, 400);
    assert_eq!(error["__type"], "InvalidArgumentException");
    server.shutdown().await;
}

#[tokio::test]
async fn settings_and_channels_survive_a_restart() {
    let dir = tempfile::tempdir().unwrap();
    let start = || async {
        TestServer::start_server(Server::builder().persistence_dir(dir.path()).build().unwrap()).await
    };
    let server = start().await;
    let client = server.client();
    let stream = create(&client, 1).await;
    let arn = stream_arn(&client, &stream).await;
    client
        .start_stream_encryption()
        .stream_name(&stream)
        .encryption_type(EncryptionType::Kms)
        .key_id("key-1")
        .send()
        .await
        .unwrap();
    wait_active(&client, &stream).await;
    // AUTO is an on-demand setting: switch the stream first.
    to_on_demand(&client, &arn, &stream).await;
    client
        .update_stream_record_distribution_strategy()
        .stream_arn(&arn)
        .record_distribution_strategy(RecordDistributionStrategy::Auto)
        .send()
        .await
        .unwrap();
    client
        .put_resource_policy()
        .resource_arn(&arn)
        .policy(r#"{"Statement":[]}"#)
        .send()
        .await
        .unwrap();
    client
        .tag_resource()
        .resource_arn(&arn)
        .tags("env", "prod")
        .send()
        .await
        .unwrap();
    client
        .update_account_settings()
        .minimum_throughput_billing_commitment(
            MinimumThroughputBillingCommitmentInput::builder()
                .status(MinimumThroughputBillingCommitmentInputStatus::Enabled)
                .build()
                .unwrap(),
        )
        .send()
        .await
        .unwrap();
    let channel_arn = create_channel(&client, "kept", &arn).await;
    server.shutdown().await;

    let server = start().await;
    let client = server.client();
    tokio::time::sleep(Duration::from_millis(10)).await;
    let summary = client
        .describe_stream_summary()
        .stream_name(&stream)
        .send()
        .await
        .unwrap();
    let summary = summary.stream_description_summary().unwrap();
    assert_eq!(summary.key_id(), Some("key-1"));
    assert_eq!(
        summary.record_distribution_strategy(),
        Some(&RecordDistributionStrategy::Auto)
    );
    assert_eq!(summary.channel_count(), Some(1));
    let policy = client
        .get_resource_policy()
        .resource_arn(&arn)
        .send()
        .await
        .unwrap();
    assert_eq!(policy.policy(), r#"{"Statement":[]}"#);
    let tags = client
        .list_tags_for_resource()
        .resource_arn(&arn)
        .send()
        .await
        .unwrap();
    assert_eq!(tags.tags().len(), 1);
    let account = client.describe_account_settings().send().await.unwrap();
    assert_eq!(
        account.minimum_throughput_billing_commitment().unwrap().status(),
        &MinimumThroughputBillingCommitmentOutputStatus::Enabled
    );
    let channel = client
        .describe_channel()
        .channel_arn(&channel_arn)
        .send()
        .await
        .unwrap();
    assert_eq!(channel.channel_description().unwrap().channel_name(), "kept");
    let channel_tags = client
        .list_tags_for_resource()
        .resource_arn(&channel_arn)
        .send()
        .await
        .unwrap();
    assert_eq!(channel_tags.tags()[0].key(), "team");
    server.shutdown().await;
}
