"""What RDS itself does on the emulator: inventory, the events RDS would emit, daily backups.

The local runtime never parses handler output to learn what happened. It reads moto's RDS
backends before and after each invocation (``Inventory``), and turns the difference into the
events the real service would put on EventBridge: a manual snapshot created (RDS-EVENT-0042,
cluster RDS-EVENT-0075), a cross-Region copy finished (RDS-EVENT-0060, in the destination
Region; Aurora emits none for cluster copies). ``RdsWorld`` also runs each instance's daily
automated backup in its backup window (RDS-EVENT-0002) and restarts instances that have been
stopped for seven days, as RDS does. Those steps change moto without an API call, so the world
tells its ``listeners`` (the emulator's read cache) after each one.

Where moto does not model what DynamoDB itself keeps, the world shows it on the answers
verification reads (``serve_dynamodb``): the point-in-time recovery window moves with the clock
(moto freezes it when PITR is turned on), and a global table's ``DescribeTable`` lists its replica
in the DR Region (moto models no global-table replicas). ``recovery_points`` counts every
engine's recovery points from moto's backends, for the report.
"""

from __future__ import annotations

import contextlib
import uuid
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime, time, timedelta
from typing import Any

import boto3
from moto.dynamodb.models import dynamodb_backends
from moto.elasticache.models import elasticache_backends
from moto.rds.models import rds_backends

from restorable import tags as tag_keys

from .read_cache import is_read
from .template import ACCOUNT_ID

AUTOMATIC_RESTART_AFTER = timedelta(days=7)
# RDS's default quota of manual DB snapshots and of manual cluster snapshots per Region.
DEFAULT_MANUAL_SNAPSHOT_QUOTA = 100
# A backup-finished event is emitted this long after the backup window opens.
BACKUP_DURATION = timedelta(minutes=20)
# DynamoDB's latest restorable time is typically this far behind the current time.
PITR_LAG = timedelta(minutes=5)
# The engine a table's backups and a cache's snapshots are counted under in the report.
TABLE_POINTS = "dynamodb"
_ACTIVE = "ACTIVE"

DETAIL_TYPES = {
    "DB_INSTANCE": "RDS DB Instance Event",
    "SNAPSHOT": "RDS DB Snapshot Event",
    "CLUSTER": "RDS DB Cluster Event",
    "CLUSTER_SNAPSHOT": "RDS DB Cluster Snapshot Event",
}


@dataclass(frozen=True)
class SnapshotRecord:
    """A manual snapshot as the runtime tracks it (read from moto, not from handlers)."""

    region: str
    identifier: str
    arn: str
    cluster: bool
    source_identifier: str
    source_region: str
    size_gb: int
    tags: tuple[tuple[str, str], ...]

    @property
    def tag_map(self) -> dict[str, str]:
        return dict(self.tags)

    @property
    def kind(self) -> str:
        return self.tag_map.get(tag_keys.KIND, "unmanaged")

    @property
    def is_copy(self) -> bool:
        return self.source_region != self.region


@dataclass(frozen=True)
class Inventory:
    """Manual snapshots by (Region, ARN)."""

    snapshots: dict[tuple[str, str], SnapshotRecord] = field(default_factory=dict)

    def added_since(self, earlier: Inventory) -> list[SnapshotRecord]:
        return [s for key, s in self.snapshots.items() if key not in earlier.snapshots]

    def removed_since(self, earlier: Inventory) -> list[SnapshotRecord]:
        return [s for key, s in earlier.snapshots.items() if key not in self.snapshots]

    def in_region(self, region: str) -> list[SnapshotRecord]:
        return [s for s in self.snapshots.values() if s.region == region]


def _region_of(arn: str) -> str:
    return arn.split(":")[3]


def _tags(resource: Any) -> tuple[tuple[str, str], ...]:
    return tuple(sorted((t["Key"], t["Value"]) for t in (resource.tags or [])))


@dataclass(frozen=True)
class EngineSample:
    """Recovery points at one moment, per (Region, engine): RDS snapshots by database engine,
    DynamoDB backups (``dynamodb``), ElastiCache snapshots (by cache engine)."""

    at: datetime
    points: dict[tuple[str, str], int]
    storage_gb: dict[tuple[str, str], float]


