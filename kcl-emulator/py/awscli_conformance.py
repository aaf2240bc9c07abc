"""aws-cli (PyPI `awscli`) against a Kinesis endpoint: every `aws kinesis` command, with JSON assertions.

Usage: python awscli_conformance.py AWS_CLI http://127.0.0.1:PORT [CHECK ...]

AWS_CLI is the `aws` command to run (scripts/services.sh installs awscli 1.46.3 into .ci/state/venv).
Each check below is one command group (streams, shards, records, consumers, queues, ...) and runs against
streams of its own; the named checks alone run when CHECK arguments are given. Every command is run as a
separate `aws kinesis ...` process with `--endpoint-url`, `--region us-east-1`, `--output json` and static
test credentials, and its JSON output is parsed and asserted on, not only its exit code.

The aws-cli 1.46 releases carry a Kinesis model of 39 operations; the API of botocore 1.44.18 has 57 (the
one kcl-emulator/model/kinesis.json was reduced from; channels, queues, dead-letter records,
UpdateStreamRecordDistributionStrategy are the newer ones). So the CLI is handed the Kinesis model of the
botocore this python imports, through AWS_DATA_PATH, the CLI's own way of loading extra models: every
command then exists in the CLI, with the CLI's own argument parsing, serialisation and error reporting.
SubscribeToShard is the one operation aws-cli v1 has no command for (an event stream): the JavaScript SDK
suite (kcl-emulator/clients/js) covers it.

Prints one line per check, `PASS <check>`, `UNIMPLEMENTED <check>: <Operation>` (the server answered
UnknownOperationException: the emulator lacks that operation) or `FAIL <check>: <what>` with the command
and its output, then `aws-cli conformance: N passed, N unimplemented, N failed`. Exits 0 only when every
check passed. Run by kcl-emulator/tests/server/awscli.rs against an in-process kcl-emulator server.
"""

import base64
import concurrent.futures
import datetime
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
import traceback
import uuid

REGION = "us-east-1"


class CliError(Exception):
    """`aws` exited non-zero. `code` is the service's error code when the CLI printed one."""

    def __init__(self, argv, returncode, stdout, stderr):
        self.argv, self.returncode, self.stdout, self.stderr = argv, returncode, stdout, stderr
        # aws-cli v1 prints: "An error occurred (Code) when calling the Operation operation: message".
        self.code = self.operation = None
        marker = "An error occurred ("
        if marker in stderr:
            rest = stderr.split(marker, 1)[1]
            self.code = rest.split(")", 1)[0]
            if "when calling the " in rest:
                self.operation = rest.split("when calling the ", 1)[1].split(" operation", 1)[0]
        super().__init__(f"{' '.join(argv)} exited {returncode}: {stderr.strip()}")


class Cli:
    """Runs `aws kinesis ...` against one endpoint."""

    def __init__(self, aws, endpoint, data_path):
        self.aws, self.endpoint = aws, endpoint
        self.env = {
            "PATH": os.environ.get("PATH", "/usr/bin:/bin"),
            "HOME": data_path,
            "AWS_ACCESS_KEY_ID": "test",
            "AWS_SECRET_ACCESS_KEY": "test",
            "AWS_DEFAULT_REGION": REGION,
            "AWS_CONFIG_FILE": os.path.join(data_path, "no-config"),
            "AWS_SHARED_CREDENTIALS_FILE": os.path.join(data_path, "no-credentials"),
            "AWS_EC2_METADATA_DISABLED": "true",
            "AWS_DATA_PATH": data_path,
            # Errors as the server sent them: no retries behind the test's back.
            "AWS_MAX_ATTEMPTS": "1",
            "AWS_RETRY_MODE": "standard",
        }

    def argv(self, args):
        return [self.aws, "kinesis", *args, "--endpoint-url", self.endpoint, "--region", REGION, "--output", "json"]

    def __call__(self, *args):
        """The command's parsed JSON output ({} when it prints nothing); CliError when it fails."""
        argv = self.argv([str(a) for a in args])
        done = subprocess.run(argv, env=self.env, capture_output=True, text=True, timeout=120)
        if done.returncode != 0:
            raise CliError(argv, done.returncode, done.stdout, done.stderr)
        return json.loads(done.stdout) if done.stdout.strip() else {}

    def fails(self, code, *args):
        """Runs a command that must fail with the service error `code`; returns the CliError."""
        try:
            out = self(*args)
        except CliError as error:
            if error.code == "UnknownOperationException":
                raise
            assert error.code == code, f"expected {code}, got {error}"
            # aws-cli v1 exits 255 when the service answered with an error (v2: 254).
            assert error.returncode == 255, f"exit code {error.returncode} for a service error: {error}"
            return error
        raise AssertionError(f"{' '.join(args)} succeeded, expected {code}: {out}")

    def wait(self, *args):
        argv = [self.aws, "kinesis", "wait", *args, "--endpoint-url", self.endpoint, "--region", REGION]
        done = subprocess.run(argv, env=self.env, capture_output=True, text=True, timeout=300)
        if done.returncode != 0:
            raise CliError(argv, done.returncode, done.stdout, done.stderr)


CHECKS = []


def check(fn):
    """Registers a check: a function of (cli, ctx) that raises on a mismatch."""
    CHECKS.append(fn)
    return fn


def unique(prefix):
    return f"cli-{prefix}-{uuid.uuid4().hex[:10]}"


def b64(data: bytes) -> str:
    return base64.b64encode(data).decode()


def create_stream(cli, name, shards=None, mode=None):
    """Creates a stream, waits (`aws kinesis wait stream-exists`) until ACTIVE, returns its summary."""
    args = ["create-stream", "--stream-name", name]
    if shards is not None:
        args += ["--shard-count", shards]
    if mode is not None:
        args += ["--stream-mode-details", f"StreamMode={mode}"]
    assert cli(*args) == {}, "CreateStream has no output"
    cli.wait("stream-exists", "--stream-name", name)
    return summary(cli, name)


def summary(cli, name):
    return cli("describe-stream-summary", "--stream-name", name)["StreamDescriptionSummary"]


def wait_active(cli, name):
    for _ in range(400):
        s = summary(cli, name)
        if s["StreamStatus"] == "ACTIVE":
            return s
        time.sleep(0.025)
    raise AssertionError(f"{name} never became ACTIVE")


def shard_iterator(cli, name, shard_id, kind, *extra):
    return cli(
        "get-shard-iterator", "--stream-name", name, "--shard-id", shard_id, "--shard-iterator-type", kind, *extra
    )["ShardIterator"]


