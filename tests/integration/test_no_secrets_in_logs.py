"""No function writes a secret it was handed to its logs, its output or its error.

Every function the template declares (read from template.yaml, not listed here) is fed
events carrying secret-looking values: a CodePipeline job event with artifact credentials
(sent to the wrong function as much as to the right one), a drill request with a
password, and a random event with AWS keys. Whatever each function does with them
(runs, rejects, fails), the values never reach stdout, stderr, a log record or the
message and traceback of the exception it raises.
"""

from __future__ import annotations

import contextlib
import copy
import io
import json
import logging
import traceback
from typing import Any

import pytest

from local_runtime.functions import Functions
from local_runtime.template import REPO_ROOT, Template
from restorable.observability import MASK, event_summary, redact, secret_values

ACCESS_KEY = "AKIAIOSFODNN7SCANTEST"
SECRET_KEY = "wJalrXUtnFEMI/K7MDENG/bPxRfiCYSCANTESTKEY"
SESSION = "IQoJb3JpZ2luX2VjSCANTESTSESSION+abc/def=="
PASSWORD = "hunter2-correct-horse-battery"


def sample(name: str) -> dict[str, Any]:
    return dict(json.loads((REPO_ROOT / "events" / name).read_text()))


def codepipeline_event() -> dict[str, Any]:
    event = sample("predeploy-pipeline-first.json")
    event["CodePipeline.job"]["data"]["artifactCredentials"] = {
        "accessKeyId": ACCESS_KEY,
        "secretAccessKey": SECRET_KEY,
        "sessionToken": SESSION,
    }
    return event


def drill_event() -> dict[str, Any]:
    event = sample("drill-sql-checks.json")
    event["checks"]["sql"]["password"] = PASSWORD
    event["master_password"] = PASSWORD
    return event


def drill_step_event() -> dict[str, Any]:
    return {"step": "validate", "input": drill_event(), "password": PASSWORD}


def random_event() -> dict[str, Any]:
    return {
        "source": "custom.app",
        "AccessKeyId": ACCESS_KEY,
        "SecretAccessKey": SECRET_KEY,
        "Credentials": {"SessionToken": SESSION},
        "kind": "weekly",
    }


EVENTS = {
    "codepipeline": codepipeline_event,
    "drill": drill_event,
    "drill-step": drill_step_event,
    "random": random_event,
}
SECRETS = (ACCESS_KEY, SECRET_KEY, SESSION, PASSWORD)


def function_names() -> list[str]:
    return Functions(Template.load(region="us-east-1")).names()


@pytest.mark.parametrize("event_name", sorted(EVENTS))
@pytest.mark.parametrize("function", function_names())
def test_no_function_logs_or_raises_a_secret_it_was_sent(
    functions: Functions, aws: None, caplog: pytest.LogCaptureFixture, function: str, event_name: str
) -> None:
    stderr = io.StringIO()
    with caplog.at_level(logging.DEBUG), contextlib.redirect_stderr(stderr):
        invocation = functions.invoke(function, EVENTS[event_name]())
    written = [
        *(json.dumps(line) for line in invocation.logs),
        *invocation.other_output,
        *(json.dumps(blob) for blob in invocation.metrics),
        stderr.getvalue(),
        caplog.text,
        *(json.dumps(vars(record), default=str) for record in caplog.records),
        json.dumps(invocation.payload, default=str),
    ]
    if invocation.error is not None:
        written.append("".join(traceback.format_exception(invocation.error)))
    assert invocation.logs, "the function logged nothing: the scan would prove nothing"
    leaked = {secret for secret in SECRETS for text in written if secret in text}
    assert not leaked, f"{function} wrote {leaked} for the {event_name} event"


def test_the_invocation_is_still_identified_in_the_log(functions: Functions, aws: None) -> None:
    invocation = functions.invoke("CopyFunction", random_event())
    [invoked] = [line for line in invocation.logs if line["message"] == "invoked"]
    assert invoked["event"]["source"] == "custom.app"
    assert invoked["event"]["event_keys"] == ["AccessKeyId", "Credentials", "SecretAccessKey", "kind", "source"]
    job = functions.invoke("CopyFunction", codepipeline_event())
    [line] = [line for line in job.logs if line["message"] == "invoked"]
    assert line["event"] == {
        "event_keys": ["CodePipeline.job"],
        "codepipeline_job_id": codepipeline_event()["CodePipeline.job"]["id"],
    }


def test_powertools_log_event_setting_cannot_bring_the_raw_event_back(functions: Functions, aws: None) -> None:
    invocation = functions.invoke("SnapshotFunction", random_event(), {"POWERTOOLS_LOGGER_LOG_EVENT": "true"})
    assert not any(secret in json.dumps(line) for line in invocation.logs for secret in SECRETS)


def test_redaction_masks_secret_keys_and_credentials_anywhere() -> None:
    event = codepipeline_event()
    event["nested"] = [{"db_password": PASSWORD, "name": "kept"}]
    secrets = secret_values(event)
    assert set(SECRETS) <= secrets
    cleaned = redact(copy.deepcopy(event))
    assert cleaned["CodePipeline.job"]["data"]["artifactCredentials"] == MASK
    assert cleaned["nested"] == [{"db_password": MASK, "name": "kept"}]
    assert redact(f"error: {PASSWORD!r} is not valid", secrets) == f"error: '{MASK}' is not valid"
    assert not any(secret in json.dumps(event_summary(event)) for secret in SECRETS)
    # a secret's ARN names it and stays readable in errors ("secret arn:... cannot be read")
    named = {"checks": {"sql": {"secret_arn": "arn:aws:secretsmanager:us-east-1:123456789012:secret:db"}}}
    assert redact(named) == named
    assert secret_values(named) == set()
