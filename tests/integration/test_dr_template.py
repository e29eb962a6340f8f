"""The DR companion template (dr-template.yaml), read as data: the export bucket's security properties, its
lifecycle per prefix against the shipped policies, the key, the drill network and the outputs the main stack takes."""

from __future__ import annotations

import json
from typing import Any

import pytest

from local_runtime.template import REPO_ROOT, load_template_document

DR_TEMPLATE = REPO_ROOT / "dr-template.yaml"


@pytest.fixture(scope="module")
def document() -> dict[str, Any]:
    return load_template_document(DR_TEMPLATE)


def _resources(document: dict[str, Any], kind: str) -> dict[str, dict[str, Any]]:
    return {name: r for name, r in document["Resources"].items() if r["Type"] == kind}


@pytest.fixture(scope="module")
def bucket(document: dict[str, Any]) -> dict[str, Any]:
    [found] = _resources(document, "AWS::S3::Bucket").values()
    return found


def test_the_bucket_is_encrypted_by_default_with_the_export_key(bucket: dict[str, Any]) -> None:
    [rule] = bucket["Properties"]["BucketEncryption"]["ServerSideEncryptionConfiguration"]
    assert rule["ServerSideEncryptionByDefault"] == {
        "SSEAlgorithm": "aws:kms",
        "KMSMasterKeyID": {"Fn::GetAtt": ["ExportKey", "Arn"]},
    }
    assert rule["BucketKeyEnabled"] is True


def test_the_bucket_blocks_public_access_versions_objects_and_takes_no_acls(bucket: dict[str, Any]) -> None:
    properties = bucket["Properties"]
    assert properties["PublicAccessBlockConfiguration"] == {
        "BlockPublicAcls": True,
        "BlockPublicPolicy": True,
        "IgnorePublicAcls": True,
        "RestrictPublicBuckets": True,
    }
    assert properties["VersioningConfiguration"] == {"Status": "Enabled"}
    assert properties["OwnershipControls"]["Rules"] == [{"ObjectOwnership": "BucketOwnerEnforced"}]
    assert bucket["DeletionPolicy"] == "Retain"


def test_the_bucket_policy_denies_every_request_without_tls_and_uploads_with_another_key(
    document: dict[str, Any],
) -> None:
    [policy] = _resources(document, "AWS::S3::BucketPolicy").values()
    statements = {s["Sid"]: s for s in policy["Properties"]["PolicyDocument"]["Statement"]}
    tls = statements["DenyInsecureTransport"]
    assert (tls["Effect"], tls["Principal"], tls["Action"]) == ("Deny", "*", "s3:*")
    assert tls["Condition"] == {"Bool": {"aws:SecureTransport": "false"}}
    assert tls["Resource"] == [{"Fn::GetAtt": ["ExportBucket", "Arn"]}, {"Fn::Sub": "${ExportBucket.Arn}/*"}]
    other_key = statements["DenyUploadsWithAnotherKey"]
    assert other_key["Effect"] == "Deny"
    assert other_key["Condition"]["StringNotEquals"] == {
        "s3:x-amz-server-side-encryption-aws-kms-key-id": {"Fn::GetAtt": ["ExportKey", "Arn"]}
    }
    assert not [s for s in statements.values() if s["Effect"] == "Allow"], "the bucket policy grants nothing"


def test_each_prefix_expires_after_its_kinds_retention(document: dict[str, Any], bucket: dict[str, Any]) -> None:
    rules = {r["Prefix"]: r for r in bucket["Properties"]["LifecycleConfiguration"]["Rules"]}
    assert set(rules) == {"dynamodb/", "elasticache/"}
    assert rules["dynamodb/"]["ExpirationInDays"] == {"Ref": "WeeklyRetentionDays"}
    assert rules["elasticache/"]["ExpirationInDays"] == {"Ref": "DailyRetentionDays"}
    for rule in rules.values():
        assert rule["Status"] == "Enabled"
        assert rule["NoncurrentVersionExpiration"] == {"NoncurrentDays": {"Ref": "NoncurrentVersionDays"}}
        assert rule["AbortIncompleteMultipartUpload"]["DaysAfterInitiation"] >= 1
    # The defaults are the shipped standard policy's retentions: weekly for tables, daily for caches.
    shipped = json.loads((REPO_ROOT / "layers/core/restorable/default_policies.json").read_text())
    standard = shipped["policies"]["standard"]["snapshots"]
    parameters = document["Parameters"]
    assert parameters["WeeklyRetentionDays"]["Default"] == standard["weekly"]["retention_days"]
    assert parameters["DailyRetentionDays"]["Default"] == standard["daily"]["retention_days"]


