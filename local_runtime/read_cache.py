"""The emulator's answer cache: repeated identical read calls answered without moto re-serialising them.

Most of a simulated day's wall time is the emulator rendering the same ``Describe*``/``List*``
answers to XML and botocore parsing them back, because every handler re-reads the fleet. The
handlers still make every call (each one goes through botocore, its event hooks and the counting
of ``make bench``); only the answer of a call identical to an earlier one is taken from here::

    cache = ReadCache()
    with cache.installed(boto3._get_default_session()):
        ...                       # clients built from that session from now on use it
        world_step()
        cache.world_changed("backup")  # RDS changed by itself: drop what a backup can change

It is keyed by (service, Region, operation, the serialised request); every answer belongs to a
group, (Region, service) or a finer one (the listings of manual RDS snapshots, of RDS instances and
clusters, one DynamoDB table's items), and the answers are dropped:

- on every call that is not a read: whole, unless the write is to a service whose writes change
  only its own answers (``WRITE_SCOPES``: an RDS snapshot or copy, an ElastiCache snapshot, a
  DynamoDB put, an S3 put, a CloudWatch metric, an SNS publish), then only that service's answers,
  and only in the write's Region for the services moto keeps per Region (``REGIONAL_SERVICES``, but
  for ``CROSS_REGION_WRITES``). Finer still: a write to an RDS snapshot (create, copy, delete, tag)
  changes its Region's snapshots only and keeps the listings of instances and clusters; a DynamoDB
  item write drops only the items (and the ``DescribeTable``) of the tables it names. Whatever a
  write sets off elsewhere (a Lambda function invoked in this process) makes its own calls through
  these hooks;
- when the caller says the world changed (``world_changed(step)``): the simulation's own RDS
  lifecycle steps (automated backups, restarts of long-stopped instances, restore durations)
  change moto without an API call. They change RDS only, in their Region (a backup) or anywhere,
  and never a manual snapshot, so RDS's answers there are dropped except the listings of manual
  snapshots (``SnapshotType=manual``, the largest answers); other services' answers are kept.
  ``invalidate()`` drops everything.

An answer moto computes from the current time (an instance's or cluster's ``LatestRestorableTime``
is "now": ``CLOCK_DEPENDENT``) is given at a later (simulated) instant with those fields set to
the clock then, as moto would; only when the stored values were the clock at the instant they were
given (to the precision moto renders), otherwise it holds at that instant only. An answer a hook of
the local runtime changes (``world.serve_dynamodb``, ``backup_replication``) is kept as moto gave it:
the hook changes each answer the caller gets, cached or not.

Only ``Describe*``/``List*`` answers and DynamoDB's ``Scan``/``Query``/``GetItem`` are kept (errors
too: an error is an answer), never those of Step Functions, whose executions progress on their own
thread between calls. With ``check=True``
nothing is answered from the cache: every call goes to moto and an answer the cache would have
given that differs from moto's is recorded in ``mismatches`` (the tests run the demo so).
"""

from __future__ import annotations

import contextlib
import copy
import json
import threading
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from typing import Any

