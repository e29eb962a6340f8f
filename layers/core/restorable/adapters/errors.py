"""Map botocore ``ClientError`` codes to domain errors."""

from __future__ import annotations

from botocore.exceptions import ClientError

from ..errors import (
    AlreadyExistsError,
    AwsError,
    PermissionDeniedError,
    QuotaExceededError,
    ResourceBusyError,
    ResourceNotFoundError,
    ThrottledError,
)

_BY_CODE: dict[str, type[AwsError]] = {
    "DBSnapshotAlreadyExists": AlreadyExistsError,
    "DBSnapshotAlreadyExistsFault": AlreadyExistsError,
    "DBClusterSnapshotAlreadyExistsFault": AlreadyExistsError,
    "SnapshotQuotaExceeded": QuotaExceededError,
    "SnapshotQuotaExceededFault": QuotaExceededError,
    "InvalidDBInstanceState": ResourceBusyError,
    "InvalidDBInstanceStateFault": ResourceBusyError,
    "InvalidDBClusterStateFault": ResourceBusyError,
    "InvalidDBSnapshotState": ResourceBusyError,
    "InvalidDBSnapshotStateFault": ResourceBusyError,
    "InvalidDBClusterSnapshotStateFault": ResourceBusyError,
    "DBInstanceNotFound": ResourceNotFoundError,
    "DBInstanceNotFoundFault": ResourceNotFoundError,
    "DBClusterNotFoundFault": ResourceNotFoundError,
    "DBSnapshotNotFound": ResourceNotFoundError,
    "DBSnapshotNotFoundFault": ResourceNotFoundError,
    "DBClusterSnapshotNotFoundFault": ResourceNotFoundError,
    "AccessDenied": PermissionDeniedError,
    "AccessDeniedException": PermissionDeniedError,
    "UnauthorizedOperation": PermissionDeniedError,
    "KMSKeyNotAccessibleFault": PermissionDeniedError,
    "Throttling": ThrottledError,
    "ThrottlingException": ThrottledError,
    "RequestLimitExceeded": ThrottledError,
    # restore drills (issue 6)
    "DBInstanceAlreadyExists": AlreadyExistsError,
    "DBInstanceAlreadyExistsFault": AlreadyExistsError,
    "DBClusterAlreadyExistsFault": AlreadyExistsError,
    "PointInTimeRestoreNotEnabled": ResourceBusyError,
    "PointInTimeRestoreNotEnabledFault": ResourceBusyError,
    "InvalidRestoreFault": ResourceBusyError,
    "ResourceNotFoundException": ResourceNotFoundError,
    "NoSuchKey": ResourceNotFoundError,
    "ProvisionedThroughputExceededException": ThrottledError,
}


def translate(error: ClientError, action: str) -> AwsError:
    """A domain error for ``error``; ``action`` says what was being done, for the message."""
    details = error.response.get("Error", {})
    code = str(details.get("Code", "Unknown"))
    message = str(details.get("Message", "")).strip() or code
    return _BY_CODE.get(code, AwsError)(f"{action}: {code}: {message}", code=code)
