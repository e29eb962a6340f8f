"""The remediation plan's safety rules, as properties over generated fleets, and the cases that define them."""

from __future__ import annotations

import json

from hypothesis import given, settings
from hypothesis import strategies as st

from restorable.models import Database, DatabaseType
from restorable.policy import PolicyDocument, default_policy_text, parse_policy_document
from restorable.remediation_plan import (
    Action,
    PlanContext,
    RdsBackupSettings,
    RemediationPlan,
    Setting,
    TablePitrSettings,
    apply_to_settings,
    plan_remediation,
)

DR = "us-west-2"
ACCOUNT = "123456789012"


def policies(
    *, standard_remediates: bool = True, replication: bool = True, retention: int = 7, pitr_days: int = 35
) -> PolicyDocument:
    document = json.loads(default_policy_text())
    document["policies"]["standard"]["remediate"] = standard_remediates
    document["policies"]["standard"]["point_in_time_recovery"] = {"recovery_period_days": pitr_days}
    document["policies"]["standard"]["automated_backups"] = {"retention_days": retention, "dr_replication": replication}
    document["policies"]["compliance"]["remediate"] = False
    return parse_policy_document(json.dumps(document))


def context(document: PolicyDocument | None = None, *, allow_outage: bool = False) -> PlanContext:
    return PlanContext(
        policies=document or policies(), dr_region=DR, dr_kms_key_id="alias/aws/rds", allow_outage=allow_outage
    )


def instance(
    identifier: str = "orders",
    *,
    policy: str | None = "standard",
    retention: int = 1,
    copy_tags: bool = True,
    replications: dict[str, int | None] | None = None,
    status: str = "available",
    type_: DatabaseType = DatabaseType.INSTANCE,
    cluster: str | None = None,
    encrypted: bool = True,
) -> RdsBackupSettings:
    kind = "cluster" if type_ is DatabaseType.CLUSTER else "db"
    tags = {"restorable:policy": policy} if policy is not None else {}
    database = Database(
        type_, identifier, f"arn:aws:rds:us-east-1:{ACCOUNT}:{kind}:{identifier}", status, "mysql", tags, cluster
    )
    return RdsBackupSettings(database, retention, copy_tags, encrypted, replications or {})


def table(
    name: str = "orders", *, policy: str | None = "standard", enabled: bool = False, days: int | None = None
) -> TablePitrSettings:
    tags = {"restorable:policy": policy} if policy is not None else {}
    arn = f"arn:aws:dynamodb:us-east-1:{ACCOUNT}:table/{name}"
    return TablePitrSettings(name, arn, "ACTIVE", tags, enabled, days)


# ---- the cases ----


def test_a_short_retention_is_raised_and_copy_tags_turned_on_in_one_call() -> None:
    plan = plan_remediation([instance(retention=1, copy_tags=False)], [], context(policies(replication=False)))
    [change] = plan.changes
    assert change.action is Action.MODIFY_DB_INSTANCE
    assert (change.retention_days, change.copy_tags_to_snapshot) == (7, True)
    assert change.settings == (Setting.BACKUP_RETENTION, Setting.COPY_TAGS_TO_SNAPSHOT)
    assert not change.outage


def test_a_longer_retention_a_person_set_stays() -> None:
    plan = plan_remediation([instance(retention=30)], [], context(policies(replication=False)))
    assert plan == RemediationPlan()


def test_zero_to_n_is_an_outage_reported_unless_allowed() -> None:
    database = instance(retention=0, copy_tags=False)
    held = plan_remediation([database], [], context(policies(replication=False)))
    [copy_tags] = held.changes
    assert copy_tags.settings == (Setting.COPY_TAGS_TO_SNAPSHOT,)
    assert copy_tags.retention_days is None
    [kept] = held.kept
    assert kept.finding
    assert "OUTAGE" in kept.reason
    assert "--backup-retention-period 7" in kept.reason

    allowed = plan_remediation([database], [], context(policies(replication=False), allow_outage=True))
    [change] = allowed.changes
    assert change.outage
    assert change.retention_days == 7


def test_an_aurora_cluster_gets_retention_through_modify_db_cluster_and_never_replication() -> None:
    cluster = instance("ledger", retention=1, type_=DatabaseType.CLUSTER)
    plan = plan_remediation([cluster], [], context())
    assert [c.action for c in plan.changes] == [Action.MODIFY_DB_CLUSTER]
    assert not plan.changes[0].outage