# Operations that change nothing: they never drop the cache. Every other operation does.
READ_PREFIXES = ("Describe", "List", "Get", "Head", "Query", "Scan", "BatchGet")
# Operations whose answers are kept.
CACHED_PREFIXES = ("Describe", "List")
CACHED_OPERATIONS = frozenset({("dynamodb", "Scan"), ("dynamodb", "Query"), ("dynamodb", "GetItem")})
# A group of answers is (Region, name); the name is a service or one of these finer groups.
# The listings of manual snapshots: RDS's own lifecycle steps never change them.
MANUAL_SNAPSHOTS = "rds:manual-snapshots"
# DescribeDBInstances and DescribeDBClusters: a write to a snapshot alone never changes them.
RDS_DATABASES = "rds:databases"
# One table's items (Scan, Query, GetItem) and its DescribeTable (moto counts the items live): an
# item write changes these of its own tables only. The table's name follows the prefix.
TABLE_ITEMS = "dynamodb:items:"
# Services whose writes change no other service's answers in moto -> the groups whose answers they drop
# (a name ending in ":" covers every group it begins). (SNS delivers to SQS; DynamoDB feeds its
# streams; S3 notifies SQS and SNS; RDS may make a master password's secret and an AWS managed KMS
# key.) Any other write drops all.
WRITE_SCOPES: dict[str, frozenset[str]] = {
    "rds": frozenset({"rds", MANUAL_SNAPSHOTS, RDS_DATABASES, "secretsmanager", "kms", "ec2"}),
    "elasticache": frozenset({"elasticache"}),
    "dynamodb": frozenset({"dynamodb", TABLE_ITEMS, "dynamodbstreams"}),
    "s3": frozenset({"s3", "sqs", "sns"}),
    "cloudwatch": frozenset({"cloudwatch"}),
    "logs": frozenset({"logs"}),
    "sns": frozenset({"sns", "sqs"}),
}
# Services whose writes change their own Region only (moto keeps one backend per Region), but for
# the operations that reach another Region by design. RDS's writes to its databases may (a
# cross-Region read replica is listed by its source, automated backups replicate): of RDS, only the
# writes to snapshots are taken as regional (a copy reads its source in the other Region).
REGIONAL_SERVICES = frozenset({"elasticache", "dynamodb", "cloudwatch", "logs"})
CROSS_REGION_WRITES = frozenset(
    {
        ("dynamodb", "CreateTable"),  # replicas of a global table
        ("dynamodb", "UpdateTable"),
        ("dynamodb", "DeleteTable"),
        ("elasticache", "CopySnapshot"),  # an export writes to S3
    }
)
# RDS writes that change snapshots only (a tag write counts when it names a snapshot).
RDS_SNAPSHOT_WRITES = frozenset(
    {
        "CreateDBSnapshot",
        "CopyDBSnapshot",
        "DeleteDBSnapshot",
        "CreateDBClusterSnapshot",
        "CopyDBClusterSnapshot",
        "DeleteDBClusterSnapshot",
    }
)
_RDS_TAG_WRITES = frozenset({"AddTagsToResource", "RemoveTagsFromResource"})
_RDS_SNAPSHOT_ARN_PARTS = (":snapshot:", ":cluster-snapshot:")
# DynamoDB writes that change the items of the tables they name.
TABLE_ITEM_WRITES = frozenset({"PutItem", "UpdateItem", "DeleteItem", "BatchWriteItem"})
_TABLE_ITEM_READS = frozenset({"Scan", "Query", "GetItem", "DescribeTable"})
# What the simulation's own lifecycle steps change: RDS only (an automated backup, a restart, a drill
# database's restore progress), in the step's Region, never a manual snapshot nor another service.
WORLD_STEP_SCOPE = frozenset({"rds", RDS_DATABASES})
# Services whose answers change without a call (Step Functions executions run on a thread).
UNCACHED_SERVICES = frozenset({"sfn", "stepfunctions"})
_MANUAL_SNAPSHOT_LISTINGS = frozenset({"DescribeDBSnapshots", "DescribeDBClusterSnapshots"})
_RDS_DATABASE_LISTINGS = frozenset({"DescribeDBInstances", "DescribeDBClusters"})
# Answers moto computes from the current time: valid at the instant they were given only.
# (service, operation) -> (list of the answer, field of its items): moto sets the field to the current time.
CLOCK_DEPENDENT = {
    ("rds", "DescribeDBInstances"): ("DBInstances", "LatestRestorableTime"),
    ("rds", "DescribeDBClusters"): ("DBClusters", "LatestRestorableTime"),
}

_CONTEXT_KEY = "local_runtime_read_cache"
_HOOK_ID = "local-runtime-read-cache"


@dataclass(frozen=True)
class _Response:
    """What botocore needs of an HTTP response it did not send (the parsed answer is beside it)."""

    status_code: int
    headers: dict[str, str]


@dataclass
class CacheStats:
    hits: int = 0
    misses: int = 0
    stores: int = 0
    checked: int = 0
    drops: Counter[str] | None = None

    def __post_init__(self) -> None:
        if self.drops is None:
            self.drops = Counter()


def is_read(operation: str) -> bool:
    return operation.startswith(READ_PREFIXES)


def is_cached(service: str, operation: str) -> bool:
    if service in UNCACHED_SERVICES:
        return False
    return operation.startswith(CACHED_PREFIXES) or (service, operation) in CACHED_OPERATIONS


