//! Stream settings: Start/StopStreamEncryption, Enable/DisableEnhancedMonitoring,
//! UpdateStreamWarmThroughput and UpdateMaxRecordSize, their UPDATING transitions (paused time), what
//! DescribeStream / DescribeStreamSummary report, StreamId, and the errors of bad states.

use std::time::Duration;

use bytes::Bytes;
use kcl_emulator::types::*;
use kcl_emulator::Emulator;

use crate::support::*;

async fn summary(e: &Emulator, stream: &str) -> StreamDescriptionSummary {
    e.describe_stream_summary(DescribeStreamSummaryInput {
        stream_name: Some(stream.into()),
        ..Default::default()
    })
    .await
    .expect("describe summary")
    .stream_description_summary
}

async fn description(e: &Emulator, stream: &str) -> StreamDescription {
    e.describe_stream(DescribeStreamInput {
        stream_name: Some(stream.into()),
        ..Default::default()
    })
    .await
    .expect("describe")
    .stream_description
}

fn start_kms(stream: &str, key: &str) -> StartStreamEncryptionInput {
    StartStreamEncryptionInput {
        stream_name: Some(stream.into()),
        encryption_type: EncryptionType::Kms,
        key_id: key.into(),
        ..Default::default()
    }
}

#[tokio::test(start_paused = true)]
async fn encryption_goes_updating_then_active_and_is_described() {
    let e = emulator_with(|b| {
        b.without_throughput_limits()
            .updating_delay(Duration::from_secs(10))
    });
    create(&e, "s", 1).await;
    let before = summary(&e, "s").await;
    assert_eq!(before.encryption_type, Some(EncryptionType::None));
    assert_eq!(before.key_id, None);

    e.start_stream_encryption(start_kms("s", "alias/aws/kinesis"))
        .await
        .expect("start encryption");
    assert_eq!(status(&e, "s").await, StreamStatus::Updating);
    // Not ACTIVE: a second change is refused until the update is over.
    assert_eq!(
        code(e.start_stream_encryption(start_kms("s", "other")).await),
        "ResourceInUseException"
    );
    // Writes continue while UPDATING, not yet encrypted; encrypted once ACTIVE.
    assert_eq!(
        put(&e, "s", "k", "x").await.encryption_type,
        Some(EncryptionType::None)
    );
    tokio::time::advance(Duration::from_secs(10)).await;
    assert_eq!(status(&e, "s").await, StreamStatus::Active);
    assert_eq!(
        put(&e, "s", "k", "x").await.encryption_type,
        Some(EncryptionType::Kms)
    );
    let d = description(&e, "s").await;
    assert_eq!(d.encryption_type, Some(EncryptionType::Kms));
    assert_eq!(d.key_id.as_deref(), Some("alias/aws/kinesis"));
    assert_eq!(
        summary(&e, "s").await.key_id.as_deref(),
        Some("alias/aws/kinesis")
    );

    // Stopping needs the same key, and EncryptionType KMS.
    let wrong_key = e
        .stop_stream_encryption(StopStreamEncryptionInput {
            stream_name: Some("s".into()),
            encryption_type: EncryptionType::Kms,
            key_id: "another".into(),
            ..Default::default()
        })
        .await;
    assert_eq!(code(wrong_key), "InvalidArgumentException");
    let none_type = e
        .start_stream_encryption(StartStreamEncryptionInput {
            encryption_type: EncryptionType::None,
            ..start_kms("s", "k")
        })
        .await;
    assert_eq!(code(none_type), "InvalidArgumentException");
    e.stop_stream_encryption(StopStreamEncryptionInput {
        stream_name: Some("s".into()),
        encryption_type: EncryptionType::Kms,
        key_id: "alias/aws/kinesis".into(),
        ..Default::default()
    })
    .await
    .expect("stop encryption");
    assert_eq!(
        put(&e, "s", "k", "x").await.encryption_type,
        Some(EncryptionType::Kms),
        "still encrypted while UPDATING"
    );
    tokio::time::advance(Duration::from_secs(10)).await;
    assert_eq!(
        put(&e, "s", "k", "x").await.encryption_type,
        Some(EncryptionType::None)
    );
    let d = description(&e, "s").await;
    assert_eq!(d.encryption_type, Some(EncryptionType::None));
    assert_eq!(d.key_id, None);
    assert_eq!(
        code(e.start_stream_encryption(start_kms("missing", "k")).await),
        "ResourceNotFoundException"
    );

    // Each record reads back with the encryption it was written with, also after a snapshot.
    let written = [None, Some(EncryptionType::Kms), Some(EncryptionType::Kms), None];
    let (records, _) = read_all(&e, "s", "shardId-000000000000").await;
    let read: Vec<_> = records.iter().map(|r| r.encryption_type).collect();
    assert_eq!(read, written);
    let json = serde_json::to_string(&e.snapshot()).expect("serialize");
    let restored = Emulator::restore(
        e.config().clone(),
        &serde_json::from_str(&json).expect("deserialize"),
    )
    .expect("restore");
    let (records, _) = read_all(&restored, "s", "shardId-000000000000").await;
    let read: Vec<_> = records.iter().map(|r| r.encryption_type).collect();
    assert_eq!(read, written);
}

