// The AWS SDK for JavaScript v3 (@aws-sdk/client-kinesis) against a Kinesis endpoint: the data plane
// (create, put, iterators and reads, list-shards pages), enhanced fan-out (register a consumer,
// SubscribeToShard, deregister), the control plane (encryption, resource policies, tags by ARN, channels)
// and how service errors map to the SDK's exception classes.
//
// Usage: KCL_TEST_KINESIS_ENDPOINT=http://127.0.0.1:PORT node --test conformance.test.cjs
// (with @aws-sdk/client-kinesis resolvable: `npm install` here, or NODE_PATH=<a node_modules holding it>).
//
// The Node.js build of the Kinesis client sends every operation over HTTP/2 (its default request handler
// is NodeHttp2Handler, for SubscribeToShard's event stream): against an http:// endpoint that is HTTP/2
// over cleartext with prior knowledge (h2c), which the kcl-emulator server speaks on its one port.
// Run by kcl-emulator/tests/server/js_sdk.rs against an in-process server; talks only to that endpoint,
// with static test credentials and the SDK's retries off, so each error is the server's.
"use strict";

const { test, after } = require("node:test");
const assert = require("node:assert/strict");
const crypto = require("node:crypto");
const kinesis = require("@aws-sdk/client-kinesis");

const endpoint = process.env.KCL_TEST_KINESIS_ENDPOINT;
if (!endpoint) {
  throw new Error("set KCL_TEST_KINESIS_ENDPOINT to the Kinesis endpoint (http://127.0.0.1:PORT)");
}

const client = new kinesis.KinesisClient({
  endpoint,
  region: "us-east-1",
  credentials: { accessKeyId: "test", secretAccessKey: "test" },
  maxAttempts: 1,
});
after(() => client.destroy());

test("the Node.js Kinesis client talks HTTP/2 (h2c against an http:// endpoint)", () => {
  assert.equal(client.config.requestHandler.constructor.name, "NodeHttp2Handler");
  assert.equal(client.config.requestHandler.metadata.handlerProtocol, "h2");
});

const send = (command) => client.send(command);
const unique = (prefix) => `js-${prefix}-${crypto.randomBytes(5).toString("hex")}`;
const bytes = (text) => new TextEncoder().encode(text);
const text = (data) => new TextDecoder().decode(data);
const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));

async function createStream(name, shardCount) {
  await send(new kinesis.CreateStreamCommand({ StreamName: name, ShardCount: shardCount }));
  const waited = await kinesis.waitUntilStreamExists(
    { client, maxWaitTime: 30, minDelay: 1, maxDelay: 1 },
    { StreamName: name },
  );
  assert.equal(waited.state, "SUCCESS");
  const { StreamDescriptionSummary: s } = await send(
    new kinesis.DescribeStreamSummaryCommand({ StreamName: name }),
  );
  return s;
}

// GetRecords is limited to five calls a second per shard (ProvisionedThroughputExceededException past
// that, from the emulator as from Kinesis): this reader keeps under it, as a real consumer would.
async function getRecords(iterator) {
  await sleep(210);
  return send(new kinesis.GetRecordsCommand({ ShardIterator: iterator }));
}

async function readShard(name, shardId, type = "TRIM_HORIZON", extra = {}) {
  let { ShardIterator: iterator } = await send(
    new kinesis.GetShardIteratorCommand({
      StreamName: name,
      ShardId: shardId,
      ShardIteratorType: type,
      ...extra,
    }),
  );
  const records = [];
  for (;;) {
    const page = await getRecords(iterator);
    records.push(...page.Records);
    if (page.Records.length === 0 || page.MillisBehindLatest === 0) return { records, page };
    iterator = page.NextShardIterator;
  }
}

test("create-stream, describe-stream-summary, list-streams", async () => {
  const name = unique("stream");
  const s = await createStream(name, 2);
  assert.equal(s.StreamName, name);
  assert.equal(s.StreamStatus, "ACTIVE");
  assert.equal(s.StreamARN, `arn:aws:kinesis:us-east-1:000000000000:stream/${name}`);
  assert.equal(s.OpenShardCount, 2);
  assert.equal(s.RetentionPeriodHours, 24);
  assert.deepEqual(s.StreamModeDetails, { StreamMode: "PROVISIONED" });
  // Epoch-second timestamps become Dates.
  assert.ok(s.StreamCreationTimestamp instanceof Date && s.StreamCreationTimestamp.getFullYear() >= 2020);
  const listed = await send(new kinesis.ListStreamsCommand({}));
  assert.ok(listed.StreamNames.includes(name), JSON.stringify(listed.StreamNames));
  const summary = listed.StreamSummaries.find((x) => x.StreamName === name);
  assert.equal(summary.StreamARN, s.StreamARN);
});

