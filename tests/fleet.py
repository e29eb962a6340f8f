"""Build fleets of RDS instances and Aurora clusters on moto, in any state."""

from __future__ import annotations

from typing import Any

from moto.core import DEFAULT_ACCOUNT_ID
from moto.rds.models import rds_backends

POLICY_TAG = "restorable:policy"


class Fleet:
    def __init__(self, rds: Any) -> None:
        self.rds = rds
        self.region: str = rds.meta.region_name

    @staticmethod
    def _tags(policy: str | None, extra: dict[str, str] | None = None) -> list[dict[str, str]]:
        tags = dict(extra or {})
        if policy is not None:
            tags[POLICY_TAG] = policy
        return [{"Key": k, "Value": v} for k, v in tags.items()]

    def instance(
        self,
        identifier: str,
        *,
        policy: str | None = "standard",
        engine: str = "mysql",
        status: str | None = None,
        tags: dict[str, str] | None = None,
    ) -> dict[str, Any]:
        created = self.rds.create_db_instance(
            DBInstanceIdentifier=identifier,
            DBInstanceClass="db.t3.micro",
            Engine=engine,
            MasterUsername="admin",
            MasterUserPassword="not-a-secret-1",
            AllocatedStorage=20,
            StorageEncrypted=True,
            BackupRetentionPeriod=7,
            PreferredBackupWindow="03:00-04:00",
            CopyTagsToSnapshot=True,
            Tags=self._tags(policy, tags),
        )["DBInstance"]
        if status is not None:
            self.set_instance_status(identifier, status)
        return dict(created)

    def cluster(
        self,
        identifier: str,
        *,
        policy: str | None = "standard",
        engine: str = "aurora-postgresql",
        members: int = 1,
        status: str | None = None,
        member_policy: str | None = None,
    ) -> dict[str, Any]:
        created = self.rds.create_db_cluster(
            DBClusterIdentifier=identifier,
            Engine=engine,
            MasterUsername="admin",
            MasterUserPassword="not-a-secret-1",
            StorageEncrypted=True,
            BackupRetentionPeriod=7,
            Tags=self._tags(policy),
        )["DBCluster"]
        for number in range(1, members + 1):
            self.rds.create_db_instance(
                DBInstanceIdentifier=f"{identifier}-{number}",
                DBInstanceClass="db.r6g.large",
                Engine=engine,
                DBClusterIdentifier=identifier,
                Tags=self._tags(member_policy),
            )
        if status is not None:
            self.set_cluster_status(identifier, status)
        return dict(created)

    def set_instance_status(self, identifier: str, status: str) -> None:
        """Put an instance in a state moto's API cannot reach (creating, modifying, storage-full...)."""
        rds_backends[DEFAULT_ACCOUNT_ID][self.region].databases[identifier].status = status

    def set_cluster_status(self, identifier: str, status: str) -> None:
        rds_backends[DEFAULT_ACCOUNT_ID][self.region].clusters[identifier].status = status

    def manual_snapshots(self) -> dict[str, dict[str, str]]:
        """Identifier to tags of every manual DB and cluster snapshot in the Region."""
        found: dict[str, dict[str, str]] = {}
        for page in self.rds.get_paginator("describe_db_snapshots").paginate(SnapshotType="manual"):
            for snap in page["DBSnapshots"]:
                found[snap["DBSnapshotIdentifier"]] = {t["Key"]: t["Value"] for t in snap.get("TagList", [])}
        for page in self.rds.get_paginator("describe_db_cluster_snapshots").paginate(SnapshotType="manual"):
            for snap in page["DBClusterSnapshots"]:
                found[snap["DBClusterSnapshotIdentifier"]] = {t["Key"]: t["Value"] for t in snap.get("TagList", [])}
        return found

    def set_snapshot_status(self, identifier: str, status: str, percent_progress: int | None = None) -> None:
        """Put a DB or cluster snapshot in any state (moto creates them 'available' at once)."""
        backend = rds_backends[DEFAULT_ACCOUNT_ID][self.region]
        snapshot = backend.database_snapshots.get(identifier) or backend.cluster_snapshots[identifier]
        snapshot.status = status
        if percent_progress is not None:
            snapshot.percent_progress = percent_progress
