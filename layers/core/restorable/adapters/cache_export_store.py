"""S3 for the cache export: the staging bucket in the source Region and the DR bucket, as ``StoredObject``s.

- Objects are read back with ``HeadObject`` (``ChecksumMode=ENABLED``): the size, the full-object
  checksum S3 keeps (it adds one to every new object; ElastiCache's exports included) and the metadata.
- A copy into the DR bucket is a server-side copy, called on the DR bucket's client: ``CopyObject`` up to
  5 GiB, ``UploadPartCopy`` parts above (an upload that fails is aborted, so no parts linger). The copy
  asks S3 for the same checksum algorithm as the staged object's, computed over the copied bytes, so a
  verified copy is a comparison of two checksums S3 computed from the data, and is encrypted with the DR
  key (SSE-KMS).
"""

from __future__ import annotations

import contextlib
import math
from collections.abc import Mapping
from typing import Any

from ..cache_export_plan import (
    DR_ROOT,
    FULL_OBJECT_ALGORITHMS,
    META_SNAPSHOT_CREATED_AT,
    Checksum,
    StoredObject,
    dr_set_complete,
)
from ..cache_naming import parse_scheduled_name
from ..errors import AwsError, ResourceNotFoundError
from ..naming import parse_timestamp
from ..verification.elasticache_checks import DrExportSet
from . import paginators
from .errors import BOTO_ERRORS, translate

COPY_OBJECT_LIMIT = 5 * 1024**3  # CopyObject copies at most 5 GiB; larger objects need UploadPartCopy
MIN_PART_SIZE = 512 * 1024**2
MAX_PARTS = 10_000
_CHECKSUM_FIELDS = {
    "CRC64NVME": "ChecksumCRC64NVME",
    "CRC32": "ChecksumCRC32",
    "CRC32C": "ChecksumCRC32C",
    "SHA1": "ChecksumSHA1",
    "SHA256": "ChecksumSHA256",
}
_NOT_FOUND = frozenset({"404", "NoSuchKey", "NotFound"})


def _translate(exc: Any, action: str) -> AwsError:
    error = translate(exc, action)
    if error.code in _NOT_FOUND:
        return ResourceNotFoundError(str(error), code=error.code)
    return error


def checksum_of(response: Mapping[str, Any]) -> Checksum | None:
    """The full-object checksum of a ``HeadObject`` response (a per-part composite one is not comparable)."""
    if response.get("ChecksumType") == "COMPOSITE":
        return None
    for algorithm, name in _CHECKSUM_FIELDS.items():
        value = response.get(name)
        if value:
            return Checksum(algorithm, str(value))
    return None


