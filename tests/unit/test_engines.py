from __future__ import annotations

from restorable.engines import ENGINES, Engine, engines_supporting, profile
from restorable.policy import ON_DEMAND_KINDS, default_policy_text, parse_policy_document


def test_every_engine_has_a_profile_under_its_own_name() -> None:
    assert set(ENGINES) == set(Engine)
    assert all(item.engine is engine for engine, item in ENGINES.items())


def test_kinds_per_engine() -> None:
    assert profile(Engine.RDS).kinds == {"weekly", "monthly", "predeploy"}
    assert profile(Engine.DYNAMODB).kinds == {"weekly", "predeploy"}
    assert profile(Engine.ELASTICACHE).kinds == {"daily", "predeploy"}
    assert not profile(Engine.DYNAMODB).supports("monthly")
    assert not profile(Engine.DYNAMODB).supports("pitr")  # a setting, not a recovery point


def test_on_demand_kinds_are_the_policys() -> None:
    assert all(item.on_demand_kinds <= ON_DEMAND_KINDS for item in ENGINES.values())
    assert all(not (item.scheduled_kinds & ON_DEMAND_KINDS) for item in ENGINES.values())


def test_only_dynamodb_points_lack_tags() -> None:
    assert {engine for engine, item in ENGINES.items() if not item.points_take_tags} == {Engine.DYNAMODB}


def test_every_kind_of_the_default_policies_means_something_to_some_engine() -> None:
    document = parse_policy_document(default_policy_text())
    assert all(engines_supporting(kind) for kind in document.kinds())
    assert engines_supporting("monthly") == {Engine.RDS}
