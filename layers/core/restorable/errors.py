"""Domain errors. Adapters translate botocore ``ClientError`` codes into these."""

from __future__ import annotations


class RestorableError(Exception):
    """Base class of every error the core raises on purpose."""


class ConfigurationError(RestorableError):
    """Settings, policy document or template wiring are invalid; nothing was changed."""


class PolicyError(ConfigurationError):
    """The policy document is invalid. The message names the bad field."""


class InvalidRequestError(RestorableError):
    """An event or request is malformed or names something unknown; nothing was changed."""


class ScheduleError(ConfigurationError):
    """A schedule expression is invalid or never fires."""


class AwsError(RestorableError):
    """An AWS call failed for a reason the caller may report; ``code`` is the AWS error code."""

    def __init__(self, message: str, code: str = "") -> None:
        super().__init__(message)
        self.code = code


class ResourceNotFoundError(AwsError):
    """The database or recovery point does not exist."""


class ResourceBusyError(AwsError):
    """The resource is in a state that does not allow the operation now; a later run retries."""


class AlreadyExistsError(AwsError):
    """A recovery point with that identifier already exists."""


class QuotaExceededError(AwsError):
    """An account quota (snapshots per Region, concurrent copies) is reached; try later."""


class PermissionDeniedError(AwsError):
    """IAM denied the call."""


class ThrottledError(AwsError):
    """AWS throttled the call beyond the SDK's own retries."""


# Restore drills (issue 6). The class names are the error names the state machine sees.
class DrillError(RestorableError):
    """A drill step failed in a way the state machine routes to cleanup."""


class RestoreFailedError(DrillError):
    """The temporary database reached a state it will not come back from (failed, incompatible-restore...)."""


class RestoreTimedOutError(DrillError):
    """The temporary database was not available before the drill's deadline (derived from the RTO target)."""


class CleanupPendingError(DrillError):
    """A temporary resource cannot be deleted yet (still creating); the state machine retries later."""


class NotOwnedError(DrillError):
    """A resource named as a drill resource lacks the drill tags: it is never touched."""
