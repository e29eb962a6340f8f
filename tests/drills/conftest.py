"""Drills run through the real state machine definition on moto, Lambda tasks in-process (local_runtime)."""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

import boto3
import pytest
from moto import mock_aws
from moto.core import DEFAULT_ACCOUNT_ID
from moto.rds.models import rds_backends

from local_runtime.functions import Functions
from local_runtime.statemachines import ExecutionResult, StateMachines
from local_runtime.template import REPO_ROOT, Template
from tests.aws_faults import error_response
from tests.drills.servers import PASSWORD, USERNAME, Server, mariadb_server, postgres_server
from tests.fleet import Fleet

STACK = "restorable"
SOURCE_REGION = "us-east-1"
DR_REGION = "us-west-2"
# Wall clock inside a drill test (time-machine, ticking): deterministic dates in reports and tags.
START = datetime(2026, 12, 8, 6, 0, tzinfo=UTC)
STATE_MACHINE = "DrillStateMachine"
NO_SERVERLESS_CACHES = {
    "DescribeServerlessCaches": "ServerlessCaches",
    "DescribeServerlessCacheSnapshots": "ServerlessCacheSnapshots",
}


def sample(name: str) -> dict[str, Any]:
    return dict(json.loads((REPO_ROOT / "events" / name).read_text()))


