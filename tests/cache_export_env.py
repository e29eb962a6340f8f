"""The cache export on moto: two Regions' buckets from the template and a DR key, and ElastiCache's export.

moto 5.2 has no ``CopySnapshot`` (no export to S3) and no serverless caches. ``ExportHook`` answers
``CopySnapshot`` with a botocore ``before-call`` hook (registered on boto3's default session, like
``tests/aws_faults.py``): botocore has already validated the request against the service model by
then. The hook does what ElastiCache documents for an export: it refuses a snapshot that does not
exist or a bucket that already holds an object of that name, and writes one ``{name}-{NNNN}.rdb`` object
per shard into the target bucket, on moto's S3 for real. The serverless listings are answered empty.
Everything after the export (listing, reading back, copying, deleting) is moto's S3.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

import boto3

from local_runtime.functions import Functions
from local_runtime.resources import provision_resources
from local_runtime.template import Template
from restorable import tags as tag_keys
from restorable.adapters import clients
from restorable.policy import default_policy_text
from tests.aws_faults import error_response

STACK = "restorable"
DR_BUCKET = "restorable-dr-exports"
ACCOUNT = "123456789012"
_SERVERLESS_LISTINGS = {
    "DescribeServerlessCaches": "ServerlessCaches",
    "DescribeServerlessCacheSnapshots": "ServerlessCacheSnapshots",
}


def _client(service: str, region: str) -> Any:
    """A client of a session of its own: the hooks the tests put on the default session never touch it."""
    return boto3.Session().client(service, region_name=region)  # type: ignore[call-overload]


def policy_document() -> str:
    """The built-in policies plus ``dr-standard``: standard, with the daily snapshot copied to the DR Region."""
    raw = json.loads(default_policy_text())
    raw["policies"]["dr-standard"] = json.loads(json.dumps(raw["policies"]["standard"]))
    raw["policies"]["dr-standard"]["snapshots"]["daily"]["dr_copy"] = True
    return json.dumps(raw)


def _ok(body: dict[str, Any]) -> Any:
    return (type("Response", (), {"status_code": 200, "headers": {}})(), {**body, "ResponseMetadata": {}})


def rdb_bytes(name: str, shard: int, size: int = 4096) -> bytes:
    """Deterministic content for an exported shard (what a real .rdb would hold does not matter here)."""
    seed = hashlib.sha256(f"{name}-{shard}".encode()).digest()
    return (seed * (size // len(seed) + 1))[:size]


@dataclass
class ExportHook:
    region: str
    shards: dict[str, int] = field(default_factory=dict)  # snapshot name -> shard count (default 1)
    calls: list[dict[str, Any]] = field(default_factory=list)
    object_size: int = 4096

    def _copy_snapshot(self, params: dict[str, Any], **_: Any) -> Any:
        body = params.get("body", {})
        self.calls.append(dict(body))
        source, target, bucket = body["SourceSnapshotName"], body["TargetSnapshotName"], body.get("TargetBucket")
        elasticache = _client("elasticache", self.region)
        found = elasticache.describe_snapshots(SnapshotName=source)["Snapshots"]
        if not found:
            return error_response("SnapshotNotFoundFault", f"Snapshot {source} not found.", 404)
        if not bucket:
            return error_response("InvalidParameterValue", "this hook only exports (TargetBucket is required)")
        s3 = _client("s3", self.region)
        keys = [f"{target}-{shard:04d}.rdb" for shard in range(1, self.shards.get(source, 1) + 1)]
        existing = {o["Key"] for o in s3.list_objects_v2(Bucket=bucket).get("Contents", [])}
        if existing & set(keys):
            return error_response(
                "InvalidParameterValue", f"The S3 bucket {bucket} already contains an object with key {keys[0]}"
            )
        for shard, key in enumerate(keys, start=1):
            s3.put_object(Bucket=bucket, Key=key, Body=rdb_bytes(target, shard, self.object_size))
        return _ok({"Snapshot": {**found[0], "SnapshotStatus": "exporting"}})

    def _serverless(self, model: Any, **_: Any) -> Any:
        return _ok({_SERVERLESS_LISTINGS[model.name]: []})

    def install(self) -> Iterator[ExportHook]:
        events = boto3._get_default_session().events
        clients.reset()
        events.register("before-call.elasticache.CopySnapshot", self._copy_snapshot, unique_id="export-hook")
        for operation in _SERVERLESS_LISTINGS:
            events.register(f"before-call.elasticache.{operation}", self._serverless, unique_id=f"export-{operation}")
        try:
            yield self
        finally:
            events.unregister("before-call.elasticache.CopySnapshot", unique_id="export-hook")
            for operation in _SERVERLESS_LISTINGS:
                events.unregister(f"before-call.elasticache.{operation}", unique_id=f"export-{operation}")
            clients.reset()


@dataclass
class ExportWorld:
    """A stack with exports on, deployed on moto: the staging bucket from the template, the DR bucket and key."""

    source_region: str
    dr_region: str
    template: Template
    functions: Functions
    staging_bucket: str
    dr_key_arn: str

    @classmethod
    def deploy(cls, source_region: str, dr_region: str) -> ExportWorld:
        key = boto3.client("kms", region_name=dr_region).create_key(Description="DR exports")["KeyMetadata"]["Arn"]
        boto3.client("s3", region_name=dr_region).create_bucket(
            Bucket=DR_BUCKET, CreateBucketConfiguration={"LocationConstraint": dr_region}
        )
        template = Template.load(
            region=source_region,
            parameter_overrides={
                "DrRegion": dr_region,
                "DrExportBucket": DR_BUCKET,
                "DrExportKmsKeyArn": key,
                "PolicyDocument": policy_document(),
            },
        )
        provision_resources(template, source_region)
        return cls(
            source_region=source_region,
            dr_region=dr_region,
            template=template,
            functions=Functions(template),
            staging_bucket=template.ref("CacheExportBucket"),
            dr_key_arn=key,
        )

    # ---- caches and the daily snapshots the snapshot job makes

    def cache(self, name: str, policy: str = "dr-standard") -> str:
        client = boto3.client("elasticache", region_name=self.source_region)
        arn = client.create_replication_group(
            ReplicationGroupId=name,
            ReplicationGroupDescription=name,
            Engine="valkey",
            CacheNodeType="cache.t4g.micro",
            NumCacheClusters=1,
            Tags=[{"Key": tag_keys.POLICY, "Value": policy}],
        )["ReplicationGroup"]["ARN"]
        return str(arn)

    def daily_snapshot(self, cache: str, day: datetime, owner: str = STACK) -> str:
        client = boto3.client("elasticache", region_name=self.source_region)
        arn = client.describe_replication_groups(ReplicationGroupId=cache)["ReplicationGroups"][0]["ARN"]
        name = f"{cache}-daily-{day:%Y-%m-%d}"
        tags = {
            tag_keys.MANAGED_BY: owner,
            tag_keys.KIND: "daily",
            tag_keys.SOURCE: arn,
            tag_keys.POLICY: "dr-standard",
            tag_keys.EXPIRES_AT: (day + timedelta(days=7)).astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ"),
            "restorable:created-at": day.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ"),
        }
        client.create_snapshot(
            SnapshotName=name, ReplicationGroupId=cache, Tags=[{"Key": k, "Value": v} for k, v in tags.items()]
        )
        return name

    # ---- what is in the buckets

    def staged(self) -> dict[str, bytes]:
        return _contents(_client("s3", self.source_region), self.staging_bucket, "")

    def dr_objects(self) -> dict[str, bytes]:
        return _contents(_client("s3", self.dr_region), DR_BUCKET, "elasticache/")

    def dr_head(self, key: str) -> dict[str, Any]:
        return dict(_client("s3", self.dr_region).head_object(Bucket=DR_BUCKET, Key=key))


def _contents(s3: Any, bucket: str, prefix: str) -> dict[str, bytes]:
    listed = s3.list_objects_v2(Bucket=bucket, Prefix=prefix).get("Contents", [])
    return {o["Key"]: s3.get_object(Bucket=bucket, Key=o["Key"])["Body"].read() for o in listed}
