"""DynamoDB adapter for restore drills: the source table and its backups, the restore into a temporary table
(tagged right after, since the restore APIs take no tags), its state, the reads the checks make, and its
deletion, only with positive proof that it is a drill table (``drills.table_names.drill_table_proof``).

Implements ``drills.ports.DrillEngine`` and ``drills.dynamodb.TableSources`` / ``TableReader``."""

from __future__ import annotations

import time
from collections.abc import Iterator, Mapping
from typing import TYPE_CHECKING, Any

from .. import tags as tag_keys
from ..drills.model import (
    DrillResource,
    ExportSource,
    ImportProgress,
    Network,
    RestoredDatabase,
    ScanPage,
    SourceTable,
)
from ..drills.plan import DrillMode
from ..drills.state import DrillPlan
from ..drills.table_names import (
    drill_table_proof,
    execution_digest,
    parse_drill_table_name,
    table_name_prefix,
)
from ..dynamodb_models import TableBackup, TableExport
from ..errors import (
    AlreadyExistsError,
    AwsError,
    CleanupPendingError,
    NotOwnedError,
    ResourceBusyError,
    ResourceNotFoundError,
    RestoreFailedError,
)
from ..models import DatabaseType, Engine
from ..tags import tag_list
from .dynamodb import DYNAMODB_ERRORS, DynamoDbGateway
from .errors import BOTO_ERRORS, translate

if TYPE_CHECKING:
    from botocore.exceptions import BotoCoreError, ClientError
    from mypy_boto3_dynamodb import DynamoDBClient
else:
    DynamoDBClient = Any

# DeleteTable / TagResource on a table being created or updated.
_DRILL_ERRORS: Mapping[str, type[AwsError]] = {
    **DYNAMODB_ERRORS,
    "ResourceInUseException": ResourceBusyError,
    # ImportTable: the same client token with other parameters, or the table name is taken.
    "ImportConflictException": AlreadyExistsError,
    "ImportNotFoundException": ResourceNotFoundError,
}
# Statuses a restored table does not come back from.
FAILED_IMPORT_STATUSES = frozenset({"FAILED", "CANCELLING", "CANCELLED"})
FAILED_TABLE_STATUSES = frozenset(
    {"DELETING", "INACCESSIBLE_ENCRYPTION_CREDENTIALS", "ARCHIVING", "ARCHIVED"}
    | {f"IMPORT_{status}" for status in FAILED_IMPORT_STATUSES}
)
# Describes of a table an import just created before giving up on tagging it in this step.
_TABLE_APPEARS_TRIES = 8
# BatchGetItem takes 100 keys; unprocessed ones are asked again this many times.
_BATCH = 100
_UNPROCESSED_RETRIES = 5


def _translate(error: ClientError | BotoCoreError, action: str) -> AwsError:
    general = translate(error, action)
    known = _DRILL_ERRORS.get(general.code)
    return known(str(general), code=general.code) if known is not None else general


