"""The pure part of cache drills: temporary names, which sources and snapshots a drill may restore, and the
shape of the temporary cache."""

from __future__ import annotations

import string
from datetime import UTC, datetime, timedelta

import pytest
from hypothesis import given
from hypothesis import strategies as st

from restorable import tags as tag_keys
from restorable.drills.cache_model import CacheSnapshotInfo, SourceCache
from restorable.drills.cache_plan import (
    CacheDrillChecks,
    cache_drill_identifier,
    cache_restore_spec,
    check_cache_checks,
    check_cache_source,
    check_named_cache_snapshot,
    is_valid_cache_identifier,
    newest_cache_snapshot,
)
from restorable.errors import InvalidRequestError
from restorable.models import DatabaseType
from restorable.policy import default_policy_text, parse_policy_document

STACK = "restorable"
REGION = "us-east-1"
EXECUTION = "arn:aws:states:us-east-1:123456789012:execution:restorable-DrillStateMachine:{}"
SESSIONS_ARN = "arn:aws:elasticache:us-east-1:123456789012:replicationgroup:sessions"
POLICIES = parse_policy_document(default_policy_text())
source_ids = st.text(alphabet=string.ascii_letters + string.digits + "-_.", min_size=1, max_size=80)


def _source(**changes: object) -> SourceCache:
    fields: dict[str, object] = {
        "type": DatabaseType.CACHE_REPLICATION_GROUP,
        "identifier": "sessions",
        "arn": SESSIONS_ARN,
        "status": "available",
        "engine": "valkey",
        "tags": {tag_keys.POLICY: "standard"},
        "cluster_mode": "disabled",
        "node_type": "cache.t4g.small",
    }
    fields.update(changes)
    return SourceCache(**fields)  # type: ignore[arg-type]


def _snapshot(name: str = "sessions-daily-2026-12-08", **changes: object) -> CacheSnapshotInfo:
    fields: dict[str, object] = {
        "type": DatabaseType.CACHE_REPLICATION_GROUP,
        "identifier": name,
        "arn": f"arn:aws:elasticache:us-east-1:123456789012:snapshot:{name}",
        "region": REGION,
        "status": "available",
        "source_identifier": "sessions",
        "created_at": datetime(2026, 12, 8, 3, tzinfo=UTC),
        "engine": "valkey",
        "engine_version": "8.0.1",
        "node_type": "cache.t4g.small",
        "port": 6379,
        "tags": {tag_keys.MANAGED_BY: STACK, tag_keys.KIND: "daily", tag_keys.SOURCE: SESSIONS_ARN},
    }
    fields.update(changes)
    return CacheSnapshotInfo(**fields)  # type: ignore[arg-type]


# ---- names


@given(source_ids, st.text(min_size=1, max_size=80))
def test_temporary_cache_names_are_valid_elasticache_identifiers_within_40_characters(source: str, name: str) -> None:
    identifier = cache_drill_identifier(source, EXECUTION.format(name))
    assert is_valid_cache_identifier(identifier), identifier
    assert len(identifier) <= 40
    assert identifier.startswith("drill-")


@given(source_ids, st.text(min_size=1, max_size=80), st.text(min_size=1, max_size=80))
def test_temporary_cache_names_are_deterministic_and_differ_per_execution(source: str, first: str, second: str) -> None:
    a = cache_drill_identifier(source, EXECUTION.format(first))
    assert a == cache_drill_identifier(source, EXECUTION.format(first))
    assert (a == cache_drill_identifier(source, EXECUTION.format(second))) == (first == second)


def test_a_long_source_keeps_a_readable_prefix() -> None:
    identifier = cache_drill_identifier("a" * 40, EXECUTION.format("x"))
    assert identifier.startswith("drill-" + "a" * 25 + "-")
    assert len(identifier) == 40


@pytest.mark.parametrize(
    ("identifier", "valid"),
    [
        ("drill-a-1", True),
        ("1drill", False),
        ("drill--a", False),
        ("drill-", False),
        ("a" * 41, False),
        ("Drill", False),
    ],
)
def test_identifier_rule(identifier: str, valid: bool) -> None:
    assert is_valid_cache_identifier(identifier) is valid


# ---- sources


def test_a_protected_valkey_cache_may_be_drilled() -> None:
    source = _source()
    assert check_cache_source(source, POLICIES) is source


