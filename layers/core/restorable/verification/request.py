"""What a verification run was asked to do: an hourly pass, or one instance named by an RDS event.

RDS events are best effort and say "reconcile this instance now"; they are never the
evidence itself. An event this function does not handle (another source, no EventID, an
unknown ID, a malformed detail, another Region) is ignored with a reason, never raised:
the one policy of ``rds_events``.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

from pydantic import BaseModel, ConfigDict, ValidationError

from ..arns import RDS_INSTANCE, check_local, parse_rds_arn
from ..errors import InvalidRequestError
from ..rds_events import RDS_SOURCE, IgnoredEvent, is_eventbridge_event, text_field
from ..request_fields import EventTime, StrictBool
from ..validation import describe_problems

INSTANCE_EVENT = "RDS DB Instance Event"
EVENT_BACKUP_FINISHED = "RDS-EVENT-0002"
EVENT_SHUTDOWN = "RDS-EVENT-0004"
EVENT_BACKUPS_DISABLED = "RDS-EVENT-0028"
HANDLED_EVENT_IDS = frozenset({EVENT_BACKUP_FINISHED, EVENT_SHUTDOWN, EVENT_BACKUPS_DISABLED})

_IDENTIFIER = re.compile(r"^[A-Za-z][A-Za-z0-9-]{0,62}$")


class VerifyRequest(BaseModel):
    """The hourly schedule's input (``{"scheduled_time": "<aws.scheduler.scheduled-time>"}``) or a manual run.

    ``notify: false`` verifies and reports without sending or recording notifications.
    """

    model_config = ConfigDict(extra="forbid")

    scheduled_time: EventTime | None = None
    notify: StrictBool = True


@dataclass(frozen=True)
class InstanceEvent:
    """An RDS event that asks for one instance to be verified now."""

    event_id: str
    identifier: str
    arn: str | None
    message: str


def parse_rds_event(event: dict[str, Any], region: str) -> InstanceEvent | IgnoredEvent:
    """Classify an EventBridge event; never raises."""
    source = event.get("source")
    detail_type = event.get("detail-type")
    if source != RDS_SOURCE:
        return IgnoredEvent(f"event from source {source!r}, not {RDS_SOURCE}", detail_type=text_field(detail_type))
    if detail_type != INSTANCE_EVENT:
        return IgnoredEvent(f"detail-type {detail_type!r} is not handled", detail_type=text_field(detail_type))
    detail = event.get("detail")
    if not isinstance(detail, dict):
        return IgnoredEvent("malformed event: 'detail' is not an object", detail_type=INSTANCE_EVENT)
    event_id = detail.get("EventID")
    if not isinstance(event_id, str) or not event_id:
        return IgnoredEvent(
            "event without EventID; the hourly pass verifies every database", detail_type=INSTANCE_EVENT
        )
    if event_id not in HANDLED_EVENT_IDS:
        return IgnoredEvent(f"{event_id} is not handled", event_id=event_id, detail_type=INSTANCE_EVENT)
    arn = detail.get("SourceArn")
    identifier: str | None = None
    if isinstance(arn, str) and arn:
        account = event.get("account")
        try:
            parsed = check_local(
                parse_rds_arn(arn, field="SourceArn", types={RDS_INSTANCE}),
                field="SourceArn",
                region=region,
                account=account if isinstance(account, str) and account else None,
            )
        except InvalidRequestError as exc:
            return IgnoredEvent(f"{exc}; this stack verifies its own DB instances in {region}", event_id=event_id)
        if not _IDENTIFIER.match(parsed.resource_name):
            return IgnoredEvent(f"SourceArn {arn!r} is not a DB instance ARN", event_id=event_id)
        identifier = parsed.resource_name
    else:
        arn = None
        raw = detail.get("SourceIdentifier")
        if isinstance(raw, str):
            raw = raw.removeprefix("rds:")
            if _IDENTIFIER.match(raw):
                identifier = raw
    if identifier is None:
        return IgnoredEvent("malformed event: no usable SourceArn or SourceIdentifier", event_id=event_id)
    message = detail.get("Message")
    return InstanceEvent(
        event_id=event_id, identifier=identifier, arn=arn, message=message if isinstance(message, str) else ""
    )


def parse_verify_request(event: object) -> VerifyRequest:
    """Validate a schedule or manual request; raise ``InvalidRequestError`` naming the problem."""
    if not isinstance(event, dict):
        raise InvalidRequestError(f"verify event must be a JSON object, got {type(event).__name__}")
    try:
        return VerifyRequest.model_validate(event)
    except ValidationError as exc:
        problems = describe_problems(exc)
        raise InvalidRequestError(f"invalid verify request: {problems}") from exc


def parse_verify_event(event: object, region: str) -> VerifyRequest | InstanceEvent | IgnoredEvent:
    """An RDS EventBridge event (never raises) or a request (raises ``InvalidRequestError``)."""
    if is_eventbridge_event(event):
        assert isinstance(event, dict)
        return parse_rds_event(event, region)
    return parse_verify_request(event)
