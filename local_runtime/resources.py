"""Create in moto the stateful resources template.yaml declares (tables, buckets, topics).

Each gets the local physical name ``Template`` resolves for it, so the functions' environment
(``!Ref Table``) points at it.
"""

from __future__ import annotations

import boto3

from .template import Template


def provision_resources(template: Template, region: str) -> None:
    """Create the template's DynamoDB tables, S3 buckets and SNS topics in moto under their local names."""
    for logical_id, resource in template.resources.items():
        kind = resource.get("Type")
        if kind not in ("AWS::DynamoDB::Table", "AWS::S3::Bucket", "AWS::SNS::Topic"):
            continue
        properties = template.resolve(resource.get("Properties", {}))
        name = template.physical_name(logical_id)
        if kind == "AWS::DynamoDB::Table":
            boto3.client("dynamodb", region_name=region).create_table(
                TableName=name,
                AttributeDefinitions=properties["AttributeDefinitions"],
                KeySchema=properties["KeySchema"],
                BillingMode=properties.get("BillingMode", "PAY_PER_REQUEST"),
            )
        elif kind == "AWS::S3::Bucket":
            s3 = boto3.client("s3", region_name=region)
            if region == "us-east-1":
                s3.create_bucket(Bucket=name)
            else:
                s3.create_bucket(Bucket=name, CreateBucketConfiguration={"LocationConstraint": region})  # type: ignore[typeddict-item]
        elif kind == "AWS::SNS::Topic":
            boto3.client("sns", region_name=region).create_topic(Name=name)