test("put-record, put-records, get-shard-iterator and get-records (binary data, every iterator type)", async () => {
  const name = unique("records");
  await createStream(name, 1);
  const shardId = "shardId-000000000000";
  const before = new Date(Date.now() - 1000);
  const binary = new Uint8Array([0, 255, 1, 254]);
  const first = await send(
    new kinesis.PutRecordCommand({ StreamName: name, PartitionKey: "pk", Data: binary }),
  );
  assert.equal(first.ShardId, shardId);
  assert.match(first.SequenceNumber, /^\d+$/);
  const batch = await send(
    new kinesis.PutRecordsCommand({
      StreamName: name,
      Records: [
        { PartitionKey: "a", Data: bytes("two") },
        { PartitionKey: "b", Data: bytes("three"), ExplicitHashKey: "7" },
      ],
    }),
  );
  assert.equal(batch.FailedRecordCount, 0);
  assert.equal(batch.Records.length, 2);
  const sequences = [first.SequenceNumber, ...batch.Records.map((r) => r.SequenceNumber)];

  const { records, page } = await readShard(name, shardId);
  assert.deepEqual(records.map((r) => r.SequenceNumber), sequences);
  assert.deepEqual(Array.from(records[0].Data), Array.from(binary));
  assert.deepEqual(records.slice(1).map((r) => text(r.Data)), ["two", "three"]);
  assert.deepEqual(records.map((r) => r.PartitionKey), ["pk", "a", "b"]);
  assert.ok(records.every((r) => r.ApproximateArrivalTimestamp instanceof Date));
  assert.ok(records[0].ApproximateArrivalTimestamp >= before);
  assert.equal(page.MillisBehindLatest, 0);
  assert.ok(page.NextShardIterator);

  const at = await readShard(name, shardId, "AT_SEQUENCE_NUMBER", { StartingSequenceNumber: sequences[1] });
  assert.deepEqual(at.records.map((r) => r.SequenceNumber), sequences.slice(1));
  const after = await readShard(name, shardId, "AFTER_SEQUENCE_NUMBER", { StartingSequenceNumber: sequences[1] });
  assert.deepEqual(after.records.map((r) => r.SequenceNumber), sequences.slice(2));
  const atTime = await readShard(name, shardId, "AT_TIMESTAMP", { Timestamp: before });
  assert.equal(atTime.records.length, 3);
  const latest = await readShard(name, shardId, "LATEST");
  assert.equal(latest.records.length, 0);
  const fourth = await send(
    new kinesis.PutRecordCommand({ StreamName: name, PartitionKey: "pk", Data: bytes("four") }),
  );
  const more = await getRecords(latest.page.NextShardIterator);
  assert.deepEqual(more.Records.map((r) => r.SequenceNumber), [fourth.SequenceNumber]);
});

test("list-shards (one page, pages of one by NextToken), list-streams through the SDK's paginator", async () => {
  const name = unique("shards");
  await createStream(name, 3);
  const all = await send(new kinesis.ListShardsCommand({ StreamName: name }));
  const ids = all.Shards.map((s) => s.ShardId);
  assert.deepEqual(ids, ["shardId-000000000000", "shardId-000000000001", "shardId-000000000002"]);
  assert.equal(all.Shards[0].HashKeyRange.StartingHashKey, "0");
  assert.equal(all.Shards[2].HashKeyRange.EndingHashKey, (2n ** 128n - 1n).toString());
  // The SDK has no ListShards paginator: after the first page, NextToken goes alone, as Kinesis requires.
  const pages = [];
  let page = await send(new kinesis.ListShardsCommand({ StreamName: name, MaxResults: 1 }));
  pages.push(page.Shards.map((s) => s.ShardId));
  while (page.NextToken) {
    page = await send(new kinesis.ListShardsCommand({ NextToken: page.NextToken, MaxResults: 1 }));
    pages.push(page.Shards.map((s) => s.ShardId));
  }
  assert.deepEqual(pages, ids.map((id) => [id]));

  const other = unique("shards");
  await createStream(other, 1);
  const names = [];
  for await (const p of kinesis.paginateListStreams({ client, pageSize: 1 }, {})) {
    assert.ok(p.StreamNames.length <= 1, JSON.stringify(p));
    names.push(...p.StreamNames);
  }
  assert.ok(names.includes(name) && names.includes(other), JSON.stringify(names));
  assert.equal(new Set(names).size, names.length, JSON.stringify(names));
});

