//! Channels: CreateChannel / DescribeChannel / ListChannels / UpdateChannel / DeleteChannel as state, with
//! CREATING, UPDATING and DELETING transitions over paused time, pagination, filters and errors.

use std::time::Duration;

use kcl_emulator::types::*;
use kcl_emulator::Emulator;

use crate::resources::channel;
use crate::support::*;

async fn describe(e: &Emulator, arn: &str) -> Result<ChannelDescription, kcl_emulator::KinesisError> {
    e.describe_channel(DescribeChannelInput {
        channel_arn: arn.into(),
    })
    .await
    .map(|o| o.channel_description)
}

#[tokio::test(start_paused = true)]
async fn channel_lifecycle_follows_the_configured_delays() {
    let e = emulator_with(|b| {
        b.without_throughput_limits()
            .creating_delay(Duration::from_secs(10))
            .updating_delay(Duration::from_secs(5))
            .deleting_delay(Duration::from_secs(3))
    });
    create(&e, "s", 1).await;
    tokio::time::advance(Duration::from_secs(10)).await;
    let arn = channel(&e, "ch").await;
    assert_eq!(arn, "arn:aws:kinesis:us-east-1:000000000000:channel/ch");
    let d = describe(&e, &arn).await.expect("describe");
    assert_eq!(d.channel_status, ChannelStatus::Creating);
    assert_eq!(d.channel_name, "ch");
    assert!(!d.channel_id.is_empty());
    assert_eq!(d.stream_configuration_list[0].stream_arn, e.stream_arn("s"));
    assert_eq!(
        d.s3_destination_configuration
            .as_ref()
            .map(|s| s.data_freshness_in_seconds),
        Some(300)
    );
    let update = || UpdateChannelInput {
        channel_arn: arn.clone(),
        s3_destination_configuration: Some(DestinationUpdateInput {
            data_freshness_in_seconds: 60,
        }),
        ..Default::default()
    };
    assert_eq!(code(e.update_channel(update()).await), "ResourceInUseException");
    tokio::time::advance(Duration::from_secs(10)).await;
    assert_eq!(
        describe(&e, &arn).await.expect("describe").channel_status,
        ChannelStatus::Active
    );

    let updated = e
        .update_channel(update())
        .await
        .expect("update")
        .channel_description;
    assert_eq!(updated.channel_status, ChannelStatus::Updating);
    assert_eq!(
        updated
            .s3_destination_configuration
            .map(|s| s.data_freshness_in_seconds),
        Some(60)
    );
    let tables = e
        .update_channel(UpdateChannelInput {
            s3_destination_configuration: None,
            s3_tables_destination_configuration: Some(DestinationUpdateInput {
                data_freshness_in_seconds: 60,
            }),
            ..update()
        })
        .await;
    assert_eq!(code(tables), "ResourceInUseException");
    tokio::time::advance(Duration::from_secs(5)).await;
    let tables = e
        .update_channel(UpdateChannelInput {
            s3_destination_configuration: None,
            s3_tables_destination_configuration: Some(DestinationUpdateInput {
                data_freshness_in_seconds: 60,
            }),
            ..update()
        })
        .await;
    assert_eq!(
        code(tables),
        "InvalidArgumentException",
        "an S3 channel has no S3 Tables"
    );

    // The stream's summary counts its channels.
    let summary = e
        .describe_stream_summary(DescribeStreamSummaryInput {
            stream_name: Some("s".into()),
            ..Default::default()
        })
        .await
        .expect("summary")
        .stream_description_summary;
    assert_eq!(summary.channel_count, Some(1));

    e.delete_channel(DeleteChannelInput {
        channel_arn: arn.clone(),
    })
    .await
    .expect("delete");
    assert_eq!(
        describe(&e, &arn).await.expect("deleting").channel_status,
        ChannelStatus::Deleting
    );
    assert_eq!(
        code(
            e.delete_channel(DeleteChannelInput {
                channel_arn: arn.clone()
            })
            .await
        ),
        "ResourceNotFoundException"
    );
    tokio::time::advance(Duration::from_secs(3)).await;
    assert_eq!(code(describe(&e, &arn).await), "ResourceNotFoundException");
}

