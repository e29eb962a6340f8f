"""Amazon Resource Names in requests: parsed whole and checked against where the stack runs.

An ARN in an input (a drill's source, a pre-deploy target, a snapshot identifier) is never trimmed to
its last segment: an ARN of another partition, Region or account names another resource, not a local
database of the same name. Every input that may carry an ARN goes through :func:`parse_arn` and
:func:`check_local`; the messages name the field.
"""

from __future__ import annotations

import re
from collections.abc import Collection
from dataclasses import dataclass

from .errors import InvalidRequestError

# arn:partition:service:region:account-id:resource
_ARN = re.compile(
    r"^arn:(?P<partition>aws[a-z-]*):(?P<service>[a-z0-9-]+):(?P<region>[a-z0-9-]*):(?P<account>\d{12}|):"
    r"(?P<resource>.+)$"
)
# RDS resources: arn:aws:rds:us-east-1:123456789012:<type>:<name>
_RDS_RESOURCE = re.compile(r"^(?P<type>[a-z-]+):(?P<name>[^:/]+)$")

RDS_INSTANCE = "db"
RDS_CLUSTER = "cluster"
RDS_SNAPSHOT = "snapshot"
RDS_CLUSTER_SNAPSHOT = "cluster-snapshot"


@dataclass(frozen=True)
class Arn:
    partition: str
    service: str
    region: str
    account: str
    resource: str

    @property
    def resource_type(self) -> str:
        """The RDS resource type (``db``, ``cluster``, ``snapshot``, ``cluster-snapshot``...)."""
        match = _RDS_RESOURCE.match(self.resource)
        return match["type"] if match else ""

    @property
    def resource_name(self) -> str:
        match = _RDS_RESOURCE.match(self.resource)
        return match["name"] if match else self.resource

    def __str__(self) -> str:
        return f"arn:{self.partition}:{self.service}:{self.region}:{self.account}:{self.resource}"


def is_arn(value: str) -> bool:
    return value.startswith("arn:")


def partition_of(region: str) -> str:
    """The partition a Region belongs to (``aws``, ``aws-cn``, ``aws-us-gov``, ``aws-iso``, ``aws-iso-b``...)."""
    if region.startswith("cn-"):
        return "aws-cn"
    if region.startswith("us-gov-"):
        return "aws-us-gov"
    if region.startswith("us-isob-"):
        return "aws-iso-b"
    if region.startswith("us-iso-"):
        return "aws-iso"
    if region.startswith("eu-isoe-"):
        return "aws-iso-e"
    if region.startswith("us-isof-"):
        return "aws-iso-f"
    return "aws"


def parse_arn(value: str, *, field: str) -> Arn:
    """The parts of ``value``; ``InvalidRequestError`` naming ``field`` if it is not an ARN."""
    match = _ARN.match(value)
    if match is None:
        raise InvalidRequestError(f"{field}: {value!r} is not a valid ARN (arn:partition:service:region:account:...)")
    return Arn(
        partition=match["partition"],
        service=match["service"],
        region=match["region"],
        account=match["account"],
        resource=match["resource"],
    )


def parse_rds_arn(value: str, *, field: str, types: Collection[str]) -> Arn:
    """An RDS ARN of one of ``types`` (e.g. ``{"db", "cluster"}``), or ``InvalidRequestError`` naming ``field``."""
    arn = parse_arn(value, field=field)
    if arn.service != "rds":
        raise InvalidRequestError(f"{field}: {value} is an ARN of service '{arn.service}', not an RDS resource")
    if arn.resource_type not in types or not arn.region or not arn.account:
        wanted = " or ".join(f"'{t}'" for t in sorted(types))
        raise InvalidRequestError(f"{field}: {value} is not an RDS {wanted} ARN")
    return arn


def check_local(arn: Arn, *, field: str, region: str | Collection[str], account: str | None = None) -> Arn:
    """``arn`` unless it names another partition, Region or (when known) account than ``region`` / ``account``.

    ``region`` may list several Regions (e.g. the source and the DR Region); they share one partition.
    """
    regions = [region] if isinstance(region, str) else sorted(region)
    expected_partition = partition_of(regions[0])
    if arn.partition != expected_partition:
        raise InvalidRequestError(
            f"{field}: {arn} is in partition '{arn.partition}', this stack runs in '{expected_partition}' "
            f"({', '.join(regions)})"
        )
    if arn.region not in regions:
        raise InvalidRequestError(f"{field}: {arn} is in Region {arn.region}, expected {' or '.join(regions)}")
    if account is not None and arn.account != account:
        raise InvalidRequestError(f"{field}: {arn} belongs to account {arn.account}, this stack runs in {account}")
    return arn


def account_of(value: str) -> str | None:
    """The account of an ARN the service itself returned (e.g. a found database's ARN), or None."""
    match = _ARN.match(value)
    return match["account"] if match and match["account"] else None