class ReadCache:
    """Answers of read calls at one simulated instant, dropped by any write, world step or clock move."""

    def __init__(self, *, check: bool = False) -> None:
        self._answers: dict[tuple[Any, ...], _Entry] = {}
        self.check = check
        self.mismatches: list[tuple[tuple[Any, ...], Any, Any]] = []
        # Per group of answers ((Region, a service or a finer group)), bumped on every drop that covers
        # the group: an answer read before such a drop is never stored after it.
        self._generation: dict[tuple[str, str], int] = {}
        self._lock = threading.RLock()
        self._active = False  # clients built while installed keep the hooks: they pass through once it is not
        self.stats = CacheStats()

    @property
    def size(self) -> int:
        """Answers held now."""
        return len(self._answers)

    # ---- installing on a boto3 / botocore session

    @contextlib.contextmanager
    def installed(self, session: Any) -> Iterator[ReadCache]:
        """Hook into ``session`` (boto3 or botocore): every client built from it afterwards uses the cache."""
        events = session.events
        self._active = True
        events.register_first("before-call.*.*", self._before_call, unique_id=_HOOK_ID + "-before")
        events.register_last("after-call.*.*", self._after_call, unique_id=_HOOK_ID + "-after")
        try:
            yield self
        finally:
            self._active = False
            events.unregister("before-call.*.*", unique_id=_HOOK_ID + "-before")
            events.unregister("after-call.*.*", unique_id=_HOOK_ID + "-after")
            self.invalidate("uninstalled")

    # ---- dropping

    def invalidate(
        self,
        reason: str = "world",
        groups: frozenset[str] | None = None,
        keep: frozenset[str] = frozenset(),
        region: str | None = None,
    ) -> None:
        """Drop the answers of ``groups`` (default: every group) except those of ``keep``, in ``region``
        (default: every Region). A name ending in ":" covers every group whose name begins with it."""
        with self._lock:
            covered = {g for g in self._generation if _covers(groups, region, g) and g[1] not in keep}
            for group in covered:
                self._generation[group] += 1
            dropped = [key for key, entry in self._answers.items() if entry.group in covered]
            for key in dropped:
                del self._answers[key]
            if dropped:
                assert self.stats.drops is not None
                self.stats.drops[reason] += 1

    def world_changed(self, step: str, region: str | None = None) -> None:
        """RDS changed by itself (``step``: a backup, a restart...) in ``region`` (default: any): drop
        RDS's answers there but the listings of manual snapshots."""
        self.invalidate(step, groups=WORLD_STEP_SCOPE, region=region)

    # ---- the hooks

    def _before_call(self, model: Any, params: dict[str, Any], context: dict[str, Any], **_: Any) -> Any:
        if not self._active:
            return None
        service = model.service_model.service_name
        operation = model.name
        region = str(context.get("client_region"))
        if not is_read(operation):
            scope = write_scope(service, operation, params, region)
            self.invalidate(f"write:{service}:{operation}", *scope)
            context[_CONTEXT_KEY] = ("write", scope)
            return None
        if not is_cached(service, operation):
            return None
        key = (service, region, operation, _request_key(params))
        group = (region, _group(service, operation, params))
        now = datetime.now(UTC)
        with self._lock:
            entry = self._answers.get(key)
            parsed = None if entry is None else entry.answer_at(now)
            if entry is None or parsed is None:
                self.stats.misses += 1
                generation = self._generation.setdefault(group, 0)
                context[_CONTEXT_KEY] = ("miss", key, group, generation, now)
                return None
            if self.check:
                self.stats.checked += 1
                context[_CONTEXT_KEY] = ("check", key, entry.status, parsed)
                return None
            self.stats.hits += 1
        return _Response(entry.status, dict(entry.headers)), parsed

    def _after_call(self, http_response: Any, parsed: Any, context: dict[str, Any], **_: Any) -> None:
        mark = context.pop(_CONTEXT_KEY, None)
        if mark is None:
            return
        if mark[0] == "write":  # a write may have run concurrently with a read: drop again once it is done
            self.invalidate("write", *mark[1])
            return
        status = int(getattr(http_response, "status_code", 0) or 0)
        if mark[0] == "check":
            _, key, cached_status, cached = mark
            if (cached_status, _answer_only(cached)) != (status, _answer_only(parsed)):
                with self._lock:
                    self.mismatches.append((key, cached, parsed))
            return
        _, key, group, generation, given_at = mark
        if not 200 <= status < 500:
            return  # a throttle or server error is not an answer to keep
        with self._lock:
            if generation != self._generation[group] or datetime.now(UTC) != given_at:
                return  # something changed since the call was sent: its answer may already be stale
            headers = dict(getattr(http_response, "headers", {}) or {})
            self._answers[key] = _Entry.of(key[0], key[2], group, given_at, status, headers, parsed)
            self.stats.stores += 1


