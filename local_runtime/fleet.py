"""The demo's sample fleet: what a small team might run, protected and not."""

from __future__ import annotations

from typing import Any

PASSWORD = "demo-only-not-a-secret"  # noqa: S105 - moto database, never a real one


def create_sample_fleet(rds: Any) -> list[str]:
    """A MySQL and a PostgreSQL instance, an Aurora cluster, an unprotected and a stopped instance."""

    def tags(policy: str | None) -> list[dict[str, str]]:
        base = [{"Key": "team", "Value": "demo"}]
        return base + ([{"Key": "restorable:policy", "Value": policy}] if policy else [])

    def instance(identifier: str, engine: str, policy: str | None) -> None:
        rds.create_db_instance(
            DBInstanceIdentifier=identifier,
            DBInstanceClass="db.t3.micro",
            Engine=engine,
            MasterUsername="admin",
            MasterUserPassword=PASSWORD,
            AllocatedStorage=20,
            StorageEncrypted=True,
            BackupRetentionPeriod=7,
            PreferredBackupWindow="03:00-04:00",
            CopyTagsToSnapshot=True,
            Tags=tags(policy),
        )

    instance("shop-mysql", "mysql", "standard")
    instance("billing-postgres", "postgres", "compliance")
    instance("sandbox-postgres", "postgres", None)
    instance("reporting-mysql", "mysql", "standard")
    rds.stop_db_instance(DBInstanceIdentifier="reporting-mysql")
    rds.create_db_cluster(
        DBClusterIdentifier="ledger-aurora",
        Engine="aurora-postgresql",
        MasterUsername="admin",
        MasterUserPassword=PASSWORD,
        StorageEncrypted=True,
        BackupRetentionPeriod=7,
        Tags=tags("standard"),
    )
    rds.create_db_instance(
        DBInstanceIdentifier="ledger-aurora-1",
        DBInstanceClass="db.r6g.large",
        Engine="aurora-postgresql",
        DBClusterIdentifier="ledger-aurora",
    )
    return ["shop-mysql", "billing-postgres", "sandbox-postgres", "reporting-mysql", "ledger-aurora"]