test("register-stream-consumer, SubscribeToShard (event stream over HTTP/2), deregister-stream-consumer", async () => {
  const name = unique("efo");
  const { StreamARN: streamArn } = await createStream(name, 1);
  const payloads = ["one", "two", "three"];
  const put = await send(
    new kinesis.PutRecordsCommand({
      StreamName: name,
      Records: payloads.map((p) => ({ PartitionKey: "k", Data: bytes(p) })),
    }),
  );
  assert.equal(put.FailedRecordCount, 0);

  const { Consumer: consumer } = await send(
    new kinesis.RegisterStreamConsumerCommand({ StreamARN: streamArn, ConsumerName: "reader" }),
  );
  assert.equal(consumer.ConsumerName, "reader");
  assert.ok(consumer.ConsumerARN.startsWith(`${streamArn}/consumer/reader:`), consumer.ConsumerARN);
  let status = consumer.ConsumerStatus;
  for (let i = 0; i < 200 && status !== "ACTIVE"; i++) {
    await sleep(25);
    const d = await send(new kinesis.DescribeStreamConsumerCommand({ ConsumerARN: consumer.ConsumerARN }));
    status = d.ConsumerDescription.ConsumerStatus;
  }
  assert.equal(status, "ACTIVE");

  const abort = new AbortController();
  const out = await client.send(
    new kinesis.SubscribeToShardCommand({
      ConsumerARN: consumer.ConsumerARN,
      ShardId: "shardId-000000000000",
      StartingPosition: { Type: "TRIM_HORIZON" },
    }),
    { abortSignal: abort.signal },
  );
  assert.equal(out.$metadata.httpStatusCode, 200);
  const received = [];
  let continuation;
  const deadline = Date.now() + 20000;
  for await (const event of out.EventStream) {
    assert.ok(event.SubscribeToShardEvent, `unexpected event ${JSON.stringify(Object.keys(event))}`);
    const e = event.SubscribeToShardEvent;
    received.push(...e.Records);
    continuation = e.ContinuationSequenceNumber;
    assert.equal(typeof e.MillisBehindLatest, "number");
    if (received.length >= payloads.length || Date.now() > deadline) break;
  }
  abort.abort();
  assert.deepEqual(received.map((r) => text(r.Data)), payloads);
  assert.deepEqual(
    received.map((r) => r.SequenceNumber),
    put.Records.map((r) => r.SequenceNumber),
  );
  assert.ok(received.every((r) => r.ApproximateArrivalTimestamp instanceof Date));
  assert.equal(continuation, put.Records[2].SequenceNumber);

  const listed = await send(new kinesis.ListStreamConsumersCommand({ StreamARN: streamArn }));
  assert.deepEqual(listed.Consumers.map((c) => c.ConsumerName), ["reader"]);
  await send(new kinesis.DeregisterStreamConsumerCommand({ ConsumerARN: consumer.ConsumerARN }));
  let remaining = ["reader"];
  for (let i = 0; i < 200 && remaining.length > 0; i++) {
    const l = await send(new kinesis.ListStreamConsumersCommand({ StreamARN: streamArn }));
    remaining = l.Consumers.map((c) => c.ConsumerName);
    if (remaining.length > 0) await sleep(25);
  }
  assert.deepEqual(remaining, []);
});

// Polls `describe` until `done` holds of its answer (a stream or channel leaving UPDATING / CREATING).
async function until(describe, done, what) {
  for (let i = 0; i < 400; i++) {
    const answer = await describe();
    if (done(answer)) return answer;
    await sleep(25);
  }
  throw new Error(`${what} never happened`);
}

