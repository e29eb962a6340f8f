"""The tag contract shared with users and between functions (docs/architecture.md, "The tag and naming contract")."""

from __future__ import annotations

from collections.abc import Mapping

PREFIX = "restorable:"
POLICY = "restorable:policy"
MANAGED_BY = "restorable:managed-by"
KIND = "restorable:kind"
EXPIRES_AT = "restorable:expires-at"
SOURCE = "restorable:source"
LEGAL_HOLD = "restorable:legal-hold"
# The CodePipeline job (or direct request) that took a pre-deploy snapshot: a retried job finds it by this tag.
JOB_ID = "restorable:job-id"

UNMANAGED_POLICY_VALUES = frozenset({"", "none"})

# The one value that releases a legal hold (any case, surrounding whitespace ignored); "true" is the
# documented way to set one. Every other value also holds, and is reported as unrecognised.
LEGAL_HOLD_OFF = "false"
LEGAL_HOLD_ON = "true"


def legal_hold_values(tags: Mapping[str, str]) -> dict[str, str]:
    """Every tag whose key is ``restorable:legal-hold`` up to case and surrounding whitespace."""
    return {k: v for k, v in tags.items() if k.strip().lower() == LEGAL_HOLD}


def is_held(tags: Mapping[str, str]) -> bool:
    """Fail safe: held unless every legal-hold key (up to case) clearly says ``false``."""
    return any(v.strip().lower() != LEGAL_HOLD_OFF for v in legal_hold_values(tags).values())


def unrecognised_legal_holds(tags: Mapping[str, str]) -> dict[str, str]:
    """Legal-hold tags whose key or value is not exactly what the contract documents (they hold anyway)."""
    return {
        k: v
        for k, v in legal_hold_values(tags).items()
        if k != LEGAL_HOLD or v.strip().lower() not in (LEGAL_HOLD_ON, LEGAL_HOLD_OFF)
    }


def iam_denies_delete(tags: Mapping[str, str]) -> bool:
    """What the template's explicit deny decides: the tag key matches case-insensitively (IAM compares
    ``aws:ResourceTag`` keys that way, but cannot trim them) and the value is not ``false`` in any case
    (``StringNotEqualsIgnoreCase``, no trimming either)."""
    return any(v.lower() != LEGAL_HOLD_OFF for k, v in tags.items() if k.lower() == LEGAL_HOLD)


def tag_dict(tag_list: list[dict[str, str]] | None) -> dict[str, str]:
    """Turn an AWS ``TagList`` (``[{"Key": .., "Value": ..}]``) into a dict."""
    return {t["Key"]: t.get("Value", "") for t in tag_list or []}


def tag_list(tags: dict[str, str]) -> list[dict[str, str]]:
    """Turn a dict into an AWS ``TagList``, sorted by key for stable requests."""
    return [{"Key": k, "Value": v} for k, v in sorted(tags.items())]


# Restore drills: temporary databases carry MANAGED_BY, KIND=DRILL_KIND, EXPIRES_AT, SOURCE and
# the execution that owns them. IAM lets the drill functions delete only what carries these tags.
DRILL_KIND = "drill"
DRILL_EXECUTION = "restorable:drill-execution"
# Set by the copy function on a source snapshot: how many cross-Region copies it has started.
COPY_ATTEMPTS = "restorable:copy-attempts"


def copyable_tags(tags: Mapping[str, str]) -> dict[str, str]:
    """The tags a DR copy carries: the original's, minus AWS-reserved keys and copy bookkeeping."""
    return {k: v for k, v in tags.items() if not k.lower().startswith("aws:") and k != COPY_ATTEMPTS}