def read_all(cli, iterator, limit=None):
    """Records from `iterator` until a page comes back empty or caught up."""
    records = []
    while iterator:
        args = ["get-records", "--shard-iterator", iterator]
        if limit:
            args += ["--limit", limit]
        page = cli(*args)
        records += page["Records"]
        if not page["Records"] or page.get("MillisBehindLatest") == 0:
            return records, page
        iterator = page.get("NextShardIterator")
    return records, None


MAX_HASH = 2**128 - 1


@check
def streams(cli, ctx):
    """create-stream (provisioned, on-demand), describe-stream(-summary), list-streams (paged), delete-stream."""
    name = unique("streams")
    s = create_stream(cli, name, shards=2)
    assert s["StreamName"] == name and s["StreamStatus"] == "ACTIVE", s
    assert s["StreamARN"] == f"arn:aws:kinesis:{REGION}:000000000000:stream/{name}", s["StreamARN"]
    assert s["OpenShardCount"] == 2 and s["ConsumerCount"] == 0, s
    assert s["RetentionPeriodHours"] == 24, s
    assert s["StreamModeDetails"] == {"StreamMode": "PROVISIONED"}, s
    assert s["EncryptionType"] == "NONE", s
    assert s["EnhancedMonitoring"] == [{"ShardLevelMetrics": []}], s
    assert isinstance(s["StreamCreationTimestamp"], (int, float)), s

    # The CLI pages describe-stream itself (and then leaves HasMoreShards out): --no-paginate shows the page.
    d = cli("describe-stream", "--stream-name", name, "--no-paginate")["StreamDescription"]
    assert d["StreamARN"] == s["StreamARN"] and d["StreamStatus"] == "ACTIVE", d
    assert d["HasMoreShards"] is False and len(d["Shards"]) == 2, d
    page = cli("describe-stream", "--stream-name", name, "--no-paginate", "--limit", 1)["StreamDescription"]
    assert page["HasMoreShards"] is True and len(page["Shards"]) == 1, page
    rest = cli("describe-stream", "--stream-name", name, "--no-paginate", "--exclusive-start-shard-id",
               page["Shards"][0]["ShardId"])["StreamDescription"]
    assert [x["ShardId"] for x in rest["Shards"]] == [d["Shards"][1]["ShardId"]], rest
    assert d["Shards"][0]["HashKeyRange"]["StartingHashKey"] == "0", d["Shards"]
    assert d["Shards"][-1]["HashKeyRange"]["EndingHashKey"] == str(MAX_HASH), d["Shards"]
    # By ARN as well as by name.
    by_arn = cli("describe-stream-summary", "--stream-arn", s["StreamARN"])["StreamDescriptionSummary"]
    assert by_arn["StreamName"] == name, by_arn

    od = unique("on-demand")
    o = create_stream(cli, od, mode="ON_DEMAND")
    assert o["StreamModeDetails"] == {"StreamMode": "ON_DEMAND"}, o
    assert o["OpenShardCount"] == 4, f"an on-demand stream starts with 4 shards: {o}"

    listed = cli("list-streams")
    assert {name, od} <= set(listed["StreamNames"]), listed
    # As with describe-stream, the CLI's paging leaves HasMoreStreams out; --no-paginate shows it.
    assert cli("list-streams", "--no-paginate")["HasMoreStreams"] is False
    summaries = {x["StreamName"]: x for x in listed["StreamSummaries"]}
    assert summaries[name]["StreamARN"] == s["StreamARN"], summaries[name]
    assert summaries[od]["StreamModeDetails"] == {"StreamMode": "ON_DEMAND"}, summaries[od]

    # One stream a page: the CLI pages with --max-items / --starting-token (the server's NextToken).
    first = cli("list-streams", "--max-items", 1)
    assert len(first["StreamNames"]) == 1 and "NextToken" in first, first
    rest = cli("list-streams", "--starting-token", first["NextToken"])
    # Other checks create streams meanwhile: the pages hold every name once, these two included.
    both = first["StreamNames"] + rest["StreamNames"]
    assert len(both) == len(set(both)) and {name, od} <= set(both), (first, rest)
    # The server's own paging, without the CLI's paginator.
    page = cli("list-streams", "--no-paginate", "--limit", 1)
    assert len(page["StreamNames"]) == 1 and page["HasMoreStreams"] is True, page

    assert cli("delete-stream", "--stream-name", od) == {}
    cli.wait("stream-not-exists", "--stream-name", od)
    assert od not in cli("list-streams")["StreamNames"]


