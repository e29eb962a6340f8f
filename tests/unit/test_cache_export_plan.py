"""The cache export plan: which caches export, what is copied, and that a staging object is deleted only verified."""

from __future__ import annotations

import json
from collections.abc import Sequence
from datetime import UTC, datetime, timedelta
from typing import Any

from hypothesis import given, settings
from hypothesis import strategies as st

from restorable import tags as tag_keys
from restorable.adapters.elasticache import Cache, CacheKind, CacheSnapshot
from restorable.cache_export_plan import (
    META_MANAGED_BY,
    META_OBJECT_COUNT,
    META_STAGING_KEY,
    WRITES,
    Checksum,
    ExportAction,
    ExportStep,
    StoredObject,
    check_copy,
    dr_key,
    dr_prefix,
    plan_cache,
    select_snapshots,
    staged_pattern,
)
from restorable.policy import PolicyDocument, default_policy_text, parse_policy_document

STACK = "restorable"
REGION = "us-east-1"
NOW = datetime(2026, 12, 8, 4, 40, tzinfo=UTC)


def policies(opted_in: Sequence[str] = ("dr",)) -> PolicyDocument:
    raw = json.loads(default_policy_text())
    for name in opted_in:
        raw["policies"][name] = json.loads(json.dumps(raw["policies"]["standard"]))
        raw["policies"][name]["snapshots"]["daily"]["dr_copy"] = True
    return parse_policy_document(json.dumps(raw))


def cache(name: str, policy: str | None = "dr", engine: str = "valkey") -> Cache:
    tags = {tag_keys.POLICY: policy} if policy else {}
    return Cache(
        kind=CacheKind.REPLICATION_GROUP,
        identifier=name,
        arn=f"arn:aws:elasticache:{REGION}:123456789012:replicationgroup:{name}",
        status="available",
        engine=engine,
        tags=tags,
    )


def snapshot(
    source: Cache, day: int, *, status: str = "available", owner: str = STACK, kind: str = "daily"
) -> CacheSnapshot:
    created = datetime(2026, 12, day, 3, 0, tzinfo=UTC)
    return CacheSnapshot(
        type=CacheKind.REPLICATION_GROUP,
        identifier=f"{source.identifier}-{kind}-2026-12-{day:02d}",
        arn=f"arn:aws:elasticache:{REGION}:123456789012:snapshot:{source.identifier}-{kind}-2026-12-{day:02d}",
        source_identifier=source.identifier,
        status=status,
        snapshot_type="manual",
        region=REGION,
        created_at=created,
        created_at_source="api",
        tags={
            tag_keys.MANAGED_BY: owner,
            tag_keys.KIND: kind,
            tag_keys.SOURCE: source.arn,
            tag_keys.EXPIRES_AT: (created + timedelta(days=7)).strftime("%Y-%m-%dT%H:%M:%SZ"),
        },
    )


def staged(name: str, shard: int = 1, size: int = 100, crc: str = "abc=") -> StoredObject:
    return StoredObject(key=f"{name}-{shard:04d}.rdb", size=size, checksum=Checksum("CRC64NVME", crc))


def copied(source: Cache, obj: StoredObject, *, count: int = 1, **changes: Any) -> StoredObject:
    name = obj.key.rsplit("-", 1)[0]
    metadata = {META_STAGING_KEY: obj.key, META_OBJECT_COUNT: str(count), META_MANAGED_BY: STACK}
    base = {"size": obj.size, "checksum": obj.checksum, "metadata": metadata}
    return StoredObject(key=dr_key(source.identifier, name, obj.key), **{**base, **changes})


def plan(
    caches: Sequence[Cache],
    snapshots: Sequence[CacheSnapshot],
    staging: Sequence[StoredObject],
    dr: Sequence[StoredObject],
    document: PolicyDocument | None = None,
) -> list[ExportStep]:
    selection = select_snapshots(caches, snapshots, staging, policies=document or policies(), stack_name=STACK)
    steps = list(selection.steps)
    for chosen in selection.caches:
        by_name = {
            s.identifier: [o for o in dr if o.key.startswith(dr_prefix(chosen.cache.identifier, s.identifier))]
            for s in chosen.snapshots
        }
        steps.extend(plan_cache(chosen, staging, by_name, stack_name=STACK))
    return steps


def actions(steps: Sequence[ExportStep]) -> list[tuple[str, ExportAction]]:
    return [(s.cache, s.action) for s in steps]


# ---- examples


def test_only_a_cache_whose_policy_opts_in_is_exported_and_only_its_newest_daily_snapshot() -> None:
    sessions, scratch = cache("sessions"), cache("scratch", policy="standard")
    steps = plan(
        [sessions, scratch],
        [snapshot(sessions, 6), snapshot(sessions, 7), snapshot(scratch, 7)],
        [],
        [],
    )
    assert actions(steps) == [("scratch", ExportAction.NOT_WANTED), ("sessions", ExportAction.EXPORT)]
    [export] = [s for s in steps if s.action is ExportAction.EXPORT]
    assert export.snapshot == "sessions-daily-2026-12-07"


