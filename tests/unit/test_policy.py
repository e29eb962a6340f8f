from __future__ import annotations

import json

import pytest

from restorable.errors import PolicyError
from restorable.policy import default_policy_text, parse_policy_document

SCHEDULED = frozenset({"weekly", "monthly", "daily"})


def document(**overrides: object) -> str:
    base = json.loads(default_policy_text())
    base.update(overrides)
    return json.dumps(base)


def test_default_policies_are_the_documented_ones() -> None:
    policies = parse_policy_document(default_policy_text(), SCHEDULED)
    standard = policies.policies["standard"]
    assert {k: (r.retention_days, r.dr_copy) for k, r in standard.snapshots.items()} == {
        "weekly": (90, True),
        "monthly": (365, True),
        "daily": (7, False),
        "predeploy": (30, True),
    }
    assert standard.automated_backups.retention_days == 7
    assert policies.policies["compliance"].snapshots["monthly"].retention_days == 2555


def test_a_user_adds_a_policy_as_data() -> None:
    raw = json.loads(default_policy_text())
    raw["policies"]["dev"] = {
        "automated_backups": {"retention_days": 1},
        "snapshots": {"weekly": {"retention_days": 14, "dr_copy": False}},
    }
    policies = parse_policy_document(json.dumps(raw), SCHEDULED)
    assert policies.policies["dev"].snapshots["weekly"].retention_days == 14
    assert policies.policies["dev"].rule_for("monthly") is None


@pytest.mark.parametrize(
    ("mutate", "message"),
    [
        (
            lambda d: d["policies"]["standard"]["snapshots"]["weekly"].update(retention_days=0),
            "policies.standard.snapshots.weekly.retention_days",
        ),
        (
            lambda d: d["policies"]["standard"]["snapshots"]["weekly"].update(retention_days="90"),
            "policies.standard.snapshots.weekly.retention_days",
        ),
        (
            lambda d: d["policies"]["standard"]["snapshots"]["weekly"].pop("dr_copy"),
            "policies.standard.snapshots.weekly.dr_copy: Field required",
        ),
        (
            lambda d: d["policies"]["standard"]["snapshots"]["weekly"].update(keep=3),
            "policies.standard.snapshots.weekly.keep: Extra inputs are not permitted",
        ),
        (
            lambda d: d["policies"]["standard"]["automated_backups"].update(retention_days=36),
            "policies.standard.automated_backups.retention_days",
        ),
        (
            lambda d: d["policies"]["standard"]["snapshots"].update(
                {"Weekly!": {"retention_days": 1, "dr_copy": True}}
            ),
            "policies.standard.snapshots.Weekly!",
        ),
        (lambda d: d.update(version=2), "version"),
        (lambda d: d.update(policies={}), "policies"),
    ],
)
def test_invalid_documents_name_the_bad_field(mutate, message: str) -> None:  # type: ignore[no-untyped-def]
    raw = json.loads(default_policy_text())
    mutate(raw)
    with pytest.raises(PolicyError) as caught:
        parse_policy_document(json.dumps(raw), SCHEDULED)
    assert message in str(caught.value)


def test_not_json_is_a_clear_error() -> None:
    with pytest.raises(PolicyError, match=r"not valid JSON.*line 1 column 2"):
        parse_policy_document("{policies: []}")


def test_kind_without_a_schedule_is_rejected() -> None:
    raw = json.loads(default_policy_text())
    raw["policies"]["standard"]["snapshots"]["quarterly"] = {"retention_days": 400, "dr_copy": False}
    with pytest.raises(
        PolicyError, match=r"policies\.standard\.snapshots\.quarterly: no schedule is declared for kind 'quarterly'"
    ):
        parse_policy_document(json.dumps(raw), SCHEDULED)


def test_policy_named_none_is_reserved() -> None:
    raw = json.loads(default_policy_text())
    raw["policies"]["none"] = raw["policies"]["standard"]
    with pytest.raises(PolicyError, match="reserved"):
        parse_policy_document(json.dumps(raw), SCHEDULED)
