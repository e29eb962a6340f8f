"""The janitor: delete drill resources past their expiry (a drill that died left them behind), for every
engine and Region it is given (``ports.DrillEngine``)."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime

from pydantic import JsonValue

from .. import tags as tag_keys
from ..errors import AwsError, CleanupPendingError, NotOwnedError
from ..models import DatabaseType
from ..naming import format_timestamp, parse_timestamp
from .model import DrillResource
from .ports import DrillEngine


@dataclass(frozen=True)
class JanitorEntry:
    region: str
    resource: str
    type: DatabaseType
    reason: str

    def to_dict(self) -> dict[str, JsonValue]:
        return {"region": self.region, "resource": self.resource, "type": self.type.value, "reason": self.reason}


@dataclass
class JanitorResult:
    dry_run: bool
    deleted: list[JanitorEntry] = field(default_factory=list)
    kept: list[JanitorEntry] = field(default_factory=list)
    findings: list[JanitorEntry] = field(default_factory=list)
    failed: list[JanitorEntry] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.failed and not self.findings

    def to_dict(self) -> dict[str, JsonValue]:
        return {
            "job": "drill-janitor",
            "dry_run": self.dry_run,
            "deleted": [entry.to_dict() for entry in self.deleted],
            "kept": [entry.to_dict() for entry in self.kept],
            "findings": [entry.to_dict() for entry in self.findings],
            "failed": [entry.to_dict() for entry in self.failed],
            "ok": self.ok,
        }


def run_janitor(gateways: Sequence[DrillEngine], stack_name: str, now: datetime, dry_run: bool) -> JanitorResult:
    """Every Region's drill resources of this stack: expired ones deleted, others kept, each reported."""
    result = JanitorResult(dry_run=dry_run)
    for gateway in gateways:
        for resource in gateway.list_drill_resources(stack_name):
            _tidy(gateway, resource, stack_name, now, result)
    return result


def _tidy(gateway: DrillEngine, resource: DrillResource, stack_name: str, now: datetime, result: JanitorResult) -> None:
    def entry(reason: str) -> JanitorEntry:
        return JanitorEntry(gateway.region, resource.identifier, resource.type, reason)

    expiry = resource.tags.get(tag_keys.EXPIRES_AT, "")
    expires_at = parse_timestamp(expiry)
    if expires_at is None and tag_keys.EXPIRES_AT not in resource.tags and resource.named_expiry is not None:
        # Untagged (its tagging failed): the expiry its name states.
        expires_at = resource.named_expiry
        expiry = format_timestamp(expires_at)
    if expires_at is None:
        result.findings.append(entry("drill resource without a valid expiry: left alone"))
    elif expires_at > now:
        result.kept.append(entry(f"expires {expiry}"))
    elif resource.status == "deleting":
        result.kept.append(entry("already deleting"))
    elif result.dry_run:
        result.deleted.append(entry("would delete (dry run)"))
    else:
        try:
            outcome = gateway.delete_resource(resource, stack_name)
            result.deleted.append(entry(f"expired {expiry}: {outcome}"))
        except CleanupPendingError as exc:
            result.kept.append(entry(f"busy, next run retries: {exc}"))
        except NotOwnedError as exc:
            result.findings.append(entry(str(exc)))
        except AwsError as exc:
            result.failed.append(entry(str(exc)))
