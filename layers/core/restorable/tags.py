"""The tag contract shared with users and between functions (see DESIGN.md)."""

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


def tag_dict(tag_list: list[dict[str, str]] | None) -> dict[str, str]:
    """Turn an AWS ``TagList`` (``[{"Key": .., "Value": ..}]``) into a dict."""
    return {t["Key"]: t.get("Value", "") for t in tag_list or []}


def tag_list(tags: dict[str, str]) -> list[dict[str, str]]:
    """Turn a dict into an AWS ``TagList``, sorted by key for stable requests."""
    return [{"Key": k, "Value": v} for k, v in sorted(tags.items())]


# Restore drills (issue 6): temporary databases carry MANAGED_BY, KIND=DRILL_KIND, EXPIRES_AT, SOURCE and
# the execution that owns them. IAM lets the drill functions delete only what carries these tags.
DRILL_KIND = "drill"
DRILL_EXECUTION = "restorable:drill-execution"
# Set by the copy function on a source snapshot: how many cross-Region copies it has started.
COPY_ATTEMPTS = "restorable:copy-attempts"


def copyable_tags(tags: Mapping[str, str]) -> dict[str, str]:
    """The tags a DR copy carries: the original's, minus AWS-reserved keys and copy bookkeeping."""
    return {k: v for k, v in tags.items() if not k.lower().startswith("aws:") and k != COPY_ATTEMPTS}