@dataclass
class DrillWorld:
    machines: StateMachines
    fleet: Fleet
    rds: Any
    dr_rds: Any
    calls: list[tuple[str, str, dict[str, Any]]] = field(default_factory=list)
    failures: dict[str, Callable[[dict[str, Any]], str | None]] = field(default_factory=dict)

    # ---- recovery points following the tag contract

    def source_arn(self, identifier: str) -> str:
        try:
            return str(
                self.rds.describe_db_instances(DBInstanceIdentifier=identifier)["DBInstances"][0]["DBInstanceArn"]
            )
        except self.rds.exceptions.DBInstanceNotFoundFault:
            return str(self.rds.describe_db_clusters(DBClusterIdentifier=identifier)["DBClusters"][0]["DBClusterArn"])

    def contract_tags(self, identifier: str, kind: str) -> list[dict[str, str]]:
        return [
            {"Key": "restorable:managed-by", "Value": STACK},
            {"Key": "restorable:kind", "Value": kind},
            {"Key": "restorable:expires-at", "Value": "2027-03-08T02:00:00Z"},
            {"Key": "restorable:source", "Value": self.source_arn(identifier)},
            {"Key": "restorable:policy", "Value": "standard"},
        ]

    def managed_snapshot(self, identifier: str, kind: str = "weekly", day: str = "2026-12-06") -> str:
        """A snapshot as the snapshot job makes it, taken at 02:00 UTC on ``day``."""
        snapshot_id = f"{identifier}-{kind}-{day}"
        arn = self.rds.create_db_snapshot(
            DBSnapshotIdentifier=snapshot_id,
            DBInstanceIdentifier=identifier,
            Tags=self.contract_tags(identifier, kind),
        )["DBSnapshot"]["DBSnapshotArn"]
        snapshot = rds_backends[DEFAULT_ACCOUNT_ID][SOURCE_REGION].database_snapshots[snapshot_id]
        snapshot.created = snapshot.original_snapshot_create_time = taken_at(day)
        return str(arn)

    def managed_cluster_snapshot(self, identifier: str, kind: str = "weekly", day: str = "2026-12-06") -> str:
        snapshot_id = f"{identifier}-{kind}-{day}"
        arn = self.rds.create_db_cluster_snapshot(
            DBClusterSnapshotIdentifier=snapshot_id,
            DBClusterIdentifier=identifier,
            Tags=self.contract_tags(identifier, kind),
        )["DBClusterSnapshot"]["DBClusterSnapshotArn"]
        rds_backends[DEFAULT_ACCOUNT_ID][SOURCE_REGION].cluster_snapshots[snapshot_id].created = taken_at(day)
        return str(arn)

    def dr_copy(self, snapshot_arn: str) -> str:
        """The DR copy the copy function makes: same identifier, same tags, in the DR Region."""
        identifier = snapshot_arn.rsplit(":", 1)[-1]
        if ":cluster-snapshot:" in snapshot_arn:
            tags = self.rds.describe_db_cluster_snapshots(DBClusterSnapshotIdentifier=identifier)["DBClusterSnapshots"][
                0
            ]["TagList"]
            return str(
                self.dr_rds.copy_db_cluster_snapshot(
                    SourceDBClusterSnapshotIdentifier=snapshot_arn,
                    TargetDBClusterSnapshotIdentifier=identifier,
                    SourceRegion=SOURCE_REGION,
                    Tags=tags,
                )["DBClusterSnapshot"]["DBClusterSnapshotArn"]
            )
        tags = self.rds.describe_db_snapshots(DBSnapshotIdentifier=identifier)["DBSnapshots"][0]["TagList"]
        return str(
            self.dr_rds.copy_db_snapshot(
                SourceDBSnapshotIdentifier=snapshot_arn,
                TargetDBSnapshotIdentifier=identifier,
                SourceRegion=SOURCE_REGION,
                Tags=tags,
            )["DBSnapshot"]["DBSnapshotArn"]
        )

    # ---- running drills

    def run(self, drill_input: Any, name: str | None = None) -> ExecutionResult:
        return self.machines.run(STATE_MACHINE, drill_input, name=name, timeout_seconds=60)

    def leftovers(self) -> list[str]:
        """Drill instances and clusters still there (not deleting), in both Regions."""
        found = []
        for region in (SOURCE_REGION, DR_REGION):
            backend = rds_backends[DEFAULT_ACCOUNT_ID][region]
            found += [
                f"{region}:{k}"
                for k, v in backend.databases.items()
                if k.startswith("drill-") and v.status != "deleting"
            ]
            found += [
                f"{region}:{k}"
                for k, v in backend.clusters.items()
                if k.startswith("drill-") and v.status != "deleting"
            ]
        return found

    def restores(self) -> list[tuple[str, str, dict[str, Any]]]:
        """(region, operation, request body) of every restore and instance create, failed ones included."""
        return [c for c in self.calls if c[1].startswith(("Restore", "CreateDBInstance"))]

    @staticmethod
    def request_tags(body: dict[str, Any]) -> dict[str, str]:
        keys = {k.rsplit(".", 1)[0]: v for k, v in body.items() if k.startswith("Tags.") and k.endswith(".Key")}
        return {v: body.get(f"{prefix}.Value", "") for prefix, v in keys.items()}

    def set_drill_status(self, status: str) -> None:
        for region in (SOURCE_REGION, DR_REGION):
            backend = rds_backends[DEFAULT_ACCOUNT_ID][region]
            for key, database in backend.databases.items():
                if key.startswith("drill-"):
                    database.status = status
            for key, cluster in backend.clusters.items():
                if key.startswith("drill-"):
                    cluster.status = status

    def restore_takes(self, minutes: float) -> None:
        """Simulate a restore that stays 'creating' for ``minutes`` of (virtual) time."""

        def listener(waited: float) -> None:
            self.set_drill_status("available" if waited >= minutes * 60 else "creating")

        self.machines.clock.listeners.append(listener)

    def history_item(self, source_identifier: str) -> dict[str, Any]:
        table = self.machines.template.physical_name("DrillHistoryTable")
        items = boto3.client("dynamodb", region_name=SOURCE_REGION).scan(TableName=table)["Items"]
        mine = [i for i in items if i["source_identifier"]["S"] == source_identifier]
        assert len(mine) == 1, mine
        return dict(mine[0])

    def published(self) -> list[dict[str, Any]]:
        from moto.sns.models import sns_backends

        backend = sns_backends[DEFAULT_ACCOUNT_ID][SOURCE_REGION]
        topic = backend.topics[self.machines.template.arn("AlertTopic")]
        return [{"subject": n[2], "message": n[1]} for n in topic.sent_notifications]

    def report(self, result: ExecutionResult, kind: str = "json") -> Any:
        uri = result.output["record"]["report"][kind]
        bucket, key = uri.removeprefix("s3://").split("/", 1)
        body = boto3.client("s3", region_name=SOURCE_REGION).get_object(Bucket=bucket, Key=key)["Body"].read()
        return json.loads(body) if kind == "json" else body.decode()


@pytest.fixture
def world() -> Iterator[DrillWorld]:
    yield from drill_world_with()