@dataclass(frozen=True)
class _Entry:
    """One answer, as moto gave it at ``given_at``.

    ``clock_fields``: for a ``CLOCK_DEPENDENT`` operation, the (list, field) whose values were the
    clock at ``given_at`` (``clock_precision``: as moto renders it, e.g. whole milliseconds); the
    answer at a later instant is this one with those values set to the clock then. When the values
    were not the clock (or the operation's fields are unknown), the answer holds at ``given_at`` only.
    """

    group: tuple[str, str]
    given_at: datetime
    status: int
    headers: dict[str, str]
    parsed: _Layout
    clock_dependent: bool = False
    clock_fields: tuple[str, str] | None = None
    clock_precision: timedelta | None = None

    @classmethod
    def of(
        cls,
        service: str,
        operation: str,
        group: tuple[str, str],
        given_at: datetime,
        status: int,
        headers: dict[str, str],
        parsed: Any,
    ) -> _Entry:
        stored = _frozen(parsed)
        fields = CLOCK_DEPENDENT.get((service, operation))
        if fields is None:
            return cls(group, given_at, status, headers, stored)
        values = [item[fields[1]] for item in parsed.get(fields[0], []) if fields[1] in item]
        for precision in _PRECISIONS:
            if all(isinstance(v, datetime) and v == _truncate(given_at, precision) for v in values):
                return cls(group, given_at, status, headers, stored, True, fields, precision)
        return cls(group, given_at, status, headers, stored, True)  # not the clock as we know it: this instant only

    def answer_at(self, now: datetime) -> Any:
        """A copy of the answer as moto would give it at ``now``; None when that cannot be known."""
        if now == self.given_at or not self.clock_dependent:
            return _thawed(self.parsed)
        if self.clock_fields is None or self.clock_precision is None:
            return None
        answer = _thawed(self.parsed)
        items, field_name = self.clock_fields
        clock = _truncate(now, self.clock_precision)
        for item in answer.get(items, []):
            if field_name in item:
                item[field_name] = clock.astimezone(item[field_name].tzinfo)
        return answer


_PRECISIONS = (timedelta(microseconds=1), timedelta(milliseconds=1), timedelta(seconds=1))


def _truncate(moment: datetime, precision: timedelta) -> datetime:
    return moment - (moment - datetime.min.replace(tzinfo=moment.tzinfo)) % precision


def _frozen(parsed: Any) -> _Layout:
    """The answer as kept: its layout, taken apart once, so each caller's copy is quick to put together."""
    return _layout(parsed)


def _thawed(stored: _Layout) -> Any:
    """A fresh copy of a kept answer, for one caller to change as it likes."""
    return _assembled(stored)


# Values a caller cannot change: shared between the kept answer and every copy of it.
_IMMUTABLE: frozenset[type] = frozenset({str, int, float, bool, bytes, type(None), datetime, date, Decimal})
# How a kept value is put together again (the first item of its layout).
_SHARED, _FLAT_DICT, _DICT, _FLAT_LIST, _LIST, _DEEP_COPY = range(6)
# (kind, value) or, for a dict with nested containers, (kind, template, ((key, layout), ...)).
_Layout = tuple[Any, ...]


def _layout(value: Any) -> _Layout:
    """How to copy ``value``: dicts and lists become copies of templates with their nested containers
    put in again, in the same key order; immutable leaves are shared; anything else (a set, a
    subclass, an object) is deep-copied each time."""
    kind = type(value)
    if kind in _IMMUTABLE:
        return (_SHARED, value)
    if kind is dict:
        nested = tuple((key, _layout(item)) for key, item in value.items() if type(item) not in _IMMUTABLE)
        template = dict(value)
        if not nested:
            return (_FLAT_DICT, template)
        for key, _ in nested:
            template[key] = None  # a place kept in the key order; never the caller's container
        return (_DICT, template, nested)
    if kind is list:
        if all(type(item) in _IMMUTABLE for item in value):
            return (_FLAT_LIST, list(value))
        return (_LIST, tuple(_layout(item) for item in value))
    return (_DEEP_COPY, copy.deepcopy(value))