test("control plane: encryption (and EncryptionType on records read back), resource policies, tags by ARN, channels", async () => {
  const name = unique("control");
  const { StreamARN: streamArn } = await createStream(name, 1);
  const summary = () => send(new kinesis.DescribeStreamSummaryCommand({ StreamName: name }));

  const plain = await send(new kinesis.PutRecordCommand({ StreamName: name, PartitionKey: "k", Data: bytes("plain") }));
  assert.equal(plain.EncryptionType, "NONE");
  await send(
    new kinesis.StartStreamEncryptionCommand({ StreamName: name, EncryptionType: "KMS", KeyId: "alias/aws/kinesis" }),
  );
  const encrypted = await until(summary, (s) => s.StreamDescriptionSummary.StreamStatus === "ACTIVE", "encryption");
  assert.equal(encrypted.StreamDescriptionSummary.EncryptionType, "KMS");
  assert.equal(encrypted.StreamDescriptionSummary.KeyId, "alias/aws/kinesis");
  const secret = await send(new kinesis.PutRecordCommand({ StreamName: name, PartitionKey: "k", Data: bytes("secret") }));
  assert.equal(secret.EncryptionType, "KMS");
  const { records } = await readShard(name, "shardId-000000000000");
  assert.deepEqual(records.map((r) => [text(r.Data), r.EncryptionType]), [["plain", undefined], ["secret", "KMS"]]);

  const policy = JSON.stringify({
    Version: "2012-10-17",
    Statement: [
      {
        Effect: "Allow",
        Principal: { AWS: "arn:aws:iam::000000000000:root" },
        Action: "kinesis:GetRecords",
        Resource: streamArn,
      },
    ],
  });
  await send(new kinesis.PutResourcePolicyCommand({ ResourceARN: streamArn, Policy: policy }));
  assert.deepEqual(
    JSON.parse((await send(new kinesis.GetResourcePolicyCommand({ ResourceARN: streamArn }))).Policy),
    JSON.parse(policy),
  );
  await send(new kinesis.DeleteResourcePolicyCommand({ ResourceARN: streamArn }));
  assert.equal((await send(new kinesis.GetResourcePolicyCommand({ ResourceARN: streamArn }))).Policy, "{}");

  await send(new kinesis.TagResourceCommand({ ResourceARN: streamArn, Tags: { team: "kcl", tier: "test" } }));
  await send(new kinesis.UntagResourceCommand({ ResourceARN: streamArn, TagKeys: ["tier"] }));
  const { Tags: tags } = await send(new kinesis.ListTagsForResourceCommand({ ResourceARN: streamArn }));
  assert.deepEqual(tags, [{ Key: "team", Value: "kcl" }]);

  const channelName = unique("ch");
  const { ChannelDescription: created } = await send(
    new kinesis.CreateChannelCommand({
      ChannelName: channelName,
      ServiceExecutionRoleARN: "arn:aws:iam::000000000000:role/kinesis-channel",
      StreamConfigurationList: [{ StreamARN: streamArn, RecordConfiguration: { RecordFormatType: "JSON" } }],
      S3DestinationConfiguration: {
        DataFreshnessInSeconds: 300,
        StorageConfiguration: {
          BucketARN: "arn:aws:s3:::kcl-channel-bucket",
          ExpectedBucketOwner: "000000000000",
          CompressionType: "GZIP",
        },
      },
    }),
  );
  assert.equal(created.ChannelName, channelName);
  const describe = () => send(new kinesis.DescribeChannelCommand({ ChannelARN: created.ChannelARN }));
  const active = await until(describe, (d) => d.ChannelDescription.ChannelStatus === "ACTIVE", "channel ACTIVE");
  assert.equal(active.ChannelDescription.S3DestinationConfiguration.DataFreshnessInSeconds, 300);
  const listed = await send(new kinesis.ListChannelsCommand({ StreamFilter: [{ StreamARN: streamArn }] }));
  assert.deepEqual(listed.ChannelSummaries.map((c) => c.ChannelARN), [created.ChannelARN]);
  await send(new kinesis.DeleteChannelCommand({ ChannelARN: created.ChannelARN }));
  await until(
    () => describe().then(() => false, (error) => error instanceof kinesis.ResourceNotFoundException),
    (gone) => gone,
    "channel deleted",
  );
});

test("service errors map to the SDK's exception classes, with the HTTP status in $metadata", async () => {
  const missing = unique("missing");
  await assert.rejects(
    send(new kinesis.DescribeStreamSummaryCommand({ StreamName: missing })),
    (error) => {
      assert.ok(error instanceof kinesis.ResourceNotFoundException, `${error.name}: ${error.message}`);
      assert.ok(error instanceof kinesis.KinesisServiceException);
      assert.equal(error.name, "ResourceNotFoundException");
      assert.equal(error.$fault, "client");
      assert.equal(error.$metadata.httpStatusCode, 400);
      assert.ok(error.message.includes(missing), error.message);
      return true;
    },
  );
  const name = unique("errors");
  await createStream(name, 1);
  await assert.rejects(
    send(new kinesis.CreateStreamCommand({ StreamName: name, ShardCount: 1 })),
    (error) => error instanceof kinesis.ResourceInUseException && error.$metadata.httpStatusCode === 400,
  );
  const { ShardIterator: iterator } = await send(
    new kinesis.GetShardIteratorCommand({
      StreamName: name,
      ShardId: "shardId-000000000000",
      ShardIteratorType: "TRIM_HORIZON",
    }),
  );
  // The SDK does not check Limit's upper bound (10000): the server does, with a ValidationException.
  await assert.rejects(send(new kinesis.GetRecordsCommand({ ShardIterator: iterator, Limit: 10001 })), (error) => {
    assert.ok(error instanceof kinesis.ValidationException, `${error.name}: ${error.message}`);
    assert.equal(error.$metadata.httpStatusCode, 400);
    assert.ok(error.message.includes("10000"), error.message);
    return true;
  });
  await assert.rejects(
    send(new kinesis.GetRecordsCommand({ ShardIterator: "not-an-iterator" })),
    (error) => error instanceof kinesis.InvalidArgumentException && error.$metadata.httpStatusCode === 400,
  );
  await assert.rejects(
    send(
      new kinesis.PutRecordCommand({ StreamName: missing, PartitionKey: "k", Data: bytes("x") }),
    ),
    (error) => error instanceof kinesis.ResourceNotFoundException,
  );
});
