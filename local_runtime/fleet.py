"""Fleets for the local runtime and the policy simulator: what a small team might run, protected and not.

A fleet is data (``FleetMember``), so the emulator and the policy simulator can be given the
same one. ``create_fleet`` builds it on moto in the Regions the members name: RDS instances and
Aurora clusters, DynamoDB tables (one of them a global table) and an ElastiCache replication group.
"""

from __future__ import annotations

import random
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from typing import Any

import boto3

from restorable.models import Engine

PASSWORD = "demo-only-not-a-secret"  # noqa: S105 - moto database, never a real one
POLICY_TAG = "restorable:policy"
# A global table says so by this tag (verification then checks its replica in the DR Region).
GLOBAL_TAG = "restorable:global"
TABLE_ENGINE = "dynamodb"
CACHE_ENGINES = frozenset({"valkey", "redis"})
SOURCE_REGION = "us-east-1"
DR_REGION = "us-west-2"


@dataclass(frozen=True)
class FleetMember:
    """One database: an RDS instance, an Aurora cluster (with ``members`` instances), a DynamoDB table
    (``engine`` ``dynamodb``; ``global_table``: with a replica in the DR Region) or an ElastiCache
    replication group (``engine`` ``valkey`` or ``redis``, ``members`` nodes). ``size_gb`` is the
    data a recovery point holds (the allocated storage, the table's or the cache's data)."""

    identifier: str
    engine: str
    policy: str | None
    size_gb: int = 20
    region: str = SOURCE_REGION
    cluster: bool = False
    members: int = 1
    stopped: bool = False
    growth_gb_per_month: float = 0.0
    global_table: bool = False

    @property
    def protected(self) -> bool:
        return self.policy is not None and self.policy.lower() != "none"

    @property
    def service(self) -> Engine:
        """The service it lives in (the engine of ``restorable.engines``)."""
        if self.engine == TABLE_ENGINE:
            return Engine.DYNAMODB
        if self.engine in CACHE_ENGINES:
            return Engine.ELASTICACHE
        return Engine.RDS


SAMPLE_FLEET: tuple[FleetMember, ...] = (
    FleetMember("shop-mysql", "mysql", "standard", size_gb=50),
    FleetMember("billing-postgres", "postgres", "compliance", size_gb=100),
    FleetMember("ledger-aurora", "aurora-postgresql", "standard", size_gb=200, cluster=True),
    FleetMember("sandbox-postgres", "postgres", None, size_gb=20),
    FleetMember("reporting-mysql", "mysql", "standard", size_gb=80, stopped=True),
    # Lives in the DR Region and is nobody's business: the stack must never touch it.
    FleetMember("analytics-replica", "postgres", None, size_gb=40, region=DR_REGION),
    FleetMember("orders-table", TABLE_ENGINE, "standard", size_gb=12),
    FleetMember("carts-global", TABLE_ENGINE, "standard", size_gb=4, global_table=True),
    FleetMember("sessions-cache", "valkey", "standard", size_gb=2, members=2),
)


