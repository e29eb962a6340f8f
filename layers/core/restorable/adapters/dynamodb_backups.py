"""DynamoDB behind the snapshot and prune jobs' ports: tables as databases, our backups as recovery points.

``DynamoDbBackupGateway`` wraps ``DynamoDbGateway`` (the boto3 calls) and, for the prune, the holds
store. A backup's tags are read from its name (``dynamodb_backup_names``) and from the holds book
(``dynamodb_holds``); the holds are read only when there is a backup of ours to judge, and a book
that cannot be read holds every backup (fail safe).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

from ..dynamodb_holds import HoldBook
from ..dynamodb_models import Table, TableBackup, backup_recovery_point
from ..errors import ResourceNotFoundError
from ..models import Database, DatabaseType, Engine, RecoveryPoint
from ..predeploy_plan import PointReference, Slot
from .dynamodb import DynamoDbGateway
from .dynamodb_holds import HoldStore
from .errors import BOTO_ERRORS, translate

if TYPE_CHECKING:
    from mypy_boto3_sts import STSClient
else:
    STSClient = Any

NO_HOLDS_STORE = "no holds store was given: every backup is read as held"


class DynamoDbBackupGateway:
    """One Region's DynamoDB tables and USER backups, as the jobs see databases and recovery points.

    Without ``holds`` (the snapshot job, which never deletes) every backup reads as held.
    """

    engine = Engine.DYNAMODB

    def __init__(self, gateway: DynamoDbGateway, *, stack_name: str, holds: HoldStore | None = None) -> None:
        self._gateway = gateway
        self._stack_name = stack_name
        self._holds = holds
        self.region = gateway.region
        self._hold_problems: list[str] = []

    def list_databases(self) -> list[Database]:
        """Every table of the Region, with its tags, as a ``Database`` of type ``TABLE``."""
        return [table_database(table) for table in self._gateway.list_tables()]

    def list_manual_snapshots(self) -> list[RecoveryPoint]:
        """Every USER backup of the Region; held ones carry the legal-hold tag the prune reads."""
        self._hold_problems = []
        backups = self._gateway.list_backups()
        ours = any(backup.parsed_name(self._stack_name) is not None for backup in backups)
        book = self._read_holds() if ours else HoldBook(readable=True)
        self._hold_problems = list(book.problems)
        if not book.readable:
            self._hold_problems.append(
                f"the holds store cannot be read ({book.unreadable_reason}): every DynamoDB backup in "
                f"{self.region} is kept"
            )
        return [
            backup_recovery_point(backup, stack_name=self._stack_name, point_type=DatabaseType.TABLE, holds=book)
            for backup in backups
        ]

    def hold_problems(self) -> list[str]:
        """What the last listing found wrong with the holds (each problem kept the backups it concerns)."""
        return list(self._hold_problems)

    def create_snapshot(self, database: Database, snapshot_id: str, tags: dict[str, str]) -> RecoveryPoint:
        """Back the table up as ``snapshot_id``: the name carries the contract, the tags are not stored."""
        table = Table(name=database.identifier, arn=database.arn, status=database.status, tags=database.tags)
        return self._point(self._gateway.create_backup(table, snapshot_id))

    def find_database(self, identifier: str) -> Database | None:
        """The table named ``identifier`` with its tags, or None when there is none."""
        try:
            return table_database(self._gateway.describe_table(identifier))
        except ResourceNotFoundError:
            return None

    def list_snapshots_of(self, database: Database) -> list[RecoveryPoint]:
        """The table's USER backups, tags read from their names (holds are not read: nothing is deleted)."""
        return [self._point(backup) for backup in self._gateway.list_backups(database.identifier)]

    def describe_points(self, references: Sequence[PointReference]) -> list[RecoveryPoint]:
        """The pre-deploy job's port: the token's backups by ARN, one DescribeBackup each; a gone one is absent."""
        found: list[RecoveryPoint] = []
        for reference in references:
            if reference.slot is not Slot.TABLE:
                continue
            try:
                found.append(self._point(self._gateway.describe_backup(reference.value)))
            except ResourceNotFoundError:
                continue
        return found

    def _point(self, backup: TableBackup) -> RecoveryPoint:
        return backup_recovery_point(
            backup, stack_name=self._stack_name, point_type=DatabaseType.TABLE, holds=HoldBook(readable=True)
        )

    def delete_snapshot(self, point: RecoveryPoint) -> None:
        self._gateway.delete_backup(
            TableBackup(
                arn=point.arn,
                name=point.identifier,
                table_name=point.source_identifier,
                table_arn=point.source_arn or "",
                status=point.status,
                backup_type="USER",
                region=point.region,
            )
        )

    def _read_holds(self) -> HoldBook:
        return self._holds.read() if self._holds is not None else HoldBook.unreadable(NO_HOLDS_STORE)


class ExistingTables:
    """The prune's inventory of DynamoDB: which tables exist, by ARN, from ListTables pages alone.

    The prune needs no policy tag and no status, only the ARNs its backups' sources are checked
    against; they are made from the caller's partition and account (one STS call), not read with a
    DescribeTable per table. A wrong ARN could only make a table look deleted: that reports it and
    keeps its newest backups, it never deletes more.
    """

    def __init__(self, gateway: DynamoDbGateway, sts_client: STSClient) -> None:
        self._gateway = gateway
        self._sts = sts_client

    def list_databases(self) -> list[Database]:
        prefix = self._table_arn_prefix()
        return [
            Database(DatabaseType.TABLE, name, f"{prefix}{name}", "unknown", Engine.DYNAMODB.value)
            for name in self._gateway.list_table_names()
        ]

    def _table_arn_prefix(self) -> str:
        try:
            caller = self._sts.get_caller_identity()
        except BOTO_ERRORS as exc:
            raise translate(exc, "get caller identity") from exc
        partition = caller["Arn"].split(":", 2)[1]
        return f"arn:{partition}:dynamodb:{self._gateway.region}:{caller['Account']}:table/"


def table_database(table: Table) -> Database:
    return Database(
        type=DatabaseType.TABLE,
        identifier=table.name,
        arn=table.arn,
        status=table.status,
        engine=Engine.DYNAMODB.value,
        tags=dict(table.tags),
    )
