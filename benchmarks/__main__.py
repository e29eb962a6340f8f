"""Print benchmark figures: API calls of one weekly run at 10/100/1,000 databases (as moto answers and as
AWS would page), cold-start imports with the environment Lambda sets."""

from __future__ import annotations

import json
import os
import statistics
import subprocess
import sys
import time
from datetime import UTC, datetime
from pathlib import Path

import boto3
import time_machine
from moto import mock_aws

import local_runtime  # noqa: F401 - puts the core layer on the path
from local_runtime.functions import Functions
from local_runtime.template import REPO_ROOT, Template

from .api_calls import measure_invocation
from .drills import drill_transitions
from .verification import verification_api_calls

SUNDAY = datetime(2026, 11, 22, 2, tzinfo=UTC)


def weekly_run_api_calls(fleet_size: int, existing_snapshots_per_db: int = 0) -> dict[str, object]:
    os.environ.setdefault("AWS_ACCESS_KEY_ID", "bench")
    os.environ.setdefault("AWS_SECRET_ACCESS_KEY", "bench")
    os.environ["MOTO_RDS_SNAPSHOT_LIMIT"] = "1000000"  # moto enforces 1,000 by default
    # The run is the one scheduled for SUNDAY, made then (a schedule more than 7 days late is not replayed).
    with mock_aws(), time_machine.travel(SUNDAY, tick=False):
        rds = boto3.client("rds", region_name="us-east-1")
        for number in range(fleet_size):
            identifier = f"db{number:04d}"
            rds.create_db_instance(
                DBInstanceIdentifier=identifier,
                DBInstanceClass="db.t3.micro",
                Engine="postgres",
                AllocatedStorage=20,
                MasterUsername="u",
                MasterUserPassword="password-1",
                Tags=[{"Key": "restorable:policy", "Value": "standard"}],
            )
            for old in range(existing_snapshots_per_db):
                rds.create_db_snapshot(DBSnapshotIdentifier=f"{identifier}-old-{old}", DBInstanceIdentifier=identifier)
        functions = Functions(Template.load())
        [weekly] = [s for s in functions.schedules() if s.name == "WeeklySnapshots"]
        run = measure_invocation(functions, "SnapshotFunction", weekly.event_for(SUNDAY))
        return {
            "databases": fleet_size,
            "existing_snapshots": fleet_size * existing_snapshots_per_db,
            "created": run.payload["counts"]["created"],
            **run.figures(),
        }


def import_seconds(statement: str, env: dict[str, str], runs: int = 7) -> float:
    samples = []
    for _ in range(runs):
        started = time.perf_counter()
        subprocess.run([sys.executable, "-c", statement], check=True, env=env, cwd=REPO_ROOT)  # noqa: S603
        samples.append(time.perf_counter() - started)
    return statistics.median(samples)


def lambda_environment(functions: Functions, logical_id: str) -> dict[str, str]:
    """What the Lambda runtime sets for a function besides the template's variables (python3.13)."""
    spec = functions.spec(logical_id)
    name = f"{functions.template.stack_name}-{logical_id}"
    return {
        "LAMBDA_TASK_ROOT": str(spec.code_uri),
        "LAMBDA_RUNTIME_DIR": "/var/runtime",
        "_HANDLER": spec.handler,
        "AWS_EXECUTION_ENV": "AWS_Lambda_python3.13",
        "AWS_LAMBDA_FUNCTION_NAME": name,
        "AWS_LAMBDA_FUNCTION_MEMORY_SIZE": str(spec.memory_mb),
        "AWS_LAMBDA_FUNCTION_VERSION": "$LATEST",
        "AWS_LAMBDA_LOG_GROUP_NAME": f"/aws/lambda/{name}",
        "AWS_LAMBDA_LOG_STREAM_NAME": "2026/11/22/[$LATEST]bench",
        "AWS_LAMBDA_INITIALIZATION_TYPE": "on-demand",
        "AWS_XRAY_CONTEXT_MISSING": "LOG_ERROR",
        "AWS_XRAY_DAEMON_ADDRESS": "169.254.79.129:2000",
        "TZ": ":UTC",
        "LANG": "en_US.UTF-8",
    }


def cold_start() -> dict[str, float]:
    functions = Functions(Template.load())
    env = {
        **os.environ,
        **functions.environment("SnapshotFunction"),
        **lambda_environment(functions, "SnapshotFunction"),
        "PYTHONPATH": "layers/core",
    }
    for local_only in ("POWERTOOLS_TRACE_DISABLED", "POWERTOOLS_DEV"):
        env.pop(local_only, None)  # measure Powertools (the Tracer included) as deployed
    handler = Path(functions.spec("SnapshotFunction").module_path)
    load = (
        "import importlib.util as u; "
        f"s = u.spec_from_file_location('app', {str(handler)!r}); m = u.module_from_spec(s); s.loader.exec_module(m)"
    )
    interpreter = import_seconds("pass", env)
    boto = import_seconds("import boto3", env)
    full = import_seconds(load, env)
    return {
        "interpreter_only_s": round(interpreter, 3),
        "import_boto3_s": round(boto - interpreter, 3),
        "import_snapshot_handler_s": round(full - interpreter, 3),
        "handler_over_boto3_ratio": round((full - interpreter) / (boto - interpreter), 2),
    }


def main() -> None:
    figures = {
        "weekly_run": [weekly_run_api_calls(n) for n in (10, 100, 1000)],
        "weekly_run_with_history": [weekly_run_api_calls(100, existing_snapshots_per_db=10)],
        "cold_start_median_of_7": cold_start(),
        "verification_pass": [verification_api_calls(n) for n in (100, 1000)],
        "drill_state_transitions": [drill_transitions(minutes) for minutes in (5, 30, 90)],
    }
    print(json.dumps(figures, indent=2))


if __name__ == "__main__":
    main()