def synthetic_fleet(
    count: int,
    *,
    seed: int = 7,
    policies: Sequence[tuple[str | None, float]] = (("standard", 0.8), ("compliance", 0.1), (None, 0.1)),
    size_gb: tuple[int, int] = (20, 500),
    cluster_share: float = 0.2,
    growth_gb_per_month: float = 0.0,
    region: str = SOURCE_REGION,
    tables: int = 0,
    caches: int = 0,
) -> list[FleetMember]:
    """``count`` databases with seeded random policies (by weight), sizes and engines; then ``tables``
    DynamoDB tables and ``caches`` Valkey replication groups (drawn apart, so the databases are the
    same with or without them), with the same policy weights and a tenth of the sizes."""
    if count < 0:
        raise ValueError("count must not be negative")
    rng = random.Random(seed)  # noqa: S311 - synthetic test data, not security
    names = [name for name, _ in policies]
    weights = [weight for _, weight in policies]
    fleet = []
    for number in range(count):
        cluster = rng.random() < cluster_share
        engine = rng.choice(["aurora-postgresql", "aurora-mysql"] if cluster else ["postgres", "mysql"])
        fleet.append(
            FleetMember(
                identifier=f"db{number:04d}-{engine.split('-')[-1]}",
                engine=engine,
                policy=rng.choices(names, weights)[0],
                size_gb=rng.randint(*size_gb),
                region=region,
                cluster=cluster,
                growth_gb_per_month=growth_gb_per_month,
            )
        )
    others = random.Random(seed + 1)  # noqa: S311 - synthetic test data, not security
    small = (max(1, size_gb[0] // 10), max(1, size_gb[1] // 10))
    for number in range(tables):
        fleet.append(
            FleetMember(
                identifier=f"table{number:04d}",
                engine=TABLE_ENGINE,
                policy=others.choices(names, weights)[0],
                size_gb=others.randint(*small),
                region=region,
            )
        )
    for number in range(caches):
        fleet.append(
            FleetMember(
                identifier=f"cache{number:04d}",
                engine="valkey",
                policy=others.choices(names, weights)[0],
                size_gb=others.randint(*small),
                region=region,
                members=2,
            )
        )
    return fleet


def create_fleet(
    client_for: Callable[[str], Any],
    fleet: Iterable[FleetMember],
    *,
    replicate_to: str | None = None,
    service_client: Callable[[str, str], Any] | None = None,
) -> list[FleetMember]:
    """Create ``fleet`` on moto; ``client_for(region)`` returns an RDS client for a Region and
    ``service_client(service, region)`` any other client (default: boto3's).

    Set up as the policies ask: tags copied to automated snapshots (instances and clusters) and,
    with ``replicate_to``, every protected instance's automated backups replicated to that Region
    (``local_runtime.backup_replication`` serves the call moto lacks); tables with point-in-time
    recovery on (35 days). Anything else a check finds is a problem planted on purpose
    (``local_runtime.planted``), or a bug.
    """
    other = service_client or (lambda service, region: boto3.client(service, region_name=region))  # type: ignore[call-overload]
    created = []
    for member in fleet:
        tags = [{"Key": "team", "Value": "demo"}]
        if member.policy is not None:
            tags.append({"Key": POLICY_TAG, "Value": member.policy})
        if member.service is Engine.DYNAMODB:
            _create_table(other(TABLE_ENGINE, member.region), member, tags)
            created.append(member)
            continue
        if member.service is Engine.ELASTICACHE:
            _create_cache(other("elasticache", member.region), member, tags)
            created.append(member)
            continue
        rds = client_for(member.region)
        if member.cluster:
            rds.create_db_cluster(
                DBClusterIdentifier=member.identifier,
                Engine=member.engine,
                MasterUsername="admin",
                MasterUserPassword=PASSWORD,
                StorageEncrypted=True,
                BackupRetentionPeriod=7,
                PreferredBackupWindow="03:00-04:00",
                AllocatedStorage=member.size_gb,
                CopyTagsToSnapshot=True,
                Tags=tags,
            )
            for number in range(1, member.members + 1):
                rds.create_db_instance(
                    DBInstanceIdentifier=f"{member.identifier}-{number}",
                    DBInstanceClass="db.r6g.large",
                    Engine=member.engine,
                    DBClusterIdentifier=member.identifier,
                )
        else:
            rds.create_db_instance(
                DBInstanceIdentifier=member.identifier,
                DBInstanceClass="db.t3.micro",
                Engine=member.engine,
                MasterUsername="admin",
                MasterUserPassword=PASSWORD,
                AllocatedStorage=member.size_gb,
                StorageEncrypted=True,
                BackupRetentionPeriod=7,
                PreferredBackupWindow="03:00-04:00",
                CopyTagsToSnapshot=True,
                Tags=tags,
            )
            if replicate_to and member.protected and member.region != replicate_to:
                arn = rds.describe_db_instances(DBInstanceIdentifier=member.identifier)["DBInstances"][0]
                client_for(replicate_to).start_db_instance_automated_backups_replication(
                    SourceDBInstanceArn=arn["DBInstanceArn"], BackupRetentionPeriod=7
                )
            if member.stopped:
                rds.stop_db_instance(DBInstanceIdentifier=member.identifier)
        created.append(member)
    return created


def _create_table(dynamodb: Any, member: FleetMember, tags: list[dict[str, str]]) -> None:
    if member.global_table:
        tags = [*tags, {"Key": GLOBAL_TAG, "Value": "true"}]
    dynamodb.create_table(
        TableName=member.identifier,
        KeySchema=[{"AttributeName": "pk", "KeyType": "HASH"}],
        AttributeDefinitions=[{"AttributeName": "pk", "AttributeType": "S"}],
        BillingMode="PAY_PER_REQUEST",
        Tags=tags,
    )
    dynamodb.update_continuous_backups(
        TableName=member.identifier,
        PointInTimeRecoverySpecification={"PointInTimeRecoveryEnabled": True, "RecoveryPeriodInDays": 35},
    )


def _create_cache(elasticache: Any, member: FleetMember, tags: list[dict[str, str]]) -> None:
    elasticache.create_replication_group(
        ReplicationGroupId=member.identifier,
        ReplicationGroupDescription=f"{member.identifier} (demo)",
        Engine=member.engine,
        CacheNodeType="cache.t4g.small",
        NumCacheClusters=member.members,
        Tags=tags,
    )


def create_sample_fleet(rds: Any) -> list[str]:
    """The sample fleet's source-Region RDS part on one client (kept for existing callers)."""
    members = [m for m in SAMPLE_FLEET if m.region == rds.meta.region_name and m.service is Engine.RDS]
    return [m.identifier for m in create_fleet(lambda _region: rds, members)]
