//! Resources by ARN: TagResource / UntagResource / ListTagsForResource and Put/Get/DeleteResourcePolicy
//! on streams, consumers and channels; the tag limit and character set (also for AddTagsToStream).

use std::collections::BTreeMap;

use kcl_emulator::types::*;
use kcl_emulator::Emulator;

use crate::support::*;

fn tags(pairs: &[(&str, &str)]) -> BTreeMap<String, String> {
    pairs
        .iter()
        .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
        .collect()
}

async fn tag(e: &Emulator, arn: &str, t: BTreeMap<String, String>) -> Result<(), kcl_emulator::KinesisError> {
    e.tag_resource(TagResourceInput {
        tags: t,
        resource_arn: arn.into(),
        ..Default::default()
    })
    .await
    .map(|_| ())
}

async fn list(e: &Emulator, arn: &str) -> Vec<(String, String)> {
    e.list_tags_for_resource(ListTagsForResourceInput {
        resource_arn: arn.into(),
        ..Default::default()
    })
    .await
    .expect("list tags")
    .tags
    .into_iter()
    .map(|t| (t.key, t.value.unwrap_or_default()))
    .collect()
}

async fn consumer_arn(e: &Emulator) -> String {
    e.register_stream_consumer(RegisterStreamConsumerInput {
        stream_arn: e.stream_arn("s"),
        consumer_name: "c".into(),
        ..Default::default()
    })
    .await
    .expect("register")
    .consumer
    .consumer_arn
}

pub(crate) async fn channel(e: &Emulator, name: &str) -> String {
    e.create_channel(CreateChannelInput {
        channel_name: name.into(),
        service_execution_role_arn: "arn:aws:iam::000000000000:role/delivery".into(),
        stream_configuration_list: vec![ChannelStreamConfiguration {
            stream_arn: e.stream_arn("s"),
            record_configuration: RecordConfiguration {
                record_format_type: RecordFormatType::Json,
                gsr_schema_arn: None,
            },
        }],
        s3_destination_configuration: Some(S3DestinationConfiguration {
            storage_configuration: S3StorageConfiguration {
                bucket_arn: "arn:aws:s3:::my-bucket".into(),
                expected_bucket_owner: "000000000000".into(),
                compression_type: "GZIP".into(),
                ..Default::default()
            },
            ..Default::default()
        }),
        ..Default::default()
    })
    .await
    .expect("create channel")
    .channel_description
    .channel_arn
}

#[tokio::test]
async fn tags_by_arn_on_streams_consumers_and_channels() {
    let e = emulator();
    create(&e, "s", 1).await;
    let consumer = consumer_arn(&e).await;
    let channel = channel(&e, "ch").await;
    for arn in [e.stream_arn("s"), consumer.clone(), channel.clone()] {
        tag(&e, &arn, tags(&[("team", "data"), ("env", "dev")]))
            .await
            .expect("tag");
        tag(&e, &arn, tags(&[("env", "prod")])).await.expect("overwrite");
        assert_eq!(
            list(&e, &arn).await,
            vec![("env".into(), "prod".into()), ("team".into(), "data".into())],
            "{arn}"
        );
        e.untag_resource(UntagResourceInput {
            tag_keys: vec!["team".into(), "absent".into()],
            resource_arn: arn.clone(),
            ..Default::default()
        })
        .await
        .expect("untag");
        assert_eq!(list(&e, &arn).await, vec![("env".into(), "prod".into())]);
    }
    // Stream tags by ARN are the stream's tags of ListTagsForStream.
    let by_stream = e
        .list_tags_for_stream(ListTagsForStreamInput {
            stream_name: Some("s".into()),
            ..Default::default()
        })
        .await
        .expect("list tags for stream");
    assert_eq!(by_stream.tags.len(), 1);

    // Unknown resources, malformed ARNs.
    for (arn, expected) in [
        (
            "arn:aws:kinesis:us-east-1:000000000000:stream/none",
            "ResourceNotFoundException",
        ),
        (
            "arn:aws:kinesis:us-east-1:000000000000:channel/none",
            "ResourceNotFoundException",
        ),
        (
            "arn:aws:kinesis:us-east-1:000000000000:stream/s/consumer/none:1",
            "ResourceNotFoundException",
        ),
        ("arn:aws:s3:::bucket", "ValidationException"),
        (
            "arn:aws:kinesis:us-east-1:000000000000:table/x",
            "ValidationException",
        ),
    ] {
        assert_eq!(code(tag(&e, arn, tags(&[("k", "v")])).await), expected, "{arn}");
    }
}