class ObjectStore:
    """One bucket, through a client of the bucket's Region."""

    def __init__(self, client: Any, bucket: str) -> None:
        self._client = client
        self.bucket = bucket
        self.region: str = client.meta.region_name

    def keys(self, prefix: str = "") -> list[str]:
        """Every key under ``prefix`` (paged)."""
        keys: list[str] = []
        try:
            for page in paginators.paginator(self._client, "list_objects_v2").paginate(
                Bucket=self.bucket, Prefix=prefix
            ):
                keys.extend(item["Key"] for item in page.get("Contents", []))
        except BOTO_ERRORS as exc:
            raise _translate(exc, f"list s3://{self.bucket}/{prefix}") from exc
        return keys

    def objects(self, prefix: str = "") -> list[StoredObject]:
        """Every object under ``prefix``, each read back with its checksum and metadata."""
        found = [self.describe(key) for key in self.keys(prefix)]
        return [obj for obj in found if obj is not None]

    def describe(self, key: str) -> StoredObject | None:
        try:
            response = self._client.head_object(Bucket=self.bucket, Key=key, ChecksumMode="ENABLED")
        except BOTO_ERRORS as exc:
            error = _translate(exc, f"read s3://{self.bucket}/{key}")
            if isinstance(error, ResourceNotFoundError):
                return None
            raise error from exc
        return StoredObject(
            key=key,
            size=int(response.get("ContentLength", 0)),
            checksum=checksum_of(response),
            last_modified=response.get("LastModified"),
            metadata=dict(response.get("Metadata") or {}),
        )

    def delete(self, key: str) -> None:
        try:
            self._client.delete_object(Bucket=self.bucket, Key=key)
        except BOTO_ERRORS as exc:
            raise _translate(exc, f"delete s3://{self.bucket}/{key}") from exc

    def copy_in(
        self,
        source_bucket: str,
        source: StoredObject,
        key: str,
        *,
        kms_key_arn: str,
        metadata: Mapping[str, str],
        copy_object_limit: int = COPY_OBJECT_LIMIT,
        part_size: int | None = None,
    ) -> None:
        """Copy ``source`` (in ``source_bucket``, any Region) to ``key`` here, encrypted with ``kms_key_arn``."""
        encryption = {"ServerSideEncryption": "aws:kms", "SSEKMSKeyId": kms_key_arn}
        algorithm = source.checksum.algorithm if source.checksum is not None else "CRC64NVME"
        if source.size > copy_object_limit:
            size = part_size or max(MIN_PART_SIZE, math.ceil(source.size / MAX_PARTS))
            self._copy_in_parts(source_bucket, source, key, algorithm, encryption, metadata, size)
            return
        try:
            self._client.copy_object(
                Bucket=self.bucket,
                Key=key,
                CopySource={"Bucket": source_bucket, "Key": source.key},
                MetadataDirective="REPLACE",
                Metadata=dict(metadata),
                ChecksumAlgorithm=algorithm,
                **encryption,
            )
        except BOTO_ERRORS as exc:
            raise _translate(exc, f"copy s3://{source_bucket}/{source.key} to s3://{self.bucket}/{key}") from exc

    def _copy_in_parts(
        self,
        source_bucket: str,
        source: StoredObject,
        key: str,
        algorithm: str,
        encryption: Mapping[str, str],
        metadata: Mapping[str, str],
        part_size: int,
    ) -> None:
        action = f"copy s3://{source_bucket}/{source.key} to s3://{self.bucket}/{key} in parts"
        full_object = algorithm in FULL_OBJECT_ALGORITHMS
        checksum = {"ChecksumAlgorithm": algorithm, **({"ChecksumType": "FULL_OBJECT"} if full_object else {})}
        try:
            upload = self._client.create_multipart_upload(
                Bucket=self.bucket, Key=key, Metadata=dict(metadata), **checksum, **encryption
            )
        except BOTO_ERRORS as exc:
            raise _translate(exc, action) from exc
        upload_id = upload["UploadId"]
        parts = []
        try:
            for number, start in enumerate(range(0, source.size, part_size), start=1):
                end = min(start + part_size, source.size) - 1
                result = self._client.upload_part_copy(
                    Bucket=self.bucket,
                    Key=key,
                    UploadId=upload_id,
                    PartNumber=number,
                    CopySource={"Bucket": source_bucket, "Key": source.key},
                    CopySourceRange=f"bytes={start}-{end}",
                )["CopyPartResult"]
                part = {"PartNumber": number, "ETag": result["ETag"]}
                field = _CHECKSUM_FIELDS.get(algorithm, "")
                if result.get(field):
                    part[field] = result[field]
                parts.append(part)
            self._client.complete_multipart_upload(
                Bucket=self.bucket, Key=key, UploadId=upload_id, MultipartUpload={"Parts": parts}
            )
        except BOTO_ERRORS as exc:
            self._abort(key, upload_id)
            raise _translate(exc, action) from exc

    def _abort(self, key: str, upload_id: str) -> None:
        """Best effort: the bucket's lifecycle rule aborts what this cannot."""
        with contextlib.suppress(*BOTO_ERRORS):
            self._client.abort_multipart_upload(Bucket=self.bucket, Key=key, UploadId=upload_id)


class DrExportReader:
    """What verification reads of the DR bucket: the newest export set of each cache (one listing, then
    ``HeadObject`` on the newest set's objects only)."""

    def __init__(self, store: ObjectStore, stack_name: str) -> None:
        self._store = store
        self._stack_name = stack_name
        self.bucket = store.bucket
        self.region = store.region

    def newest_sets(self) -> dict[str, DrExportSet]:
        by_snapshot: dict[tuple[str, str], list[str]] = {}
        for key in self._store.keys(DR_ROOT):
            parts = key[len(DR_ROOT) :].split("/")
            if len(parts) == 3 and parts[2]:
                by_snapshot.setdefault((parts[0], parts[1]), []).append(key)
        newest: dict[str, tuple[str, list[str]]] = {}
        for (cache_id, snapshot), keys in by_snapshot.items():
            parsed = parse_scheduled_name(snapshot)
            if parsed is None:
                continue
            current = newest.get(cache_id)
            if current is None or snapshot > current[0]:  # same cache and kind: the date orders the names
                newest[cache_id] = (snapshot, keys)
        found: dict[str, DrExportSet] = {}
        for cache_id, (snapshot, keys) in newest.items():
            objects = [obj for obj in (self._store.describe(key) for key in keys) if obj is not None]
            # The snapshot's creation time the copy recorded; without it, when the object was copied (later).
            times = [parse_timestamp(o.metadata.get(META_SNAPSHOT_CREATED_AT, "")) or o.last_modified for o in objects]
            created = min((t for t in times if t is not None), default=None)
            found[cache_id] = DrExportSet(
                cache_id=cache_id,
                snapshot=snapshot,
                objects=len(objects),
                complete=dr_set_complete(objects, self._stack_name),
                created_at=created,
            )
        return found
