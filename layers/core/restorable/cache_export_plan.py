"""Plan ElastiCache's opt-in cross-Region path: export the newest daily snapshot, copy it to the DR Region.

Pure. A cache whose policy's ``daily`` rule says ``dr_copy: true`` has its newest available managed
daily snapshot exported to the stack's staging bucket in the source Region (ElastiCache writes one
``{snapshot}-{NNNN}.rdb`` object per shard there), the objects copied to the DR bucket under
``elasticache/{cache-id}/{snapshot}/`` and the staging objects deleted once each copy is verified:
same size and the same full-object checksum, read back from the DR object. Nothing here deletes on a
guess: a copy that cannot be compared (no common checksum) keeps its staging object and is reported.

Keys are deterministic, so a rerun picks up where the last one stopped: an object already copied and
verified is only deleted from staging, one copied but not verified is copied again, and a snapshot
whose objects are all in the DR Region is complete.
"""

from __future__ import annotations

import enum
import functools
import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Protocol

from .policy import PolicyDocument

KIND = "daily"
DR_ROOT = "elasticache/"
# Export states ElastiCache reports on the source snapshot while it writes the objects.
EXPORTING_STATES = frozenset({"exporting", "copying"})
# Full-object checksums S3 can compute for a multipart upload too (SHA-1 and SHA-256 are per part only).
FULL_OBJECT_ALGORITHMS = frozenset({"CRC64NVME", "CRC32", "CRC32C"})

# User metadata on every DR object (S3 lower-cases the names; ``x-amz-meta-`` is added by S3).
META_MANAGED_BY = "restorable-managed-by"
META_SOURCE = "restorable-source"
META_SNAPSHOT = "restorable-snapshot"
META_SNAPSHOT_CREATED_AT = "restorable-snapshot-created-at"
META_EXPIRES_AT = "restorable-expires-at"
META_STAGING_KEY = "restorable-staging-key"
META_OBJECT_COUNT = "restorable-object-count"


@dataclass(frozen=True)
class Checksum:
    algorithm: str  # CRC64NVME, CRC32, CRC32C, SHA1, SHA256
    value: str


@dataclass(frozen=True)
class StoredObject:
    """An S3 object as read back with ``HeadObject`` (checksum and metadata included)."""

    key: str
    size: int
    checksum: Checksum | None = None
    last_modified: datetime | None = None
    metadata: Mapping[str, str] = field(default_factory=dict)


class ExportedCache(Protocol):
    """A cache as the adapter lists it (``adapters.elasticache.Cache``)."""

    @property
    def identifier(self) -> str: ...

    @property
    def arn(self) -> str: ...

    @property
    def policy_name(self) -> str | None: ...

    @property
    def snapshottable(self) -> bool: ...


class ExportedSnapshot(Protocol):
    """A manual snapshot as the adapter lists it (``adapters.elasticache.CacheSnapshot``)."""

    @property
    def identifier(self) -> str: ...

    @property
    def source_identifier(self) -> str: ...

    @property
    def status(self) -> str: ...

    @property
    def created_at(self) -> datetime | None: ...

    @property
    def managed_by(self) -> str | None: ...

    @property
    def kind(self) -> str | None: ...

    @property
    def source_arn(self) -> str | None: ...

    @property
    def is_automated(self) -> bool: ...

    @property
    def is_available(self) -> bool: ...


class ExportAction(enum.Enum):
    EXPORT = "export"  # CopySnapshot with TargetBucket (serverless: ExportServerlessCacheSnapshot)
    EXPORTING = "exporting"  # ElastiCache is still writing the objects
    COPY = "copy"  # copy one staging object to the DR bucket, then verify it
    DELETE_STAGING = "delete_staging"  # the DR copy is verified: the staging object goes
    COMPLETE = "complete"  # every object is in the DR bucket, nothing staged
    NOT_WANTED = "not_wanted"  # the cache's policy does not opt in
    NO_SNAPSHOT = "no_snapshot"  # no available managed daily snapshot yet
    FINDING = "finding"  # something a person must look at; nothing is changed


WRITES = frozenset({ExportAction.EXPORT, ExportAction.COPY, ExportAction.DELETE_STAGING})


@dataclass(frozen=True)
class ExportStep:
    """One thing the job does (or reports) for one cache."""

    cache: str
    cache_arn: str
    action: ExportAction
    reason: str
    snapshot: str | None = None
    staging: StoredObject | None = None
    dr_key: str | None = None
    object_count: int = 0


