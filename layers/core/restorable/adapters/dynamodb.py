"""DynamoDB adapter: tables with tags, PITR facts, on-demand backups, and exports to the DR Region.

Every listing is paged; backups are filtered to ``BackupType=USER`` by the request and again on
the answer (the emulator ignores the filter). Error codes DynamoDB adds to the shared table are
mapped here, through ``translate_dynamodb``, before falling back to ``adapters/errors.translate``.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Mapping
from datetime import datetime
from typing import TYPE_CHECKING, Any

from botocore.exceptions import ClientError

from ..dynamodb_models import ContinuousBackups, Replica, Table, TableBackup, TableExport
from ..errors import (
    AlreadyExistsError,
    AwsError,
    InvalidParameterError,
    ResourceBusyError,
    ResourceNotFoundError,
)
from ..tags import tag_dict
from . import paginators
from .errors import BOTO_ERRORS, translate

if TYPE_CHECKING:
    from botocore.exceptions import BotoCoreError
    from mypy_boto3_dynamodb import DynamoDBClient
else:
    DynamoDBClient = Any

# ListTables and ListBackups return at most 100 per page.
PAGE_SIZE = 100
EXPORT_PAGE_SIZE = 25

# DynamoDB's codes that the shared table lacks (or maps for RDS's meaning).
DYNAMODB_ERRORS: Mapping[str, type[AwsError]] = {
    "TableNotFoundException": ResourceNotFoundError,
    "BackupNotFoundException": ResourceNotFoundError,
    "ExportNotFoundException": ResourceNotFoundError,
    "TableInUseException": ResourceBusyError,
    "BackupInUseException": ResourceBusyError,
    # PITR being turned on: backups and exports are refused until it is ready.
    "ContinuousBackupsUnavailableException": ResourceBusyError,
    # As RDS's PointInTimeRestoreNotEnabled: a later run retries; verification reports PITR off.
    "PointInTimeRecoveryUnavailableException": ResourceBusyError,
    "ExportConflictException": ResourceBusyError,
    "InvalidExportTimeException": InvalidParameterError,
    "InvalidRestoreTimeException": InvalidParameterError,
    "IdempotentParameterMismatchException": InvalidParameterError,
    "TableAlreadyExistsException": AlreadyExistsError,
}


def translate_dynamodb(error: ClientError | BotoCoreError, action: str) -> AwsError:
    """The shared ``translate``, with DynamoDB's own codes classified first."""
    general = translate(error, action)
    known = DYNAMODB_ERRORS.get(general.code) if isinstance(error, ClientError) else None
    return known(str(general), code=general.code) if known is not None else general


