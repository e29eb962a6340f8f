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
    """An AWS call failed for a reason the caller may report; ``code`` is the AWS error code.

    ``transient`` says whether waiting can make the error go away (throttling, a resource briefly
    in the wrong state, a quota that frees up, a service or network error). Jobs that keep
    attempt counts spend an attempt only on errors that are not transient. Each subclass sets
    the default; the error table (``adapters/errors.py``) is the one place that classifies.
    """

    transient: bool = False

    def __init__(self, message: str, code: str = "", *, transient: bool | None = None) -> None:
        super().__init__(message)
        self.code = code
        if transient is not None:
            self.transient = transient


def is_transient(error: BaseException) -> bool:
    """Whether ``error`` can go away by waiting: only domain AWS errors classified so are."""
    return isinstance(error, AwsError) and error.transient


class ResourceNotFoundError(AwsError):
    """The database or recovery point does not exist."""


class ResourceBusyError(AwsError):
    """The resource is in a state that does not allow the operation now; a later run retries."""

    transient = True


class InvalidParameterError(AwsError):
    """AWS rejected a parameter (or a combination of them); repeating the call cannot help."""


class ServiceUnavailableError(AwsError):
    """AWS answered with a server error, or could not be reached; a later run retries."""

    transient = True


class AlreadyExistsError(AwsError):
    """A recovery point with that identifier already exists."""


class QuotaExceededError(AwsError):
    """An account quota (snapshots per Region, concurrent copies) is reached; try later."""

    transient = True


class PermissionDeniedError(AwsError):
    """IAM denied the call."""


class ThrottledError(AwsError):
    """AWS throttled the call beyond the SDK's own retries."""

    transient = True


# Restore drills. The class names are the error names the state machine sees.
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