@pytest.mark.parametrize(
    ("changes", "message"),
    [
        ({"engine": "memcached", "type": DatabaseType.CACHE_CLUSTER}, "runs memcached"),
        ({"tags": {}}, "is not protected"),
        ({"tags": {tag_keys.POLICY: "none"}}, "is not protected"),
        ({"tags": {tag_keys.POLICY: "wekly"}}, "names no policy"),
    ],
)
def test_sources_a_drill_refuses(changes: dict[str, object], message: str) -> None:
    with pytest.raises(InvalidRequestError, match=message) as raised:
        check_cache_source(_source(**changes), POLICIES)
    assert str(raised.value).startswith("source:")


def test_key_checks_on_a_cluster_mode_cache_are_refused_before_anything_is_created() -> None:
    checks = CacheDrillChecks(min_keys=1)
    check_cache_checks(_source(), checks)
    check_cache_checks(_source(cluster_mode="enabled"), None)
    with pytest.raises(InvalidRequestError, match=r"^checks\.cache: sessions runs in cluster mode"):
        check_cache_checks(_source(cluster_mode="enabled"), checks)


# ---- snapshots


def test_a_named_snapshot_must_be_this_stacks_point_of_this_cache_and_available() -> None:
    check_named_cache_snapshot(_snapshot(), _source(), STACK)
    other_cache_arn = "arn:aws:elasticache:us-east-1:123456789012:replicationgroup:carts"
    cases = [
        (_snapshot(tags={}), "not managed by any stack"),
        (_snapshot(tags={tag_keys.MANAGED_BY: "other", tag_keys.SOURCE: SESSIONS_ARN}), "managed by 'other'"),
        (_snapshot(tags={tag_keys.MANAGED_BY: STACK, tag_keys.SOURCE: other_cache_arn}), "recovery point of .*carts"),
        # Tags copied onto another cache's snapshot: ElastiCache's own record of the source disagrees.
        (_snapshot(source_identifier="carts"), "not of"),
        (_snapshot(status="creating"), "'creating', not available"),
    ]
    for snapshot, message in cases:
        with pytest.raises(InvalidRequestError, match=message):
            check_named_cache_snapshot(snapshot, _source(), STACK)


def test_the_newest_available_daily_snapshot_of_this_stack_and_cache_is_chosen() -> None:
    day = datetime(2026, 12, 8, 3, tzinfo=UTC)
    newest = _snapshot("sessions-daily-2026-12-08", created_at=day)
    snapshots = [
        _snapshot("sessions-daily-2026-12-07", created_at=day - timedelta(days=1)),
        newest,
        _snapshot("sessions-daily-2026-12-09", created_at=day + timedelta(days=1), status="creating"),
        _snapshot(
            "sessions-predeploy-20261208120000",
            created_at=day + timedelta(hours=9),
            tags={tag_keys.MANAGED_BY: STACK, tag_keys.KIND: "predeploy", tag_keys.SOURCE: SESSIONS_ARN},
        ),
        _snapshot(
            "someone-elses",
            created_at=day + timedelta(hours=10),
            tags={tag_keys.MANAGED_BY: "other", tag_keys.KIND: "daily", tag_keys.SOURCE: SESSIONS_ARN},
        ),
        _snapshot("carts-daily-2026-12-08", created_at=day + timedelta(hours=11), source_identifier="carts"),
    ]
    assert newest_cache_snapshot(snapshots, _source(), STACK, None, REGION) is newest
    predeploy = newest_cache_snapshot(snapshots, _source(), STACK, "predeploy", REGION)
    assert predeploy.identifier == "sessions-predeploy-20261208120000"


def test_no_available_snapshot_is_a_precise_rejection() -> None:
    with pytest.raises(InvalidRequestError, match=r"no available daily snapshot of sessions in us-east-1 \(1 not"):
        newest_cache_snapshot([_snapshot(status="creating")], _source(), STACK, None, REGION)
    with pytest.raises(InvalidRequestError, match=r"no available daily snapshot of sessions in us-east-1$"):
        newest_cache_snapshot([], _source(), STACK, None, REGION)


# ---- the temporary cache


