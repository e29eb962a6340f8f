"""SQL checks through the real drivers (pg8000, PyMySQL) against real PostgreSQL and MariaDB servers."""

from __future__ import annotations

import json
from typing import Any

import boto3
import pytest

from local_runtime.statemachines import rds_endpoints_at
from restorable.adapters.secrets import SecretsManagerStore
from restorable.drills import steps as drill_steps
from restorable.drills.model import RestoredDatabase
from restorable.drills.plan import DrillRequest, parse_time
from tests.drills.conftest import SOURCE_REGION, DrillWorld, sample
from tests.drills.servers import PASSWORD, USERNAME, Server

TARGETED = "2026-12-08T06:00:00.000Z"


def _sql_checks(
    engine: str, server: Server, secret_arn: str, request: DrillRequest
) -> tuple[list[dict[str, Any]], float | None]:
    """The SQL checks on ``server`` as the check step runs them, the results as the state holds them."""
    restored = RestoredDatabase(
        identifier="drill-x",
        status="available",
        address=server.host,
        port=server.port,
        master_user_secret_arn=secret_arn,
    )
    targeted = parse_time(TARGETED)
    assert targeted is not None
    assert request.checks.sql is not None
    results, data_rpo = drill_steps.sql_checks(
        engine, targeted, restored, request.checks.sql, SecretsManagerStore(_secrets)
    )
    return [result.to_json() for result in results], data_rpo


def _secret(value: dict[str, str], name: str = "drill-credentials") -> str:
    client = boto3.client("secretsmanager", region_name=SOURCE_REGION)
    return str(
        client.create_secret(
            Name=name, SecretString=json.dumps(value), Tags=[{"Key": "restorable:drill-access", "Value": "true"}]
        )["ARN"]
    )


def _secrets(region: str) -> Any:
    return boto3.client("secretsmanager", region_name=region)


def _request(sql: dict[str, Any]) -> DrillRequest:
    return DrillRequest.model_validate(
        {"source": "db", "mode": "snapshot", "checks": {"sql": {"tls": "disable", **sql}}}
    )


def test_postgres_counts_minimums_freshness_and_a_bad_query(aws: None, postgres: Server) -> None:
    secret = _secret({"username": USERNAME, "password": PASSWORD})
    request = _request(
        {
            "database": "billing",
            "queries": [
                {"name": "invoices", "sql": "select count(*) from invoices", "min_value": 3},
                {"name": "too-few", "sql": "select count(*) from customers", "min_value": 10},
                {"name": "broken", "sql": "select count(*) from no_such_table"},
                {"name": "after-error", "sql": "select sum(amount) from invoices"},
            ],
            "freshness": {"sql": "select max(updated_at) from invoices", "max_age_seconds": 7200},
        }
    )
    results, data_rpo = _sql_checks("postgres", postgres, secret, request)
    by_name = {r["name"]: r for r in results}
    assert by_name["invoices"]["status"] == "passed"
    assert by_name["invoices"]["value"] == 3
    assert by_name["too-few"]["status"] == "failed"
    assert by_name["too-few"]["detail"] == "2 (minimum 10)"
    assert by_name["broken"]["status"] == "error"
    assert "no_such_table" in by_name["broken"]["detail"]
    assert by_name["after-error"]["status"] == "passed"  # the failed query was rolled back
    assert by_name["after-error"]["value"] == 60
    assert by_name["freshness"]["status"] == "passed"
    assert data_rpo == 3600.0  # newest invoice 05:00, targeted 06:00


def test_mariadb_counts_and_freshness(aws: None, mariadb: Server) -> None:
    secret = _secret({"username": USERNAME, "password": PASSWORD})
    request = _request(
        {
            "database": "orders",
            "queries": [{"name": "orders", "sql": "select count(*) from orders", "min_value": 2}],
            "freshness": {"sql": "select max(updated_at) from orders", "max_age_seconds": 600},
        }
    )
    results, data_rpo = _sql_checks("mariadb", mariadb, secret, request)
    by_name = {r["name"]: r for r in results}
    assert by_name["orders"]["status"] == "passed"
    assert by_name["freshness"]["status"] == "failed"  # 20 minutes old, 10 allowed
    assert data_rpo == 1200.0


