"""Structured logs and EMF metrics: a handler's result, and what it was invoked with (redacted).

Events are never logged whole: a CodePipeline job event carries artifact credentials, a
drill request may carry a password, and an event sent to the wrong function may carry
anything. ``log_event_summary`` logs what identifies an invocation (top-level keys,
``source`` / ``detail-type``, ids) and, while the handler runs, masks every value the
event holds under a secret-looking key wherever it would appear in a log line or in the
message of the exception the handler raises.
"""

from __future__ import annotations

import functools
import logging
import re
from collections.abc import Callable, Mapping
from typing import Any, TypeVar

from aws_lambda_powertools import Logger, Metrics, single_metric
from aws_lambda_powertools.metrics import MetricUnit

from .rds_events import IgnoredEvent
from .results import JobResult, Outcome

MASK = "***"
# A key whose name contains one of these holds a value that is never logged.
_SECRET_KEY = re.compile(r"secret|passw|token|credential|key|auth|signature|session|private", re.IGNORECASE)
# Everything under these keys is secret, whatever it is called inside.
_SECRET_SUBTREES = frozenset({"artifactcredentials"})
# Top-level fields an invocation is identified by; logged when short scalars.
_SUMMARY_FIELDS = (
    "source",
    "detail-type",
    "id",
    "time",
    "region",
    "step",
    "kind",
    "mode",
    "scheduled_time",
    "dry_run",
    "notify",
    "request_id",
)
_DETAIL_FIELDS = ("EventID", "SourceType", "SourceArn", "SourceIdentifier")
_MAX_VALUE = 200
_MIN_SECRET = 4  # shorter values are not masked inside other text (they would mask everything)

Handler = TypeVar("Handler", bound=Callable[..., Any])

METRIC_NAMES = {
    Outcome.CREATED: "Created",
    Outcome.ALREADY_EXISTS: "AlreadyExisted",
    Outcome.SKIPPED: "Skipped",
    Outcome.FAILED: "Failed",
    Outcome.FINDING: "Findings",
    Outcome.PLANNED: "Planned",
    Outcome.DELETED: "Deleted",
    Outcome.REMEDIATED: "Remediated",
}


def record_result(result: JobResult, logger: Logger, metrics: Metrics) -> None:
    """Log each item (warnings for failures and findings) and emit one count per outcome.

    An item that changed nothing (``already_exists``: every hourly reconcile finds the same points)
    is logged at DEBUG; the summary line counts it. A log line per unchanged point per run would be
    most of a function's log volume and cost.
    """
    for item in result.items:
        fields = {"job": result.job, "region": result.region, "dry_run": result.dry_run, **item.to_dict()}
        if item.outcome in (Outcome.FAILED, Outcome.FINDING):
            logger.warning("recovery point action", extra=fields)
        elif item.outcome is Outcome.ALREADY_EXISTS:
            logger.debug("recovery point action", extra=fields)
        else:
            logger.info("recovery point action", extra=fields)
    metrics.add_dimension(name="Job", value=result.job)
    for outcome, count in result.counts().items():
        metrics.add_metric(name=METRIC_NAMES[Outcome(outcome)], unit=MetricUnit.Count, value=count)
    logger.info(
        "job finished", extra={"job": result.job, "region": result.region, "counts": result.counts(), "ok": result.ok}
    )


IGNORED_EVENTS = "IgnoredEvents"


def record_ignored_event(job: str, region: str, ignored: IgnoredEvent, logger: Logger) -> None:
    """An event the function does not handle: a WARNING line with the reason and one ``IgnoredEvents`` count."""
    logger.warning("event ignored", extra={"job": job, "region": region, **ignored.log_fields()})
    with single_metric(name=IGNORED_EVENTS, unit=MetricUnit.Count, value=1) as metric:
        metric.add_dimension(name="Job", value=job)


def _looks_secret(key: object) -> bool:
    """A key whose value may be a secret; ``secret_arn`` and the like name one and are not."""
    return isinstance(key, str) and bool(_SECRET_KEY.search(key)) and not key.lower().endswith("arn")


def secret_values(event: object) -> set[str]:
    """Every scalar the event holds under a secret-looking key (or under ``artifactCredentials``)."""
    found: set[str] = set()

    def walk(value: object, secret: bool) -> None:
        if isinstance(value, Mapping):
            for key, item in value.items():
                walk(item, secret or _looks_secret(key) or str(key).lower() in _SECRET_SUBTREES)
        elif isinstance(value, list | tuple):
            for item in value:
                walk(item, secret)
        elif secret and value is not None and not isinstance(value, bool):
            text = str(value)
            if len(text) >= _MIN_SECRET and not text.startswith("arn:"):  # an ARN names a secret, is none
                found.add(text)

    walk(event, False)
    return found


