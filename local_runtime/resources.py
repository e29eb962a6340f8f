""" "Deploy" the template's run-time resources on moto: keys, topics, queues, buckets, tables, secrets.

The functions find these through environment variables that ``!Ref``/``!GetAtt`` them, so each
created resource's local name or ARN is recorded in ``Template.physical_names`` before the
functions' environments are resolved. Resource types the functions cannot reach at run time
(log groups, IAM, layers, alarms...) are not created.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import boto3

from .template import Template

KMS_KEY = "AWS::KMS::Key"
# Created first: the other resources may name a key (KmsMasterKeyId, SSESpecification...).
_ORDER = (KMS_KEY,)
ClientFor = Callable[[str], Any]


@dataclass
class Deployment:
    """What was created, by logical id, and what was left out (and why)."""

    created: dict[str, str] = field(default_factory=dict)
    skipped: dict[str, str] = field(default_factory=dict)


def deploy_resources(template: Template, client_for: ClientFor) -> Deployment:
    """Create the template's run-time resources in the template's Region.

    ``client_for(service)`` returns a boto3 client in ``template.region``. Records every
    created resource in ``template.physical_names`` so ``Ref``/``GetAtt`` resolve to it.
    """
    deployment = Deployment()
    resources = template.resources
    ordered = sorted(resources, key=lambda lid: (resources[lid]["Type"] not in _ORDER, lid))
    for logical_id in ordered:
        resource_type = resources[logical_id]["Type"]
        creator = _CREATORS.get(resource_type)
        if creator is None:
            continue
        if resources[logical_id].get("Condition") and not template.conditions.get(resources[logical_id]["Condition"]):
            deployment.skipped[logical_id] = "condition is false"
            continue
        properties = template.resolve(resources[logical_id].get("Properties", {}))
        physical = creator(template, logical_id, properties, client_for)
        template.physical_names[logical_id] = physical
        deployment.created[logical_id] = physical
    return deployment


def _name(template: Template, logical_id: str, properties: dict[str, Any], key: str) -> str:
    return str(properties.get(key) or f"{template.stack_name}-{logical_id}")


def _kms_key(template: Template, logical_id: str, properties: dict[str, Any], client_for: ClientFor) -> str:
    key = client_for("kms").create_key(Description=str(properties.get("Description", logical_id)))["KeyMetadata"]
    return str(key["KeyId"])


def _sns_topic(template: Template, logical_id: str, properties: dict[str, Any], client_for: ClientFor) -> str:
    name = _name(template, logical_id, properties, "TopicName")
    attributes = {}
    if properties.get("KmsMasterKeyId"):
        attributes["KmsMasterKeyId"] = str(properties["KmsMasterKeyId"])
    if properties.get("FifoTopic"):
        attributes["FifoTopic"] = "true"
        name = name if name.endswith(".fifo") else f"{name}.fifo"
    return str(client_for("sns").create_topic(Name=name, Attributes=attributes)["TopicArn"])


def _sqs_queue(template: Template, logical_id: str, properties: dict[str, Any], client_for: ClientFor) -> str:
    name = _name(template, logical_id, properties, "QueueName")
    attributes = {}
    if properties.get("FifoQueue"):
        attributes["FifoQueue"] = "true"
        name = name if name.endswith(".fifo") else f"{name}.fifo"
    client_for("sqs").create_queue(QueueName=name, Attributes=attributes)
    return name


def _s3_bucket(template: Template, logical_id: str, properties: dict[str, Any], client_for: ClientFor) -> str:
    name = _name(template, logical_id, properties, "BucketName").lower()
    s3 = client_for("s3")
    if template.region == "us-east-1":
        s3.create_bucket(Bucket=name)
    else:
        s3.create_bucket(Bucket=name, CreateBucketConfiguration={"LocationConstraint": template.region})
    return name


def _dynamodb_table(template: Template, logical_id: str, properties: dict[str, Any], client_for: ClientFor) -> str:
    name = _name(template, logical_id, properties, "TableName")
    arguments: dict[str, Any] = {
        "TableName": name,
        "KeySchema": properties["KeySchema"],
        "AttributeDefinitions": properties["AttributeDefinitions"],
        "BillingMode": properties.get("BillingMode", "PROVISIONED"),
    }
    if arguments["BillingMode"] == "PROVISIONED":
        arguments["ProvisionedThroughput"] = properties.get(
            "ProvisionedThroughput", {"ReadCapacityUnits": 5, "WriteCapacityUnits": 5}
        )
    for optional in ("GlobalSecondaryIndexes", "LocalSecondaryIndexes"):
        if properties.get(optional):
            arguments[optional] = properties[optional]
    client_for("dynamodb").create_table(**arguments)
    return name


def _simple_table(template: Template, logical_id: str, properties: dict[str, Any], client_for: ClientFor) -> str:
    name = _name(template, logical_id, properties, "TableName")
    key = properties.get("PrimaryKey", {"Name": "id", "Type": "String"})
    attribute_type = {"String": "S", "Number": "N", "Binary": "B"}[key.get("Type", "String")]
    client_for("dynamodb").create_table(
        TableName=name,
        KeySchema=[{"AttributeName": key["Name"], "KeyType": "HASH"}],
        AttributeDefinitions=[{"AttributeName": key["Name"], "AttributeType": attribute_type}],
        BillingMode="PAY_PER_REQUEST",
    )
    return name


def _secret(template: Template, logical_id: str, properties: dict[str, Any], client_for: ClientFor) -> str:
    name = _name(template, logical_id, properties, "Name")
    value = properties.get("SecretString") or json.dumps({"generated": "local-runtime-placeholder"})
    return str(client_for("secretsmanager").create_secret(Name=name, SecretString=str(value))["ARN"])


_CREATORS: dict[str, Callable[[Template, str, dict[str, Any], ClientFor], str]] = {
    KMS_KEY: _kms_key,
    "AWS::SNS::Topic": _sns_topic,
    "AWS::SQS::Queue": _sqs_queue,
    "AWS::S3::Bucket": _s3_bucket,
    "AWS::DynamoDB::Table": _dynamodb_table,
    "AWS::Serverless::SimpleTable": _simple_table,
    "AWS::SecretsManager::Secret": _secret,
}


def provision_resources(template: Template, region: str | None = None) -> Deployment:
    """``deploy_resources`` with plain boto3 clients in ``region`` (default: the template's)."""
    target = region or template.region
    return deploy_resources(template, lambda service: boto3.client(service, region_name=target))  # type: ignore[call-overload]