@pytest.mark.parametrize("engine_name", ["postgres", "mariadb"])
def test_wrong_password_fails_every_check_without_revealing_it(
    aws: None, request: pytest.FixtureRequest, engine_name: str
) -> None:
    server: Server = request.getfixturevalue(engine_name)
    wrong = "not-the-Pa55word-42"
    secret = _secret({"username": USERNAME, "password": wrong})
    sql = _request(
        {
            "database": "billing" if engine_name == "postgres" else "orders",
            "queries": [{"name": "a", "sql": "select 1"}, {"name": "b", "sql": "select 2"}],
        }
    )
    results, _ = _sql_checks(engine_name, server, secret, sql)
    assert [r["status"] for r in results] == ["error", "error"]
    assert "cannot connect to 127.0.0.1" in results[0]["detail"]
    assert wrong not in json.dumps(results)


def _drill_with_sql(world: DrillWorld, server: Server, engine: str, checks: dict[str, Any]) -> Any:
    world.fleet.rds.create_db_instance(
        DBInstanceIdentifier="billing-db",
        DBInstanceClass="db.t3.micro",
        Engine=engine,
        MasterUsername=USERNAME,
        MasterUserPassword="source-password-1",
        AllocatedStorage=20,
        StorageEncrypted=True,
        BackupRetentionPeriod=7,
        Port=server.port,
        **({"EngineVersion": "10.11.6"} if engine == "mariadb" else {}),
        Tags=[{"Key": "restorable:policy", "Value": "standard"}],
    )
    world.managed_snapshot("billing-db")
    with rds_endpoints_at("127.0.0.1"):
        return world.run({"source": "billing-db", "mode": "snapshot", "checks": checks})


def _everything_said(world: DrillWorld, result: Any) -> str:
    """Logs, payloads and errors of every invocation, the execution history, the reports and the history table."""
    said = [
        json.dumps(i.logs) + json.dumps(i.payload) + "".join(i.other_output) + str(i.error)
        for i in world.machines.invocations
    ]
    said.append(json.dumps(result.history, default=str))
    s3 = boto3.client("s3", region_name=SOURCE_REGION)
    bucket = world.machines.template.physical_name("DrillReportBucket")
    for item in s3.list_objects_v2(Bucket=bucket).get("Contents", []):
        said.append(s3.get_object(Bucket=bucket, Key=item["Key"])["Body"].read().decode())
    table = world.machines.template.physical_name("DrillHistoryTable")
    said.append(json.dumps(boto3.client("dynamodb", region_name=SOURCE_REGION).scan(TableName=table)["Items"]))
    assert len(said) > 5
    return "\n".join(said)


def test_postgres_drill_reads_the_restored_instance_managed_secret(world: DrillWorld, postgres: Server) -> None:
    checks = sample("drill-sql-checks.json")["checks"]
    checks["sql"]["tls"] = "disable"
    result = _drill_with_sql(world, postgres, "postgres", checks)
    assert result.status == "SUCCEEDED", (result.cause, result.task_failures())
    drill = result.output
    sql = {c["name"]: c for c in drill["checks"]["results"] if c["kind"] == "sql"}
    assert {n: c["status"] for n, c in sql.items()} == {
        "invoices": "passed",
        "customers": "passed",
        "freshness": "passed",
    }
    # The restore target is read from the wall clock while the drill runs: a loaded machine adds seconds.
    assert drill["checks"]["data_rpo_seconds"] == pytest.approx(3600, abs=60)
    assert drill["restored"]["master_user_secret_arn"].split(":")[6].startswith("rds!")
    assert PASSWORD not in _everything_said(world, result)
    assert world.leftovers() == []


def test_mariadb_drill_with_a_shared_secret_fails_on_a_minimum(world: DrillWorld, mariadb: Server) -> None:
    secret = _secret({"username": USERNAME, "password": PASSWORD}, name="orders-drill")
    checks = {
        "sql": {
            "database": "orders",
            "secret_arn": secret,
            "tls": "disable",
            "queries": [{"name": "orders", "sql": "select count(*) from orders", "min_value": 1000}],
        }
    }
    result = _drill_with_sql(world, mariadb, "mariadb", checks)
    assert result.status == "FAILED"
    item = world.history_item("billing-db")
    assert item["outcome"]["S"] == "failed"
    assert "check orders failed: 2 (minimum 1000)" in [r["S"] for r in item["reasons"]["L"]]
    assert PASSWORD not in _everything_said(world, result)
    assert world.leftovers() == []
