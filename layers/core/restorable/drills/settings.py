"""Settings of the drill functions: the steps (networks, history, reports) and the scheduler."""

from __future__ import annotations

import re
from typing import Annotated

from pydantic import AfterValidator, BeforeValidator, field_validator

from ..settings import CoreSettings, ExportSettings, export_bucket, problem, variable, whole_number
from .cache_model import CacheNetwork
from .model import Network
from .plan import Checks
from .schedule import parse_checks_document

_SECURITY_GROUP = re.compile(r"^sg-[0-9a-f]{8,17}$")
_SUBNET = re.compile(r"^subnet-[0-9a-f]{8,17}$")
_USER_GROUP = re.compile(r"^[a-zA-Z][a-zA-Z0-9-]{0,39}$")
_STATE_MACHINE_ARN = re.compile(r"^arn:aws[a-z-]*:states:[a-z0-9-]+:\d{12}:stateMachine:[A-Za-z0-9_-]{1,80}$")

DEFAULT_NETWORK = "restore into the account's default subnet group and security group"


def _security_groups(value: object) -> tuple[str, ...]:
    if isinstance(value, tuple | list):
        return tuple(value)
    groups = tuple(g.strip() for g in str(value).split(",") if g.strip())
    bad = [g for g in groups if not _SECURITY_GROUP.match(g)]
    if bad:
        raise problem(f"{', '.join(bad)} is not a security group id")
    return groups


def _subnets(value: object) -> tuple[str, ...]:
    if isinstance(value, tuple | list):
        return tuple(value)
    subnets = tuple(s.strip() for s in str(value).split(",") if s.strip())
    bad = [s for s in subnets if not _SUBNET.match(s)]
    if bad:
        raise problem(f"{', '.join(bad)} is not a subnet id")
    return subnets


def _per_run(value: object) -> int:
    return whole_number(0)("0" if value == "" else value)


SecurityGroups = Annotated[tuple[str, ...], BeforeValidator(_security_groups)]
Subnets = Annotated[tuple[str, ...], BeforeValidator(_subnets)]
DEFAULT_CACHE_NETWORK = "restore caches into the account's default subnets"
NO_CACHE_USER_GROUP = "temporary caches get no user group: the cache checks send no AUTH"


class DrillStepSettings(ExportSettings):
    """The drill function (the state machine's steps); the DR export bucket is where a table's cross-region drill
    imports from."""

    subnet_group: str = variable("DRILL_SUBNET_GROUP", unset_means=DEFAULT_NETWORK, default="")
    security_group_ids: SecurityGroups = variable("DRILL_SECURITY_GROUP_IDS", unset_means=DEFAULT_NETWORK, default=())
    dr_subnet_group: str = variable("DR_DRILL_SUBNET_GROUP", unset_means=DEFAULT_NETWORK, default="")
    dr_security_group_ids: SecurityGroups = variable(
        "DR_DRILL_SECURITY_GROUP_IDS", unset_means=DEFAULT_NETWORK, default=()
    )
    # Temporary caches: a cache subnet group (node-based), subnets (serverless), the drill security groups.
    cache_subnet_group: str = variable("DRILL_CACHE_SUBNET_GROUP", unset_means=DEFAULT_CACHE_NETWORK, default="")
    cache_subnet_ids: Subnets = variable("DRILL_CACHE_SUBNET_IDS", unset_means=DEFAULT_CACHE_NETWORK, default=())
    cache_user_group_id: str = variable("DRILL_CACHE_USER_GROUP_ID", unset_means=NO_CACHE_USER_GROUP, default="")
    history_table: str = variable("DRILL_HISTORY_TABLE")
    report_bucket: str = variable("DRILL_REPORT_BUCKET")

    @field_validator("cache_user_group_id")
    @classmethod
    def _user_group(cls, value: str) -> str:
        if value and not _USER_GROUP.match(value):
            raise problem(f"'{value}' is not an ElastiCache user group id")
        return value

    def network(self, in_dr_region: bool) -> Network:
        if in_dr_region:
            return Network(subnet_group=self.dr_subnet_group, security_group_ids=self.dr_security_group_ids)
        return Network(subnet_group=self.subnet_group, security_group_ids=self.security_group_ids)

    def cache_network(self) -> CacheNetwork:
        """Cache drills restore in the stack's Region only (a snapshot cannot be restored in another)."""
        return CacheNetwork(
            subnet_group=self.cache_subnet_group,
            subnet_ids=self.cache_subnet_ids,
            security_group_ids=self.security_group_ids,
            user_group_id=self.cache_user_group_id,
        )


class DrillSchedulerSettings(CoreSettings):
    """The drill scheduler: which state machine to start, how many drills a run, their checks."""

    state_machine_arn: str = variable("DRILL_STATE_MACHINE_ARN")
    drills_per_run: Annotated[int, BeforeValidator(_per_run)] = variable(
        "DRILLS_PER_RUN", unset_means="0: drill every protected database each run", default=0
    )
    checks: dict[str, Checks] = variable("DRILL_CHECKS", unset_means="no checks beyond the built-in ones", default={})
    # Tables drill cross-region from their exports: without an export bucket they are skipped with the reason.
    dr_export_bucket: Annotated[str, AfterValidator(export_bucket)] = variable(
        "DR_EXPORT_BUCKET", empty_means="exports are off: tables are not drilled cross-region", default=""
    )

    @field_validator("state_machine_arn")
    @classmethod
    def _arn(cls, value: str) -> str:
        if not _STATE_MACHINE_ARN.match(value):
            raise problem(f"'{value}' is not a Step Functions state machine ARN")
        return value

    @field_validator("checks", mode="before")
    @classmethod
    def _checks(cls, value: object) -> object:
        # parse_checks_document raises a ConfigurationError naming DRILL_CHECKS.
        return parse_checks_document(value) if isinstance(value, str) else value
