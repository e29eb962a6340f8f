"""The cache export job: export opted-in caches' newest daily snapshots, copy them to the DR bucket, verify.

Fired by an hourly reconcile after the daily schedule: a pass starts the exports it can, copies what
ElastiCache has finished writing, reads every copy back to verify it and deletes a staging object
only then. A pass that dies halfway leaves deterministic keys behind; the next one continues from
them. One cache's failure never stops the others.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import datetime
from typing import Any, Protocol

from pydantic import BaseModel, ConfigDict, ValidationError

from . import tags as tag_keys
from .cache_export_plan import (
    META_EXPIRES_AT,
    META_MANAGED_BY,
    META_OBJECT_COUNT,
    META_SNAPSHOT,
    META_SNAPSHOT_CREATED_AT,
    META_SOURCE,
    META_STAGING_KEY,
    CacheSelection,
    ExportAction,
    ExportedCache,
    ExportedSnapshot,
    ExportStep,
    StoredObject,
    check_copy,
    dr_prefix,
    plan_cache,
    select_snapshots,
)
from .errors import AlreadyExistsError, AwsError, InvalidRequestError
from .naming import format_timestamp
from .request_fields import EventTime, StrictBool
from .results import ItemResult, JobResult, Outcome
from .settings import CacheExportSettings
from .validation import describe_problems

JOB = "cache-export"


class CacheSource(Protocol):
    """ElastiCache in the source Region (``adapters.elasticache.ElastiCacheGateway``)."""

    region: str

    def list_caches(self) -> Sequence[Any]: ...

    def list_manual_snapshots(self, *, with_tags: bool = True) -> Sequence[Any]: ...

    def export_snapshot(self, point: Any, bucket: str) -> Any: ...


class Bucket(Protocol):
    """One S3 bucket (``adapters.cache_export_store.ObjectStore``)."""

    bucket: str
    region: str

    def objects(self, prefix: str = "") -> list[StoredObject]: ...

    def describe(self, key: str) -> StoredObject | None: ...

    def delete(self, key: str) -> None: ...

    def copy_in(
        self, source_bucket: str, source: StoredObject, key: str, *, kms_key_arn: str, metadata: Mapping[str, str]
    ) -> None: ...


class CacheExportRequest(BaseModel):
    """The reconcile schedule's input: ``{"scheduled_time": "<aws.scheduler.scheduled-time>"}``."""

    model_config = ConfigDict(extra="forbid")

    scheduled_time: EventTime | None = None
    dry_run: StrictBool = False


def parse_cache_export_event(event: object) -> CacheExportRequest:
    if not isinstance(event, dict):
        raise InvalidRequestError(f"cache export event must be a JSON object, got {type(event).__name__}")
    try:
        return CacheExportRequest.model_validate(event)
    except ValidationError as exc:
        raise InvalidRequestError(f"invalid cache export request: {describe_problems(exc)}") from exc


def _reason(exc: Exception) -> str:
    return str(exc) if isinstance(exc, AwsError) else f"unexpected {type(exc).__name__}: {exc}"


def run_cache_export_job(
    request: CacheExportRequest,
    settings: CacheExportSettings,
    caches: CacheSource,
    staging: Bucket,
    dr: Bucket | None,
    *,
    now: datetime,
) -> JobResult:
    result = JobResult(job=JOB, region=caches.region, dry_run=request.dry_run, extra_outcomes=(Outcome.DELETED,))
    result.details["exports"] = {
        "enabled": settings.exports_on,
        "staging_bucket": staging.bucket,
        "dr_bucket": settings.dr_export_bucket,
        "dr_region": settings.dr_region,
        "checked_at": format_timestamp(now),
    }
    if dr is None or not settings.exports_on:
        result.details["exports"]["reason"] = "DR_EXPORT_BUCKET is empty: exports to the DR Region are off"
        return result
    try:
        listed_caches = list(caches.list_caches())
        snapshots = list(caches.list_manual_snapshots())
        staged = staging.objects()
    except Exception as exc:  # nothing is known, so nothing is done; the next pass tries again
        result.add(
            ItemResult(
                resource="*",
                kind="daily",
                outcome=Outcome.FAILED,
                reason=f"inventory unreadable, nothing exported, copied or deleted: {_reason(exc)}",
            )
        )
        return result
    selection = select_snapshots(
        listed_caches, snapshots, staged, policies=settings.policies, stack_name=settings.stack_name
    )
    for step in selection.steps:
        if step.action is not ExportAction.NOT_WANTED:
            result.add(_item(step, _outcome_of(step.action), step.reason))
    for chosen in selection.caches:
        try:
            steps = _plan(chosen, staged, dr, settings.stack_name)
        except Exception as exc:
            result.add(
                ItemResult(
                    resource=chosen.cache.identifier,
                    kind="daily",
                    outcome=Outcome.FAILED,
                    reason=f"DR objects unreadable, nothing copied or deleted: {_reason(exc)}",
                    resource_arn=chosen.cache.arn,
                )
            )
            continue
        by_name = {s.identifier: s for s in chosen.snapshots}
        for step in steps:
            result.add(_apply(step, by_name, caches, staging, dr, settings, request.dry_run))
    result.details["exports"]["caches"] = len(selection.caches)
    return result