@check
def shards(cli, ctx):
    """list-shards: all, pages (--max-results / --next-token), every shard filter, after a split."""
    name = unique("shards")
    create_stream(cli, name, shards=4)
    listed = cli("list-shards", "--stream-name", name)["Shards"]
    ids = [x["ShardId"] for x in listed]
    assert ids == [f"shardId-00000000000{i}" for i in range(4)], ids
    ranges = [(int(x["HashKeyRange"]["StartingHashKey"]), int(x["HashKeyRange"]["EndingHashKey"])) for x in listed]
    assert ranges[0][0] == 0 and ranges[-1][1] == MAX_HASH, ranges
    assert all(ranges[i][1] + 1 == ranges[i + 1][0] for i in range(3)), f"hash ranges not contiguous: {ranges}"
    assert all("StartingSequenceNumber" in x["SequenceNumberRange"] for x in listed), listed

    page = cli("list-shards", "--stream-name", name, "--max-results", 3, "--no-paginate")
    assert [x["ShardId"] for x in page["Shards"]] == ids[:3] and "NextToken" in page, page
    page2 = cli("list-shards", "--next-token", page["NextToken"], "--no-paginate")
    assert [x["ShardId"] for x in page2["Shards"]] == ids[3:] and "NextToken" not in page2, page2
    paged = cli("list-shards", "--stream-name", name, "--max-items", 2)
    assert [x["ShardId"] for x in paged["Shards"]] == ids[:2] and "NextToken" in paged, paged

    after = cli("list-shards", "--stream-name", name, "--exclusive-start-shard-id", ids[1])["Shards"]
    assert [x["ShardId"] for x in after] == ids[2:], after

    parent = listed[0]
    lo, hi = ranges[0]
    cli("split-shard", "--stream-name", name, "--shard-to-split", parent["ShardId"], "--new-starting-hash-key", (lo + hi) // 2)
    wait_active(cli, name)

    def filtered(*spec):
        return [x["ShardId"] for x in cli("list-shards", "--stream-name", name, "--shard-filter", *spec)["Shards"]]

    everything = [x["ShardId"] for x in cli("list-shards", "--stream-name", name)["Shards"]]
    assert len(everything) == 6, everything
    children = sorted(set(everything) - set(ids))
    open_now = sorted(ids[1:] + children)
    assert sorted(filtered("Type=AT_LATEST")) == open_now, filtered("Type=AT_LATEST")
    # AT_TRIM_HORIZON: the shards open at the trim horizon (the four first ones); FROM_TRIM_HORIZON: all.
    assert sorted(filtered("Type=AT_TRIM_HORIZON")) == ids, filtered("Type=AT_TRIM_HORIZON")
    assert sorted(filtered("Type=FROM_TRIM_HORIZON")) == sorted(everything)
    assert filtered(f"Type=AFTER_SHARD_ID,ShardId={ids[0]}") == [x for x in everything if x > ids[0]]
    future = (datetime.datetime.now(datetime.timezone.utc) + datetime.timedelta(minutes=5)).isoformat()
    assert sorted(filtered(f"Type=AT_TIMESTAMP,Timestamp={future}")) == open_now
    past = "2000-01-01T00:00:00Z"
    assert sorted(filtered(f"Type=FROM_TIMESTAMP,Timestamp={past}")) == sorted(everything)


@check
def records(cli, ctx):
    """put-record, put-records, get-shard-iterator (all five types), get-records."""
    name = unique("records")
    create_stream(cli, name, shards=1)
    before = time.time() - 1
    first = cli("put-record", "--stream-name", name, "--partition-key", "pk", "--data", "first")
    assert first["ShardId"] == "shardId-000000000000", first
    assert first["SequenceNumber"].isdigit(), first
    assert first.get("EncryptionType", "NONE") == "NONE", first
    # Binary data from a file (fileb://), and ordering against the first record.
    with tempfile.NamedTemporaryFile(delete=False) as f:
        f.write(b"\x00\xffbinary")
    second = cli(
        "put-record", "--stream-name", name, "--partition-key", "pk", "--data", f"fileb://{f.name}",
        "--sequence-number-for-ordering", first["SequenceNumber"],
    )
    os.unlink(f.name)
    assert int(second["SequenceNumber"]) > int(first["SequenceNumber"]), (first, second)
    batch = cli(
        "put-records", "--stream-name", name,
        "--records", "PartitionKey=a,Data=third", "PartitionKey=b,Data=fourth,ExplicitHashKey=7",
    )
    assert batch["FailedRecordCount"] == 0 and len(batch["Records"]) == 2, batch
    assert all(r["ShardId"] == "shardId-000000000000" and "SequenceNumber" in r for r in batch["Records"]), batch
    payloads = [b"first", b"\x00\xffbinary", b"third", b"fourth"]
    sequences = [first["SequenceNumber"], second["SequenceNumber"]] + [r["SequenceNumber"] for r in batch["Records"]]

    shard = "shardId-000000000000"
    got, last = read_all(cli, shard_iterator(cli, name, shard, "TRIM_HORIZON"))
    assert [base64.b64decode(r["Data"]) for r in got] == payloads, got
    assert [r["SequenceNumber"] for r in got] == sequences, got
    assert [r["PartitionKey"] for r in got] == ["pk", "pk", "a", "b"], got
    assert all(r["ApproximateArrivalTimestamp"] >= before for r in got), got
    assert last["MillisBehindLatest"] == 0 and "NextShardIterator" in last, last

    page = cli("get-records", "--shard-iterator", shard_iterator(cli, name, shard, "TRIM_HORIZON"), "--limit", 1)
    assert [r["SequenceNumber"] for r in page["Records"]] == sequences[:1], page

    at = shard_iterator(cli, name, shard, "AT_SEQUENCE_NUMBER", "--starting-sequence-number", sequences[2])
    assert [r["SequenceNumber"] for r in read_all(cli, at)[0]] == sequences[2:]
    after = shard_iterator(cli, name, shard, "AFTER_SEQUENCE_NUMBER", "--starting-sequence-number", sequences[2])
    assert [r["SequenceNumber"] for r in read_all(cli, after)[0]] == sequences[3:]
    at_time = shard_iterator(cli, name, shard, "AT_TIMESTAMP", "--timestamp", before)
    assert len(read_all(cli, at_time)[0]) == 4

    latest = shard_iterator(cli, name, shard, "LATEST")
    empty = cli("get-records", "--shard-iterator", latest)
    assert empty["Records"] == [] and empty["MillisBehindLatest"] == 0, empty
    fifth = cli("put-record", "--stream-name", name, "--partition-key", "pk", "--data", "fifth")
    more = cli("get-records", "--shard-iterator", empty["NextShardIterator"])
    assert [r["SequenceNumber"] for r in more["Records"]] == [fifth["SequenceNumber"]], more
    assert base64.b64decode(more["Records"][0]["Data"]) == b"fifth"


@check
def resharding(cli, ctx):
    """split-shard, merge-shards, update-shard-count, and the closed parent's last read (ChildShards)."""
    name = unique("reshard")
    create_stream(cli, name, shards=2)
    put = cli("put-record", "--stream-name", name, "--partition-key", "k", "--data", "x", "--explicit-hash-key", 1)
    assert put["ShardId"] == "shardId-000000000000", put
    shards_before = cli("list-shards", "--stream-name", name)["Shards"]
    lo = int(shards_before[0]["HashKeyRange"]["StartingHashKey"])
    hi = int(shards_before[0]["HashKeyRange"]["EndingHashKey"])
    assert cli("split-shard", "--stream-name", name, "--shard-to-split", "shardId-000000000000",
               "--new-starting-hash-key", (lo + hi) // 2 + 1) == {}
    cli.wait("stream-exists", "--stream-name", name)
    d = cli("describe-stream", "--stream-name", name)["StreamDescription"]
    by_id = {x["ShardId"]: x for x in d["Shards"]}
    assert len(by_id) == 4, d["Shards"]
    assert "EndingSequenceNumber" in by_id["shardId-000000000000"]["SequenceNumberRange"], by_id
    children = [x for x in d["Shards"] if x.get("ParentShardId") == "shardId-000000000000"]
    assert len(children) == 2, d["Shards"]
    assert children[0]["HashKeyRange"]["EndingHashKey"] == str((lo + hi) // 2), children

    # Reading the closed parent ends with its children named.
    got, last = read_all(cli, shard_iterator(cli, name, "shardId-000000000000", "TRIM_HORIZON"))
    it = shard_iterator(cli, name, "shardId-000000000000", "TRIM_HORIZON")
    child_ids = []
    while it:
        page = cli("get-records", "--shard-iterator", it)
        child_ids += [c["ShardId"] for c in page.get("ChildShards", [])]
        it = page.get("NextShardIterator")
    assert sorted(child_ids) == sorted(c["ShardId"] for c in children), child_ids

    assert cli("merge-shards", "--stream-name", name, "--shard-to-merge", children[0]["ShardId"],
               "--adjacent-shard-to-merge", children[1]["ShardId"]) == {}
    wait_active(cli, name)
    s = summary(cli, name)
    assert s["OpenShardCount"] == 2, s
    merged = [x for x in cli("list-shards", "--stream-name", name)["Shards"]
              if x.get("AdjacentParentShardId") == children[1]["ShardId"]]
    assert len(merged) == 1 and merged[0]["ParentShardId"] == children[0]["ShardId"], merged
    assert merged[0]["HashKeyRange"] == {"StartingHashKey": "0", "EndingHashKey": str(hi)}, merged

    out = cli("update-shard-count", "--stream-name", name, "--target-shard-count", 4, "--scaling-type", "UNIFORM_SCALING")
    assert out["StreamName"] == name and out["CurrentShardCount"] == 2 and out["TargetShardCount"] == 4, out
    assert out["StreamARN"] == s["StreamARN"], out
    wait_active(cli, name)
    assert summary(cli, name)["OpenShardCount"] == 4


@check
def retention(cli, ctx):
    """increase/decrease-stream-retention-period, and the bounds' InvalidArgumentException."""
    name = unique("retention")
    create_stream(cli, name, shards=1)
    assert cli("increase-stream-retention-period", "--stream-name", name, "--retention-period-hours", 48) == {}
    assert wait_active(cli, name)["RetentionPeriodHours"] == 48
    assert cli("decrease-stream-retention-period", "--stream-name", name, "--retention-period-hours", 24) == {}
    assert wait_active(cli, name)["RetentionPeriodHours"] == 24
    cli.fails("InvalidArgumentException", "decrease-stream-retention-period", "--stream-name", name,
              "--retention-period-hours", 12)
    cli.fails("InvalidArgumentException", "increase-stream-retention-period", "--stream-name", name,
              "--retention-period-hours", 12)


@check
def stream_tags(cli, ctx):
    """create-stream --tags, add-tags-to-stream, list-tags-for-stream (paged), remove-tags-from-stream."""
    name = unique("tags")
    assert cli("create-stream", "--stream-name", name, "--shard-count", 1, "--tags", "team=data") == {}
    cli.wait("stream-exists", "--stream-name", name)
    assert cli("add-tags-to-stream", "--stream-name", name, "--tags", "env=test,owner=kcl") == {}
    tags = cli("list-tags-for-stream", "--stream-name", name)
    assert tags["HasMoreTags"] is False, tags
    assert tags["Tags"] == [{"Key": "env", "Value": "test"}, {"Key": "owner", "Value": "kcl"},
                            {"Key": "team", "Value": "data"}], tags
    page = cli("list-tags-for-stream", "--stream-name", name, "--limit", 1, "--exclusive-start-tag-key", "env")
    assert page == {"Tags": [{"Key": "owner", "Value": "kcl"}], "HasMoreTags": True}, page
    assert cli("remove-tags-from-stream", "--stream-name", name, "--tag-keys", "env", "team") == {}
    assert cli("list-tags-for-stream", "--stream-name", name)["Tags"] == [{"Key": "owner", "Value": "kcl"}]


@check
def resource_tags(cli, ctx):
    """tag-resource, list-tags-for-resource, untag-resource on a stream and a consumer ARN."""
    name = unique("rtags")
    arn = create_stream(cli, name, shards=1)["StreamARN"]
    assert cli("tag-resource", "--resource-arn", arn, "--tags", "env=test,owner=kcl") == {}
    tags = cli("list-tags-for-resource", "--resource-arn", arn)["Tags"]
    assert sorted(tags, key=lambda t: t["Key"]) == [{"Key": "env", "Value": "test"}, {"Key": "owner", "Value": "kcl"}], tags
    # The same tags as the stream-named API sees them.
    assert cli("list-tags-for-stream", "--stream-name", name)["Tags"] == sorted(tags, key=lambda t: t["Key"])
    assert cli("untag-resource", "--resource-arn", arn, "--tag-keys", "env") == {}
    assert cli("list-tags-for-resource", "--resource-arn", arn)["Tags"] == [{"Key": "owner", "Value": "kcl"}]
    consumer = cli("register-stream-consumer", "--stream-arn", arn, "--consumer-name", "tagged")["Consumer"]["ConsumerARN"]
    assert cli("tag-resource", "--resource-arn", consumer, "--tags", "app=reader") == {}
    assert cli("list-tags-for-resource", "--resource-arn", consumer)["Tags"] == [{"Key": "app", "Value": "reader"}]
    cli.fails("ResourceNotFoundException", "list-tags-for-resource", "--resource-arn", arn + "-missing")


@check
def stream_mode(cli, ctx):
    """update-stream-mode PROVISIONED -> ON_DEMAND -> PROVISIONED."""
    name = unique("mode")
    arn = create_stream(cli, name, shards=1)["StreamARN"]
    assert cli("update-stream-mode", "--stream-arn", arn, "--stream-mode-details", "StreamMode=ON_DEMAND") == {}
    assert wait_active(cli, name)["StreamModeDetails"] == {"StreamMode": "ON_DEMAND"}
    listed = {x["StreamName"]: x for x in cli("list-streams")["StreamSummaries"]}
    assert listed[name]["StreamModeDetails"] == {"StreamMode": "ON_DEMAND"}, listed[name]
    assert cli("update-stream-mode", "--stream-arn", arn, "--stream-mode-details", "StreamMode=PROVISIONED") == {}
    assert wait_active(cli, name)["StreamModeDetails"] == {"StreamMode": "PROVISIONED"}


@check
def consumers(cli, ctx):
    """register/describe/list/deregister-stream-consumer; ConsumerCount in the summary."""
    name = unique("consumers")
    arn = create_stream(cli, name, shards=1)["StreamARN"]
    c = cli("register-stream-consumer", "--stream-arn", arn, "--consumer-name", "reader")["Consumer"]
    assert c["ConsumerName"] == "reader" and c["ConsumerStatus"] in ("CREATING", "ACTIVE"), c
    assert c["ConsumerARN"].startswith(arn + "/consumer/reader:"), c
    for _ in range(400):
        d = cli("describe-stream-consumer", "--consumer-arn", c["ConsumerARN"])["ConsumerDescription"]
        if d["ConsumerStatus"] == "ACTIVE":
            break
        time.sleep(0.025)
    assert d["ConsumerStatus"] == "ACTIVE" and d["StreamARN"] == arn and d["ConsumerName"] == "reader", d
    by_name = cli("describe-stream-consumer", "--stream-arn", arn, "--consumer-name", "reader")["ConsumerDescription"]
    assert by_name["ConsumerARN"] == c["ConsumerARN"], by_name
    cli("register-stream-consumer", "--stream-arn", arn, "--consumer-name", "second")
    listed = cli("list-stream-consumers", "--stream-arn", arn)["Consumers"]
    assert sorted(x["ConsumerName"] for x in listed) == ["reader", "second"], listed
    page = cli("list-stream-consumers", "--stream-arn", arn, "--max-results", 1, "--no-paginate")
    assert len(page["Consumers"]) == 1 and "NextToken" in page, page
    assert summary(cli, name)["ConsumerCount"] == 2
    cli.fails("ResourceInUseException", "register-stream-consumer", "--stream-arn", arn, "--consumer-name", "reader")
    assert cli("deregister-stream-consumer", "--consumer-arn", c["ConsumerARN"]) == {}
    assert cli("deregister-stream-consumer", "--stream-arn", arn, "--consumer-name", "second") == {}
    for _ in range(400):
        if not cli("list-stream-consumers", "--stream-arn", arn)["Consumers"]:
            break
        time.sleep(0.025)
    assert cli("list-stream-consumers", "--stream-arn", arn)["Consumers"] == []
    cli.fails("ResourceNotFoundException", "describe-stream-consumer", "--consumer-arn", c["ConsumerARN"])


@check
def encryption(cli, ctx):
    """start-stream-encryption / stop-stream-encryption (KMS), seen in the summary and on put-record."""
    name = unique("kms")
    create_stream(cli, name, shards=1)
    key = "alias/aws/kinesis"
    assert cli("start-stream-encryption", "--stream-name", name, "--encryption-type", "KMS", "--key-id", key) == {}
    s = wait_active(cli, name)
    assert s["EncryptionType"] == "KMS" and s["KeyId"] == key, s
    assert cli("describe-stream", "--stream-name", name)["StreamDescription"]["EncryptionType"] == "KMS"
    put = cli("put-record", "--stream-name", name, "--partition-key", "k", "--data", "secret")
    assert put["EncryptionType"] == "KMS", put
    assert cli("stop-stream-encryption", "--stream-name", name, "--encryption-type", "KMS", "--key-id", key) == {}
    s = wait_active(cli, name)
    assert s["EncryptionType"] == "NONE" and "KeyId" not in s, s


@check
def enhanced_monitoring(cli, ctx):
    """enable-enhanced-monitoring / disable-enhanced-monitoring: current and desired metrics."""
    name = unique("metrics")
    create_stream(cli, name, shards=1)
    on = cli("enable-enhanced-monitoring", "--stream-name", name, "--shard-level-metrics", "IncomingBytes", "OutgoingBytes")
    assert on["StreamName"] == name and on["CurrentShardLevelMetrics"] == [], on
    assert sorted(on["DesiredShardLevelMetrics"]) == ["IncomingBytes", "OutgoingBytes"], on
    s = wait_active(cli, name)
    assert sorted(s["EnhancedMonitoring"][0]["ShardLevelMetrics"]) == ["IncomingBytes", "OutgoingBytes"], s
    off = cli("disable-enhanced-monitoring", "--stream-name", name, "--shard-level-metrics", "IncomingBytes")
    assert sorted(off["CurrentShardLevelMetrics"]) == ["IncomingBytes", "OutgoingBytes"], off
    assert off["DesiredShardLevelMetrics"] == ["OutgoingBytes"], off
    assert wait_active(cli, name)["EnhancedMonitoring"] == [{"ShardLevelMetrics": ["OutgoingBytes"]}]
    # "ALL enables every metric"; the API reference leaves open whether the answer spells them out.
    all_on = cli("enable-enhanced-monitoring", "--stream-name", name, "--shard-level-metrics", "ALL")
    seven = {"IncomingBytes", "IncomingRecords", "OutgoingBytes", "OutgoingRecords",
             "WriteProvisionedThroughputExceeded", "ReadProvisionedThroughputExceeded", "IteratorAgeMilliseconds"}
    assert set(all_on["DesiredShardLevelMetrics"]) in (seven, {"ALL"}), all_on


@check
def limits(cli, ctx):
    """describe-limits: the server's shard limit, and open shards / on-demand streams counted over every stream."""
    create_stream(cli, unique("limits"), shards=3)
    create_stream(cli, unique("limits-od"), mode="ON_DEMAND")
    out = cli("describe-limits")
    assert out["ShardLimit"] == 500, f"the server's default --shard-limit is 500: {out}"
    open_shards = on_demand = 0
    for name in cli("list-streams")["StreamNames"]:
        s = summary(cli, name)
        open_shards += s["OpenShardCount"]
        on_demand += s["StreamModeDetails"]["StreamMode"] == "ON_DEMAND"
    assert out["OpenShardCount"] == open_shards, (out, open_shards)
    assert out["OnDemandStreamCount"] == on_demand, (out, on_demand)
    assert out["OnDemandStreamCountLimit"] >= on_demand, out


@check
def account_settings(cli, ctx):
    """describe-account-settings / update-account-settings: the minimum throughput billing commitment."""
    before = cli("describe-account-settings")
    status = before.get("MinimumThroughputBillingCommitment", {"Status": "DISABLED"})["Status"]
    assert status == "DISABLED", before
    on = cli("update-account-settings", "--minimum-throughput-billing-commitment", "Status=ENABLED")
    commitment = on["MinimumThroughputBillingCommitment"]
    assert commitment["Status"] == "ENABLED", on
    # A commitment lasts at least 24 hours.
    assert commitment["EarliestAllowedEndAt"] - commitment["StartedAt"] >= 24 * 3600, on
    assert cli("describe-account-settings") == on
    # Ending it early schedules the end instead.
    off = cli("update-account-settings", "--minimum-throughput-billing-commitment", "Status=DISABLED")
    assert off["MinimumThroughputBillingCommitment"]["Status"] == "ENABLED_UNTIL_EARLIEST_ALLOWED_END", off
    again = cli("update-account-settings", "--minimum-throughput-billing-commitment", "Status=ENABLED")
    assert again["MinimumThroughputBillingCommitment"]["Status"] == "ENABLED", again


@check
def resource_policy(cli, ctx):
    """put-resource-policy / get-resource-policy / delete-resource-policy on a stream."""
    name = unique("policy")
    arn = create_stream(cli, name, shards=1)["StreamARN"]
    policy = {
        "Version": "2012-10-17",
        "Statement": [{
            "Sid": "reader",
            "Effect": "Allow",
            "Principal": {"AWS": "arn:aws:iam::111122223333:root"},
            "Action": ["kinesis:GetRecords", "kinesis:GetShardIterator", "kinesis:DescribeStreamSummary"],
            "Resource": arn,
        }],
    }
    assert cli("put-resource-policy", "--resource-arn", arn, "--policy", json.dumps(policy)) == {}
    got = cli("get-resource-policy", "--resource-arn", arn)
    assert json.loads(got["Policy"]) == policy, got
    assert cli("delete-resource-policy", "--resource-arn", arn) == {}
    # The API reference does not say how a stream without a policy answers: an empty policy document or
    # ResourceNotFoundException; either shows the policy gone.
    try:
        after = cli("get-resource-policy", "--resource-arn", arn)
        assert json.loads(after["Policy"]) == {}, f"the deleted policy is still there: {after}"
    except CliError as error:
        assert error.code == "ResourceNotFoundException", error
    cli.fails("ResourceNotFoundException", "get-resource-policy", "--resource-arn", arn + "-missing")


@check
def max_record_size(cli, ctx):
    """update-max-record-size: MaxRecordSizeInKiB in the summary; a value over 10240 is refused by the server."""
    name = unique("size")
    s = create_stream(cli, name, shards=1)
    assert cli("update-max-record-size", "--stream-arn", s["StreamARN"], "--max-record-size-in-ki-b", 2048) == {}
    assert wait_active(cli, name)["MaxRecordSizeInKiB"] == 2048
    fresh = create_stream(cli, unique("size-default"), shards=1)
    assert fresh["MaxRecordSizeInKiB"] == 1024, f"records are 1 MiB at most by default: {fresh}"
    cli.fails("ValidationException", "update-max-record-size", "--stream-arn", s["StreamARN"],
              "--max-record-size-in-ki-b", 10241)


@check
def warm_throughput(cli, ctx):
    """update-stream-warm-throughput on an on-demand stream: the target in the output and the summary."""
    name = unique("warm")
    create_stream(cli, name, mode="ON_DEMAND")
    out = cli("update-stream-warm-throughput", "--stream-name", name, "--warm-throughput-mi-bps", 100)
    assert out["StreamName"] == name and out["WarmThroughput"]["TargetMiBps"] == 100, out
    assert out["StreamARN"] == summary(cli, name)["StreamARN"], out
    s = wait_active(cli, name)
    assert s["WarmThroughput"]["TargetMiBps"] == 100, s


@check
def record_distribution(cli, ctx):
    """update-stream-record-distribution-strategy: on-demand streams only (AUTO on a provisioned one is refused)."""
    name = unique("dist")
    s = create_stream(cli, name, mode="ON_DEMAND")
    assert s.get("RecordDistributionStrategy", "USER_PARTITION_KEY") == "USER_PARTITION_KEY", s
    assert cli("update-stream-record-distribution-strategy", "--stream-arn", s["StreamARN"],
               "--record-distribution-strategy", "AUTO") == {}
    assert wait_active(cli, name)["RecordDistributionStrategy"] == "AUTO"
    assert cli("update-stream-record-distribution-strategy", "--stream-arn", s["StreamARN"],
               "--record-distribution-strategy", "USER_PARTITION_KEY") == {}
    assert wait_active(cli, name)["RecordDistributionStrategy"] == "USER_PARTITION_KEY"
    provisioned = create_stream(cli, unique("dist-p"), shards=1)
    cli.fails("InvalidArgumentException", "update-stream-record-distribution-strategy", "--stream-arn",
              provisioned["StreamARN"], "--record-distribution-strategy", "AUTO")


@check
def channels(cli, ctx):
    """create/describe/list/update/delete-channel (an S3 destination) and `wait channel-active`."""
    name = unique("channel")
    arn = create_stream(cli, name, shards=1)["StreamARN"]
    channel = unique("ch")
    config = {
        "ChannelName": channel,
        "ServiceExecutionRoleARN": "arn:aws:iam::000000000000:role/kinesis-channel",
        "StreamConfigurationList": [{"StreamARN": arn, "RecordConfiguration": {"RecordFormatType": "JSON"}}],
        "S3DestinationConfiguration": {
            "DataFreshnessInSeconds": 300,
            "StorageConfiguration": {
                "BucketARN": "arn:aws:s3:::kcl-channel-bucket",
                "ExpectedBucketOwner": "000000000000",
                "CompressionType": "GZIP",
            },
            "DeadLetterQueueS3Configuration": {
                "BucketARN": "arn:aws:s3:::kcl-channel-dlq",
                "ExpectedBucketOwner": "000000000000",
            },
        },
    }
    created = cli("create-channel", "--cli-input-json", json.dumps(config))["ChannelDescription"]
    assert created["ChannelName"] == channel and created["ChannelStatus"] in ("CREATING", "ACTIVE"), created
    assert created["StreamConfigurationList"][0]["StreamARN"] == arn, created
    cli.wait("channel-active", "--channel-arn", created["ChannelARN"])
    d = cli("describe-channel", "--channel-arn", created["ChannelARN"])["ChannelDescription"]
    assert d["ChannelStatus"] == "ACTIVE" and d["ChannelId"] == created["ChannelId"], d
    assert d["S3DestinationConfiguration"]["DataFreshnessInSeconds"] == 300, d
    assert d["S3DestinationConfiguration"]["StorageConfiguration"]["CompressionType"] == "GZIP", d
    listed = cli("list-channels", "--stream-filter", f"StreamARN={arn}")["ChannelSummaries"]
    assert [x["ChannelARN"] for x in listed] == [created["ChannelARN"]], listed
    assert listed[0]["ChannelDestinationType"] == "S3", listed
    assert summary(cli, name)["ChannelCount"] == 1
    updated = cli("update-channel", "--channel-arn", created["ChannelARN"],
                  "--s3-destination-configuration", "DataFreshnessInSeconds=60")["ChannelDescription"]
    assert updated["S3DestinationConfiguration"]["DataFreshnessInSeconds"] == 60, updated
    assert cli("delete-channel", "--channel-arn", created["ChannelARN"]) == {}
    for _ in range(400):
        try:
            cli("describe-channel", "--channel-arn", created["ChannelARN"])
        except CliError as error:
            assert error.code == "ResourceNotFoundException", error
            break
        time.sleep(0.025)
    else:
        raise AssertionError("the channel was never deleted")


def wait_queue_active(cli, queue_arn):
    for _ in range(400):
        q = cli("describe-queue", "--queue-arn", queue_arn)["QueueDescription"]
        if q["QueueStatus"] == "ACTIVE":
            return q
        time.sleep(0.025)
    raise AssertionError(f"queue {queue_arn} never became ACTIVE")


def create_queue(cli, stream_arn, max_receive_count):
    queue = unique("queue")
    out = cli(
        "create-queue", "--queue-name", queue,
        "--stream-configuration-list", f"StreamARN={stream_arn},StartingPosition={{Type=TRIM_HORIZON}}",
        "--queue-attributes",
        f"VisibilityTimeoutSeconds=30,DeadLetterConfiguration={{TargetType=BUILT_IN,MaxReceiveCount={max_receive_count}}}",
    )["QueueDescription"]
    assert out["QueueName"] == queue and out["QueueStatus"] in ("CREATING", "ACTIVE"), out
    return out


@check
def queues(cli, ctx):
    """create/describe/list/update/delete-queue, receive-queue-records, update-queue-records-visibility,
    acknowledge-queue-records."""
    name = unique("queue-stream")
    # Queues read ON_DEMAND streams only (CreateQueue refuses a PROVISIONED one).
    arn = create_stream(cli, name, mode="ON_DEMAND")["StreamARN"]
    q = create_queue(cli, arn, max_receive_count=5)
    qarn = q["QueueARN"]
    d = wait_queue_active(cli, qarn)
    # Once ACTIVE, the starting position carries its effective timestamp (the API reference says so).
    [config] = d["StreamConfigurationList"]
    assert config["StreamARN"] == arn and config["StartingPosition"]["Type"] == "TRIM_HORIZON", d
    assert isinstance(config["StartingPosition"]["Timestamp"], (int, float)), d
    assert d["QueueAttributes"] == {"VisibilityTimeoutSeconds": 30,
                                    "DeadLetterConfiguration": {"TargetType": "BUILT_IN", "MaxReceiveCount": 5}}, d
    listed = cli("list-queues", "--stream-filter", f"StreamARN={arn}")["QueueSummaries"]
    assert [x["QueueARN"] for x in listed] == [qarn], listed
    assert summary(cli, name)["QueueCount"] == 1
    up = cli("update-queue", "--queue-arn", qarn, "--queue-attributes", "VisibilityTimeoutSeconds=60")["QueueDescription"]
    assert up["QueueAttributes"]["VisibilityTimeoutSeconds"] == 60, up
    wait_queue_active(cli, qarn)

    cli("put-records", "--stream-name", name, "--records", "PartitionKey=a,Data=one", "PartitionKey=b,Data=two")
    got = []
    for _ in range(40):
        got += cli("receive-queue-records", "--queue-arn", qarn, "--limit", 10, "--wait-time-seconds", 1)["QueueRecords"]
        if len(got) >= 2:
            break
    assert sorted(base64.b64decode(r["Data"]) for r in got) == [b"one", b"two"], got
    assert all(r["ReceiveCount"] == 1 and r["ReceiptHandle"] and r["RecordId"] for r in got), got
    assert sorted(r["PartitionKey"] for r in got) == ["a", "b"], got
    # In flight: invisible for the visibility timeout.
    again = cli("receive-queue-records", "--queue-arn", qarn, "--limit", 10)["QueueRecords"]
    assert again == [], again
    # Visible again at once, received a second time.
    one = got[0]
    vis = cli("update-queue-records-visibility", "--queue-arn", qarn, "--entries",
              f"ReceiptHandle={one['ReceiptHandle']},VisibilityTimeoutSeconds=0")
    assert vis == {"Successful": [{"ReceiptHandle": one["ReceiptHandle"]}], "Failed": []}, vis
    second = cli("receive-queue-records", "--queue-arn", qarn, "--limit", 10)["QueueRecords"]
    assert [(r["RecordId"], r["ReceiveCount"]) for r in second] == [(one["RecordId"], 2)], second
    handles = [second[0]["ReceiptHandle"], got[1]["ReceiptHandle"]]
    ack = cli("acknowledge-queue-records", "--queue-arn", qarn, "--entries", *[f"ReceiptHandle={h}" for h in handles])
    assert sorted(x["ReceiptHandle"] for x in ack["Successful"]) == sorted(handles) and ack["Failed"] == [], ack
    # Acknowledged records are not delivered again.
    assert cli("receive-queue-records", "--queue-arn", qarn, "--limit", 10)["QueueRecords"] == []
    # A handle the queue never gave out fails on its own entry, the call itself succeeding.
    bogus = cli("acknowledge-queue-records", "--queue-arn", qarn, "--entries", "ReceiptHandle=not-a-receipt-handle")
    assert bogus["Successful"] == [] and [x["ReceiptHandle"] for x in bogus["Failed"]] == ["not-a-receipt-handle"], bogus
    assert bogus["Failed"][0]["ErrorCode"] in ("InvalidArgumentException", "ResourceNotFoundException"), bogus
    assert cli("delete-queue", "--queue-arn", qarn) == {}
    for _ in range(400):
        if not cli("list-queues", "--stream-filter", f"StreamARN={arn}")["QueueSummaries"]:
            break
        time.sleep(0.025)
    cli.fails("ResourceNotFoundException", "describe-queue", "--queue-arn", qarn)


@check
def dead_letter_records(cli, ctx):
    """receive/update-visibility/restore/acknowledge-dead-letter-queue-records after MaxReceiveCount receives."""
    name = unique("dlq-stream")
    arn = create_stream(cli, name, mode="ON_DEMAND")["StreamARN"]
    qarn = create_queue(cli, arn, max_receive_count=1)["QueueARN"]
    wait_queue_active(cli, qarn)
    cli("put-record", "--stream-name", name, "--partition-key", "k", "--data", "poison")
    got = []
    for _ in range(40):
        got = cli("receive-queue-records", "--queue-arn", qarn, "--wait-time-seconds", 1)["QueueRecords"]
        if got:
            break
    assert len(got) == 1 and got[0]["ReceiveCount"] == 1, got
    record_id = got[0]["RecordId"]
    # Received MaxReceiveCount (1) times: once visible again it is a dead-letter record, not a normal one.
    cli("update-queue-records-visibility", "--queue-arn", qarn, "--entries",
        f"ReceiptHandle={got[0]['ReceiptHandle']},VisibilityTimeoutSeconds=0")
    assert cli("receive-queue-records", "--queue-arn", qarn)["QueueRecords"] == []
    dead = cli("receive-dead-letter-queue-records", "--queue-arn", qarn, "--limit", 10)["QueueRecords"]
    assert [r["RecordId"] for r in dead] == [record_id], dead
    assert base64.b64decode(dead[0]["Data"]) == b"poison" and dead[0]["PartitionKey"] == "k", dead
    vis = cli("update-dead-letter-queue-records-visibility", "--queue-arn", qarn, "--entries",
              f"ReceiptHandle={dead[0]['ReceiptHandle']},VisibilityTimeoutSeconds=0")
    assert vis["Failed"] == [] and len(vis["Successful"]) == 1, vis
    dead = cli("receive-dead-letter-queue-records", "--queue-arn", qarn)["QueueRecords"]
    assert [r["RecordId"] for r in dead] == [record_id], dead
    restored = cli("restore-dead-letter-queue-records", "--queue-arn", qarn, "--entries",
                   f"ReceiptHandle={dead[0]['ReceiptHandle']}")
    assert restored["Failed"] == [] and len(restored["Successful"]) == 1, restored
    back = cli("receive-queue-records", "--queue-arn", qarn)["QueueRecords"]
    assert [r["RecordId"] for r in back] == [record_id], back
    cli("update-queue-records-visibility", "--queue-arn", qarn, "--entries",
        f"ReceiptHandle={back[0]['ReceiptHandle']},VisibilityTimeoutSeconds=0")
    dead = cli("receive-dead-letter-queue-records", "--queue-arn", qarn)["QueueRecords"]
    assert [r["RecordId"] for r in dead] == [record_id], dead
    ack = cli("acknowledge-dead-letter-queue-records", "--queue-arn", qarn, "--entries",
              f"ReceiptHandle={dead[0]['ReceiptHandle']}")
    assert ack["Failed"] == [] and len(ack["Successful"]) == 1, ack
    cli("update-dead-letter-queue-records-visibility", "--queue-arn", qarn, "--entries",
        f"ReceiptHandle={dead[0]['ReceiptHandle']},VisibilityTimeoutSeconds=0")
    assert cli("receive-dead-letter-queue-records", "--queue-arn", qarn)["QueueRecords"] == []


@check
def errors(cli, ctx):
    """Service errors as the CLI reports them: exit 254, the error code and the server's message."""
    missing = unique("missing")
    e = cli.fails("ResourceNotFoundException", "describe-stream", "--stream-name", missing)
    assert missing in e.stderr and e.operation == "DescribeStream", e.stderr
    cli.fails("ResourceNotFoundException", "put-record", "--stream-name", missing, "--partition-key", "k", "--data", "x")
    name = unique("errors")
    create_stream(cli, name, shards=1)
    cli.fails("ResourceInUseException", "create-stream", "--stream-name", name, "--shard-count", 1)
    it = shard_iterator(cli, name, "shardId-000000000000", "TRIM_HORIZON")
    # The CLI checks lower bounds only: the upper bound of Limit (10000) is the server's to enforce.
    e = cli.fails("ValidationException", "get-records", "--shard-iterator", it, "--limit", 10001)
    assert "10000" in e.stderr, f"the message names the bound: {e.stderr}"
    cli.fails("InvalidArgumentException", "get-records", "--shard-iterator", "not-an-iterator")
    # The CLI's own validation (exit 255 too, without a service error code) never reaches the server.
    try:
        cli("create-stream", "--stream-name", "", "--shard-count", 1)
        raise AssertionError("an empty stream name passed the CLI's validation")
    except CliError as error:
        assert error.code is None and "Parameter validation failed" in error.stderr, error


def kinesis_model_dir():
    """A folder for AWS_DATA_PATH holding the Kinesis model of the botocore this python imports."""
    import botocore

    source = os.path.join(os.path.dirname(botocore.__file__), "data", "kinesis")
    target = tempfile.mkdtemp(prefix="awscli-models-")
    shutil.copytree(source, os.path.join(target, "kinesis"))
    return target, botocore.__version__


def run_check(fn, cli):
    """Runs one check: (outcome, report line) with outcome PASS, UNIMPLEMENTED or FAIL."""
    started = time.time()
    try:
        fn(cli, {})
    except CliError as error:
        if error.code == "UnknownOperationException":
            return "UNIMPLEMENTED", f"UNIMPLEMENTED {fn.__name__}: {error.operation}"
        return "FAIL", f"FAIL {fn.__name__}: {error}\n  stdout: {error.stdout.strip()}"
    except Exception:  # noqa: BLE001 - every mismatch is reported, then the other checks run
        return "FAIL", f"FAIL {fn.__name__}:\n{traceback.format_exc()}"
    return "PASS", f"PASS {fn.__name__} ({time.time() - started:.1f} s)"


# Checks that count over every stream of the server, so run alone after the others.
ALONE = {"limits"}


def main(argv):
    if len(argv) < 3:
        print(__doc__, file=sys.stderr)
        return 2
    aws, endpoint, wanted = argv[1], argv[2], set(argv[3:])
    unknown = wanted - {fn.__name__ for fn in CHECKS}
    if unknown:
        print(f"unknown checks: {sorted(unknown)}", file=sys.stderr)
        return 2
    data_path, botocore_version = kinesis_model_dir()
    cli = Cli(aws, endpoint, data_path)
    version = subprocess.run([aws, "--version"], capture_output=True, text=True).stdout.strip()
    print(f"{version}, with the Kinesis model of botocore {botocore_version}; endpoint {endpoint}", flush=True)
    selected = [fn for fn in CHECKS if not wanted or fn.__name__ in wanted]
    # Each `aws` run is a python start-up (about a second on a busy machine): the checks, which share
    # nothing, run four at a time.
    results = {}
    try:
        with concurrent.futures.ThreadPoolExecutor(max_workers=4) as pool:
            futures = {fn.__name__: pool.submit(run_check, fn, cli) for fn in selected if fn.__name__ not in ALONE}
            for name, future in futures.items():
                results[name] = future.result()
                print(results[name][1], flush=True)
        for fn in selected:
            if fn.__name__ in ALONE:
                results[fn.__name__] = run_check(fn, cli)
                print(results[fn.__name__][1], flush=True)
    finally:
        shutil.rmtree(data_path, ignore_errors=True)
    count = {k: sum(1 for outcome, _ in results.values() if outcome == k) for k in ("PASS", "UNIMPLEMENTED", "FAIL")}
    print(
        f"aws-cli conformance: {count['PASS']} passed, {count['UNIMPLEMENTED']} unimplemented, {count['FAIL']} failed"
    )
    return 0 if count["PASS"] == len(results) else 1


if __name__ == "__main__":
    sys.exit(main(sys.argv))