class DynamoDbGateway:
    """One Region's DynamoDB, through a client the caller creates (so tests can hand in another)."""

    def __init__(self, client: DynamoDBClient) -> None:
        self._client = client
        self.region: str = client.meta.region_name

    def pages(self, operation: str, result_key: str, page_size: int | None, **kwargs: Any) -> Iterator[Any]:
        paginator = paginators.paginator(self._client, operation)
        config = {"PaginationConfig": {"PageSize": page_size}} if page_size else {}
        try:
            for page in paginator.paginate(**config, **kwargs):
                yield from page.get(result_key, [])
        except BOTO_ERRORS as exc:
            raise translate_dynamodb(exc, operation) from exc

    # ---- tables ----

    def list_table_names(self) -> list[str]:
        return list(self.pages("list_tables", "TableNames", PAGE_SIZE))

    def list_tables(self, *, with_tags: bool = True) -> list[Table]:
        """Every table of the Region (with its tags unless told); a table deleted while we list is left out."""
        tables = []
        for name in self.list_table_names():
            try:
                tables.append(self.describe_table(name, with_tags=with_tags))
            except ResourceNotFoundError:
                continue
        return tables

    def describe_table(self, name: str, *, with_tags: bool = True) -> Table:
        try:
            item = self._client.describe_table(TableName=name)["Table"]
        except BOTO_ERRORS as exc:
            raise translate_dynamodb(exc, f"describe table {name}") from exc
        arn = item.get("TableArn", "")
        return Table(
            name=item.get("TableName", name),
            arn=arn,
            status=item.get("TableStatus", "UNKNOWN"),
            table_id=item.get("TableId", ""),
            size_bytes=item.get("TableSizeBytes"),
            item_count=item.get("ItemCount"),
            tags=self.table_tags(arn) if with_tags and arn else {},
            replicas=tuple(
                Replica(region=r.get("RegionName", ""), status=r.get("ReplicaStatus", "UNKNOWN"))
                for r in item.get("Replicas", [])
            ),
            created_at=_aware(item.get("CreationDateTime")),
        )

    def table_tags(self, table_arn: str) -> dict[str, str]:
        return tag_dict(list(self.pages("list_tags_of_resource", "Tags", None, ResourceArn=table_arn)))

    def describe_continuous_backups(self, table_name: str) -> ContinuousBackups:
        try:
            found = self._client.describe_continuous_backups(TableName=table_name)["ContinuousBackupsDescription"]
        except BOTO_ERRORS as exc:
            raise translate_dynamodb(exc, f"describe continuous backups of {table_name}") from exc
        pitr: Mapping[str, Any] = found.get("PointInTimeRecoveryDescription", {})
        return ContinuousBackups(
            continuous_backups_enabled=found.get("ContinuousBackupsStatus") == "ENABLED",
            pitr_status=pitr.get("PointInTimeRecoveryStatus", "DISABLED"),
            recovery_period_days=pitr.get("RecoveryPeriodInDays"),
            earliest_restorable=pitr.get("EarliestRestorableDateTime"),
            latest_restorable=pitr.get("LatestRestorableDateTime"),
        )

    # ---- on-demand backups ----

    def list_backups(self, table_name: str | None = None) -> list[TableBackup]:
        """The Region's USER backups (or one table's), every page."""
        scope = {"TableName": table_name} if table_name else {}
        return [
            backup
            for backup in (
                self._backup_from_summary(item)
                for item in self.pages("list_backups", "BackupSummaries", PAGE_SIZE, BackupType="USER", **scope)
            )
            if backup.is_user_backup
        ]

    def create_backup(self, table: Table, backup_name: str) -> TableBackup:
        try:
            details = self._client.create_backup(TableName=table.name, BackupName=backup_name)["BackupDetails"]
        except BOTO_ERRORS as exc:
            raise translate_dynamodb(exc, f"back up table {table.name} as {backup_name}") from exc
        return self._backup(details, table_name=table.name, table_arn=table.arn, table_id=table.table_id)

    def describe_backup(self, backup_arn: str) -> TableBackup:
        try:
            found = self._client.describe_backup(BackupArn=backup_arn)["BackupDescription"]
        except BOTO_ERRORS as exc:
            raise translate_dynamodb(exc, f"describe backup {backup_arn}") from exc
        source: Mapping[str, Any] = found.get("SourceTableDetails", {})
        return self._backup(
            found.get("BackupDetails", {}),
            table_name=source.get("TableName", ""),
            table_arn=source.get("TableArn", ""),
            table_id=source.get("TableId", ""),
        )

    def delete_backup(self, backup: TableBackup) -> None:
        if backup.region != self.region:
            raise ValueError(f"backup {backup.name} is in {backup.region}, not {self.region}")
        try:
            self._client.delete_backup(BackupArn=backup.arn)
        except BOTO_ERRORS as exc:
            raise translate_dynamodb(exc, f"delete backup {backup.name} in {self.region}") from exc

    # ---- exports (the DR copy) ----

    def export_to_point_in_time(
        self,
        table: Table,
        *,
        export_time: datetime,
        bucket: str,
        bucket_owner: str,
        prefix: str,
        kms_key_id: str,
        client_token: str,
    ) -> TableExport:
        """Export ``table`` as it was at ``export_time`` into ``bucket`` (in the DR Region), KMS-encrypted.

        Called in the table's Region; DynamoDB writes across Regions. The table needs PITR and
        ``export_time`` must be in its window. ``client_token`` makes a rerun within 8 hours return
        the same export instead of starting another; a prefix is always given (the emulator needs it).
        """
        if export_time.tzinfo is None:
            raise ValueError("export_time must be timezone-aware")
        if not prefix:
            raise ValueError("an export needs a prefix")
        try:
            found = self._client.export_table_to_point_in_time(
                TableArn=table.arn,
                ExportTime=export_time,
                ClientToken=client_token,
                S3Bucket=bucket,
                S3BucketOwner=bucket_owner,
                S3Prefix=prefix,
                S3SseAlgorithm="KMS",
                S3SseKmsKeyId=kms_key_id,
                ExportFormat="DYNAMODB_JSON",
                ExportType="FULL_EXPORT",
            )["ExportDescription"]
        except BOTO_ERRORS as exc:
            raise translate_dynamodb(exc, f"export table {table.name} to s3://{bucket}/{prefix}") from exc
        return _export(found)

    def describe_export(self, export_arn: str) -> TableExport:
        try:
            return _export(self._client.describe_export(ExportArn=export_arn)["ExportDescription"])
        except BOTO_ERRORS as exc:
            raise translate_dynamodb(exc, f"describe export {export_arn}") from exc

    def list_exports(self, table_arn: str) -> list[TableExport]:
        """ARN and status of every export of a table (botocore has no paginator for ListExports)."""
        found: list[TableExport] = []
        token: dict[str, str] = {}
        while True:
            try:
                page = self._client.list_exports(TableArn=table_arn, MaxResults=EXPORT_PAGE_SIZE, **token)
            except BOTO_ERRORS as exc:
                raise translate_dynamodb(exc, f"list exports of {table_arn}") from exc
            found.extend(
                TableExport(arn=s.get("ExportArn", ""), status=s.get("ExportStatus", "UNKNOWN"), table_arn=table_arn)
                for s in page.get("ExportSummaries", [])
            )
            if not page.get("NextToken"):
                return found
            token = {"NextToken": page["NextToken"]}

    def describe_exports(
        self, table_arn: str, *, enough: Callable[[TableExport], bool] | None = None
    ) -> list[TableExport]:
        """Every export of a table, described (ListExports gives neither bucket nor prefix), newest listed first.

        ``enough``: stop describing once it returns True for an export (ListExports documents no order,
        so this saves calls only where the listing puts the wanted export early). An export that vanished
        between the listing and its description is left out.
        """
        described: list[TableExport] = []
        for summary in reversed(self.list_exports(table_arn)):
            try:
                found = self.describe_export(summary.arn)
            except ResourceNotFoundError:
                continue
            described.append(found)
            if enough is not None and enough(found):
                break
        return described

    def _backup_from_summary(self, item: Mapping[str, Any]) -> TableBackup:
        return self._backup(
            item,
            table_name=item.get("TableName", ""),
            table_arn=item.get("TableArn", ""),
            table_id=item.get("TableId", ""),
        )

    def _backup(self, item: Mapping[str, Any], *, table_name: str, table_arn: str, table_id: str) -> TableBackup:
        return TableBackup(
            arn=item.get("BackupArn", ""),
            name=item.get("BackupName", ""),
            table_name=table_name,
            table_arn=table_arn,
            table_id=table_id,
            status=item.get("BackupStatus", "UNKNOWN"),
            # A backup without a type is not read as ours.
            backup_type=item.get("BackupType", ""),
            region=self.region,
            created_at=item.get("BackupCreationDateTime"),
            size_bytes=item.get("BackupSizeBytes"),
        )


def _aware(moment: object) -> datetime | None:
    return moment if isinstance(moment, datetime) and moment.tzinfo is not None else None


def _export(item: Mapping[str, Any]) -> TableExport:
    failure = " ".join(str(item.get(k, "")) for k in ("FailureCode", "FailureMessage")).strip()
    return TableExport(
        arn=item.get("ExportArn", ""),
        status=item.get("ExportStatus", "UNKNOWN"),
        table_arn=item.get("TableArn", ""),
        export_time=item.get("ExportTime"),
        s3_bucket=item.get("S3Bucket", ""),
        s3_bucket_owner=item.get("S3BucketOwner", ""),
        s3_prefix=item.get("S3Prefix", ""),
        sse_algorithm=item.get("S3SseAlgorithm", ""),
        kms_key_id=item.get("S3SseKmsKeyId", ""),
        client_token=item.get("ClientToken", ""),
        failure=failure,
    )