def drill_world_with(parameters: dict[str, str] | None = None) -> Iterator[DrillWorld]:
    """The drill world with the template deployed with ``parameters`` (e.g. exports to the DR Region on)."""
    with mock_aws():
        template = Template.load(region=SOURCE_REGION, parameter_overrides=parameters or {})
        machines = StateMachines(Functions(template))
        with machines.running(simulate_time=True, start=START):
            rds = boto3.client("rds", region_name=SOURCE_REGION)
            dr_rds = boto3.client("rds", region_name=DR_REGION)
            machines.provision()
            machines.deploy(STATE_MACHINE)
            drill_world = DrillWorld(machines=machines, fleet=Fleet(rds), rds=rds, dr_rds=dr_rds)

            def hook(event_name: str, params: dict[str, Any], **_: Any) -> Any:
                operation = event_name.split(".", 2)[2]
                url = str(params.get("url", ""))
                region = DR_REGION if DR_REGION in url else SOURCE_REGION
                drill_world.calls.append((region, operation, request_body(params)))
                rule = drill_world.failures.get(operation)
                code = rule(params) if rule is not None else None
                if code:
                    return error_response(code)
                if operation in NO_SERVERLESS_CACHES:  # moto has none: answered empty, as AWS does without any
                    response = type("Response", (), {"status_code": 200, "headers": {}})()
                    return response, {NO_SERVERLESS_CACHES[operation]: [], "ResponseMetadata": {"HTTPStatusCode": 200}}
                return None

            session = boto3._get_default_session()
            session.events.register("before-call.*.*", hook, unique_id="drill-calls")
            try:
                yield drill_world
            finally:
                session.events.unregister("before-call.*.*", unique_id="drill-calls")


def request_body(params: dict[str, Any]) -> dict[str, Any]:
    """A request's parameters: the query form's fields (RDS) or the JSON document (DynamoDB)."""
    body = params.get("body")
    if isinstance(body, dict):
        return dict(body)
    if isinstance(body, bytes | str) and body:
        try:
            parsed = json.loads(body)
        except ValueError:
            return {}
        return parsed if isinstance(parsed, dict) else {}
    return {}


def taken_at(day: str) -> datetime:
    return datetime.fromisoformat(f"{day}T02:00:00+00:00")


@pytest.fixture(scope="session")
def postgres() -> Iterator[Server]:
    import pg8000.dbapi

    with postgres_server() as server:
        admin = pg8000.dbapi.connect(
            user=USERNAME, password=PASSWORD, host=server.host, port=server.port, database="postgres"
        )
        admin.autocommit = True
        admin.cursor().execute("CREATE DATABASE billing")
        admin.close()
        db = pg8000.dbapi.connect(
            user=USERNAME, password=PASSWORD, host=server.host, port=server.port, database="billing"
        )
        cursor = db.cursor()
        cursor.execute("CREATE TABLE customers (id serial PRIMARY KEY, name text NOT NULL)")
        cursor.execute("INSERT INTO customers (name) VALUES ('ada'), ('grace')")
        cursor.execute(
            "CREATE TABLE invoices (id serial PRIMARY KEY, amount numeric NOT NULL, updated_at timestamptz NOT NULL)"
        )
        cursor.execute(
            "INSERT INTO invoices (amount, updated_at) VALUES (10, '2026-12-07T23:00:00Z'),"
            " (20, '2026-12-08T04:00:00Z'),"
            " (30, '2026-12-08T05:00:00Z')"
        )
        db.commit()
        db.close()
        yield server


@pytest.fixture(scope="session")
def mariadb() -> Iterator[Server]:
    import pymysql

    with mariadb_server() as server:
        db = pymysql.connect(host=server.host, port=server.port, user=USERNAME, password=PASSWORD, autocommit=True)
        with db.cursor() as cursor:
            cursor.execute("CREATE DATABASE orders")
            cursor.execute(
                "CREATE TABLE orders.orders (id INT AUTO_INCREMENT PRIMARY KEY, updated_at DATETIME NOT NULL)"
            )
            cursor.execute(
                "INSERT INTO orders.orders (updated_at) VALUES ('2026-12-08 05:10:00'), ('2026-12-08 05:40:00')"
            )
        db.close()
        yield server
