"""What a drill knows of ElastiCache: the source cache, its snapshots, the temporary cache and where it goes.

The ElastiCache drill adapter (``adapters/drill_elasticache.py``) returns these; the drill steps read
them. No boto3 here. Node-based snapshots (of a replication group or of a standalone Valkey / Redis OSS
cluster) restore into a replication group; serverless snapshots into a serverless cache.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

from .. import tags as tag_keys
from ..models import Database, DatabaseType
from .model import Network, RestoredDatabase

# Engines whose snapshots a drill restores and whose data the cache checks can read (redis-py).
CACHE_DRILL_ENGINES = frozenset({"redis", "valkey"})
# Replication group / serverless cache states a restore does not come back from.
CACHE_TERMINAL_FAILURE_STATES = frozenset({"create-failed", "deleting", "deleted"})

RestoredCacheType = Literal["replication-group", "serverless-cache"]


@dataclass(frozen=True, kw_only=True)
class SourceCache(Database):
    """A protected cache as a drill needs it: a ``Database`` (type, policy, engine) and its shape."""

    engine_version: str = ""
    # Replication groups: enabled | disabled | compatible; None for standalone clusters and serverless caches.
    cluster_mode: str | None = None
    node_type: str | None = None
    at_rest_encryption: bool = False

    @property
    def cluster_mode_enabled(self) -> bool:
        return self.cluster_mode in ("enabled", "compatible")


@dataclass(frozen=True)
class CacheSnapshotInfo:
    """A manual snapshot of a cache, with what its restore needs (node-based: the shape it was taken with)."""

    type: DatabaseType  # the type of the cache it was taken from
    identifier: str
    arn: str
    region: str
    status: str
    source_identifier: str
    created_at: datetime | None
    engine: str
    engine_version: str = ""
    node_type: str | None = None
    shard_count: int = 1
    port: int | None = None
    parameter_group: str | None = None
    kms_key_id: str | None = None
    data_tiering: bool = False
    tags: Mapping[str, str] = field(default_factory=dict)

    @property
    def source_arn(self) -> str | None:
        return self.tags.get(tag_keys.SOURCE)

    @property
    def is_serverless(self) -> bool:
        return self.type is DatabaseType.SERVERLESS_CACHE


@dataclass(frozen=True)
class CacheNetwork(Network):
    """Where temporary caches go and who may use them.

    ``subnet_group`` (a cache subnet group) places node-based caches, ``subnet_ids`` serverless ones (empty:
    the account's default); ``security_group_ids`` guard both. ``user_group_id`` (empty: none) attaches an
    RBAC user group, whose user the cache checks authenticate as (``checks.cache.secret_arn``).
    """

    subnet_ids: tuple[str, ...] = ()
    user_group_id: str = ""


class CacheRestoreSpec(BaseModel):
    """Everything the create call needs, decided at validation (the state's plan carries it)."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    type: RestoredCacheType
    identifier: str = Field(min_length=1, max_length=40)
    snapshot_name: str = Field(min_length=1)
    snapshot_arn: str = ""
    engine: str = Field(min_length=1)
    engine_version: str = ""  # node-based: the snapshot's; serverless: the major version
    node_type: str | None = None
    shard_count: int = Field(default=1, ge=1)
    cluster_mode_enabled: bool = False
    port: int | None = None
    parameter_group: str | None = None
    kms_key_id: str | None = None
    data_tiering: bool = False
    description: str = Field(default="", max_length=255)


class RestoredCache(RestoredDatabase):
    """What a poll sees of the temporary cache: the state's ``restored`` part (``encrypted`` is at rest).
    The tags prove ownership and stay out of the state."""

    type: RestoredCacheType
    transit_encryption: bool = False
    at_rest_encryption: bool = False
    cluster_mode_enabled: bool = False
    shard_count: int = 0
    node_type: str | None = None
    user_group_ids: tuple[str, ...] = ()
