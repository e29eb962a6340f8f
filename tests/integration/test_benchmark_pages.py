"""make bench counts listings as AWS would page them, not as moto answers them (in one page)."""

from __future__ import annotations

import boto3
import pytest
from moto import mock_aws

from benchmarks.api_calls import aws_pages, count_api_calls


@pytest.mark.parametrize(
    ("items", "asked", "pages"),
    [(0, None, 1), (100, None, 1), (101, None, 2), (250, 100, 3), (250, 20, 13), (250, 500, 3)],
)
def test_pages_follow_the_page_size_asked_for_up_to_the_apis_limit(items: int, asked: int | None, pages: int) -> None:
    assert aws_pages(items, asked, limit=100) == pages


def test_a_listing_moto_answers_in_one_page_counts_as_the_pages_aws_would_return(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "testing")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "testing")
    with mock_aws():
        rds = boto3.client("rds", region_name="us-east-1")
        rds.create_db_instance(
            DBInstanceIdentifier="orders-db",
            DBInstanceClass="db.t3.micro",
            Engine="postgres",
            AllocatedStorage=20,
            MasterUsername="admin",
            MasterUserPassword="password-1",
        )
        for number in range(130):
            rds.create_db_snapshot(DBSnapshotIdentifier=f"orders-db-{number}", DBInstanceIdentifier="orders-db")
        with count_api_calls() as calls:
            rds = boto3.client("rds", region_name="us-east-1")  # clients take the session's hooks when built
            listed = [
                s
                for page in rds.get_paginator("describe_db_snapshots").paginate(
                    SnapshotType="manual", PaginationConfig={"PageSize": 50}
                )
                for s in page["DBSnapshots"]
            ]
            rds.describe_db_instances()
    assert len(listed) == 130
    moto_pages = calls["rds:DescribeDBSnapshots"]
    assert calls.aws_pages["rds:DescribeDBSnapshots"] == 3  # 50 + 50 + 30, whatever moto did
    assert calls.aws_pages["rds:DescribeDBInstances"] == 1
    assert calls.as_aws_would_page() == sum(calls.values()) - moto_pages + 3
