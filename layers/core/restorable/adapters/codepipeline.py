"""CodePipeline job worker side: read a Lambda invoke action's job event, report the job's result."""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from botocore.exceptions import ClientError

from ..errors import InvalidRequestError
from .errors import translate

if TYPE_CHECKING:
    from mypy_boto3_codepipeline import CodePipelineClient
else:
    CodePipelineClient = Any

JOB_KEY = "CodePipeline.job"
_JOB_ID = re.compile(r"^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$")
MAX_SUMMARY = 2048
MAX_MESSAGE = 5000
FAILURE_TYPES = frozenset(
    {
        "JobFailed",
        "ConfigurationError",
        "PermissionError",
        "RevisionOutOfSync",
        "RevisionUnavailable",
        "SystemUnavailable",
    }
)


@dataclass(frozen=True)
class PipelineJob:
    """The parts of a job event the worker needs. Artifact credentials are deliberately not kept."""

    id: str
    account_id: str
    pipeline: str | None
    user_parameters: str | None
    continuation_token: str | None

    def log_fields(self) -> dict[str, Any]:
        """What may be logged about the job (never the event: it carries artifact credentials)."""
        return {
            "codepipeline_job_id": self.id,
            "pipeline": self.pipeline,
            "continued": self.continuation_token is not None,
        }


def is_job_event(event: object) -> bool:
    return isinstance(event, dict) and JOB_KEY in event


def parse_job_event(event: Mapping[str, Any]) -> PipelineJob:
    """Extract the job id, ``UserParameters`` and continuation token; ``InvalidRequestError`` if malformed."""
    job = event.get(JOB_KEY)
    if not isinstance(job, dict):
        raise InvalidRequestError(f"'{JOB_KEY}' must be an object")
    job_id = job.get("id")
    if not isinstance(job_id, str) or not _JOB_ID.match(job_id):
        raise InvalidRequestError(f"'{JOB_KEY}.id' is missing or not a CodePipeline job id")
    data = job.get("data")
    if not isinstance(data, dict):
        raise InvalidRequestError(f"'{JOB_KEY}.data' must be an object")
    configuration = (data.get("actionConfiguration") or {}).get("configuration") or {}
    user_parameters = configuration.get("UserParameters")
    token = data.get("continuationToken")
    if user_parameters is not None and not isinstance(user_parameters, str):
        raise InvalidRequestError("UserParameters must be a string")
    if token is not None and not isinstance(token, str):
        raise InvalidRequestError("continuationToken must be a string")
    pipeline_context = data.get("pipelineContext") or {}
    pipeline = pipeline_context.get("pipelineName") if isinstance(pipeline_context, dict) else None
    return PipelineJob(
        id=job_id,
        account_id=str(job.get("accountId", "")),
        pipeline=pipeline if isinstance(pipeline, str) else None,
        user_parameters=user_parameters,
        continuation_token=token or None,
    )


class CodePipelineGateway:
    """Reports a job's result. A failed report raises, so the invocation fails and Lambda retries it."""

    def __init__(self, client: CodePipelineClient) -> None:
        self._client = client

    def put_success(
        self,
        job_id: str,
        *,
        summary: str,
        continuation_token: str | None = None,
        percent_complete: int | None = None,
        output_variables: Mapping[str, str] | None = None,
    ) -> None:
        if continuation_token is not None and output_variables:
            raise ValueError("output variables are allowed only on the final success (no continuation token)")
        details: dict[str, Any] = {"summary": _clip(summary, MAX_SUMMARY)}
        if percent_complete is not None:
            details["percentComplete"] = max(0, min(100, percent_complete))
        request: dict[str, Any] = {"jobId": job_id, "executionDetails": details}
        if continuation_token is not None:
            request["continuationToken"] = continuation_token
        if output_variables:
            request["outputVariables"] = dict(output_variables)
        try:
            self._client.put_job_success_result(**request)
        except ClientError as exc:
            raise translate(exc, f"PutJobSuccessResult for job {job_id}") from exc

    def put_failure(self, job_id: str, failure_type: str, message: str) -> None:
        if failure_type not in FAILURE_TYPES:
            raise ValueError(f"unknown CodePipeline failure type {failure_type!r}")
        try:
            self._client.put_job_failure_result(
                jobId=job_id,
                failureDetails={"type": failure_type, "message": _clip(message, MAX_MESSAGE)},  # type: ignore[typeddict-item]
            )
        except ClientError as exc:
            raise translate(exc, f"PutJobFailureResult for job {job_id}") from exc


def _clip(text: str, limit: int) -> str:
    text = text.strip() or "(no details)"
    return text if len(text) <= limit else text[: limit - 1] + "…"