#[tokio::test]
async fn enhanced_monitoring_reports_current_and_desired_metrics() {
    let e = emulator();
    create(&e, "s", 1).await;
    let enabled = e
        .enable_enhanced_monitoring(EnableEnhancedMonitoringInput {
            stream_name: Some("s".into()),
            shard_level_metrics: vec!["IncomingBytes".into(), "IteratorAgeMilliseconds".into()],
            ..Default::default()
        })
        .await
        .expect("enable");
    assert_eq!(enabled.current_shard_level_metrics, Some(vec![]));
    assert_eq!(
        enabled.desired_shard_level_metrics,
        Some(vec!["IncomingBytes".into(), "IteratorAgeMilliseconds".into()])
    );
    assert_eq!(enabled.stream_name.as_deref(), Some("s"));
    assert_eq!(enabled.stream_arn, Some(e.stream_arn("s")));

    let all = e
        .enable_enhanced_monitoring(EnableEnhancedMonitoringInput {
            stream_arn: Some(e.stream_arn("s")),
            shard_level_metrics: vec!["ALL".into()],
            ..Default::default()
        })
        .await
        .expect("enable ALL");
    assert_eq!(all.desired_shard_level_metrics.map(|m| m.len()), Some(7));
    assert_eq!(
        description(&e, "s").await.enhanced_monitoring[0]
            .shard_level_metrics
            .len(),
        7
    );
    let disabled = e
        .disable_enhanced_monitoring(DisableEnhancedMonitoringInput {
            stream_name: Some("s".into()),
            shard_level_metrics: vec!["ALL".into()],
            ..Default::default()
        })
        .await
        .expect("disable ALL");
    assert_eq!(disabled.current_shard_level_metrics.map(|m| m.len()), Some(7));
    assert_eq!(disabled.desired_shard_level_metrics, Some(vec![]));
    assert!(summary(&e, "s").await.enhanced_monitoring[0]
        .shard_level_metrics
        .is_empty());

    for bad in [vec![], vec!["Bogus".to_owned()]] {
        let r = e
            .enable_enhanced_monitoring(EnableEnhancedMonitoringInput {
                stream_name: Some("s".into()),
                shard_level_metrics: bad,
                ..Default::default()
            })
            .await;
        assert_eq!(code(r), "ValidationException");
    }
}