def test_the_key_rotates_and_only_the_main_stacks_roles_use_it_through_storage_services(
    document: dict[str, Any],
) -> None:
    key = document["Resources"]["ExportKey"]
    assert key["Properties"]["EnableKeyRotation"] is True
    assert key["DeletionPolicy"] == "Retain"
    statements = {s["Sid"]: s for s in key["Properties"]["KeyPolicy"]["Statement"]}
    assert all(s["Principal"] != "*" for s in statements.values())
    use = statements["RestorableRolesUseTheKeyThroughStorageServices"]
    assert use["Condition"]["StringEquals"]["kms:ViaService"] == [
        {"Fn::Sub": f"{service}.${{AWS::Region}}.amazonaws.com"} for service in ("s3", "dynamodb", "elasticache")
    ]
    assert "kms:*" not in use["Action"]
    assert use["Condition"]["ArnLike"]["aws:PrincipalArn"] == {
        "Fn::Sub": "arn:${AWS::Partition}:iam::${AWS::AccountId}:role/${MainStackName}-*"
    }
    grant = statements["RestorableRolesGrantTheKeyToStorageServices"]
    assert grant["Action"] == "kms:CreateGrant"
    assert grant["Condition"]["Bool"] == {"kms:GrantIsForAWSResource": "true"}


def test_drill_networking_is_two_private_subnets_in_two_zones_and_one_group(document: dict[str, Any]) -> None:
    subnets = _resources(document, "AWS::EC2::Subnet")
    assert len(subnets) == 2
    assert {json.dumps(s["Properties"]["AvailabilityZone"]) for s in subnets.values()} == {
        json.dumps({"Fn::Select": [0, {"Fn::GetAZs": ""}]}),
        json.dumps({"Fn::Select": [1, {"Fn::GetAZs": ""}]}),
    }
    assert all(s["Properties"]["MapPublicIpOnLaunch"] is False for s in subnets.values())
    kinds = {r["Type"] for r in document["Resources"].values()}
    assert not kinds & {"AWS::EC2::InternetGateway", "AWS::EC2::NatGateway", "AWS::EC2::Route", "AWS::EC2::EIP"}
    [group] = _resources(document, "AWS::EC2::SecurityGroup").values()
    assert all(rule["CidrIp"] == {"Ref": "DrillVpcCidr"} for rule in group["Properties"]["SecurityGroupEgress"])
    ingress = _resources(document, "AWS::EC2::SecurityGroupIngress").values()
    assert ingress
    assert all(rule["Properties"]["SourceSecurityGroupId"] == {"Ref": "DrillSecurityGroup"} for rule in ingress)
    assert {(r["Properties"]["FromPort"], r["Properties"]["ToPort"]) for r in ingress} == {
        (3306, 3306),
        (5432, 5432),
        (6379, 6380),
    }


def test_the_outputs_are_the_main_stacks_parameters(document: dict[str, Any]) -> None:
    main = load_template_document(REPO_ROOT / "template.yaml")["Parameters"]
    outputs = document["Outputs"]
    for output, parameter in {
        "ExportBucketName": "DrExportBucket",
        "ExportKeyArn": "DrExportKmsKeyArn",
        "DrillDbSubnetGroupName": "DrDrillSubnetGroupName",
        "DrillSecurityGroupId": "DrDrillSecurityGroupIds",
    }.items():
        assert parameter in main, parameter
        assert parameter in outputs[output]["Description"], output
