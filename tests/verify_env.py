"""What the verification function needs on moto, built from template.yaml: topic, state table, quotas.

moto lacks ``DescribeAccountAttributes``, cross-Region automated-backup replication and serverless
caches, and reports ``LatestRestorableTime`` as "now". ``VerifyEnvironment`` fills those gaps: quotas
are served by a botocore ``before-call`` hook, the serverless cache listings are answered empty by
another, replication and the restorable time are set on moto's model (which it serializes as RDS
would).
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import datetime
from typing import Any

import boto3
from moto.core import DEFAULT_ACCOUNT_ID
from moto.core.utils import utcnow
from moto.rds.models import DBCluster, DBInstance, rds_backends
from moto.sns.models import sns_backends

from local_runtime.resources import provision_resources
from local_runtime.template import Template
from tests.aws_faults import error_response

_RESTORABLE_OVERRIDES: dict[str, datetime] = {}  # ARN -> LatestRestorableTime


def _latest_restorable_time(self: Any) -> datetime:
    return _RESTORABLE_OVERRIDES.get(self.arn, utcnow())


# moto raises NotImplementedError for these; AWS answers an empty listing where there are none.
_SERVERLESS_LISTINGS = {
    "DescribeServerlessCaches": "ServerlessCaches",
    "DescribeServerlessCacheSnapshots": "ServerlessCacheSnapshots",
}


def _no_serverless_caches(model: Any, **_: Any) -> Any:
    return (
        type("Response", (), {"status_code": 200, "headers": {}})(),
        {_SERVERLESS_LISTINGS[model.name]: [], "ResponseMetadata": {"HTTPStatusCode": 200}},
    )


class VerifyEnvironment:
    def __init__(self, template: Template, source_region: str, dr_region: str) -> None:
        self.template = template
        self.source_region = source_region
        self.dr_region = dr_region
        self.quotas: dict[str, dict[str, tuple[int, int]]] = {
            source_region: {"ManualSnapshots": (0, 100), "ManualClusterSnapshots": (0, 100)},
            dr_region: {"ManualSnapshots": (0, 100), "ManualClusterSnapshots": (0, 100)},
        }
        self.quota_error: dict[str, str] = {}
        self.topic_arn = template.ref("AlertTopic")
        self.table_name = template.ref("NotificationStateTable")

    def create(self) -> None:
        """The topic and tables the template declares (alerts, notification state, drill history)."""
        provision_resources(self.template, self.source_region)

    # --- what was sent and stored ---
    def messages(self) -> list[dict[str, Any]]:
        topic = sns_backends[DEFAULT_ACCOUNT_ID][self.source_region].topics[self.topic_arn]
        return [
            {"id": message_id, "subject": subject, "body": body}
            for message_id, body, subject, _attributes, _group in topic.sent_notifications
        ]

    def state(self) -> dict[tuple[str, str], str]:
        client = boto3.client("dynamodb", region_name=self.source_region)
        items = client.scan(TableName=self.table_name)["Items"]
        return {(i["resource_key"]["S"], i["check"]["S"]): i["severity"]["S"] for i in items}

    # --- facts moto cannot produce ---
    def set_latest_restorable_time(self, arn: str, moment: datetime) -> None:
        _RESTORABLE_OVERRIDES[arn] = moment

    def set_replication(self, identifier: str, region: str | None) -> None:
        database = rds_backends[DEFAULT_ACCOUNT_ID][self.source_region].databases[identifier]
        backup_arn = f"arn:aws:rds:{region}:{DEFAULT_ACCOUNT_ID}:auto-backup:ab-{identifier}"
        database.db_instance_automated_backups_replications = (
            [] if region is None else [{"DBInstanceAutomatedBackupsArn": backup_arn}]
        )

    def _serve_quotas(self, params: dict[str, Any], **kwargs: Any) -> Any:
        region = kwargs["request_signer"]._region_name
        if region in self.quota_error:
            code = self.quota_error[region]
            return error_response(code)
        quotas = [
            {"AccountQuotaName": name, "Used": used, "Max": maximum}
            for name, (used, maximum) in self.quotas[region].items()
        ]
        return (
            type("Response", (), {"status_code": 200, "headers": {}})(),
            {"AccountQuotas": quotas, "ResponseMetadata": {"HTTPStatusCode": 200}},
        )

    def install(self) -> Iterator[VerifyEnvironment]:
        session = boto3._get_default_session()
        session.events.register(
            "before-call.rds.DescribeAccountAttributes", self._serve_quotas, unique_id="verify-env-quotas"
        )
        for operation in _SERVERLESS_LISTINGS:
            session.events.register(
                f"before-call.elasticache.{operation}", _no_serverless_caches, unique_id=f"verify-env-{operation}"
            )
        saved = (DBInstance.latest_restorable_time, DBCluster.latest_restorable_time)
        DBInstance.latest_restorable_time = property(_latest_restorable_time)
        DBCluster.latest_restorable_time = property(_latest_restorable_time)
        try:
            yield self
        finally:
            DBInstance.latest_restorable_time, DBCluster.latest_restorable_time = saved
            _RESTORABLE_OVERRIDES.clear()
            session.events.unregister("before-call.rds.DescribeAccountAttributes", unique_id="verify-env-quotas")
            for operation in _SERVERLESS_LISTINGS:
                session.events.unregister(f"before-call.elasticache.{operation}", unique_id=f"verify-env-{operation}")
