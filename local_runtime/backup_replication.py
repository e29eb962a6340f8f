"""Cross-Region automated backup replication, which moto does not implement, served for the demo's world.

``StartDBInstanceAutomatedBackupsReplication`` is called in the destination Region with the source
instance's ARN; RDS then lists the replication on the source instance
(``DBInstanceAutomatedBackupsReplications`` in ``DescribeDBInstances``), which is what verification's
backup-replication check reads. While ``serve_backup_replication()`` is active, the start call is
answered here and the source instances' descriptions carry their replications. Without it every
protected instance of the sample fleet would be reported, every hour, as not replicating.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from typing import Any

import boto3

_START = "before-call.rds.StartDBInstanceAutomatedBackupsReplication"
_DESCRIBE = "after-call.rds.DescribeDBInstances"
_ID = "local-runtime-backup-replication"


class BackupReplications:
    """Source instance ARN -> destination Regions its automated backups replicate to."""

    def __init__(self) -> None:
        self.destinations: dict[str, set[str]] = {}

    def start(self, params: dict[str, Any], **kwargs: Any) -> Any:
        region = kwargs["request_signer"]._region_name
        body = params.get("body") or {}
        source_arn = str(body.get("SourceDBInstanceArn", ""))
        self.destinations.setdefault(source_arn, set()).add(region)
        response = type("Response", (), {"status_code": 200, "headers": {}})()
        backup = {"DBInstanceArn": source_arn, "Region": source_arn.split(":")[3], "Status": "replicating"}
        return response, {"DBInstanceAutomatedBackup": backup, "ResponseMetadata": {"HTTPStatusCode": 200}}

    def describe(self, parsed: dict[str, Any], **_: Any) -> None:
        for instance in parsed.get("DBInstances") or []:
            arn = str(instance.get("DBInstanceArn", ""))
            regions = sorted(self.destinations.get(arn, ()))
            if regions:
                name = arn.rsplit(":", 1)[-1]
                account = arn.split(":")[4]
                instance["DBInstanceAutomatedBackupsReplications"] = [
                    {"DBInstanceAutomatedBackupsArn": f"arn:aws:rds:{r}:{account}:auto-backup:ab-{name}"}
                    for r in regions
                ]


@contextlib.contextmanager
def serve_backup_replication() -> Iterator[BackupReplications]:
    """Answer the start call and show replications on the boto3 default session (clients created inside)."""
    replications = BackupReplications()
    events = boto3._get_default_session().events
    events.register(_START, replications.start, unique_id=_ID + "-start")
    events.register(_DESCRIBE, replications.describe, unique_id=_ID + "-describe")
    try:
        yield replications
    finally:
        events.unregister(_START, unique_id=_ID + "-start")
        events.unregister(_DESCRIBE, unique_id=_ID + "-describe")