@dataclass(frozen=True)
class CacheSelection:
    """An opted-in cache and the snapshots this pass reconciles: its newest, and any with objects staged."""

    cache: ExportedCache
    newest: ExportedSnapshot | None
    snapshots: tuple[ExportedSnapshot, ...]
    waiting: str = ""  # why there is no newest snapshot to export yet


@dataclass(frozen=True)
class Selection:
    caches: tuple[CacheSelection, ...]
    steps: tuple[ExportStep, ...]  # caches that do not opt in, findings, and staged objects nobody claims


@dataclass(frozen=True)
class CopyCheck:
    verified: bool
    recopy: bool  # False and not verified: cannot be compared, so nothing is copied or deleted
    reason: str


def staged_pattern(snapshot: str) -> re.Pattern[str]:
    """The objects an export of ``snapshot`` writes: ``{snapshot}-0001.rdb`` per shard (or ``{snapshot}.rdb``)."""
    return re.compile(rf"^{re.escape(snapshot)}(-\d{{4}})?\.rdb$")


def dr_prefix(cache_id: str, snapshot: str) -> str:
    return f"{DR_ROOT}{cache_id}/{snapshot}/"


def dr_key(cache_id: str, snapshot: str, staging_key: str) -> str:
    return dr_prefix(cache_id, snapshot) + staging_key


def check_copy(staged: StoredObject, copied: StoredObject | None) -> CopyCheck:
    """Whether ``copied`` (read back from the DR bucket) is a verified copy of ``staged``."""
    if copied is None:
        return CopyCheck(False, True, "not in the DR bucket yet")
    if copied.metadata.get(META_STAGING_KEY) != staged.key:
        return CopyCheck(False, True, f"the DR object does not say it is a copy of {staged.key}")
    if copied.size != staged.size:
        return CopyCheck(False, True, f"the DR object has {copied.size} bytes, the staged one {staged.size}")
    if staged.checksum is None or copied.checksum is None:
        missing = "staged" if staged.checksum is None else "DR"
        return CopyCheck(False, False, f"the {missing} object has no checksum to compare; staging object kept")
    if staged.checksum.algorithm != copied.checksum.algorithm:
        return CopyCheck(
            False,
            False,
            f"checksums differ in kind ({staged.checksum.algorithm} staged, {copied.checksum.algorithm} in the DR "
            "Region); staging object kept",
        )
    if staged.checksum.value != copied.checksum.value:
        return CopyCheck(False, True, f"{staged.checksum.algorithm} checksums differ")
    return CopyCheck(True, False, f"same size and {staged.checksum.algorithm} checksum")


def wants_export(cache: ExportedCache, policies: PolicyDocument) -> bool:
    policy = policies.get(cache.policy_name or "")
    rule = policy.rule_for(KIND) if policy is not None else None
    return rule is not None and rule.dr_copy


def _ours(snapshot: ExportedSnapshot, cache: ExportedCache, stack_name: str) -> bool:
    if snapshot.is_automated or snapshot.managed_by != stack_name or snapshot.kind != KIND:
        return False
    if snapshot.source_arn:
        return snapshot.source_arn == cache.arn
    return snapshot.source_identifier == cache.identifier


def _created(snapshot: ExportedSnapshot) -> float:
    return snapshot.created_at.timestamp() if snapshot.created_at is not None else float("-inf")