#[tokio::test]
async fn stream_id_is_stable_and_checked() {
    let e = emulator();
    create(&e, "s", 1).await;
    let id = summary(&e, "s").await.stream_id.expect("a stream id");
    assert_eq!(id.len(), 24);
    let (left, right) = id.split_once('-').expect("a dash");
    assert_eq!((left.len(), right.len()), (20, 3));
    assert!(id
        .chars()
        .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-'));
    assert_eq!(summary(&e, "s").await.stream_id.as_deref(), Some(id.as_str()));
    // By id alone, and a wrong id with a name.
    let by_id = e
        .describe_stream_summary(DescribeStreamSummaryInput {
            stream_id: Some(id.clone()),
            ..Default::default()
        })
        .await
        .expect("by id");
    assert_eq!(by_id.stream_description_summary.stream_name, "s");
    let wrong = e
        .describe_stream_summary(DescribeStreamSummaryInput {
            stream_name: Some("s".into()),
            stream_id: Some("aaaaaaaaaaaaaaaaaaaa-aaa".into()),
            ..Default::default()
        })
        .await;
    assert_eq!(code(wrong), "ResourceNotFoundException");
    // A new incarnation of the name gets another id.
    e.delete_stream(DeleteStreamInput {
        stream_name: Some("s".into()),
        ..Default::default()
    })
    .await
    .expect("delete");
    create(&e, "s", 1).await;
    assert_ne!(summary(&e, "s").await.stream_id, Some(id));
}

#[tokio::test(start_paused = true)]
async fn warm_throughput_needs_on_demand_and_a_commitment() {
    let e = emulator_with(|b| {
        b.without_throughput_limits()
            .updating_delay(Duration::from_secs(5))
    });
    create(&e, "p", 1).await;
    e.create_stream(CreateStreamInput {
        stream_name: "od".into(),
        stream_mode_details: Some(StreamModeDetails {
            stream_mode: StreamMode::OnDemand,
        }),
        ..Default::default()
    })
    .await
    .expect("on-demand stream");
    let warm = |stream: &str, mibps: i32| UpdateStreamWarmThroughputInput {
        stream_name: Some(stream.into()),
        warm_throughput_mibps: mibps,
        ..Default::default()
    };
    // The default: the open shards' 1 MiB/s each, no target; PROVISIONED streams have none.
    assert_eq!(
        summary(&e, "od").await.warm_throughput,
        Some(WarmThroughputObject {
            target_mibps: None,
            current_mibps: Some(4)
        })
    );
    assert_eq!(summary(&e, "p").await.warm_throughput, None);
    // Without the billing commitment, refused.
    assert_eq!(
        code(e.update_stream_warm_throughput(warm("od", 100)).await),
        "InvalidArgumentException"
    );
    e.update_account_settings(UpdateAccountSettingsInput {
        minimum_throughput_billing_commitment: MinimumThroughputBillingCommitmentInput {
            status: MinimumThroughputBillingCommitmentInputStatus::Enabled,
        },
    })
    .await
    .expect("enable the commitment");
    assert_eq!(
        code(e.update_stream_warm_throughput(warm("p", 100)).await),
        "InvalidArgumentException"
    );
    assert_eq!(
        code(e.update_stream_warm_throughput(warm("od", 20 * 1024)).await),
        "LimitExceededException"
    );
    assert_eq!(
        code(e.update_stream_warm_throughput(warm("od", -1)).await),
        "ValidationException"
    );
    let out = e
        .update_stream_warm_throughput(warm("od", 100))
        .await
        .expect("warm throughput");
    assert_eq!(out.stream_name.as_deref(), Some("od"));
    assert_eq!(
        out.warm_throughput,
        Some(WarmThroughputObject {
            target_mibps: Some(100),
            current_mibps: Some(4)
        })
    );
    assert_eq!(status(&e, "od").await, StreamStatus::Updating);
    assert_eq!(
        code(e.update_stream_warm_throughput(warm("od", 200)).await),
        "ResourceInUseException"
    );
    tokio::time::advance(Duration::from_secs(5)).await;
    assert_eq!(
        summary(&e, "od").await.warm_throughput,
        Some(WarmThroughputObject {
            target_mibps: Some(100),
            current_mibps: Some(100)
        })
    );
}

fn record(bytes: usize) -> PutRecordInput {
    PutRecordInput {
        stream_name: Some("s".into()),
        data: Bytes::from(vec![7u8; bytes]),
        partition_key: "k".into(),
        ..Default::default()
    }
}

#[tokio::test(start_paused = true)]
async fn max_record_size_admits_large_records_within_the_shard_limit() {
    // The AWS write limit of 1 MiB/s per shard stays on.
    let e = emulator_with(|b| b);
    create(&e, "s", 1).await;
    assert_eq!(summary(&e, "s").await.max_record_size_in_kib, Some(1024));
    let two_mib = 2 * 1024 * 1024;
    assert_eq!(code(e.put_record(record(two_mib)).await), "ValidationException");

    let update = |kib: i32| UpdateMaxRecordSizeInput {
        stream_arn: Some(e.stream_arn("s")),
        max_record_size_in_kib: kib,
        ..Default::default()
    };
    for bad in [1023, 10241] {
        assert_eq!(
            code(e.update_max_record_size(update(bad)).await),
            "ValidationException"
        );
    }
    e.update_max_record_size(update(4096))
        .await
        .expect("4 MiB records");
    assert_eq!(summary(&e, "s").await.max_record_size_in_kib, Some(4096));

    // A 2 MiB record is taken from a full bucket and puts the shard in debt for about a second.
    let stored = e.put_record(record(two_mib)).await.expect("a 2 MiB record");
    assert_eq!(stored.shard_id, SHARD0);
    assert_eq!(
        code(e.put_record(record(1000)).await),
        "ProvisionedThroughputExceededException"
    );
    tokio::time::advance(Duration::from_millis(1500)).await;
    e.put_record(record(1000)).await.expect("refilled");
    // Over the new limit, still refused; data and key over it is InvalidArgument.
    assert_eq!(
        code(e.put_record(record(4 * 1024 * 1024 + 1)).await),
        "ValidationException"
    );
    assert_eq!(
        code(e.put_record(record(4 * 1024 * 1024)).await),
        "InvalidArgumentException"
    );
    // The record reads back whole.
    let it = iterator(&e, "s", SHARD0, ShardIteratorType::TrimHorizon).await;
    let page = get(&e, &it).await;
    assert_eq!(page.records[0].data.len(), two_mib);
}

#[tokio::test(start_paused = true)]
async fn a_snapshot_restores_settings_tags_policies_and_channels() {
    let e = emulator_with(|b| {
        b.without_throughput_limits()
            .creating_delay(Duration::from_secs(30))
    });
    create(&e, "s", 2).await;
    tokio::time::advance(Duration::from_secs(30)).await;
    e.enable_enhanced_monitoring(EnableEnhancedMonitoringInput {
        stream_name: Some("s".into()),
        shard_level_metrics: vec!["IncomingRecords".into()],
        ..Default::default()
    })
    .await
    .expect("monitoring");
    e.update_max_record_size(UpdateMaxRecordSizeInput {
        stream_arn: Some(e.stream_arn("s")),
        max_record_size_in_kib: 2048,
        ..Default::default()
    })
    .await
    .expect("max record size");
    let consumer = e
        .register_stream_consumer(RegisterStreamConsumerInput {
            stream_arn: e.stream_arn("s"),
            consumer_name: "c".into(),
            tags: Some([("k".to_owned(), "v".to_owned())].into()),
        })
        .await
        .expect("register")
        .consumer
        .consumer_arn;
    e.put_resource_policy(PutResourcePolicyInput {
        resource_arn: consumer.clone(),
        policy: "{}".into(),
        ..Default::default()
    })
    .await
    .expect("policy");
    let channel = crate::resources::channel(&e, "ch").await;
    let id = summary(&e, "s").await.stream_id;

    let json = serde_json::to_string(&e.snapshot()).expect("serialize");
    let restored = Emulator::restore(
        e.config().clone(),
        &serde_json::from_str(&json).expect("deserialize"),
    )
    .expect("restore");
    let s = summary(&restored, "s").await;
    assert_eq!(s.stream_id, id);
    assert_eq!(s.max_record_size_in_kib, Some(2048));
    assert_eq!(
        s.enhanced_monitoring[0].shard_level_metrics,
        vec!["IncomingRecords".to_owned()]
    );
    assert_eq!(s.channel_count, Some(1));
    let tags = restored
        .list_tags_for_resource(ListTagsForResourceInput {
            resource_arn: consumer.clone(),
            ..Default::default()
        })
        .await
        .expect("consumer tags");
    assert_eq!(tags.tags.len(), 1);
    let policy = restored
        .get_resource_policy(GetResourcePolicyInput {
            resource_arn: consumer,
            ..Default::default()
        })
        .await
        .expect("consumer policy");
    assert_eq!(policy.policy, "{}");
    // The channel was CREATING with its remaining time, and finishes after it.
    let status = |em: Emulator| {
        let arn = channel.clone();
        async move {
            em.describe_channel(DescribeChannelInput { channel_arn: arn })
                .await
                .expect("channel")
                .channel_description
                .channel_status
        }
    };
    assert_eq!(status(restored.clone()).await, ChannelStatus::Creating);
    tokio::time::advance(Duration::from_secs(30)).await;
    assert_eq!(status(restored).await, ChannelStatus::Active);
}

#[tokio::test]
async fn update_stream_mode_carries_warm_throughput_into_on_demand_only() {
    let e = emulator();
    create(&e, "s", 2).await;
    let switch = |mode: StreamMode, warm: Option<i32>| UpdateStreamModeInput {
        stream_arn: e.stream_arn("s"),
        stream_mode_details: StreamModeDetails { stream_mode: mode },
        warm_throughput_mibps: warm,
        ..Default::default()
    };
    assert_eq!(
        code(e.update_stream_mode(switch(StreamMode::OnDemand, Some(64))).await),
        "InvalidArgumentException",
        "no billing commitment"
    );
    e.update_account_settings(UpdateAccountSettingsInput {
        minimum_throughput_billing_commitment: MinimumThroughputBillingCommitmentInput {
            status: MinimumThroughputBillingCommitmentInputStatus::Enabled,
        },
    })
    .await
    .expect("commitment");
    e.update_stream_mode(switch(StreamMode::OnDemand, Some(64)))
        .await
        .expect("to ON_DEMAND with warm throughput");
    assert_eq!(
        summary(&e, "s").await.warm_throughput,
        Some(WarmThroughputObject {
            target_mibps: Some(64),
            current_mibps: Some(64)
        })
    );
    assert_eq!(
        code(
            e.update_stream_mode(switch(StreamMode::Provisioned, Some(64)))
                .await
        ),
        "InvalidArgumentException"
    );
    e.update_stream_mode(switch(StreamMode::Provisioned, None))
        .await
        .expect("to PROVISIONED");
    assert_eq!(summary(&e, "s").await.warm_throughput, None);
    e.update_stream_mode(switch(StreamMode::OnDemand, None))
        .await
        .expect("back to ON_DEMAND");
    assert_eq!(
        summary(&e, "s")
            .await
            .warm_throughput
            .and_then(|w| w.target_mibps),
        None,
        "the old target is gone"
    );
}