def _plan(chosen: CacheSelection, staged: list[StoredObject], dr: Bucket, stack_name: str) -> list[ExportStep]:
    dr_objects = {s.identifier: dr.objects(dr_prefix(chosen.cache.identifier, s.identifier)) for s in chosen.snapshots}
    return plan_cache(chosen, staged, dr_objects, stack_name=stack_name)


def _outcome_of(action: ExportAction) -> Outcome:
    return {
        ExportAction.COMPLETE: Outcome.ALREADY_EXISTS,
        ExportAction.EXPORTING: Outcome.SKIPPED,
        ExportAction.NO_SNAPSHOT: Outcome.SKIPPED,
        ExportAction.NOT_WANTED: Outcome.SKIPPED,
        ExportAction.FINDING: Outcome.FINDING,
    }.get(action, Outcome.PLANNED)


def _item(step: ExportStep, outcome: Outcome, reason: str, region: str | None = None) -> ItemResult:
    point = step.dr_key or (step.staging.key if step.staging else None) or step.snapshot
    return ItemResult(
        resource=step.cache,
        kind="daily",
        outcome=outcome,
        reason=reason,
        recovery_point=point,
        resource_arn=step.cache_arn or None,
        region=region,
    )


def _dr_metadata(step: ExportStep, snapshot: ExportedSnapshot | None, stack_name: str) -> dict[str, str]:
    assert step.staging is not None
    assert step.snapshot is not None
    created = snapshot.created_at if snapshot is not None else None
    expires = getattr(snapshot, "tags", {}).get(tag_keys.EXPIRES_AT, "") if snapshot is not None else ""
    return {
        META_MANAGED_BY: stack_name,
        META_SOURCE: step.cache_arn,
        META_SNAPSHOT: step.snapshot,
        META_SNAPSHOT_CREATED_AT: format_timestamp(created) if created is not None else "",
        META_EXPIRES_AT: expires,
        META_STAGING_KEY: step.staging.key,
        META_OBJECT_COUNT: str(step.object_count),
    }


def _apply(
    step: ExportStep,
    snapshots: Mapping[str, ExportedSnapshot],
    caches: CacheSource,
    staging: Bucket,
    dr: Bucket,
    settings: CacheExportSettings,
    dry_run: bool,
) -> ItemResult:
    if step.action not in (ExportAction.EXPORT, ExportAction.COPY, ExportAction.DELETE_STAGING):
        return _item(step, _outcome_of(step.action), step.reason)
    if dry_run:
        would = {
            ExportAction.EXPORT: f"would export {step.snapshot} to s3://{staging.bucket}",
            ExportAction.COPY: f"would copy to s3://{dr.bucket}/{step.dr_key} ({step.reason})",
            ExportAction.DELETE_STAGING: f"would delete the staging object: {step.reason}",
        }[step.action]
        return _item(step, Outcome.PLANNED, would)
    try:
        if step.action is ExportAction.EXPORT:
            point = snapshots[step.snapshot or ""]
            try:
                caches.export_snapshot(point, staging.bucket)
            except AlreadyExistsError as exc:
                return _item(step, Outcome.ALREADY_EXISTS, f"export already under way: {exc}")
            return _item(step, Outcome.CREATED, f"export to s3://{staging.bucket} started ({step.reason})")
        assert step.staging is not None
        assert step.dr_key is not None
        if step.action is ExportAction.COPY:
            snapshot = snapshots.get(step.snapshot or "")
            dr.copy_in(
                staging.bucket,
                step.staging,
                step.dr_key,
                kms_key_arn=settings.dr_export_kms_key_arn,
                metadata=_dr_metadata(step, snapshot, settings.stack_name),
            )
            check = check_copy(step.staging, dr.describe(step.dr_key))
            if not check.verified:
                return _item(
                    step,
                    Outcome.FINDING if not check.recopy else Outcome.FAILED,
                    f"copied to s3://{dr.bucket}/{step.dr_key} but not verified: {check.reason}; staging object kept",
                    region=dr.region,
                )
            staging.delete(step.staging.key)
            return _item(
                step,
                Outcome.CREATED,
                f"copied to s3://{dr.bucket}/{step.dr_key} and verified ({check.reason}); staging object deleted",
                region=dr.region,
            )
        # DELETE_STAGING: verified against the DR object read back this pass.
        staging.delete(step.staging.key)
        return _item(step, Outcome.DELETED, step.reason)
    except Exception as exc:  # one object's failure never stops the others
        kept = "nothing deleted" if step.action is not ExportAction.DELETE_STAGING else "the staging object stays"
        return _item(step, Outcome.FAILED, f"{step.action.value} failed, {kept}; a later pass retries: {_reason(exc)}")


__all__ = [
    "CacheExportRequest",
    "ExportedCache",
    "parse_cache_export_event",
    "run_cache_export_job",
]
