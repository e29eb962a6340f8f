"""The DR export check over hand-made inventories: each finding fires with a fix, and clears."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta

from restorable import tags as tag_keys
from restorable.adapters.elasticache import Cache, CacheKind
from restorable.policy import default_policy_text, parse_policy_document
from restorable.verification.checks import Severity, Thresholds, Verification, VerificationContext
from restorable.verification.elasticache_checks import (
    CHECK_DR_EXPORT,
    DrExportInventory,
    DrExportSet,
    ElastiCacheInventory,
    MonitoredCache,
    verify_cache_exports,
)

NOW = datetime(2026, 12, 8, 12, 0, tzinfo=UTC)
REGION, DR = "us-east-1", "us-west-2"
BUCKET = "restorable-dr-exports"


def _policies() -> object:
    raw = json.loads(default_policy_text())
    raw["policies"]["dr-standard"] = json.loads(json.dumps(raw["policies"]["standard"]))
    raw["policies"]["dr-standard"]["snapshots"]["daily"]["dr_copy"] = True
    return parse_policy_document(json.dumps(raw))


CONTEXT = VerificationContext(
    policies=_policies(),  # type: ignore[arg-type]
    thresholds=Thresholds(snapshot_max_age={"daily": timedelta(days=2)}),
    stack_name="restorable",
    dr_region=DR,
    scheduled_kinds=frozenset({"weekly", "monthly", "daily"}),
    now=NOW,
)


def monitored(name: str = "sessions", policy: str = "dr-standard", created: datetime | None = None) -> MonitoredCache:
    cache = Cache(
        kind=CacheKind.REPLICATION_GROUP,
        identifier=name,
        arn=f"arn:aws:elasticache:{REGION}:123456789012:replicationgroup:{name}",
        status="available",
        engine="valkey",
        tags={tag_keys.POLICY: policy},
    )
    return MonitoredCache(cache, 0, created or NOW - timedelta(days=30))


def export_set(age: timedelta, complete: bool = True, cache: str = "sessions") -> DrExportSet:
    taken = NOW - age
    return DrExportSet(cache, f"{cache}-daily-{taken:%Y-%m-%d}", 1, complete, taken)


def results(caches: list[MonitoredCache], exports: DrExportInventory) -> dict[str, tuple[Severity, str, str]]:
    verification = Verification()
    verify_cache_exports(ElastiCacheInventory(REGION, caches, []), exports, CONTEXT, verification)
    return {r.resource: (r.severity, r.observed, r.fix) for r in verification.results if r.check == CHECK_DR_EXPORT}


def test_a_fresh_complete_export_is_ok_and_caches_that_did_not_opt_in_are_not_checked() -> None:
    found = results(
        [monitored(), monitored("scratch", policy="standard")],
        DrExportInventory(BUCKET, DR, {"sessions": export_set(timedelta(hours=9))}),
    )
    assert set(found) == {"sessions"}
    assert found["sessions"][0] is Severity.OK
    assert "is 9.0 h old" in found["sessions"][1]


def test_stale_exports_warn_then_go_critical_with_a_fix() -> None:
    for age, severity in ((timedelta(days=3), Severity.WARNING), (timedelta(days=5), Severity.CRITICAL)):
        [(found, _observed, fix)] = results(
            [monitored()], DrExportInventory(BUCKET, DR, {"sessions": export_set(age)})
        ).values()
        assert found is severity
        assert "CacheExportFunction" in fix


def test_a_missing_export_is_critical_unless_the_cache_is_young() -> None:
    [(severity, observed, fix)] = results([monitored()], DrExportInventory(BUCKET, DR, {})).values()
    assert severity is Severity.CRITICAL
    assert BUCKET in observed
    assert fix
    [(severity, _observed, _fix)] = results(
        [monitored(created=NOW - timedelta(hours=5))], DrExportInventory(BUCKET, DR, {})
    ).values()
    assert severity is Severity.OK


def test_an_incomplete_set_is_a_warning() -> None:
    [(severity, observed, _fix)] = results(
        [monitored()], DrExportInventory(BUCKET, DR, {"sessions": export_set(timedelta(hours=2), complete=False)})
    ).values()
    assert severity is Severity.WARNING
    assert "incomplete" in observed


def test_exports_off_while_a_policy_asks_for_them_is_a_warning_naming_the_parameters() -> None:
    [(severity, _observed, fix)] = results([monitored()], DrExportInventory("", DR, {})).values()
    assert severity is Severity.WARNING
    assert "DrExportBucket" in fix
    assert "DrExportKmsKeyArn" in fix


def test_an_unreadable_dr_bucket_is_unknown_never_ok() -> None:
    [(severity, observed, _fix)] = results(
        [monitored()], DrExportInventory(BUCKET, DR, None, error="cache exports unreadable: AccessDenied")
    ).values()
    assert severity is Severity.UNKNOWN
    assert "AccessDenied" in observed