class RdsWrites:
    """RDS calls that are not reads, counted (before each is sent and once it is answered, on any thread).

    Only such a call or a step of the world itself changes the manual snapshots moto holds, so the
    world keeps its inventory while the counts stand still. Installed on a session, it counts the
    calls of the clients built from that session afterwards (as the read cache, it is installed
    before the emulator's first client is built)."""

    def __init__(self) -> None:
        self.count = 0
        self.counting = False

    def _written(self, model: Any, **_: Any) -> None:
        if not is_read(model.name):
            self.count += 1

    @contextlib.contextmanager
    def installed(self, session: Any) -> Iterator[RdsWrites]:
        events = session.events
        hooks = ("before-call.rds.*", "after-call.rds.*")
        for name in hooks:
            events.register(name, self._written, unique_id=f"local-runtime-rds-writes-{name}")
        self.counting = True
        try:
            yield self
        finally:
            self.counting = False
            for name in hooks:
                events.unregister(name, unique_id=f"local-runtime-rds-writes-{name}")


class RdsWorld:
    """moto's RDS in a set of Regions, read directly from its backends (fast, no API calls).

    ``replicas``: (Region, table name) -> {replica Region: ReplicaStatus} of the global tables.
    """

    def __init__(
        self,
        regions: Iterable[str],
        account_id: str = ACCOUNT_ID,
        listeners: Iterable[Callable[[str, str | None], None]] = (),
        replicas: dict[tuple[str, str], dict[str, str]] | None = None,
        rds_writes: RdsWrites | None = None,
    ) -> None:
        self.regions = list(regions)
        self.account_id = account_id
        # Called with the step's name and its Region (None: any) after every change RDS makes by itself.
        self.listeners = list(listeners)
        self.replicas = {key: dict(value) for key, value in (replicas or {}).items()}
        self._stopped_since: dict[tuple[str, str], datetime] = {}
        self._last_backup: dict[tuple[str, str], datetime] = {}
        # The inventory runs after every invocation: a snapshot's record is rebuilt only when its tags changed.
        self._records: dict[int, tuple[Any, list[dict[str, str]], SnapshotRecord]] = {}
        # With ``rds_writes`` counting: the world's own steps so far, and the last inventory with both
        # counts when it was taken (it holds while neither moves on).
        self.rds_writes = rds_writes
        self._steps = 0
        self._last_inventory: tuple[tuple[int, int], Inventory] | None = None

    def backend(self, region: str) -> Any:
        return rds_backends[self.account_id][region]

    def _changed(self, step: str, region: str | None = None) -> None:
        self._steps += 1
        for listener in self.listeners:
            listener(step, region)

    @contextlib.contextmanager
    def serve_account_quotas(self, manual_snapshot_quota: int = DEFAULT_MANUAL_SNAPSHOT_QUOTA) -> Iterator[None]:
        """Answer ``DescribeAccountAttributes`` (not in moto) with the snapshot counts moto holds.

        RDS reports ManualSnapshots and ManualClusterSnapshots as used/max per Region; the
        default quota of both is 100, so verification's quota-headroom check sees what it would.
        """

        def serve(params: dict[str, Any], **kwargs: Any) -> Any:
            backend = self.backend(kwargs["request_signer"]._region_name)
            used = {
                "ManualSnapshots": sum(1 for s in backend.database_snapshots.values() if s.snapshot_type == "manual"),
                "ManualClusterSnapshots": sum(
                    1 for s in backend.cluster_snapshots.values() if s.snapshot_type == "manual"
                ),
            }
            quotas = [{"AccountQuotaName": k, "Used": v, "Max": manual_snapshot_quota} for k, v in used.items()]
            response = type("Response", (), {"status_code": 200, "headers": {}})()
            return response, {"AccountQuotas": quotas, "ResponseMetadata": {"HTTPStatusCode": 200}}

        events = boto3._get_default_session().events
        events.register("before-call.rds.DescribeAccountAttributes", serve, unique_id="local-runtime-quotas")
        try:
            yield
        finally:
            events.unregister("before-call.rds.DescribeAccountAttributes", unique_id="local-runtime-quotas")

    @contextlib.contextmanager
    def serve_empty_serverless_caches(self) -> Iterator[None]:
        """Answer the serverless ElastiCache listings (not in moto) empty, as AWS does when there are none."""
        keys = {
            "DescribeServerlessCaches": "ServerlessCaches",
            "DescribeServerlessCacheSnapshots": "ServerlessCacheSnapshots",
        }

        def serve(model: Any, **_: Any) -> Any:
            response = type("Response", (), {"status_code": 200, "headers": {}})()
            return response, {keys[model.name]: [], "ResponseMetadata": {"HTTPStatusCode": 200}}

        events = boto3._get_default_session().events
        for operation in keys:
            events.register(f"before-call.elasticache.{operation}", serve, unique_id=f"local-runtime-{operation}")
        try:
            yield
        finally:
            for operation in keys:
                events.unregister(f"before-call.elasticache.{operation}", unique_id=f"local-runtime-{operation}")

    @contextlib.contextmanager
    def serve_dynamodb(self) -> Iterator[None]:
        """Show what DynamoDB keeps by itself on the answers moto gives (see the module's docstring).

        ``DescribeContinuousBackups`` with PITR on: ``LatestRestorableDateTime`` is the clock less
        ``PITR_LAG`` (never before the window opens) and ``EarliestRestorableDateTime`` the later of
        the time PITR was turned on and the start of the recovery period. ``DescribeTable`` of a
        global table: ``Replicas`` with each replica's Region and status, ``GlobalTableVersion``.
        """

        def window(parsed: dict[str, Any], **_: Any) -> None:
            pitr_window_at(parsed, datetime.now(UTC))

        def replicas(parsed: dict[str, Any], **_: Any) -> None:
            table = parsed.get("Table") or {}
            region = _region_of(str(table.get("TableArn", "::::")))
            found = self.replicas.get((region, str(table.get("TableName", ""))))
            if found:
                table["GlobalTableVersion"] = "2019.11.21"
                table["Replicas"] = [{"RegionName": r, "ReplicaStatus": s} for r, s in sorted(found.items())]

        events = boto3._get_default_session().events
        hooks = {
            "after-call.dynamodb.DescribeContinuousBackups": window,
            "after-call.dynamodb.DescribeTable": replicas,
        }
        for name, hook in hooks.items():
            events.register(name, hook, unique_id=f"local-runtime-{name}")
        try:
            yield
        finally:
            for name in hooks:
                events.unregister(name, unique_id=f"local-runtime-{name}")

    def recovery_points(
        self, now: datetime, engines: dict[str, str], sizes: dict[str, float] | None = None
    ) -> EngineSample:
        """Every engine's recovery points in the world's Regions now, from moto's backends (no API calls).

        ``engines``: a database's identifier to the engine its RDS snapshots are counted under;
        ``sizes``: a table's or cache's identifier to the GB each of its recovery points holds.
        """
        points: dict[tuple[str, str], int] = {}
        storage: dict[tuple[str, str], float] = {}

        def add(key: tuple[str, str], gb: float) -> None:
            points[key] = points.get(key, 0) + 1
            storage[key] = storage.get(key, 0.0) + gb

        sizes = sizes or {}
        for snapshot in self.inventory().snapshots.values():
            add((snapshot.region, engines.get(snapshot.source_identifier, "other")), float(snapshot.size_gb))
        for region in self.regions:
            for backup in list(dynamodb_backends[self.account_id][region].backups.values()):
                add((region, TABLE_POINTS), sizes.get(backup.table.name, 0.0))
            for cache_snapshot in list(elasticache_backends[self.account_id][region].snapshots.values()):
                source = cache_snapshot.replication_group_id or cache_snapshot.cache_cluster_id or ""
                add((region, str(cache_snapshot.engine or "elasticache")), sizes.get(source, 0.0))
        return EngineSample(now, points, storage)

    def cache_snapshot_count(self, region: str, cache: str) -> int:
        """Snapshots of ``cache`` in ``region`` (whoever made them), from moto's backend."""
        return sum(
            1
            for snapshot in elasticache_backends[self.account_id][region].snapshots.values()
            if cache in (snapshot.replication_group_id, snapshot.cache_cluster_id)
        )

    def inventory(self) -> Inventory:
        """The manual snapshots moto holds in every Region."""
        writes = self.rds_writes
        if writes is None or not writes.counting:
            return self._taken_inventory()
        counts = (writes.count, self._steps)  # read first: a write while it is taken (another thread's) moves on
        last = self._last_inventory
        if last is not None and last[0] == counts:
            return last[1]
        inventory = self._taken_inventory()
        self._last_inventory = (counts, inventory)
        return inventory

    def _taken_inventory(self) -> Inventory:
        snapshots: dict[tuple[str, str], SnapshotRecord] = {}
        records: dict[int, tuple[Any, list[dict[str, str]], SnapshotRecord]] = {}
        for region in self.regions:
            backend = self.backend(region)
            for snapshot in list(backend.database_snapshots.values()):
                if snapshot.snapshot_type != "manual":
                    continue
                record = self._known(snapshot, records)
                if record is None:
                    record = SnapshotRecord(
                        region=region,
                        identifier=snapshot.db_snapshot_identifier,
                        arn=snapshot.arn,
                        cluster=False,
                        source_identifier=snapshot.db_instance_identifier,
                        source_region=_region_of(snapshot.database.db_instance_arn),
                        size_gb=int(snapshot.allocated_storage or 0),
                        tags=_tags(snapshot),
                    )
                    records[id(snapshot)] = (snapshot, [dict(t) for t in snapshot.tags or []], record)
                snapshots[(region, record.arn)] = record
            for snapshot in list(backend.cluster_snapshots.values()):
                if snapshot.snapshot_type != "manual":
                    continue
                record = self._known(snapshot, records)
                if record is None:
                    record = SnapshotRecord(
                        region=region,
                        identifier=snapshot.db_cluster_snapshot_identifier,
                        arn=snapshot.arn,
                        cluster=True,
                        source_identifier=snapshot.db_cluster_identifier,
                        source_region=_region_of(snapshot.cluster.arn),
                        size_gb=int(snapshot.allocated_storage or 0),
                        tags=_tags(snapshot),
                    )
                    records[id(snapshot)] = (snapshot, [dict(t) for t in snapshot.tags or []], record)
                snapshots[(region, record.arn)] = record
        self._records = records
        return Inventory(snapshots)

    def _known(
        self, snapshot: Any, records: dict[int, tuple[Any, list[dict[str, str]], SnapshotRecord]]
    ) -> SnapshotRecord | None:
        """The record made for this very snapshot object last time, if its tags are still the same."""
        known = self._records.get(id(snapshot))
        if known is None or known[0] is not snapshot or known[1] != (snapshot.tags or []):
            return None
        records[id(snapshot)] = known
        return known[2]

    def database_state(self) -> dict[tuple[str, str], tuple[str, tuple[tuple[str, str], ...]]]:
        """(Region, identifier) to (status, tags) of every instance and cluster."""
        state = {}
        for region in self.regions:
            backend = self.backend(region)
            for identifier, database in backend.databases.items():
                state[(region, identifier)] = (database.status, _tags(database))
            for identifier, cluster in backend.clusters.items():
                state[(region, identifier)] = (cluster.status, _tags(cluster))
        return state

    # ---- events RDS emits for what changed ----

    def snapshot_events(self, before: Inventory, after: Inventory, now: datetime) -> list[dict[str, Any]]:
        events = []
        for snapshot in after.added_since(before):
            if snapshot.is_copy:
                if not snapshot.cluster:  # Aurora emits no "cluster snapshot copy finished" event
                    events.append(
                        rds_event(
                            "SNAPSHOT",
                            "RDS-EVENT-0060",
                            "notification",
                            f"Finished copy of snapshot {snapshot.identifier}.",
                            snapshot.arn,
                            snapshot.identifier,
                            now,
                        )
                    )
            elif snapshot.cluster:
                events.append(
                    rds_event(
                        "CLUSTER_SNAPSHOT",
                        "RDS-EVENT-0075",
                        "backup",
                        "Manual cluster snapshot created",
                        snapshot.arn,
                        snapshot.identifier,
                        now,
                    )
                )
            else:
                events.append(
                    rds_event(
                        "SNAPSHOT",
                        "RDS-EVENT-0042",
                        "creation",
                        "Manual snapshot created",
                        snapshot.arn,
                        snapshot.identifier,
                        now,
                    )
                )
        return events

    # ---- what RDS does by itself ----

    def backup_times(self, start: datetime, end: datetime) -> list[tuple[datetime, str, str]]:
        """(when the backup finishes, Region, instance) for every day in [start, end).

        Only instances with automated backups, not members of a cluster (Aurora backs up
        the cluster continuously and emits no instance backup event).
        """
        times = []
        for region in self.regions:
            for identifier, database in self.backend(region).databases.items():
                if database.db_cluster_identifier or not database.backup_retention_period:
                    continue
                window = database.preferred_backup_window or "03:00-04:00"
                opens = time.fromisoformat(window.split("-")[0])
                day = start.date()
                while (moment := datetime.combine(day, opens, tzinfo=UTC) + BACKUP_DURATION) < end:
                    if moment >= start:
                        times.append((moment, region, identifier))
                    day += timedelta(days=1)
        return times

    def run_backup(self, region: str, identifier: str, now: datetime) -> list[dict[str, Any]]:
        """The automated backup of one instance: an automated snapshot, old ones expire, RDS-EVENT-0002.

        A stopped (or otherwise unavailable) instance takes no backup and emits nothing.
        """
        backend = self.backend(region)
        database = backend.databases.get(identifier)
        if database is None or database.status != "available":
            return []
        database.save_automated_backup()
        retention = timedelta(days=int(database.backup_retention_period or 0))
        for snapshot_id, snapshot in list(backend.database_snapshots.items()):
            if (
                snapshot.snapshot_type == "automated"
                and snapshot.db_instance_identifier == identifier
                and snapshot.created.replace(tzinfo=UTC) < now - retention
            ):
                del backend.database_snapshots[snapshot_id]
        self._last_backup[(region, identifier)] = now
        self._changed("backup", region)
        return [
            rds_event(
                "DB_INSTANCE",
                "RDS-EVENT-0002",
                "backup",
                "Finished DB instance backup",
                database.db_instance_arn,
                identifier,
                now,
            )
        ]

    def restart_long_stopped(self, now: datetime) -> list[str]:
        """Start instances stopped for seven days, as RDS does; returns the restarted ones."""
        restarted = []
        for region in self.regions:
            for identifier, database in self.backend(region).databases.items():
                key = (region, identifier)
                if database.status != "stopped":
                    self._stopped_since.pop(key, None)
                    continue
                since = self._stopped_since.setdefault(key, now)
                if now - since >= AUTOMATIC_RESTART_AFTER:
                    database.status = "available"
                    del self._stopped_since[key]
                    restarted.append(f"{region}/{identifier}")
        if restarted:
            self._changed("restart")
        return restarted


