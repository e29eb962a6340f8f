"""The S3 side of the cache export on moto: server-side copies (single and multipart), read-back, verification.

Objects over 5 GiB cannot be made here, so the multipart path runs with a lower limit and 5 MiB parts (S3's
minimum part size, which moto enforces too); the requests are the ones the 5 GiB path sends.
"""

from __future__ import annotations

from typing import Any

import boto3
import pytest

from restorable.adapters.cache_export_store import DrExportReader, ObjectStore
from restorable.cache_export_plan import (
    META_MANAGED_BY,
    META_OBJECT_COUNT,
    META_SNAPSHOT_CREATED_AT,
    META_STAGING_KEY,
    check_copy,
)
from tests.aws_faults import failing_operation
from tests.conftest import DR_REGION, SOURCE_REGION

STAGING, DR = "restorable-staging", "restorable-dr"
PART = 5 * 1024 * 1024


@pytest.fixture
def buckets(aws: None) -> tuple[ObjectStore, ObjectStore, str]:
    boto3.client("s3", region_name=SOURCE_REGION).create_bucket(Bucket=STAGING)
    boto3.client("s3", region_name=DR_REGION).create_bucket(
        Bucket=DR, CreateBucketConfiguration={"LocationConstraint": DR_REGION}
    )
    key = boto3.client("kms", region_name=DR_REGION).create_key()["KeyMetadata"]["Arn"]
    staging = ObjectStore(boto3.client("s3", region_name=SOURCE_REGION), STAGING)
    dr = ObjectStore(boto3.client("s3", region_name=DR_REGION), DR)
    return staging, dr, key


def fresh(store: ObjectStore) -> ObjectStore:
    return ObjectStore(boto3.client("s3", region_name=store.region), store.bucket)


def put(bucket: str, key: str, body: bytes, region: str = SOURCE_REGION, **extra: Any) -> None:
    boto3.client("s3", region_name=region).put_object(Bucket=bucket, Key=key, Body=body, **extra)


def body_of(bucket: str, key: str, region: str) -> bytes:
    data: bytes = boto3.client("s3", region_name=region).get_object(Bucket=bucket, Key=key)["Body"].read()
    return data


def metadata(key: str) -> dict[str, str]:
    return {META_STAGING_KEY: key, META_OBJECT_COUNT: "1", META_MANAGED_BY: "restorable"}


def test_a_copy_reads_back_verified_with_the_dr_key(buckets: tuple[ObjectStore, ObjectStore, str]) -> None:
    staging, dr, key = buckets
    put(STAGING, "c-daily-2026-12-08-0001.rdb", b"x" * 1000)
    [source] = staging.objects()
    dr.copy_in(
        STAGING, source, "elasticache/c/s/c-daily-2026-12-08-0001.rdb", kms_key_arn=key, metadata=metadata(source.key)
    )
    copied = dr.describe("elasticache/c/s/c-daily-2026-12-08-0001.rdb")
    assert check_copy(source, copied).verified
    assert body_of(DR, "elasticache/c/s/c-daily-2026-12-08-0001.rdb", DR_REGION) == b"x" * 1000
    head = boto3.client("s3", region_name=DR_REGION).head_object(
        Bucket=DR, Key="elasticache/c/s/c-daily-2026-12-08-0001.rdb"
    )
    assert head["SSEKMSKeyId"] == key


def test_objects_over_the_copy_limit_are_copied_in_parts_and_verify(
    buckets: tuple[ObjectStore, ObjectStore, str],
) -> None:
    staging, dr, key = buckets
    content = bytes(range(256)) * (2 * PART // 256 + 123)  # three parts, the last one short
    put(STAGING, "big-0001.rdb", content)
    [source] = staging.objects()
    with failing_operation("s3", "CopyObject", "InvalidRequest") as single:
        dr = fresh(dr)  # a client built inside the block sees the hook
        dr.copy_in(
            STAGING,
            source,
            "elasticache/big/s/big-0001.rdb",
            kms_key_arn=key,
            metadata=metadata(source.key),
            copy_object_limit=PART,
            part_size=PART,
        )
    assert single == []  # never tried as one CopyObject
    copied = dr.describe("elasticache/big/s/big-0001.rdb")
    assert copied is not None
    assert copied.metadata[META_STAGING_KEY] == "big-0001.rdb"
    assert body_of(DR, "elasticache/big/s/big-0001.rdb", DR_REGION) == content
    assert check_copy(source, copied).verified


def test_a_failed_part_aborts_the_upload_and_leaves_no_object(buckets: tuple[ObjectStore, ObjectStore, str]) -> None:
    staging, dr, key = buckets
    put(STAGING, "big-0001.rdb", b"y" * (PART + 10))
    [source] = staging.objects()
    with failing_operation("s3", "UploadPartCopy", "InternalError") as failed, pytest.raises(Exception, match="parts"):
        fresh(dr).copy_in(
            STAGING,
            source,
            "elasticache/big/s/big-0001.rdb",
            kms_key_arn=key,
            metadata=metadata(source.key),
            copy_object_limit=PART,
            part_size=PART,
        )
    assert failed
    client = boto3.client("s3", region_name=DR_REGION)
    assert client.list_multipart_uploads(Bucket=DR).get("Uploads", []) == []
    assert dr.describe("elasticache/big/s/big-0001.rdb") is None


def test_a_missing_object_reads_as_none_and_other_errors_raise(buckets: tuple[ObjectStore, ObjectStore, str]) -> None:
    staging, _dr, _key = buckets
    assert staging.describe("nothing.rdb") is None
    put(STAGING, "a.rdb", b"a")
    with failing_operation("s3", "HeadObject", "AccessDenied"), pytest.raises(Exception, match="AccessDenied"):
        fresh(staging).describe("a.rdb")


def test_the_dr_reader_finds_each_caches_newest_set(buckets: tuple[ObjectStore, ObjectStore, str]) -> None:
    _staging, dr, _key = buckets
    for day, count in (("2026-12-07", "1"), ("2026-12-08", "2")):
        name = f"sessions-daily-{day}"
        put(
            DR,
            f"elasticache/sessions/{name}/{name}-0001.rdb",
            b"s",
            region=DR_REGION,
            Metadata={
                META_MANAGED_BY: "restorable",
                META_OBJECT_COUNT: count,
                META_STAGING_KEY: f"{name}-0001.rdb",
                META_SNAPSHOT_CREATED_AT: f"{day}T03:00:00Z",
            },
        )
    put(DR, "elasticache/sessions/not-a-snapshot-name_/x.rdb", b"s", region=DR_REGION)
    sets = DrExportReader(dr, "restorable").newest_sets()
    assert set(sets) == {"sessions"}
    newest = sets["sessions"]
    assert newest.snapshot == "sessions-daily-2026-12-08"
    assert newest.objects == 1
    assert newest.complete is False  # it says two objects, one is there
    assert newest.created_at is not None
    assert newest.created_at.isoformat() == "2026-12-08T03:00:00+00:00"
