"""Settings of the remediation function: the core settings and whether an outage may be caused."""

from __future__ import annotations

from typing import Annotated

from pydantic import BeforeValidator

from .settings import CoreSettings, problem, variable


def _flag(value: object) -> bool:
    text = str(value).strip().lower()
    if text not in ("true", "false"):
        raise problem(f"'{value}' must be true or false")
    return text == "true"


class RemediateSettings(CoreSettings):
    # RDS retention 0 -> n (turning automated backups on) causes an outage: made only when this is true.
    allow_outage: Annotated[bool, BeforeValidator(_flag)] = variable("REMEDIATION_ALLOW_OUTAGE")
