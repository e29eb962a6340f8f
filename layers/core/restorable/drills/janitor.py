"""The janitor: delete drill resources past their expiry (a drill that died left them behind)."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any

from .. import tags as tag_keys
from ..errors import AwsError, CleanupPendingError, NotOwnedError
from ..models import DatabaseType
from ..naming import parse_timestamp
from .ports import DrillRds


def run_janitor(gateways: Sequence[DrillRds], stack_name: str, now: datetime, dry_run: bool) -> dict[str, Any]:
    """Every Region's drill resources of this stack: expired ones deleted, others kept, each reported."""
    deleted: list[dict[str, str]] = []
    kept: list[dict[str, str]] = []
    findings: list[dict[str, str]] = []
    failed: list[dict[str, str]] = []
    for gateway in gateways:
        for resource in gateway.list_drill_resources(stack_name):
            database_type, identifier, status, tags = resource.type, resource.identifier, resource.status, resource.tags
            entry = {"region": gateway.region, "resource": identifier, "type": database_type.value}
            expires_at = parse_timestamp(tags.get(tag_keys.EXPIRES_AT, ""))
            if expires_at is None:
                findings.append({**entry, "reason": "drill resource without a valid expiry: left alone"})
                continue
            if expires_at > now:
                kept.append({**entry, "reason": f"expires {tags[tag_keys.EXPIRES_AT]}"})
                continue
            if status == "deleting":
                kept.append({**entry, "reason": "already deleting"})
                continue
            if dry_run:
                deleted.append({**entry, "reason": "would delete (dry run)"})
                continue
            try:
                if database_type is DatabaseType.CLUSTER:
                    outcome = gateway.delete_cluster(identifier, stack_name)
                else:
                    outcome = gateway.delete_instance(identifier, stack_name)
                deleted.append({**entry, "reason": f"expired {tags[tag_keys.EXPIRES_AT]}: {outcome}"})
            except CleanupPendingError as exc:
                kept.append({**entry, "reason": f"busy, next run retries: {exc}"})
            except NotOwnedError as exc:
                findings.append({**entry, "reason": str(exc)})
            except AwsError as exc:
                failed.append({**entry, "reason": str(exc)})
    return {
        "job": "drill-janitor",
        "dry_run": dry_run,
        "deleted": deleted,
        "kept": kept,
        "findings": findings,
        "failed": failed,
        "ok": not failed and not findings,
    }
