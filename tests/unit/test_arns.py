"""The one ARN parser: an ARN is checked whole against the stack's partition, Region and account, never trimmed."""

from __future__ import annotations

import json
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from local_runtime.template import REPO_ROOT
from restorable.arns import (
    RDS_CLUSTER,
    RDS_INSTANCE,
    check_local,
    parse_arn,
    parse_rds_arn,
    partition_of,
)
from restorable.errors import InvalidRequestError
from restorable.rds_events import IgnoredEvent
from restorable.verification.request import InstanceEvent, parse_rds_event

ACCOUNT = "123456789012"
REGION = "us-east-1"
names = st.from_regex(r"[a-z][a-z0-9-]{0,40}", fullmatch=True)
accounts = st.from_regex(r"[0-9]{12}", fullmatch=True)
regions = st.sampled_from(["us-east-1", "us-west-2", "eu-west-1", "cn-north-1", "us-gov-west-1"])
partitions = st.sampled_from(["aws", "aws-cn", "aws-us-gov", "aws-iso"])
types = st.sampled_from([RDS_INSTANCE, RDS_CLUSTER])


@given(partitions, regions, accounts, types, names)
def test_only_an_arn_of_this_partition_region_and_account_is_local(
    partition: str, region: str, account: str, kind: str, name: str
) -> None:
    text = f"arn:{partition}:rds:{region}:{account}:{kind}:{name}"
    arn = parse_rds_arn(text, field="source", types={RDS_INSTANCE, RDS_CLUSTER})
    assert (arn.resource_type, arn.resource_name, str(arn)) == (kind, name, text)
    local = partition == "aws" and region == REGION and account == ACCOUNT
    if local:
        assert check_local(arn, field="source", region=REGION, account=ACCOUNT) == arn
        return
    with pytest.raises(InvalidRequestError, match=r"^source: ") as caught:
        check_local(arn, field="source", region=REGION, account=ACCOUNT)
    assert text in str(caught.value)


@pytest.mark.parametrize(
    ("text", "types_", "message"),
    [
        ("orders", {RDS_INSTANCE}, "is not a valid ARN"),
        ("arn:aws:rds:us-east-1:123:db:orders", {RDS_INSTANCE}, "is not a valid ARN"),
        ("arn:aws:s3:::bucket", {RDS_INSTANCE}, "service 's3'"),
        ("arn:aws:rds:us-east-1:123456789012:snapshot:s", {RDS_INSTANCE, RDS_CLUSTER}, "not an RDS 'cluster' or 'db'"),
        ("arn:aws:rds:us-east-1:123456789012:db:a:b", {RDS_INSTANCE}, "not an RDS 'db' ARN"),
        ("arn:aws:rds::123456789012:db:orders", {RDS_INSTANCE}, "not an RDS 'db' ARN"),
    ],
)
def test_malformed_arns_name_the_field(text: str, types_: set[str], message: str) -> None:
    with pytest.raises(InvalidRequestError, match=r"^targets\[2\]: ") as caught:
        parse_rds_arn(text, field="targets[2]", types=types_)
    assert message in str(caught.value)


def test_partitions_follow_the_region() -> None:
    assert [partition_of(r) for r in ("us-east-1", "cn-north-1", "us-gov-west-1", "us-iso-east-1")] == [
        "aws",
        "aws-cn",
        "aws-us-gov",
        "aws-iso",
    ]
    assert parse_arn("arn:aws-cn:rds:cn-north-1:123456789012:db:x", field="f").partition == "aws-cn"


def _event(source_arn: str, account: str = ACCOUNT) -> dict[str, Any]:
    event = json.loads((REPO_ROOT / "events" / "rds-event-0002-backup-finished.json").read_text())
    event["account"] = account
    event["detail"]["SourceArn"] = source_arn
    return dict(event)


def test_verification_events_naming_another_account_are_ignored_not_mapped_to_a_local_instance() -> None:
    local = parse_rds_event(_event(f"arn:aws:rds:us-east-1:{ACCOUNT}:db:orders-mysql"), REGION)
    assert isinstance(local, InstanceEvent)
    assert local.identifier == "orders-mysql"
    foreign = parse_rds_event(_event("arn:aws:rds:us-east-1:999999999999:db:orders-mysql"), REGION)
    assert isinstance(foreign, IgnoredEvent)
    assert "SourceArn: arn:aws:rds:us-east-1:999999999999:db:orders-mysql belongs to account" in foreign.reason
    other_partition = parse_rds_event(_event(f"arn:aws-cn:rds:us-east-1:{ACCOUNT}:db:orders-mysql"), REGION)
    assert isinstance(other_partition, IgnoredEvent)
    assert "partition 'aws-cn'" in other_partition.reason