class DrillTableGateway:
    """One Region's DynamoDB, for table drills."""

    engine = Engine.DYNAMODB
    available_status = "ACTIVE"
    failed_statuses = FAILED_TABLE_STATUSES

    def __init__(self, client: DynamoDBClient) -> None:
        self.client = client
        self.tables = DynamoDbGateway(client)
        self.region: str = client.meta.region_name

    # ---- the source and its backups

    def find_table(self, name: str) -> SourceTable:
        item = self._describe(name)
        if item is None:
            raise ResourceNotFoundError(
                f"table {name} does not exist in {self.region}", code="ResourceNotFoundException"
            )
        pitr = self.tables.describe_continuous_backups(name)
        types = {a["AttributeName"]: a["AttributeType"] for a in item.get("AttributeDefinitions", [])}
        return SourceTable(
            name=item["TableName"],
            arn=item["TableArn"],
            status=item.get("TableStatus", "UNKNOWN"),
            tags=self.tables.table_tags(item["TableArn"]),
            key_attributes=tuple(k["AttributeName"] for k in item.get("KeySchema", [])),
            encrypted=(item.get("SSEDescription") or {}).get("Status") in ("ENABLED", "ENABLING", "UPDATING"),
            pitr_enabled=pitr.pitr_enabled,
            earliest_restorable_time=pitr.earliest_restorable,
            latest_restorable_time=pitr.latest_restorable,
            key_schema=tuple(
                (k["AttributeName"], types.get(k["AttributeName"], ""), k["KeyType"]) for k in item.get("KeySchema", [])
            ),
        )

    def describe_exports(self, table_arn: str) -> list[TableExport]:
        return self.tables.describe_exports(table_arn)

    def get_export(self, export_arn: str) -> TableExport:
        return self.tables.describe_export(export_arn)

    def get_backup(self, backup_arn: str) -> TableBackup:
        return self.tables.describe_backup(backup_arn)

    def list_backups(self, table_name: str) -> list[TableBackup]:
        return self.tables.list_backups(table_name)

    # ---- restore

    def restore(self, plan: DrillPlan, network: Network) -> str | None:
        """Restore into the plan's table, then tag it. A retry finds the table it made (by name and restore source).

        A cross-region drill imports the plan's export instead and returns the import's ARN."""
        if plan.mode is DrillMode.CROSS_REGION:
            return self._import(plan)
        target = plan.target.identifier
        # On-demand: the checks' Scan is billed per read instead of throttled by a small provisioned capacity.
        common = {"TargetTableName": target, "BillingModeOverride": "PAY_PER_REQUEST"}
        try:
            if plan.mode is DrillMode.PITR:
                point: dict[str, Any] = (
                    {"RestoreDateTime": plan.restore_to} if plan.restore_to else {"UseLatestRestorableTime": True}
                )
                self.client.restore_table_to_point_in_time(
                    SourceTableName=plan.source.identifier,
                    **point,
                    **common,  # type: ignore[arg-type]
                )
            else:
                self.client.restore_table_from_backup(
                    BackupArn=str(plan.recovery_point.arn),
                    **common,  # type: ignore[arg-type]
                )
        except BOTO_ERRORS as exc:
            error = _translate(exc, f"restore {target}")
            if not (isinstance(error, AlreadyExistsError | ResourceBusyError) and self._made_by(plan)):
                raise error from exc
        self._tag(plan)
        return None

    def _import(self, plan: DrillPlan) -> str:
        spec = plan.target.table_import
        if spec is None:
            raise ValueError(f"plan of {plan.target.identifier} names no export to import")
        source = ExportSource(
            export_arn=spec.export_arn,
            region=plan.target.region,
            bucket=spec.bucket,
            bucket_owner=spec.bucket_owner,
            data_prefix=spec.data_prefix,
            export_time=None,
            key_schema=tuple((k.name, k.type, k.role) for k in spec.key_schema),
        )
        # The same token within 8 hours is the same import: a retried restore step starts nothing new.
        progress = self.start_import(plan.target.identifier, source, import_client_token(plan.execution_id))
        if progress.status in FAILED_IMPORT_STATUSES:
            raise RestoreFailedError(f"import of {spec.export_arn} is {progress.status}: {progress.failure}")
        self._await_table(plan.target.identifier)
        self._tag(plan)
        return progress.import_arn

    def _await_table(self, name: str) -> None:
        """ImportTable creates the table as it starts; allow a moment before it is described."""
        for attempt in range(_TABLE_APPEARS_TRIES):
            if self._describe(name) is not None:
                return
            time.sleep(0.2 * (attempt + 1))

    def _tag(self, plan: DrillPlan) -> None:
        item = self._describe(plan.target.identifier)
        if item is None:
            raise ResourceNotFoundError(f"{plan.target.identifier} vanished before it could be tagged")
        try:
            self.client.tag_resource(ResourceArn=item["TableArn"], Tags=tag_list(dict(plan.tags)))  # type: ignore[arg-type]
        except BOTO_ERRORS as exc:
            raise _translate(exc, f"tag {plan.target.identifier}") from exc

    def _made_by(self, plan: DrillPlan) -> bool:
        """Whether the table of the plan's name was restored from the plan's recovery point (a retried restore)."""
        item = self._describe(plan.target.identifier)
        return item is not None and _restored_from(item, plan)

    # ---- observe

    def observe(self, plan: DrillPlan) -> RestoredDatabase | None:
        name = plan.target.identifier
        item = self._describe(name)
        if item is None:
            return None
        status = item.get("TableStatus", "UNKNOWN")
        if status == "ACTIVE" and (item.get("RestoreSummary") or {}).get("RestoreInProgress"):
            status = "RESTORING"
        spec = plan.target.table_import
        if plan.mode is DrillMode.CROSS_REGION and spec is not None and spec.import_arn:
            progress = self.import_progress(spec.import_arn)
            if progress.status in FAILED_IMPORT_STATUSES:
                status = f"IMPORT_{progress.status}"
            elif progress.status != "COMPLETED":
                status = "IMPORTING"
        return RestoredDatabase(
            identifier=name,
            status=status,
            engine="dynamodb",
            encrypted=(item.get("SSEDescription") or {}).get("Status") == "ENABLED",
            deletion_protection=bool(item.get("DeletionProtectionEnabled", False)),
            tags=self.tables.table_tags(item["TableArn"]),
        )

    # ---- a drill from an export (TableImports: the cross-region mode)

    def start_import(self, target_name: str, source: ExportSource, client_token: str) -> ImportProgress:
        """ImportTable of the export's data files into a new on-demand table named ``target_name``.

        ImportTable takes no tags either: the table is tagged after it exists, as a restored one."""
        if source.region != self.region:
            raise ValueError(f"export {source.export_arn} is in {source.region}, not {self.region}")
        bucket: Any = {"S3Bucket": source.bucket, "S3KeyPrefix": source.data_prefix}
        if source.bucket_owner:
            bucket["S3BucketOwner"] = source.bucket_owner
        try:
            parameters: Any = {
                "TableName": target_name,
                "AttributeDefinitions": [
                    {"AttributeName": n, "AttributeType": kind} for n, kind, _ in source.key_schema
                ],
                "KeySchema": [{"AttributeName": n, "KeyType": role} for n, _, role in source.key_schema],
                "BillingMode": "PAY_PER_REQUEST",
            }
            found = self.client.import_table(
                ClientToken=client_token,
                S3BucketSource=bucket,
                InputFormat="DYNAMODB_JSON",
                InputCompressionType="GZIP",
                TableCreationParameters=parameters,
            )["ImportTableDescription"]
        except BOTO_ERRORS as exc:
            raise _translate(exc, f"import {source.export_arn} into {target_name}") from exc
        return _import_progress(found)

    def import_progress(self, import_arn: str) -> ImportProgress:
        try:
            found = self.client.describe_import(ImportArn=import_arn)["ImportTableDescription"]
        except BOTO_ERRORS as exc:
            raise _translate(exc, f"describe import {import_arn}") from exc
        return _import_progress(found)

    # ---- the checks' reads

    def item_count(self, table_name: str) -> int | None:
        item = self._describe(table_name)
        count = item.get("ItemCount") if item is not None else None
        return int(count) if count is not None else None

    def scan(self, table_name: str, attribute: str | None) -> Iterator[ScanPage]:
        """Eventually consistent pages of 1 MB: half a read unit per 4 KB read, once over the table."""
        arguments: dict[str, Any] = {"TableName": table_name}
        if attribute is None:
            arguments["Select"] = "COUNT"
        else:
            arguments.update(ProjectionExpression="#a", ExpressionAttributeNames={"#a": attribute})
        while True:
            try:
                page = self.client.scan(**arguments)
            except BOTO_ERRORS as exc:
                raise _translate(exc, f"scan {table_name}") from exc
            values: tuple[object, ...] = ()
            if attribute is not None:
                values = tuple(_plain(item[attribute]) for item in page.get("Items", []) if attribute in item)
            yield ScanPage(count=int(page.get("Count", 0)), values=values)
            if not page.get("LastEvaluatedKey"):
                return
            arguments["ExclusiveStartKey"] = page["LastEvaluatedKey"]

    def missing_keys(self, table_name: str, keys: list[dict[str, dict[str, str]]]) -> list[dict[str, dict[str, str]]]:
        if not keys:
            return []
        attributes = sorted(keys[0])
        names = {f"#k{i}": name for i, name in enumerate(attributes)}
        found: list[dict[str, Any]] = []
        for start in range(0, len(keys), _BATCH):
            request: dict[str, Any] = {
                table_name: {
                    "Keys": keys[start : start + _BATCH],
                    "ConsistentRead": True,
                    "ProjectionExpression": ", ".join(names),
                    "ExpressionAttributeNames": names,
                }
            }
            for attempt in range(_UNPROCESSED_RETRIES + 1):
                try:
                    answer = self.client.batch_get_item(RequestItems=request)
                except BOTO_ERRORS as exc:
                    raise _translate(exc, f"get keys of {table_name}") from exc
                found.extend(answer.get("Responses", {}).get(table_name, []))
                request = dict(answer.get("UnprocessedKeys") or {})
                if not request:
                    break
                time.sleep(min(2**attempt * 0.05, 1.0))
            else:
                raise ResourceBusyError(f"{table_name}: keys still unprocessed after {_UNPROCESSED_RETRIES} retries")
        present = {tuple(sorted((k, str(v)) for k, v in item.items())) for item in found}
        return [key for key in keys if tuple(sorted((k, str(v)) for k, v in key.items())) not in present]

    # ---- delete (with proof)

    def delete_target(self, plan: DrillPlan, stack_name: str) -> str:
        name = plan.target.identifier
        item = self._describe(name)
        if item is None:
            return "absent"
        tags = self.tables.table_tags(item["TableArn"])
        proof = drill_table_proof(name, tags, restored=bool(item.get("RestoreSummary")), stack_name=stack_name)
        if proof is None:
            raise NotOwnedError(f"{name} is not a drill table of stack {stack_name}: left untouched")
        if proof == "tagged" and tags.get(tag_keys.DRILL_EXECUTION) != plan.execution_id:
            raise NotOwnedError(f"{name} belongs to another drill execution: left untouched")
        if proof == "named" and not _restored_from(item, plan):
            raise NotOwnedError(f"{name} was not restored from this drill's recovery point: left untouched")
        return self._delete(name, item.get("TableStatus", ""))

    def list_drill_resources(self, stack_name: str) -> list[DrillResource]:
        """Every table named as the stack's drill tables that proves to be one (tags, or restore + no tags)."""
        prefix = table_name_prefix(stack_name)
        found: list[DrillResource] = []
        for name in self.tables.list_table_names():
            if not name.startswith(prefix):
                continue
            item = self._describe(name)
            if item is None:
                continue
            tags = self.tables.table_tags(item["TableArn"])
            proof = drill_table_proof(name, tags, restored=bool(item.get("RestoreSummary")), stack_name=stack_name)
            parsed = parse_drill_table_name(name, stack_name)
            if proof is None or parsed is None:
                continue
            found.append(
                DrillResource(
                    DatabaseType.TABLE, name, item.get("TableStatus", ""), tags, named_expiry=parsed.expires_at
                )
            )
        return found

    def delete_resource(self, resource: DrillResource, stack_name: str) -> str:
        item = self._describe(resource.identifier)
        if item is None:
            return "absent"
        tags = self.tables.table_tags(item["TableArn"])
        restored = bool(item.get("RestoreSummary"))
        if drill_table_proof(resource.identifier, tags, restored=restored, stack_name=stack_name) is None:
            raise NotOwnedError(f"{resource.identifier} is not a drill table of stack {stack_name}: left untouched")
        return self._delete(resource.identifier, item.get("TableStatus", ""))

    def _delete(self, name: str, status: str) -> str:
        if status == "DELETING":
            return "already deleting"
        try:
            self.client.delete_table(TableName=name)
        except BOTO_ERRORS as exc:
            error = _translate(exc, f"delete {name}")
            if isinstance(error, ResourceNotFoundError):
                return "absent"
            if isinstance(error, ResourceBusyError):
                raise CleanupPendingError(f"{name} cannot be deleted yet ({status}): {error}") from exc
            raise error from exc
        return "deleted"

    def _describe(self, name: str) -> dict[str, Any] | None:
        try:
            return dict(self.client.describe_table(TableName=name)["Table"])
        except BOTO_ERRORS as exc:
            error = _translate(exc, f"describe {name}")
            if isinstance(error, ResourceNotFoundError):
                return None
            raise error from exc