def test_default_policies_export_nothing() -> None:
    sessions = cache("sessions", policy="standard")
    steps = plan([sessions], [snapshot(sessions, 7)], [], [], document=parse_policy_document(default_policy_text()))
    assert actions(steps) == [("sessions", ExportAction.NOT_WANTED)]


def test_snapshots_of_another_owner_or_kind_or_not_available_are_not_exported() -> None:
    sessions = cache("sessions")
    steps = plan(
        [sessions],
        [
            snapshot(sessions, 7, owner="someone-else"),
            snapshot(sessions, 6, kind="predeploy"),
            snapshot(sessions, 5, status="creating"),
        ],
        [],
        [],
    )
    assert actions(steps) == [("sessions", ExportAction.NO_SNAPSHOT)]
    assert "not available yet" in steps[0].reason


def test_a_finished_export_is_copied_then_a_verified_copy_deletes_staging_then_it_is_complete() -> None:
    sessions = cache("sessions")
    point = snapshot(sessions, 7)
    obj = staged(point.identifier)
    [step] = plan([sessions], [point], [obj], [])
    assert step.action is ExportAction.COPY
    assert step.dr_key == f"elasticache/sessions/{point.identifier}/{point.identifier}-0001.rdb"
    [step] = plan([sessions], [point], [obj], [copied(sessions, obj)])
    assert step.action is ExportAction.DELETE_STAGING
    [step] = plan([sessions], [point], [], [copied(sessions, obj)])
    assert step.action is ExportAction.COMPLETE


def test_an_export_under_way_is_waited_for_and_never_replaced_by_an_older_snapshot() -> None:
    sessions = cache("sessions")
    older, exporting = snapshot(sessions, 6), snapshot(sessions, 7, status="exporting")
    for staging in ([], [staged(exporting.identifier)]):  # objects may already be half written
        steps = plan([sessions], [older, exporting], staging, [])
        assert [(s.snapshot, s.action) for s in steps] == [(exporting.identifier, ExportAction.EXPORTING)]


def test_a_copy_that_differs_is_copied_again_and_staging_kept() -> None:
    sessions = cache("sessions")
    point = snapshot(sessions, 7)
    obj = staged(point.identifier)
    for wrong in (
        copied(sessions, obj, size=99),
        copied(sessions, obj, checksum=Checksum("CRC64NVME", "other=")),
        copied(sessions, obj, metadata={META_STAGING_KEY: "elsewhere.rdb", META_OBJECT_COUNT: "1"}),
    ):
        [step] = plan([sessions], [point], [obj], [wrong])
        assert step.action is ExportAction.COPY, wrong


def test_a_copy_that_cannot_be_compared_is_a_finding_and_nothing_is_deleted() -> None:
    sessions = cache("sessions")
    point = snapshot(sessions, 7)
    obj = staged(point.identifier)
    for dr in (copied(sessions, obj, checksum=None), copied(sessions, obj, checksum=Checksum("SHA256", "abc="))):
        [step] = plan([sessions], [point], [obj], [dr])
        assert step.action is ExportAction.FINDING
        assert "staging object kept" in step.reason


def test_an_incomplete_dr_set_with_nothing_staged_is_exported_again() -> None:
    sessions = cache("sessions")
    point = snapshot(sessions, 7)
    first = staged(point.identifier, 1)
    [step] = plan([sessions], [point], [], [copied(sessions, first, count=2)])
    assert step.action is ExportAction.EXPORT
    assert "not the whole set" in step.reason


def test_every_shard_is_copied_and_the_set_counts_them() -> None:
    sessions = cache("sessions")
    point = snapshot(sessions, 7)
    shards = [staged(point.identifier, n) for n in (1, 2, 3)]
    steps = plan([sessions], [point], shards, [])
    assert [s.action for s in steps] == [ExportAction.COPY] * 3
    assert {s.object_count for s in steps} == {3}
    assert actions(plan([sessions], [point], [], [copied(sessions, o, count=3) for o in shards])) == [
        ("sessions", ExportAction.COMPLETE)
    ]


def test_an_older_snapshot_with_objects_still_staged_is_finished_too() -> None:
    sessions = cache("sessions")
    older, newer = snapshot(sessions, 6), snapshot(sessions, 7)
    steps = plan([sessions], [older, newer], [staged(older.identifier)], [])
    assert {(s.snapshot, s.action) for s in steps} == {
        (newer.identifier, ExportAction.EXPORT),
        (older.identifier, ExportAction.COPY),
    }


def test_staged_objects_nobody_claims_are_reported_and_kept() -> None:
    sessions = cache("sessions", policy="standard")
    steps = plan([sessions], [snapshot(sessions, 7)], [staged("sessions-daily-2026-12-07")], [])
    assert (("*", ExportAction.FINDING)) in actions(steps)
    assert not [s for s in steps if s.action in WRITES]


