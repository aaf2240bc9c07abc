//! DescribeLimits and Describe/UpdateAccountSettings: counts and limits from the configuration and state,
//! the minimum throughput billing commitment's statuses over (paused) time.

use std::time::Duration;

use kcl_emulator::types::*;

use crate::support::*;

#[tokio::test]
async fn describe_limits_counts_open_shards_on_demand_streams_and_channels() {
    let e = emulator_with(|b| b.shard_limit(20).on_demand_stream_limit(1).channel_limit(1));
    create(&e, "p", 3).await;
    e.create_stream(CreateStreamInput {
        stream_name: "od".into(),
        stream_mode_details: Some(StreamModeDetails {
            stream_mode: StreamMode::OnDemand,
        }),
        ..Default::default()
    })
    .await
    .expect("on-demand stream");
    let limits = e.describe_limits(DescribeLimitsInput {}).await.expect("limits");
    assert_eq!(limits.shard_limit, 20);
    assert_eq!(limits.open_shard_count, 3 + 4);
    assert_eq!(limits.on_demand_stream_count, 1);
    assert_eq!(limits.on_demand_stream_count_limit, 1);
    assert_eq!(limits.channel_count, Some(0));
    assert_eq!(limits.channel_count_limit, Some(1));

    // The ON_DEMAND limit holds for CreateStream and UpdateStreamMode.
    let second = e
        .create_stream(CreateStreamInput {
            stream_name: "od2".into(),
            stream_mode_details: Some(StreamModeDetails {
                stream_mode: StreamMode::OnDemand,
            }),
            ..Default::default()
        })
        .await;
    assert_eq!(code(second), "LimitExceededException");
    let switch = e
        .update_stream_mode(UpdateStreamModeInput {
            stream_arn: e.stream_arn("p"),
            stream_mode_details: StreamModeDetails {
                stream_mode: StreamMode::OnDemand,
            },
            ..Default::default()
        })
        .await;
    assert_eq!(code(switch), "LimitExceededException");
}

async fn commitment(e: &kcl_emulator::Emulator) -> MinimumThroughputBillingCommitmentOutput {
    e.describe_account_settings(DescribeAccountSettingsInput {})
        .await
        .expect("describe account settings")
        .minimum_throughput_billing_commitment
        .expect("a commitment")
}

async fn set(
    e: &kcl_emulator::Emulator,
    status: MinimumThroughputBillingCommitmentInputStatus,
) -> Result<UpdateAccountSettingsOutput, kcl_emulator::KinesisError> {
    e.update_account_settings(UpdateAccountSettingsInput {
        minimum_throughput_billing_commitment: MinimumThroughputBillingCommitmentInput { status },
    })
    .await
}

#[tokio::test(start_paused = true)]
async fn billing_commitment_lasts_at_least_a_day() {
    use MinimumThroughputBillingCommitmentInputStatus as In;
    use MinimumThroughputBillingCommitmentStatus as Out;
    let e = emulator();
    let initial = commitment(&e).await;
    assert_eq!(initial.status, Out::Disabled);
    assert_eq!(initial.started_at, None);
    assert_eq!(code(set(&e, In::Disabled).await), "InvalidArgumentException");

    let enabled = set(&e, In::Enabled)
        .await
        .expect("enable")
        .minimum_throughput_billing_commitment
        .expect("commitment");
    assert_eq!(enabled.status, Out::Enabled);
    let started = enabled.started_at.expect("started");
    let earliest = enabled.earliest_allowed_end_at.expect("earliest end");
    assert_eq!(earliest.as_millis() - started.as_millis(), 24 * 3_600_000);
    assert_eq!(code(set(&e, In::Enabled).await), "InvalidArgumentException");

    // Disabling within the first day keeps it in force until the earliest allowed end.
    tokio::time::advance(Duration::from_secs(3600)).await;
    let ending = set(&e, In::Disabled)
        .await
        .expect("disable")
        .minimum_throughput_billing_commitment
        .expect("commitment");
    assert_eq!(ending.status, Out::EnabledUntilEarliestAllowedEnd);
    assert_eq!(ending.ended_at, Some(earliest));
    tokio::time::advance(Duration::from_secs(23 * 3600)).await;
    let ended = commitment(&e).await;
    assert_eq!(ended.status, Out::Disabled);
    assert_eq!(ended.ended_at, Some(earliest));
    assert_eq!(ended.started_at, Some(started));

    // A new commitment starts afresh; after its first day a disable ends it at once.
    set(&e, In::Enabled).await.expect("enable again");
    tokio::time::advance(Duration::from_secs(25 * 3600)).await;
    let now_disabled = set(&e, In::Disabled)
        .await
        .expect("disable")
        .minimum_throughput_billing_commitment
        .expect("commitment");
    assert_eq!(now_disabled.status, Out::Disabled);
    assert!(now_disabled.ended_at > now_disabled.earliest_allowed_end_at);
}