def _assembled(layout: _Layout) -> Any:
    kind = layout[0]
    if kind == _SHARED:
        return layout[1]
    if kind in (_FLAT_DICT, _FLAT_LIST):
        return layout[1].copy()
    if kind == _DICT:
        assembled = layout[1].copy()
        for key, nested in layout[2]:
            assembled[key] = _assembled(nested)
        return assembled
    if kind == _LIST:
        return [_assembled(item) for item in layout[1]]
    return copy.deepcopy(layout[1])


def _answer_only(parsed: Any) -> Any:
    """An answer without what differs between two identical calls (request ids, HTTP headers)."""
    return {k: v for k, v in parsed.items() if k != "ResponseMetadata"} if isinstance(parsed, dict) else parsed


def _covers(groups: frozenset[str] | None, region: str | None, group: tuple[str, str]) -> bool:
    if region is not None and group[0] != region:
        return False
    if groups is None:
        return True
    name = group[1]
    return name in groups or any(g.endswith(":") and name.startswith(g) for g in groups)


def write_scope(
    service: str, operation: str, params: dict[str, Any], region: str
) -> tuple[frozenset[str] | None, frozenset[str], str | None]:
    """What a write may change: (groups or None for all, groups kept, its Region or None for all)."""
    scope = WRITE_SCOPES.get(service)
    if scope is None:
        return None, frozenset(), None
    where = region if service in REGIONAL_SERVICES and (service, operation) not in CROSS_REGION_WRITES else None
    body = params.get("body")
    if service == "rds" and (
        operation in RDS_SNAPSHOT_WRITES
        or (
            operation in _RDS_TAG_WRITES
            and isinstance(body, dict)
            and any(part in str(body.get("ResourceName", "")) for part in _RDS_SNAPSHOT_ARN_PARTS)
        )
    ):
        return scope, frozenset({RDS_DATABASES}), region
    if service == "dynamodb" and operation in TABLE_ITEM_WRITES:
        tables = _tables_written(operation, _json_body(body))
        if tables:
            return frozenset({*(TABLE_ITEMS + t for t in tables), "dynamodbstreams"}), frozenset(), where
    return scope, frozenset(), where


def _json_body(body: Any) -> dict[str, Any]:
    try:
        found = json.loads(body) if isinstance(body, bytes | str) and body else body
    except ValueError:
        return {}
    return found if isinstance(found, dict) else {}


def _table_name(value: Any) -> str | None:
    if not isinstance(value, str) or not value:
        return None
    return value.rpartition("table/")[2] if value.startswith("arn:") else value


def _tables_written(operation: str, body: dict[str, Any]) -> list[str]:
    """The tables an item write names; empty when they cannot be read (then the whole service is dropped)."""
    names = list(body.get("RequestItems") or {}) if operation == "BatchWriteItem" else [body.get("TableName")]
    tables = [_table_name(name) for name in names]
    return [t for t in tables if t is not None] if all(t is not None for t in tables) else []


def _group(service: str, operation: str, params: dict[str, Any]) -> str:
    body = params.get("body")
    if service == "rds":
        if operation in _RDS_DATABASE_LISTINGS:
            return RDS_DATABASES
        manual = (
            isinstance(body, dict)
            and body.get("SnapshotType") == "manual"
            and not body.get("IncludeShared")
            and not body.get("IncludePublic")
        )
        return MANUAL_SNAPSHOTS if operation in _MANUAL_SNAPSHOT_LISTINGS and manual else service
    if service == "dynamodb" and operation in _TABLE_ITEM_READS:
        table = _table_name(_json_body(body).get("TableName"))
        if table is not None:
            return TABLE_ITEMS + table
    return service


def _request_key(params: dict[str, Any]) -> Any:
    """The request as sent, hashable: equal keys for equal requests only."""
    body, query = params.get("body"), params.get("query_string")
    return (
        str(params.get("method")),
        str(params.get("url_path")),
        type(query),
        _part_key(query),
        type(body),
        _part_key(body),
    )


def _part_key(part: Any) -> Any:
    if isinstance(part, str | bytes):
        return part
    if isinstance(part, dict) and all(type(k) is str and type(v) is str for k, v in part.items()):
        return tuple(sorted(part.items()))  # form fields (the query protocol's body) and query parameters
    return json.dumps(part, sort_keys=True, default=str)