def test_unknown_policy_and_memcached_are_findings() -> None:
    steps = plan([cache("a", policy="nope"), cache("b", engine="memcached")], [], [], [])
    assert actions(steps) == [("a", ExportAction.FINDING), ("b", ExportAction.FINDING)]


def test_the_staged_pattern_matches_only_that_snapshots_objects() -> None:
    pattern = staged_pattern("sessions-daily-2026-12-07")
    assert pattern.match("sessions-daily-2026-12-07-0001.rdb")
    assert pattern.match("sessions-daily-2026-12-07.rdb")
    assert not pattern.match("sessions-daily-2026-12-07-0001.rdb.tmp")
    assert not pattern.match("x-sessions-daily-2026-12-07-0001.rdb")
    assert not pattern.match("sessions-daily-2026-12-07-extra-0001.rdb")


def test_check_copy_needs_size_checksum_and_provenance() -> None:
    obj = staged("s-daily-2026-12-07")
    good = StoredObject("k", obj.size, obj.checksum, metadata={META_STAGING_KEY: obj.key})
    assert check_copy(obj, good).verified
    assert not check_copy(obj, None).verified
    assert check_copy(obj, None).recopy


# ---- properties

CACHE_NAMES = ("alpha", "beta", "gamma")
CRCS = ("aaa=", "bbb=")


@st.composite
def worlds(draw: st.DrawFn) -> tuple[list[Cache], list[CacheSnapshot], list[StoredObject], list[StoredObject], Any]:
    opted = draw(st.lists(st.sampled_from(["dr", "dr2"]), unique=True))
    document = policies(opted)
    caches = [
        cache(name, policy=draw(st.sampled_from(["dr", "dr2", "standard", "compliance", None])))
        for name in draw(st.lists(st.sampled_from(CACHE_NAMES), unique=True, min_size=1))
    ]
    snapshots: list[CacheSnapshot] = []
    staging: list[StoredObject] = []
    dr: list[StoredObject] = []
    for item in caches:
        for day in draw(st.lists(st.integers(1, 9), unique=True, max_size=3)):
            point = snapshot(
                item,
                day,
                status=draw(st.sampled_from(["available", "available", "exporting", "creating"])),
                owner=draw(st.sampled_from([STACK, STACK, "other"])),
            )
            snapshots.append(point)
            for shard in range(1, draw(st.integers(0, 2)) + 1):
                obj = staged(point.identifier, shard, size=draw(st.integers(1, 3)), crc=draw(st.sampled_from(CRCS)))
                if draw(st.booleans()):
                    staging.append(obj)
                if draw(st.booleans()):
                    dr.append(
                        copied(
                            item,
                            obj,
                            size=draw(st.integers(1, 3)),
                            checksum=draw(
                                st.sampled_from([None, Checksum("CRC64NVME", "aaa="), Checksum("SHA256", "aaa=")])
                            ),
                        )
                    )
    return caches, snapshots, staging, dr, document


@settings(max_examples=300, deadline=None)
@given(worlds())
def test_a_staging_object_is_deleted_only_when_its_dr_copy_matches(world: Any) -> None:
    caches, snapshots, staging, dr, document = world
    by_key = {o.key: o for o in dr}
    for step in plan(caches, snapshots, staging, dr, document):
        if step.action is not ExportAction.DELETE_STAGING:
            continue
        assert step.staging is not None
        assert step.dr_key is not None
        copy = by_key[step.dr_key]  # the DR object exists
        assert copy.size == step.staging.size
        assert copy.checksum is not None
        assert copy.checksum == step.staging.checksum
        assert copy.metadata[META_STAGING_KEY] == step.staging.key
        assert step.dr_key.startswith(dr_prefix(step.cache, step.snapshot or ""))


@settings(max_examples=300, deadline=None)
@given(worlds())
def test_nothing_is_exported_copied_or_deleted_for_a_cache_that_did_not_opt_in(world: Any) -> None:
    caches, snapshots, staging, dr, document = world
    opted_in = {
        c.identifier
        for c in caches
        if (p := document.get(c.policy_name or "")) is not None
        and (rule := p.rule_for("daily")) is not None
        and rule.dr_copy
    }
    for step in plan(caches, snapshots, staging, dr, document):
        if step.action in WRITES:
            assert step.cache in opted_in, step


@settings(max_examples=200, deadline=None)
@given(worlds())
def test_only_this_stacks_available_daily_snapshots_are_exported(world: Any) -> None:
    caches, snapshots, staging, dr, document = world
    by_name = {s.identifier: s for s in snapshots if s.managed_by == STACK}
    for step in plan(caches, snapshots, staging, dr, document):
        if step.action is ExportAction.EXPORT:
            point = by_name[step.snapshot or ""]
            assert point.is_available
            assert point.kind == "daily"
