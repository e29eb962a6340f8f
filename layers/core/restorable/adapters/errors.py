"""Map botocore errors to domain errors: the one table that says what an AWS error means.

The domain class says what happened and, through ``AwsError.transient``, whether waiting
can make it go away. Codes not in the table are classified by the HTTP status AWS sent
(5xx: the service's trouble, transient; anything else: permanent). botocore errors raised
before AWS answered (connection failures, timeouts) are transient too.
"""

from __future__ import annotations

from botocore.exceptions import (
    BotoCoreError,
    ClientError,
    ConnectionClosedError,
    ConnectTimeoutError,
    EndpointConnectionError,
    ReadTimeoutError,
)

from ..errors import (
    AlreadyExistsError,
    AwsError,
    InvalidParameterError,
    PermissionDeniedError,
    QuotaExceededError,
    ResourceBusyError,
    ResourceNotFoundError,
    ServiceUnavailableError,
    ThrottledError,
)

# What adapters catch around a boto3 call.
BOTO_ERRORS = (ClientError, BotoCoreError)

_BY_CODE: dict[str, type[AwsError]] = {
    "DBSnapshotAlreadyExists": AlreadyExistsError,
    "DBSnapshotAlreadyExistsFault": AlreadyExistsError,
    "DBClusterSnapshotAlreadyExistsFault": AlreadyExistsError,
    "SnapshotQuotaExceeded": QuotaExceededError,
    "SnapshotQuotaExceededFault": QuotaExceededError,
    "InsufficientDBInstanceCapacity": QuotaExceededError,
    "InsufficientDBInstanceCapacityFault": QuotaExceededError,
    "InsufficientDBClusterCapacityFault": QuotaExceededError,
    "StorageQuotaExceeded": QuotaExceededError,
    "StorageQuotaExceededFault": QuotaExceededError,
    "InstanceQuotaExceeded": QuotaExceededError,
    "InstanceQuotaExceededFault": QuotaExceededError,
    "DBClusterQuotaExceededFault": QuotaExceededError,
    "DBSubnetGroupNotFoundFault": ResourceNotFoundError,
    "InvalidVPCNetworkStateFault": InvalidParameterError,
    "InvalidSubnet": InvalidParameterError,
    "LimitExceededException": QuotaExceededError,
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
    "UnrecognizedClientException": PermissionDeniedError,
    "InvalidClientTokenId": PermissionDeniedError,
    "KMSKeyNotAccessibleFault": PermissionDeniedError,
    "KMSAccessDeniedException": PermissionDeniedError,
    "InvalidParameterValue": InvalidParameterError,
    "InvalidParameterCombination": InvalidParameterError,
    "InvalidParameter": InvalidParameterError,
    "InvalidParameterException": InvalidParameterError,
    "ValidationError": InvalidParameterError,
    "ValidationException": InvalidParameterError,
    "Throttling": ThrottledError,
    "ThrottlingException": ThrottledError,
    "ThrottledException": ThrottledError,
    "RequestThrottled": ThrottledError,
    "RequestThrottledException": ThrottledError,
    "TooManyRequestsException": ThrottledError,
    "RequestLimitExceeded": ThrottledError,
    "SlowDown": ThrottledError,
    "KMSThrottlingException": ThrottledError,
    "ProvisionedThroughputExceededException": ThrottledError,
    "RequestTimeout": ServiceUnavailableError,
    "RequestTimeoutException": ServiceUnavailableError,
    "PriorRequestNotComplete": ServiceUnavailableError,
    "InternalFailure": ServiceUnavailableError,
    "InternalError": ServiceUnavailableError,
    "InternalServerError": ServiceUnavailableError,
    "InternalServerErrorException": ServiceUnavailableError,
    "ServiceUnavailable": ServiceUnavailableError,
    "ServiceUnavailableException": ServiceUnavailableError,
    # restore drills
    "DBInstanceAlreadyExists": AlreadyExistsError,
    "DBInstanceAlreadyExistsFault": AlreadyExistsError,
    "DBClusterAlreadyExistsFault": AlreadyExistsError,
    "PointInTimeRestoreNotEnabled": ResourceBusyError,
    "PointInTimeRestoreNotEnabledFault": ResourceBusyError,
    "InvalidRestoreFault": ResourceBusyError,
    "ResourceNotFoundException": ResourceNotFoundError,
    "NoSuchKey": ResourceNotFoundError,
    # drill check secrets (Secrets Manager)
    "DecryptionFailure": PermissionDeniedError,
    "InvalidRequestException": InvalidParameterError,
    "InternalServiceError": ServiceUnavailableError,
    # drill scheduler (Step Functions StartExecution)
    "ExecutionAlreadyExists": AlreadyExistsError,
    "ExecutionLimitExceeded": QuotaExceededError,
    "StateMachineDoesNotExist": ResourceNotFoundError,
    "StateMachineDeleting": ResourceNotFoundError,
    "InvalidArn": InvalidParameterError,
    "InvalidName": InvalidParameterError,
    "InvalidExecutionInput": InvalidParameterError,
}
_NOT_ANSWERED = (EndpointConnectionError, ConnectTimeoutError, ReadTimeoutError, ConnectionClosedError)


def translate(error: ClientError | BotoCoreError, action: str) -> AwsError:
    """A domain error for ``error``; ``action`` says what was being done, for the message."""
    if not isinstance(error, ClientError):
        name = type(error).__name__
        if isinstance(error, _NOT_ANSWERED):
            return ServiceUnavailableError(f"{action}: {name}: {error}", code=name)
        return AwsError(f"{action}: {name}: {error}", code=name)
    details = error.response.get("Error", {})
    code = str(details.get("Code", "Unknown"))
    message = str(details.get("Message", "")).strip() or code
    text = f"{action}: {code}: {message}"
    known = _BY_CODE.get(code)
    if known is not None:
        return known(text, code=code)
    status = error.response.get("ResponseMetadata", {}).get("HTTPStatusCode", 0)
    if isinstance(status, int) and status >= 500:
        return ServiceUnavailableError(text, code=code)
    return AwsError(text, code=code)