def pitr_window_at(parsed: dict[str, Any], now: datetime) -> None:
    """A ``DescribeContinuousBackups`` answer's PITR window as DynamoDB keeps it at ``now`` (in place).

    Only moves it on: applied to its own result of an earlier instant it gives the window at ``now``,
    so an answer the read cache kept before or after this hook changed it comes out the same.
    """
    pitr = (parsed.get("ContinuousBackupsDescription") or {}).get("PointInTimeRecoveryDescription") or {}
    if pitr.get("PointInTimeRecoveryStatus") != "ENABLED" or "EarliestRestorableDateTime" not in pitr:
        return
    period = timedelta(days=int(pitr.get("RecoveryPeriodInDays") or 35))
    earliest = max(pitr["EarliestRestorableDateTime"], now - period)
    pitr["EarliestRestorableDateTime"] = earliest
    pitr["LatestRestorableDateTime"] = max(earliest, now - PITR_LAG)


def rds_event(
    source_type: str,
    event_id: str,
    category: str,
    message: str,
    source_arn: str,
    source_identifier: str,
    now: datetime,
) -> dict[str, Any]:
    """An RDS event in the shape EventBridge delivers it (source ``aws.rds``)."""
    region = _region_of(source_arn)
    stamp = now.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
    return {
        "version": "0",
        "id": str(uuid.uuid4()),
        "detail-type": DETAIL_TYPES[source_type],
        "source": "aws.rds",
        "account": source_arn.split(":")[4],
        "time": stamp,
        "region": region,
        "resources": [source_arn],
        "detail": {
            "EventCategories": [category],
            "SourceType": source_type,
            "SourceArn": source_arn,
            "Date": now.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.000Z"),
            "Message": message,
            "SourceIdentifier": source_identifier,
            "EventID": event_id,
        },
    }
