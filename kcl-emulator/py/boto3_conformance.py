"""boto3 against a Kinesis endpoint: create, put, list shards, get records, split, describe.

Usage: python boto3_conformance.py http://127.0.0.1:PORT

Run by kcl-emulator/tests/server_boto3.rs against an in-process kcl-emulator server. Exits non-zero (with
the failing check) on any mismatch. Talks only to the given endpoint, with static test credentials.
"""

import sys
import time
import uuid

import boto3
from botocore.config import Config


def main(endpoint: str) -> int:
    client = boto3.client(
        "kinesis",
        endpoint_url=endpoint,
        region_name="us-east-1",
        aws_access_key_id="test",
        aws_secret_access_key="test",
        config=Config(retries={"max_attempts": 1}),
    )
    checks = 0
    name = "boto3-" + uuid.uuid4().hex[:12]

    def wait_active():
        for _ in range(200):
            status = client.describe_stream_summary(StreamName=name)["StreamDescriptionSummary"]["StreamStatus"]
            if status == "ACTIVE":
                return
            time.sleep(0.025)
        raise AssertionError("stream never became ACTIVE")

    client.create_stream(StreamName=name, ShardCount=2)
    wait_active()
    assert name in client.list_streams()["StreamNames"], "created stream is listed"
    checks += 1

    shards = client.list_shards(StreamName=name)["Shards"]
    assert len(shards) == 2, shards
    checks += 1

    payloads = [b"\x00binary\xff", "text".encode(), b"third"]
    put = client.put_record(StreamName=name, PartitionKey="pk", Data=payloads[0], ExplicitHashKey="1")
    assert put["ShardId"] == shards[0]["ShardId"], put
    batch = client.put_records(
        StreamName=name,
        Records=[{"PartitionKey": "pk", "Data": p, "ExplicitHashKey": "1"} for p in payloads[1:]],
    )
    assert batch["FailedRecordCount"] == 0, batch
    assert len(batch["Records"]) == 2
    checks += 1

    iterator = client.get_shard_iterator(
        StreamName=name, ShardId=put["ShardId"], ShardIteratorType="TRIM_HORIZON"
    )["ShardIterator"]
    got = client.get_records(ShardIterator=iterator)
    assert [r["Data"] for r in got["Records"]] == payloads, got["Records"]
    assert got["Records"][0]["SequenceNumber"] == put["SequenceNumber"]
    # boto3 parses epoch-second timestamps into datetimes.
    assert got["Records"][0]["ApproximateArrivalTimestamp"].year >= 2020
    checks += 1

    parent = shards[0]
    start = int(parent["HashKeyRange"]["StartingHashKey"])
    end = int(parent["HashKeyRange"]["EndingHashKey"])
    client.split_shard(StreamName=name, ShardToSplit=parent["ShardId"], NewStartingHashKey=str((start + end) // 2))
    wait_active()
    described = client.describe_stream(StreamName=name)["StreamDescription"]
    assert described["StreamName"] == name
    assert len(described["Shards"]) == 4, described["Shards"]
    closed = [s for s in described["Shards"] if s["ShardId"] == parent["ShardId"]][0]
    assert "EndingSequenceNumber" in closed["SequenceNumberRange"], closed
    children = [s for s in described["Shards"] if s.get("ParentShardId") == parent["ShardId"]]
    assert len(children) == 2, children
    checks += 1

    # The closed parent still serves its records, then ends with its children.
    iterator = client.get_shard_iterator(
        StreamName=name, ShardId=parent["ShardId"], ShardIteratorType="TRIM_HORIZON"
    )["ShardIterator"]
    seen, child_ids = [], []
    while iterator:
        out = client.get_records(ShardIterator=iterator)
        seen += [r["Data"] for r in out["Records"]]
        child_ids += [c["ShardId"] for c in out.get("ChildShards", [])]
        iterator = out.get("NextShardIterator")
    assert seen == payloads, seen
    assert sorted(child_ids) == sorted(c["ShardId"] for c in children), child_ids
    checks += 1

    try:
        client.describe_stream(StreamName=name + "-missing")
        raise AssertionError("describing a missing stream succeeded")
    except client.exceptions.ResourceNotFoundException:
        checks += 1

    client.delete_stream(StreamName=name)
    print(f"boto3 conformance: {checks} checks passed")
    return 0


if __name__ == "__main__":
    if len(sys.argv) != 2:
        print(__doc__, file=sys.stderr)
        sys.exit(2)
    sys.exit(main(sys.argv[1]))