#[tokio::test]
async fn create_channel_errors() {
    let e = emulator_with(|b| b.without_throughput_limits().channel_limit(2));
    create(&e, "s", 1).await;
    let arn = channel(&e, "ch").await;
    let again = e
        .create_channel(CreateChannelInput {
            channel_name: "ch".into(),
            ..describe_as_input(&e, &arn).await
        })
        .await;
    assert_eq!(code(again), "ResourceInUseException");
    let mut missing_stream = describe_as_input(&e, &arn).await;
    missing_stream.channel_name = "other".into();
    missing_stream.stream_configuration_list[0].stream_arn =
        "arn:aws:kinesis:us-east-1:000000000000:stream/none".into();
    assert_eq!(
        code(e.create_channel(missing_stream).await),
        "ResourceNotFoundException"
    );
    let mut no_destination = describe_as_input(&e, &arn).await;
    no_destination.channel_name = "other".into();
    no_destination.s3_destination_configuration = None;
    assert_eq!(
        code(e.create_channel(no_destination).await),
        "InvalidArgumentException"
    );
    let mut bad_role = describe_as_input(&e, &arn).await;
    bad_role.channel_name = "other".into();
    bad_role.service_execution_role_arn = "role".into();
    assert_eq!(code(e.create_channel(bad_role).await), "ValidationException");
    channel(&e, "ch2").await;
    let mut third = describe_as_input(&e, &arn).await;
    third.channel_name = "ch3".into();
    assert_eq!(code(e.create_channel(third).await), "LimitExceededException");
    assert_eq!(
        code(describe(&e, "arn:aws:kinesis:us-east-1:000000000000:stream/s").await),
        "ValidationException"
    );
}

/// A CreateChannel request like the one that made the channel at `arn`.
async fn describe_as_input(e: &Emulator, arn: &str) -> CreateChannelInput {
    let d = describe(e, arn).await.expect("describe");
    CreateChannelInput {
        channel_name: d.channel_name,
        service_execution_role_arn: d.service_execution_role_arn,
        stream_configuration_list: d
            .stream_configuration_list
            .into_iter()
            .map(|s| ChannelStreamConfiguration {
                stream_arn: s.stream_arn,
                record_configuration: s.record_configuration,
            })
            .collect(),
        s3_destination_configuration: d
            .s3_destination_configuration
            .map(|s| S3DestinationConfiguration {
                data_freshness_in_seconds: Some(s.data_freshness_in_seconds),
                dead_letter_queue_s3_configuration: s.dead_letter_queue_s3_configuration,
                storage_configuration: s.storage_configuration,
            }),
        ..Default::default()
    }
}

#[tokio::test(start_paused = true)]
async fn list_channels_pages_and_filters_by_stream() {
    let e = emulator();
    create(&e, "s", 1).await;
    create(&e, "t", 1).await;
    for i in 0..5 {
        channel(&e, &format!("ch{i}")).await;
    }
    let arn = channel(&e, "ch9").await;
    let mut other = describe_as_input(&e, &arn).await;
    other.channel_name = "on-t".into();
    other.stream_configuration_list[0].stream_arn = e.stream_arn("t");
    e.create_channel(other).await.expect("channel of t");

    let mut names = Vec::new();
    let mut token = None;
    loop {
        let page = e
            .list_channels(ListChannelsInput {
                max_results: Some(2),
                next_token: token.take(),
                ..Default::default()
            })
            .await
            .expect("list");
        assert!(page.channel_summaries.len() <= 2);
        names.extend(page.channel_summaries.iter().map(|c| c.channel_name.clone()));
        match page.next_token {
            Some(t) => token = Some(t),
            None => break,
        }
    }
    assert_eq!(names, ["ch0", "ch1", "ch2", "ch3", "ch4", "ch9", "on-t"]);
    // A NextToken lasts 300 s, as AWS's do.
    let first = e
        .list_channels(ListChannelsInput {
            max_results: Some(2),
            ..Default::default()
        })
        .await
        .expect("list");
    tokio::time::advance(std::time::Duration::from_secs(301)).await;
    let expired = e
        .list_channels(ListChannelsInput {
            next_token: first.next_token,
            ..Default::default()
        })
        .await;
    assert_eq!(code(expired), "ExpiredNextTokenException");

    let on_t = e
        .list_channels(ListChannelsInput {
            stream_filter: Some(vec![StreamFilter {
                stream_arn: e.stream_arn("t"),
                stream_creation_timestamp: None,
            }]),
            ..Default::default()
        })
        .await
        .expect("filtered");
    assert_eq!(on_t.channel_summaries.len(), 1);
    let summary = &on_t.channel_summaries[0];
    assert_eq!(summary.channel_name, "on-t");
    assert_eq!(summary.channel_destination_type, ChannelDestinationType::S3);
    assert_eq!(summary.streams[0].stream_arn, e.stream_arn("t"));
    let forged = e
        .list_channels(ListChannelsInput {
            next_token: Some("forged".into()),
            ..Default::default()
        })
        .await;
    assert_eq!(code(forged), "InvalidArgumentException");
    assert_eq!(
        code(
            e.list_channels(ListChannelsInput {
                max_results: Some(0),
                ..Default::default()
            })
            .await
        ),
        "ValidationException"
    );
}