def select_snapshots(
    caches: Iterable[ExportedCache],
    snapshots: Iterable[ExportedSnapshot],
    staged: Iterable[StoredObject],
    *,
    policies: PolicyDocument,
    stack_name: str,
) -> Selection:
    """Which snapshots each opted-in cache reconciles; what is reported without reading the DR bucket."""
    snapshot_list = list(snapshots)
    staged_list = list(staged)
    claimed: set[str] = set()
    selected: list[CacheSelection] = []
    steps: list[ExportStep] = []
    for cache in caches:
        if cache.policy_name is None:
            continue
        policy = policies.get(cache.policy_name)
        if policy is None:
            steps.append(
                ExportStep(
                    cache.identifier,
                    cache.arn,
                    ExportAction.FINDING,
                    f"restorable:policy={cache.policy_name!r} names no policy; nothing exported",
                )
            )
            continue
        if not wants_export(cache, policies):
            steps.append(
                ExportStep(
                    cache.identifier,
                    cache.arn,
                    ExportAction.NOT_WANTED,
                    f"policy {cache.policy_name!r} wants no DR copy of {KIND} snapshots",
                )
            )
            continue
        if not cache.snapshottable:
            steps.append(
                ExportStep(
                    cache.identifier,
                    cache.arn,
                    ExportAction.FINDING,
                    "node-based Memcached has no snapshots: there is nothing to export",
                )
            )
            continue
        ours = [s for s in snapshot_list if _ours(s, cache, stack_name)]
        # An export under way leaves the snapshot "exporting": it is still the newest, never skipped for an older one.
        ready = [s for s in ours if (s.is_available or s.status in EXPORTING_STATES) and s.created_at is not None]
        newest = max(ready, key=_created, default=None)
        with_staged = [s for s in ours if any(staged_pattern(s.identifier).match(o.key) for o in staged_list)]
        chosen = {s.identifier: s for s in [*([newest] if newest else []), *with_staged]}
        for name in chosen:
            claimed.update(o.key for o in staged_list if staged_pattern(name).match(o.key))
        waiting = ""
        if newest is None:
            pending = [s.identifier for s in ours if not s.is_available]
            waiting = (
                f"daily snapshot {pending[0]} is not available yet; exported once it is"
                if pending
                else f"no available {KIND} snapshot of this stack yet"
            )
        selected.append(CacheSelection(cache, newest, tuple(chosen.values()), waiting))
    for obj in staged_list:
        if obj.key not in claimed:
            steps.append(
                ExportStep(
                    "*",
                    "",
                    ExportAction.FINDING,
                    f"staged object {obj.key} belongs to no daily snapshot of an opted-in cache of this stack; kept "
                    "(delete it by hand once you know it is not needed)",
                    staging=obj,
                )
            )
    return Selection(tuple(selected), tuple(steps))


def dr_set_complete(objects: Sequence[StoredObject], stack_name: str) -> bool:
    """Every object of the set is there: each says how many there are, and that many are present."""
    if not objects:
        return False
    counts = {o.metadata.get(META_OBJECT_COUNT, "") for o in objects}
    owners = {o.metadata.get(META_MANAGED_BY) for o in objects}
    if len(counts) != 1 or owners != {stack_name}:
        return False
    (count,) = counts
    return count.isdigit() and int(count) == len(objects)


def plan_cache(
    selection: CacheSelection,
    staged: Iterable[StoredObject],
    dr_objects: Mapping[str, Sequence[StoredObject]],
    *,
    stack_name: str,
) -> list[ExportStep]:
    """The steps for one opted-in cache; ``dr_objects`` by snapshot name (the objects under its DR prefix)."""
    cache = selection.cache
    staged_list = list(staged)
    steps: list[ExportStep] = []
    if selection.newest is None and not selection.snapshots:
        return [ExportStep(cache.identifier, cache.arn, ExportAction.NO_SNAPSHOT, selection.waiting)]
    for snapshot in selection.snapshots:
        name = snapshot.identifier
        pattern = staged_pattern(name)
        here = sorted((o for o in staged_list if pattern.match(o.key)), key=lambda o: o.key)
        copies = {o.key: o for o in dr_objects.get(name, ())}
        step = functools.partial(ExportStep, cache.identifier, cache.arn, snapshot=name)
        if snapshot.status in EXPORTING_STATES:
            steps.append(step(ExportAction.EXPORTING, f"export of {name} under way ({snapshot.status})"))
            continue
        if here:
            for obj in here:
                target = dr_key(cache.identifier, name, obj.key)
                check = check_copy(obj, copies.get(target))
                if check.verified:
                    steps.append(
                        step(
                            ExportAction.DELETE_STAGING,
                            f"DR copy verified ({check.reason}); staging object deleted",
                            staging=obj,
                            dr_key=target,
                            object_count=len(here),
                        )
                    )
                elif check.recopy:
                    steps.append(
                        step(ExportAction.COPY, check.reason, staging=obj, dr_key=target, object_count=len(here))
                    )
                else:
                    steps.append(step(ExportAction.FINDING, check.reason, staging=obj, dr_key=target))
            continue
        present = list(copies.values())
        if dr_set_complete(present, stack_name):
            steps.append(step(ExportAction.COMPLETE, f"{len(present)} object(s) in the DR bucket, verified"))
            continue
        if snapshot is not selection.newest:
            continue  # an older snapshot with nothing staged: the newest one is what the DR Region needs
        if not snapshot.is_available:
            steps.append(step(ExportAction.NO_SNAPSHOT, f"snapshot is '{snapshot.status}'; exported once available"))
            continue
        reason = (
            f"the DR bucket holds {len(present)} object(s) of {name} but not the whole set, and nothing is staged: "
            "export again"
            if present
            else f"newest {KIND} snapshot, not in the DR bucket yet"
        )
        steps.append(step(ExportAction.EXPORT, reason))
    return steps