#[tokio::test]
async fn at_most_fifty_tags_of_the_allowed_characters() {
    let e = emulator();
    create(&e, "s", 1).await;
    let arn = e.stream_arn("s");
    let fifty: BTreeMap<String, String> = (0..50).map(|i| (format!("k{i}"), "v".to_owned())).collect();
    tag(&e, &arn, fifty).await.expect("50 tags");
    assert_eq!(
        code(tag(&e, &arn, tags(&[("k50", "v")])).await),
        "InvalidArgumentException"
    );
    // Overwriting existing keys stays within the limit.
    tag(&e, &arn, tags(&[("k0", "new")]))
        .await
        .expect("overwrite at the limit");

    create(&e, "t", 1).await;
    let t = e.stream_arn("t");
    tag(&e, &t, tags(&[("a b_c.d:e/f=g+h-i@j", "Välue 1 + 2 = 3")]))
        .await
        .expect("allowed characters");
    for bad in ["semi;colon", "com,ma", "tab\there", "new\nline"] {
        assert_eq!(
            code(tag(&e, &t, tags(&[(bad, "v")])).await),
            "InvalidArgumentException",
            "key {bad:?}"
        );
        assert_eq!(
            code(tag(&e, &t, tags(&[("k", bad)])).await),
            "InvalidArgumentException",
            "value {bad:?}"
        );
        let add = e
            .add_tags_to_stream(AddTagsToStreamInput {
                stream_name: Some("t".into()),
                tags: tags(&[(bad, "v")]),
                ..Default::default()
            })
            .await;
        assert_eq!(
            code(add),
            "InvalidArgumentException",
            "AddTagsToStream key {bad:?}"
        );
    }
    assert_eq!(code(tag(&e, &t, BTreeMap::new()).await), "ValidationException");
    assert_eq!(code(tag(&e, &t, tags(&[("", "v")])).await), "ValidationException");
}

#[tokio::test]
async fn resource_policies_on_streams_consumers_and_channels() {
    let e = emulator();
    create(&e, "s", 1).await;
    let consumer = consumer_arn(&e).await;
    let channel = channel(&e, "ch").await;
    let policy = r#"{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Principal":{"AWS":"arn:aws:iam::111122223333:root"},"Action":"kinesis:GetRecords","Resource":"*"}]}"#;
    for arn in [e.stream_arn("s"), consumer, channel] {
        let get = || {
            e.get_resource_policy(GetResourcePolicyInput {
                resource_arn: arn.clone(),
                ..Default::default()
            })
        };
        assert_eq!(get().await.expect("get").policy, "{}", "no policy yet: {arn}");
        let delete = e
            .delete_resource_policy(DeleteResourcePolicyInput {
                resource_arn: arn.clone(),
                ..Default::default()
            })
            .await;
        assert_eq!(code(delete), "ResourceNotFoundException", "{arn}");
        e.put_resource_policy(PutResourcePolicyInput {
            resource_arn: arn.clone(),
            policy: policy.into(),
            ..Default::default()
        })
        .await
        .expect("put");
        assert_eq!(get().await.expect("get").policy, policy);
        e.delete_resource_policy(DeleteResourcePolicyInput {
            resource_arn: arn.clone(),
            ..Default::default()
        })
        .await
        .expect("delete");
        assert_eq!(get().await.expect("get").policy, "{}");
    }
    let bad = e
        .put_resource_policy(PutResourcePolicyInput {
            resource_arn: e.stream_arn("s"),
            policy: "not json".into(),
            ..Default::default()
        })
        .await;
    assert_eq!(code(bad), "InvalidArgumentException");
    let missing = e
        .get_resource_policy(GetResourcePolicyInput {
            resource_arn: e.stream_arn("none"),
            ..Default::default()
        })
        .await;
    assert_eq!(code(missing), "ResourceNotFoundException");
}

#[tokio::test]
async fn register_stream_consumer_keeps_its_tags() {
    let e = emulator();
    create(&e, "s", 1).await;
    let arn = e
        .register_stream_consumer(RegisterStreamConsumerInput {
            stream_arn: e.stream_arn("s"),
            consumer_name: "tagged".into(),
            tags: Some(tags(&[("owner", "team-a")])),
        })
        .await
        .expect("register")
        .consumer
        .consumer_arn;
    assert_eq!(list(&e, &arn).await, vec![("owner".into(), "team-a".into())]);
    let bad = e
        .register_stream_consumer(RegisterStreamConsumerInput {
            stream_arn: e.stream_arn("s"),
            consumer_name: "bad".into(),
            tags: Some(tags(&[("a,b", "v")])),
        })
        .await;
    assert_eq!(code(bad), "InvalidArgumentException");
}