def test_cluster_members_are_left_to_their_cluster() -> None:
    member = instance("ledger-1", retention=1, copy_tags=False, cluster="ledger")
    plan = plan_remediation([member], [], context())
    assert plan.changes == ()
    assert plan.kept[0].setting is Setting.RESOURCE


def test_replication_starts_in_the_dr_region_with_the_longer_retention_and_the_dr_key() -> None:
    plan = plan_remediation([instance(retention=14)], [], context())
    [change] = plan.changes
    assert change.action is Action.START_BACKUP_REPLICATION
    assert (change.region, change.retention_days, change.kms_key_id) == (DR, 14, "alias/aws/rds")
    unencrypted = plan_remediation([instance(retention=14, encrypted=False)], [], context())
    assert unencrypted.changes[0].kms_key_id is None


def test_a_running_replication_is_never_restarted_and_a_shorter_one_is_a_finding() -> None:
    longer = plan_remediation([instance(retention=7, replications={DR: 21})], [], context())
    assert longer == RemediationPlan()
    shorter = plan_remediation([instance(retention=7, replications={DR: 3})], [], context())
    assert shorter.changes == ()
    [kept] = shorter.kept
    assert kept.finding
    assert kept.setting is Setting.BACKUP_REPLICATION


def test_replication_waits_for_automated_backups_when_the_outage_is_not_allowed() -> None:
    plan = plan_remediation([instance(retention=0)], [], context())
    assert plan.changes == ()
    assert {k.setting for k in plan.kept} == {Setting.BACKUP_RETENTION, Setting.BACKUP_REPLICATION}


def test_unprotected_unknown_and_not_opted_in_resources_are_reported_not_changed() -> None:
    plan = plan_remediation(
        [
            instance("a", policy=None),
            instance("b", policy="none"),
            instance("c", policy="gold"),
            instance("d", policy="compliance"),
        ],
        [table("t", policy="gold")],
        context(),
    )
    assert plan.changes == ()
    findings = {k.resource for k in plan.kept if k.finding}
    assert findings == {"c", "t"}
    assert {k.resource for k in plan.kept} == {"a", "b", "c", "d", "t"}


def test_a_busy_database_is_retried_later() -> None:
    plan = plan_remediation([instance(retention=1, status="modifying")], [], context())
    assert plan.changes == ()
    assert "later run" in plan.kept[0].reason


def test_pitr_is_turned_on_with_the_policy_period_and_a_longer_one_stays() -> None:
    [change] = plan_remediation([], [table(enabled=False)], context()).changes
    assert change.action is Action.UPDATE_CONTINUOUS_BACKUPS
    assert change.retention_days == 35
    document = json.loads(default_policy_text())
    document["policies"]["standard"].update(remediate=True, point_in_time_recovery={"recovery_period_days": 14})
    short = context(parse_policy_document(json.dumps(document)))
    assert plan_remediation([], [table(enabled=True, days=30)], short) == RemediationPlan()
    assert plan_remediation([], [table(enabled=True, days=7)], short).changes[0].retention_days == 14
    # PITR on without a reported period keeps the service default, 35 days.
    assert plan_remediation([], [table(enabled=True, days=None)], context()) == RemediationPlan()


# ---- the properties ----

POLICY_VALUES = st.sampled_from([None, "none", "standard", "compliance", "gold", " Standard "])
STATUSES = st.sampled_from(["available", "available", "modifying", "stopped"])


@st.composite
def rds_fleet(draw: st.DrawFn) -> list[RdsBackupSettings]:
    count = draw(st.integers(0, 6))
    found = []
    for number in range(count):
        type_ = draw(st.sampled_from([DatabaseType.INSTANCE, DatabaseType.INSTANCE, DatabaseType.CLUSTER]))
        replications = draw(st.dictionaries(st.sampled_from([DR, "eu-west-1"]), st.none() | st.integers(1, 35)))
        found.append(
            instance(
                f"db{number}",
                policy=draw(POLICY_VALUES),
                retention=draw(st.integers(0 if type_ is DatabaseType.INSTANCE else 1, 35)),
                copy_tags=draw(st.booleans()),
                replications=replications if type_ is DatabaseType.INSTANCE else {},
                status=draw(STATUSES),
                type_=type_,
                cluster=draw(st.none() | st.just("c")) if type_ is DatabaseType.INSTANCE else None,
                encrypted=draw(st.booleans()),
            )
        )
    return found