def test_a_cluster_mode_disabled_snapshot_restores_to_one_node_of_its_type_and_version() -> None:
    spec = cache_restore_spec(_snapshot(parameter_group="default.valkey8"), _source(), "drill-sessions-1", "run-1")
    assert spec.type == "replication-group"
    assert (spec.engine, spec.engine_version, spec.node_type, spec.port) == ("valkey", "8.0.1", "cache.t4g.small", 6379)
    assert (spec.shard_count, spec.cluster_mode_enabled, spec.parameter_group) == (1, False, "default.valkey8")
    assert spec.snapshot_name == "sessions-daily-2026-12-08"
    assert spec.description == "Restorable drill of sessions (run-1)"


def test_a_cluster_mode_snapshot_keeps_its_shards() -> None:
    spec = cache_restore_spec(_snapshot(shard_count=3), _source(cluster_mode="enabled"), "drill-sessions-1", "r")
    assert (spec.shard_count, spec.cluster_mode_enabled) == (3, True)


def test_a_serverless_snapshot_restores_to_a_serverless_cache_from_its_arn() -> None:
    snapshot = _snapshot(
        "carts-daily-2026-12-08",
        type=DatabaseType.SERVERLESS_CACHE,
        arn="arn:aws:elasticache:us-east-1:123456789012:serverlesscachesnapshot:carts-daily-2026-12-08",
        engine_version="8",
        node_type=None,
        port=None,
    )
    source = _source(type=DatabaseType.SERVERLESS_CACHE, identifier="carts", cluster_mode=None, node_type=None)
    spec = cache_restore_spec(snapshot, source, "drill-carts-1", "r")
    assert spec.type == "serverless-cache"
    assert spec.snapshot_arn == snapshot.arn
    assert (spec.engine, spec.engine_version, spec.node_type) == ("valkey", "8", None)


def test_a_memcached_snapshot_or_a_bad_name_is_never_restored() -> None:
    with pytest.raises(InvalidRequestError, match="not Valkey or Redis OSS"):
        cache_restore_spec(_snapshot(engine="memcached"), _source(), "drill-sessions-1", "r")
    with pytest.raises(InvalidRequestError, match="not a valid ElastiCache identifier"):
        cache_restore_spec(_snapshot(), _source(), "drill--sessions", "r")


snapshot_strategy = st.builds(
    lambda i, owner, kind, source, cache, status, hours: _snapshot(
        f"s-{i}",
        tags={tag_keys.MANAGED_BY: owner, tag_keys.KIND: kind, tag_keys.SOURCE: source},
        source_identifier=cache,
        status=status,
        created_at=None if hours is None else datetime(2026, 12, 1, tzinfo=UTC) + timedelta(hours=hours),
    ),
    st.integers(0, 10**6),
    st.sampled_from([STACK, "other-stack", ""]),
    st.sampled_from(["daily", "predeploy", "weekly"]),
    st.sampled_from([SESSIONS_ARN, SESSIONS_ARN.replace("sessions", "carts"), ""]),
    st.sampled_from(["sessions", "carts"]),
    st.sampled_from(["available", "creating", "failed"]),
    st.one_of(st.none(), st.integers(0, 24 * 30)),
)


@given(st.lists(snapshot_strategy, max_size=12), st.sampled_from([None, "daily", "predeploy"]))
def test_a_drill_restores_only_an_available_point_this_stack_made_of_this_cache(
    snapshots: list[CacheSnapshotInfo], kind: str | None
) -> None:
    try:
        chosen = newest_cache_snapshot(snapshots, _source(), STACK, kind, REGION)
    except InvalidRequestError:
        eligible = [
            s
            for s in snapshots
            if s.tags[tag_keys.MANAGED_BY] == STACK
            and s.source_arn == SESSIONS_ARN
            and s.source_identifier == "sessions"
            and s.tags[tag_keys.KIND] == (kind or "daily")
            and s.status == "available"
            and s.created_at is not None
        ]
        assert eligible == []
        return
    assert chosen.tags[tag_keys.MANAGED_BY] == STACK
    assert (chosen.source_arn, chosen.source_identifier) == (SESSIONS_ARN, "sessions")
    assert chosen.tags[tag_keys.KIND] == (kind or "daily")
    assert chosen.status == "available"
    assert chosen.created_at is not None
    same = [
        s for s in snapshots if s.tags == chosen.tags and s.source_identifier == "sessions" and s.status == "available"
    ]
    assert all(s.created_at is None or s.created_at <= chosen.created_at for s in same)