def redact(value: Any, secrets: set[str] | frozenset[str] = frozenset(), *, by_key: bool = True) -> Any:
    """``value`` with ``secrets`` masked inside any text and, when ``by_key``, the values of
    secret-looking keys masked whatever they are."""
    if isinstance(value, Mapping):
        return {
            key: MASK
            if by_key and (_looks_secret(key) or str(key).lower() in _SECRET_SUBTREES)
            else redact(item, secrets, by_key=by_key)
            for key, item in value.items()
        }
    if isinstance(value, list | tuple):
        return [redact(item, secrets, by_key=by_key) for item in value]
    if isinstance(value, str):
        return _mask_text(value, secrets)
    return value


def _mask_text(text: str, secrets: set[str] | frozenset[str]) -> str:
    for secret in sorted(secrets, key=len, reverse=True):
        if secret in text:
            text = text.replace(secret, MASK)
    return text


def _scalar(value: Any) -> Any:
    if isinstance(value, bool | int | float) or value is None:
        return value
    return str(value)[:_MAX_VALUE]


def event_summary(event: object) -> dict[str, Any]:
    """What identifies an invocation, never the event's values beyond known, non-secret ids."""
    if not isinstance(event, Mapping):
        return {"event_type": type(event).__name__}
    summary: dict[str, Any] = {"event_keys": sorted(str(key)[:_MAX_VALUE] for key in event)[:50]}
    for name in _SUMMARY_FIELDS:
        value = event.get(name)
        if value is not None and not isinstance(value, Mapping | list):
            summary[name] = _scalar(value)
    detail = event.get("detail")
    if isinstance(detail, Mapping):
        for name in _DETAIL_FIELDS:
            if detail.get(name) is not None and not isinstance(detail[name], Mapping | list):
                summary[f"detail.{name}"] = _scalar(detail[name])
    job = event.get("CodePipeline.job")
    if isinstance(job, Mapping):  # the job id only: its data holds the artifact credentials
        summary["codepipeline_job_id"] = _scalar(job.get("id"))
    drill = event.get("drill")
    if isinstance(drill, Mapping) and isinstance(drill.get("plan"), Mapping):
        summary["execution_id"] = _scalar(drill["plan"].get("execution_id"))
    secrets = secret_values(event)
    return {key: redact(value, secrets) for key, value in summary.items()}


class _RedactingFilter(logging.Filter):
    """Masks the current event's secret values in every record's message and fields."""

    def __init__(self, secrets: set[str]) -> None:
        super().__init__()
        self.secrets = secrets

    def filter(self, record: logging.LogRecord) -> bool:
        if not self.secrets:
            return True
        record.msg = _mask_text(record.getMessage(), self.secrets)
        record.args = None
        for name, value in list(vars(record).items()):
            if name not in ("msg", "args") and isinstance(value, str | Mapping | list | tuple):
                setattr(record, name, redact(value, self.secrets, by_key=False))
        if record.exc_info and record.exc_info[1] is not None:
            _scrub_exception(record.exc_info[1], self.secrets)
            record.exc_text = None
        return True


def _scrub_exception(error: BaseException, secrets: set[str]) -> None:
    """Mask ``secrets`` in the messages of ``error`` and the errors it was raised from (in place).

    An error whose text cannot be rewritten (pydantic's ``ValidationError`` renders the input
    values itself) is cut from the chain, so a traceback never prints it.
    """
    if not secrets:
        return
    seen: set[int] = set()
    current: BaseException | None = error
    while current is not None and id(current) not in seen:
        seen.add(id(current))
        current.args = tuple(_mask_text(a, secrets) if isinstance(a, str) else a for a in current.args)
        cause = current.__cause__ or current.__context__
        if cause is not None:
            cause.args = tuple(_mask_text(a, secrets) if isinstance(a, str) else a for a in cause.args)
            if any(secret in str(cause) for secret in secrets):
                current.__cause__ = current.__context__ = None
                current.__suppress_context__ = True
                break
        current = cause


def log_event_summary(logger: Logger) -> Callable[[Handler], Handler]:
    """Handler decorator: log a redacted summary of the event; mask its secrets in logs and errors.

    Use with ``@logger.inject_lambda_context(log_event=False)`` above it (``False``, not the
    default: the default follows ``POWERTOOLS_LOGGER_LOG_EVENT`` and would log the raw event).
    """

    def decorate(handler: Handler) -> Handler:
        @functools.wraps(handler)
        def wrapper(event: Any, context: Any) -> Any:
            secrets = secret_values(event)
            redacting = _RedactingFilter(secrets)
            logger.addFilter(redacting)
            try:
                summary = event_summary(event)
                correlation = {k: summary[k] for k in ("codepipeline_job_id",) if k in summary}
                logger.info("invoked", extra={"event": summary, **correlation})
                return handler(event, context)
            except Exception as exc:
                _scrub_exception(exc, secrets)
                raise
            finally:
                logger.removeFilter(redacting)

        return wrapper  # type: ignore[return-value]

    return decorate