@st.composite
def table_fleet(draw: st.DrawFn) -> list[TablePitrSettings]:
    count = draw(st.integers(0, 4))
    found = []
    for number in range(count):
        enabled = draw(st.booleans())
        found.append(
            table(
                f"t{number}",
                policy=draw(POLICY_VALUES),
                enabled=enabled,
                days=draw(st.none() | st.integers(1, 35)) if enabled else None,
            )
        )
    return found


CONTEXTS = st.builds(
    lambda remediate, replication, retention, pitr_days, outage: context(
        policies(standard_remediates=remediate, replication=replication, retention=retention, pitr_days=pitr_days),
        allow_outage=outage,
    ),
    st.booleans(),
    st.booleans(),
    st.integers(1, 35),
    st.integers(1, 35),
    st.booleans(),
)


@settings(max_examples=300, deadline=None)
@given(rds_fleet(), table_fleet(), CONTEXTS)
def test_a_plan_never_loosens_a_setting(
    databases: list[RdsBackupSettings], tables: list[TablePitrSettings], plan_context: PlanContext
) -> None:
    plan = plan_remediation(databases, tables, plan_context)
    found = {d.database.arn: d for d in databases}
    found_tables = {t.arn: t for t in tables}
    for change in plan.changes:
        if change.action is Action.UPDATE_CONTINUOUS_BACKUPS:
            assert change.retention_days is not None
            assert change.retention_days > found_tables[change.arn].effective_period_days
            continue
        current = found[change.arn]
        if change.action is Action.START_BACKUP_REPLICATION:
            assert change.region not in current.replications  # never restarts a running replication
            assert change.retention_days is not None
            assert change.retention_days >= current.retention_days
            assert current.database.type is DatabaseType.INSTANCE
        else:
            if change.retention_days is not None:
                assert change.retention_days > current.retention_days
            assert change.copy_tags_to_snapshot in (None, True)
    # Applied, nothing is less strict than before.
    after, after_tables = apply_to_settings(databases, tables, plan)
    for old, new in zip(databases, after, strict=True):
        assert new.retention_days >= old.retention_days
        assert new.copy_tags_to_snapshot or not old.copy_tags_to_snapshot
        assert new.replications.keys() >= old.replications.keys()
        for region, days in old.replications.items():
            assert new.replications[region] == days
    for old_table, new_table in zip(tables, after_tables, strict=True):
        assert new_table.effective_period_days >= old_table.effective_period_days


@settings(max_examples=300, deadline=None)
@given(rds_fleet(), table_fleet(), CONTEXTS)
def test_a_plan_never_touches_an_unprotected_unknown_or_not_opted_in_resource(
    databases: list[RdsBackupSettings], tables: list[TablePitrSettings], plan_context: PlanContext
) -> None:
    plan = plan_remediation(databases, tables, plan_context)
    policy_of = {d.database.arn: d.database.policy_name for d in databases}
    policy_of.update({t.arn: t.policy_name for t in tables})
    members = {d.database.arn for d in databases if d.database.is_cluster_member}
    not_available = {d.database.arn for d in databases if d.database.status != "available"}
    for change in plan.changes:
        name = policy_of[change.arn]
        assert name is not None
        policy = plan_context.policies.get(name)
        assert policy is not None
        assert policy.remediate
        assert change.arn not in members
        assert change.arn not in not_available
    for arn, name in policy_of.items():
        if name is not None and plan_context.policies.get(name) is None and arn not in members:
            assert any(k.arn == arn and k.finding for k in plan.kept)  # a half-tagged resource is reported


@settings(max_examples=300, deadline=None)
@given(rds_fleet(), table_fleet(), CONTEXTS)
def test_planning_on_the_remediated_state_plans_nothing(
    databases: list[RdsBackupSettings], tables: list[TablePitrSettings], plan_context: PlanContext
) -> None:
    plan = plan_remediation(databases, tables, plan_context)
    after, after_tables = apply_to_settings(databases, tables, plan)
    again = plan_remediation(after, after_tables, plan_context)
    assert again.changes == ()


@settings(max_examples=200, deadline=None)
@given(rds_fleet(), table_fleet())
def test_a_document_without_remediate_plans_nothing(
    databases: list[RdsBackupSettings], tables: list[TablePitrSettings]
) -> None:
    document = parse_policy_document(default_policy_text())
    assert plan_remediation(databases, tables, context(document, allow_outage=True)).changes == ()