def import_client_token(execution_id: str) -> str:
    """ImportTable's ClientToken for an execution (a retried restore step gets the same import)."""
    return f"drill-{execution_digest(execution_id)}"


def _import_progress(item: Mapping[str, Any]) -> ImportProgress:
    failure = " ".join(str(item.get(k, "")) for k in ("FailureCode", "FailureMessage")).strip()
    imported = item.get("ImportedItemCount")
    return ImportProgress(
        import_arn=item.get("ImportArn", ""),
        status=item.get("ImportStatus", "UNKNOWN"),
        table_arn=item.get("TableArn", ""),
        imported_items=int(imported) if imported is not None else None,
        error_count=int(item.get("ErrorCount", 0) or 0),
        failure=failure,
    )


def _restored_from(item: Mapping[str, Any], plan: DrillPlan) -> bool:
    summary = item.get("RestoreSummary") or {}
    if plan.mode is DrillMode.PITR:
        return bool(summary) and summary.get("SourceTableArn") == plan.source.arn
    return bool(summary) and summary.get("SourceBackupArn") == plan.recovery_point.arn


def _plain(value: Mapping[str, Any]) -> object:
    """A DynamoDB attribute value as the freshness check reads it (strings and numbers; anything else as is)."""
    if "S" in value:
        return value["S"]
    if "N" in value:
        return value["N"]
    return value
