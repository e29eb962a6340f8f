"""The copy planner: quotas, oldest first, no duplicates, only what the policy wants; by example and at random."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from restorable.copy_plan import CONCURRENT_COPY_QUOTA, CopyAction, CopyPlan, is_in_flight_copy, plan_copies
from restorable.models import RDS_TYPES, DatabaseType, RecoveryPoint
from restorable.naming import format_timestamp
from restorable.policy import parse_policy_document

# "standard" as shipped, except pre-deploy snapshots stay in the source Region only.
POLICIES = parse_policy_document(
    json.dumps(
        {
            "version": 1,
            "policies": {
                "standard": {
                    "automated_backups": {"retention_days": 7},
                    "snapshots": {
                        "weekly": {"retention_days": 90, "dr_copy": True},
                        "monthly": {"retention_days": 365, "dr_copy": True},
                        "predeploy": {"retention_days": 30, "dr_copy": False},
                    },
                },
                "compliance": {
                    "automated_backups": {"retention_days": 7},
                    "snapshots": {"monthly": {"retention_days": 2555, "dr_copy": True}},
                },
            },
        }
    ),
    frozenset({"weekly", "monthly", "daily"}),
)
STACK = "restorable"
NOW = datetime(2027, 3, 1, 12, tzinfo=UTC)
SOURCE = "arn:aws:rds:us-east-1:123456789012:db:orders"


def snapshot(
    identifier: str,
    *,
    created: datetime = NOW - timedelta(hours=1),
    region: str = "us-east-1",
    type_: DatabaseType = DatabaseType.INSTANCE,
    status: str = "available",
    managed_by: str | None = STACK,
    kind: str | None = "weekly",
    policy: str | None = "standard",
    source: str | None = SOURCE,
    expires: datetime | None = NOW + timedelta(days=80),
    attempts: str | None = None,
    snapshot_type: str = "manual",
    source_snapshot_arn: str | None = None,
) -> RecoveryPoint:
    tags = {
        key: value
        for key, value in {
            "restorable:managed-by": managed_by,
            "restorable:kind": kind,
            "restorable:policy": policy,
            "restorable:source": source,
            "restorable:expires-at": format_timestamp(expires) if expires else None,
            "restorable:copy-attempts": attempts,
        }.items()
        if value is not None
    }
    resource = "snapshot" if type_ is DatabaseType.INSTANCE else "cluster-snapshot"
    return RecoveryPoint(
        type_,
        identifier,
        f"arn:aws:rds:{region}:123456789012:{resource}:{identifier}",
        "orders",
        status,
        snapshot_type,
        region,
        created_at=created,
        tags=tags,
        source_snapshot_arn=source_snapshot_arn,
    )


def dr_copy(point: RecoveryPoint, status: str = "available", **overrides: object) -> RecoveryPoint:
    options: dict[str, object] = {
        "created": NOW,
        "region": "us-west-2",
        "type_": point.type,
        "status": status,
        "kind": point.kind,
        "policy": point.tags.get("restorable:policy"),
        "source": point.source_arn,
        "managed_by": point.managed_by,
    }
    options.update(overrides)
    identifier = str(options.pop("identifier", point.identifier))
    return snapshot(identifier, **options)  # type: ignore[arg-type]


def plan(source: list[RecoveryPoint], dr: list[RecoveryPoint] | None = None, **kwargs: object) -> CopyPlan:
    options: dict[str, object] = {"policies": POLICIES, "stack_name": STACK, "now": NOW}
    options.update(kwargs)
    return plan_copies(source, dr or [], **options)  # type: ignore[arg-type]


def actions(result: CopyPlan) -> dict[str, CopyAction]:
    return {d.point.identifier: d.action for d in result.decisions}


def test_wanted_snapshot_without_copy_is_started_with_its_tags() -> None:
    point = snapshot("orders-weekly-2027-02-28", attempts="1")
    [decision] = plan([point]).decisions
    assert decision.action is CopyAction.START
    assert decision.attempts == 1
    assert decision.tags == {k: v for k, v in point.tags.items() if k != "restorable:copy-attempts"}
    assert "attempt 2 of 3" in decision.reason


@pytest.mark.parametrize(
    ("overrides", "action", "reason"),
    [
        ({"managed_by": "other-stack"}, None, ""),
        ({"managed_by": None}, None, ""),
        ({"snapshot_type": "automated"}, None, ""),
        ({"kind": "predeploy"}, CopyAction.NOT_WANTED, "wants no DR copy of predeploy"),
        ({"expires": NOW - timedelta(seconds=1)}, CopyAction.NOT_WANTED, "already expired"),
        ({"status": "creating"}, CopyAction.SOURCE_NOT_READY, "'creating'"),
        ({"policy": None}, CopyAction.FINDING, "cannot tell whether a DR copy is wanted"),
        ({"policy": "platinum"}, CopyAction.FINDING, "names no policy"),
        ({"kind": None}, CopyAction.FINDING, "nothing copied on a guess"),
        ({"source": None}, CopyAction.FINDING, "nothing copied on a guess"),
        ({"attempts": "3"}, CopyAction.GAVE_UP, "remove the tag restorable:copy-attempts"),
    ],
)
def test_what_is_never_copied(overrides: dict[str, object], action: CopyAction | None, reason: str) -> None:
    result = plan([snapshot("s", **overrides)])  # type: ignore[arg-type]
    if action is None:
        assert result.decisions == []
    else:
        [decision] = result.decisions
        assert (decision.action, reason in decision.reason) == (action, True)


def test_existing_copy_in_any_state_means_nothing_is_started() -> None:
    points = [snapshot(f"s{i}") for i in range(4)]
    dr = [
        dr_copy(points[0]),
        dr_copy(points[1], status="copying"),
        dr_copy(points[2], status="failed"),
        dr_copy(points[3], managed_by="someone-else"),
    ]
    result = plan(points, dr)
    assert actions(result) == {
        "s0": CopyAction.COPIED,
        "s1": CopyAction.IN_FLIGHT,
        "s2": CopyAction.FINDING,
        "s3": CopyAction.FINDING,
    }
    assert "delete it in the DR Region" in result.decisions[2].reason
    assert "taken in the DR Region" in result.decisions[3].reason


def test_identifiers_match_case_insensitively_like_rds() -> None:
    point = snapshot("Orders-Weekly-2027-02-28")
    assert actions(plan([point], [dr_copy(point, identifier="orders-weekly-2027-02-28")])) == {
        "Orders-Weekly-2027-02-28": CopyAction.COPIED
    }


def test_quota_counts_every_copy_in_flight_and_starts_oldest_first() -> None:
    points = [snapshot(f"s{i:02d}", created=NOW - timedelta(hours=30 - i)) for i in range(30)]
    # 12 copies in flight into the DR Region: 10 of ours, 2 by someone else (RDS marks them as copies)
    ours = [dr_copy(points[i], status="copying") for i in range(10)]
    foreign = [
        snapshot(f"x{i}", region="us-west-2", managed_by=None, status="pending", source_snapshot_arn="arn:src")
        for i in range(2)
    ]
    local = [snapshot("being-made-here", region="us-west-2", managed_by=None, status="creating")]
    result = plan(points, ours + foreign + local)
    assert result.in_flight[DatabaseType.INSTANCE] == 12
    started = [d.point.identifier for d in result.with_action(CopyAction.START)]
    assert started == [f"s{i:02d}" for i in range(10, 18)]
    assert len(result.with_action(CopyAction.WAITING)) == 12
    assert "slots" in result.with_action(CopyAction.WAITING)[0].reason


def test_cluster_and_instance_quotas_are_separate() -> None:
    clusters = [snapshot(f"c{i}", type_=DatabaseType.CLUSTER, created=NOW - timedelta(hours=i)) for i in range(7)]
    instances = [snapshot(f"i{i}") for i in range(3)]
    result = plan(clusters + instances)
    started = {d.point.identifier for d in result.with_action(CopyAction.START)}
    assert started == {"c6", "c5", "c4", "c3", "c2", "i0", "i1", "i2"}


def test_dr_lag_is_the_age_of_the_oldest_wanted_snapshot_without_available_copy() -> None:
    copied = snapshot("copied", created=NOW - timedelta(days=9))
    in_flight = snapshot("in-flight", created=NOW - timedelta(hours=5))
    missing = snapshot("missing", created=NOW - timedelta(hours=2))
    not_wanted = snapshot("not-wanted", kind="predeploy", created=NOW - timedelta(days=20))
    creating = snapshot("creating", status="creating", created=NOW - timedelta(days=1))
    result = plan([copied, in_flight, missing, not_wanted, creating], [dr_copy(copied), dr_copy(in_flight, "copying")])
    assert result.dr_lag_seconds == 5 * 3600
    assert plan([copied], [dr_copy(copied)]).dr_lag_seconds == 0


def test_in_flight_copy_definition() -> None:
    assert is_in_flight_copy(snapshot("a", status="copying"), STACK)
    assert not is_in_flight_copy(snapshot("a"), STACK)
    assert not is_in_flight_copy(snapshot("a", status="failed"), STACK)
    assert not is_in_flight_copy(snapshot("a", status="creating", managed_by=None), STACK)


def test_bad_arguments() -> None:
    with pytest.raises(ValueError, match="timezone-aware"):
        plan([], now=datetime(2027, 1, 1))
    with pytest.raises(ValueError, match="max_attempts"):
        plan([], max_attempts=0)


# ---- property-based ---------------------------------------------------------------------------------

statuses = st.sampled_from(["available", "available", "available", "creating", "copying", "pending", "failed"])


@st.composite
def inventories(draw: st.DrawFn) -> tuple[list[RecoveryPoint], list[RecoveryPoint]]:
    count = draw(st.integers(0, 45))
    sources: list[RecoveryPoint] = []
    dr: list[RecoveryPoint] = []
    for index in range(count):
        point = snapshot(
            f"p{index}",
            created=NOW - timedelta(minutes=draw(st.integers(0, 60 * 24 * 120))),
            type_=draw(st.sampled_from(RDS_TYPES)),
            status=draw(statuses),
            managed_by=draw(st.sampled_from([STACK, STACK, STACK, "other", None])),
            kind=draw(st.sampled_from(["weekly", "monthly", "predeploy", None])),
            policy=draw(st.sampled_from(["standard", "standard", "compliance", "platinum", None])),
            expires=NOW + timedelta(days=draw(st.integers(-30, 400))),
            attempts=draw(st.sampled_from([None, None, "0", "1", "2", "3", "7", "x"])),
            snapshot_type=draw(st.sampled_from(["manual", "manual", "manual", "automated"])),
        )
        sources.append(point)
        copy_state = draw(st.sampled_from([None, None, "available", "copying", "pending", "failed", "foreign"]))
        if copy_state == "foreign":
            dr.append(dr_copy(point, managed_by="other"))
        elif copy_state is not None:
            dr.append(dr_copy(point, status=copy_state))
    for index in range(draw(st.integers(0, 25))):  # other copies into the DR Region, not ours
        dr.append(
            snapshot(
                f"foreign{index}",
                region="us-west-2",
                type_=draw(st.sampled_from(RDS_TYPES)),
                managed_by=None,
                status=draw(statuses),
                source_snapshot_arn="arn:aws:rds:eu-west-1:123456789012:snapshot:x",
            )
        )
    return sources, dr


def wants_copy(point: RecoveryPoint) -> bool:
    """The copy rule, stated independently: managed, manual, available, policy wants DR, unexpired."""
    policy = POLICIES.get(point.tags.get("restorable:policy", ""))
    rule = policy.rule_for(point.kind) if policy and point.kind else None
    return (
        point.managed_by == STACK
        and point.snapshot_type == "manual"
        and point.status == "available"
        and point.source_arn is not None
        and rule is not None
        and rule.dr_copy
        and (point.expires_at is None or point.expires_at > NOW)
    )


@settings(max_examples=300, deadline=None)
@given(inventory=inventories(), max_attempts=st.integers(1, 5))
def test_starts_respect_quota_duplicates_ownership_and_age(
    inventory: tuple[list[RecoveryPoint], list[RecoveryPoint]], max_attempts: int
) -> None:
    sources, dr = inventory
    result = plan(sources, dr, max_attempts=max_attempts)
    dr_ids = {(p.type, p.identifier.lower()) for p in dr}
    started = result.with_action(CopyAction.START)

    for kind in RDS_TYPES:
        in_flight = sum(1 for p in dr if p.type is kind and is_in_flight_copy(p, STACK))
        free = max(0, CONCURRENT_COPY_QUOTA[kind] - in_flight)
        of_kind = [d.point for d in started if d.point.type is kind]
        # never more than the free slots, never a duplicate
        assert len(of_kind) <= free
        assert len({p.identifier for p in of_kind}) == len(of_kind)
        # not merely conservative: every free slot is used while something waits
        waiting = [d.point for d in result.with_action(CopyAction.WAITING) if d.point.type is kind]
        assert len(of_kind) == free or not waiting
        # oldest first
        if of_kind and waiting:
            assert max(p.created_at for p in of_kind) <= min(p.created_at for p in waiting)  # type: ignore[type-var]

    for decision in started:
        point = decision.point
        assert wants_copy(point)
        assert (point.type, point.identifier.lower()) not in dr_ids
        assert int(point.tags.get("restorable:copy-attempts", "0").replace("x", "0")) < max_attempts
        assert decision.tags["restorable:managed-by"] == STACK
        assert "restorable:copy-attempts" not in decision.tags

    # every managed manual source snapshot gets exactly one decision; nothing else gets one
    managed = sorted(p.identifier for p in sources if p.managed_by == STACK and p.snapshot_type == "manual")
    assert sorted(d.point.identifier for d in result.decisions) == managed
