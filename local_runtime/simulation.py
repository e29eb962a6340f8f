"""Run the deployed template over a simulated period, in accelerated time, on moto.

Everything comes from ``template.yaml``: every ``ScheduleV2`` of every function (and of every
state machine) fires when its expression says, in its time zone; every ``EventBridgeRule``
event of a function receives the RDS events whose pattern matches (moto's ``EventPattern``).
The clock is moved with time-machine, so handlers' ``datetime.now()`` and moto's create times
follow the simulated time. What happened is read from moto (snapshots, SNS messages), never
from handler output.
"""

from __future__ import annotations

import contextlib
import json
import sys
import time
from collections import Counter, defaultdict
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any, TextIO, cast

import time_machine
from moto.events.models import EventPattern
from moto.sns.models import sns_backends

from restorable.schedule import CronSchedule

from .functions import Functions, Invocation, RuleSpec, ScheduleSpec
from .progress import ProgressBar
from .statemachine_hook import StateMachineRunner, drill_figures, state_machine_schedules
from .template import ACCOUNT_ID
from .world import Inventory, RdsWorld, SnapshotRecord

# Events an invocation causes may cause more invocations; a chain longer than this is a loop.
MAX_EVENT_DEPTH = 5
# Ties at the same minute: RDS's own work first, then the schedules.
_PRIORITY = {"tick": 0, "backup": 1, "schedule": 2}


@dataclass(frozen=True)
class Firing:
    at: datetime
    what: str  # tick | backup | schedule
    schedule: ScheduleSpec | None = None
    region: str = ""
    database: str = ""

    def sort_key(self) -> tuple[datetime, int, str]:
        name = self.schedule.function + self.schedule.name if self.schedule else self.region + self.database
        return (self.at, _PRIORITY[self.what], name)


def fire_times(schedule: ScheduleSpec, start: datetime, end: datetime) -> list[datetime]:
    """When ``schedule`` fires in [start, end): cron (in its time zone) or rate expressions."""
    expression = schedule.expression.strip()
    if expression.startswith("rate("):
        amount, unit = expression[5:-1].split()
        step = timedelta(**{unit.rstrip("s") + "s": int(amount)})
        return [start + step * n for n in range(1, int((end - start) / step) + 1) if start + step * n < end]
    if expression.startswith("at("):
        moment = datetime.fromisoformat(expression[3:-1]).replace(tzinfo=UTC)
        return [moment] if start <= moment < end else []
    cron = CronSchedule.parse(expression, schedule.timezone)
    times, moment = [], start - timedelta(microseconds=1)
    while (moment := cron.next_fire_after(moment)) < end:
        times.append(moment)
    return times


@dataclass
class Alert:
    at: datetime
    topic: str
    subject: str
    message: str


@dataclass
class JobRun:
    at: datetime
    function: str
    trigger: str
    job: str
    ok: bool
    counts: dict[str, int]
    error: str | None = None


@dataclass
class DrillRun:
    at: datetime  # when the execution started (simulated)
    state_machine: str
    status: str
    figures: dict[str, Any]
    detail: dict[str, Any]
    trigger: str = ""  # schedule:<name> of the state machine, or the function that started it


@dataclass
class DailySample:
    day: datetime
    snapshots: dict[str, int]  # Region -> manual snapshots
    storage_gb: dict[str, int]  # Region -> GB of manual snapshots (full size each)
    by_kind: dict[str, dict[str, int]]  # Region -> kind -> count


@dataclass
class SimulationResult:
    start: datetime
    end: datetime
    regions: list[str]
    stack_region: str
    invocations: int = 0
    wall_seconds: float = 0.0
    created: Counter[tuple[str, str]] = field(default_factory=Counter)  # (Region, kind)
    copied: Counter[tuple[str, str]] = field(default_factory=Counter)  # (destination Region, kind)
    pruned: Counter[tuple[str, str]] = field(default_factory=Counter)
    kept: Counter[tuple[str, str]] = field(default_factory=Counter)
    events_emitted: Counter[tuple[str, str]] = field(default_factory=Counter)  # (Region, EventID)
    events_delivered: Counter[tuple[str, str]] = field(default_factory=Counter)  # (EventID, function)
    jobs: list[JobRun] = field(default_factory=list)
    errors: list[JobRun] = field(default_factory=list)
    alerts: list[Alert] = field(default_factory=list)
    drills: list[DrillRun] = field(default_factory=list)
    drills_not_run: Counter[str] = field(default_factory=Counter)
    samples: list[DailySample] = field(default_factory=list)
    restarts: list[tuple[datetime, str]] = field(default_factory=list)
    final_snapshots: list[SnapshotRecord] = field(default_factory=list)
    untouched: dict[str, bool] = field(default_factory=dict)  # unprotected database -> untouched?
    schedules: list[str] = field(default_factory=list)
    rules: list[str] = field(default_factory=list)

    @property
    def simulated_days(self) -> float:
        return (self.end - self.start) / timedelta(days=1)


class _AlertWatcher:
    """New SNS messages in moto since the last look (every topic in every Region)."""

    def __init__(self, regions: Iterable[str], account_id: str = ACCOUNT_ID) -> None:
        self.regions = list(regions)
        self.account_id = account_id
        self._seen: dict[str, int] = {}

    def new_messages(self, now: datetime) -> list[Alert]:
        alerts = []
        for region in self.regions:
            for arn, topic in sns_backends[self.account_id][region].topics.items():
                sent = topic.sent_notifications
                for _message_id, message, subject, _attributes, _group in sent[self._seen.get(arn, 0) :]:
                    alerts.append(Alert(now, arn.rsplit(":", 1)[-1], subject or "", str(message)))
                self._seen[arn] = len(sent)
        return alerts


class Simulation:
    """The deployed template on moto, driven through a simulated period."""

    def __init__(
        self,
        functions: Functions,
        world: RdsWorld,
        *,
        unprotected: Iterable[tuple[str, str]] = (),
        runner: StateMachineRunner | None = None,
        progress: TextIO | None = sys.stderr,
        progress_every: timedelta = timedelta(days=7),
        progress_bar: bool = False,
    ) -> None:
        """``progress``: where the weekly progress lines go; ``progress_bar``: also draw a one-line bar
        there while running, when it and stdout are terminals."""
        self.functions = functions
        self.template = functions.template
        self.world = world
        self.unprotected = list(unprotected)
        self.runner = runner
        self.progress = progress
        self.progress_every = progress_every
        self.progress_bar = progress_bar
        self._bar: ProgressBar | None = None
        self.function_schedules = [s for s in functions.schedules() if s.enabled]
        self.machine_schedules = [s for s in state_machine_schedules(self.template) if s.enabled]
        self.rules = functions.rules()
        self._patterns = [(rule, EventPattern.load(json.dumps(rule.pattern))) for rule in self.rules]
        self._alerts = _AlertWatcher(world.regions)
        self._inventory = Inventory()

    def timeline(self, start: datetime, end: datetime) -> list[Firing]:
        firings = [
            Firing(at, "schedule", schedule=schedule)
            for schedule in [*self.function_schedules, *self.machine_schedules]
            for at in fire_times(schedule, start, end)
        ]
        firings += [Firing(at, "backup", region=r, database=d) for at, r, d in self.world.backup_times(start, end)]
        day = start
        while day < end:
            firings.append(Firing(day, "tick"))
            day += timedelta(days=1)
        return sorted(firings, key=Firing.sort_key)

    def run(self, start: datetime, days: float) -> SimulationResult:
        start = start.astimezone(UTC)
        end = start + timedelta(days=days)
        result = SimulationResult(
            start=start,
            end=end,
            regions=self.world.regions,
            stack_region=self.template.region,
            schedules=[
                f"{s.function}.{s.name}: {s.expression} ({s.timezone})"
                for s in [*self.function_schedules, *self.machine_schedules]
            ],
            rules=[f"{r.function}.{r.name}: {json.dumps(r.pattern, sort_keys=True)}" for r in self.rules],
        )
        started = time.perf_counter()
        next_progress = start + self.progress_every
        if self.progress_bar and self.progress is not None:
            self._bar = ProgressBar.for_terminal(days, self.progress)
        with (
            self.world.serve_account_quotas(),
            self.world.serve_empty_serverless_caches(),
            self.world.serve_dynamodb(),
            time_machine.travel(start, tick=False) as traveller,
            self.runner.active(traveller) if self.runner is not None else contextlib.nullcontext(),
        ):
            initial_state = self.world.database_state()
            self._inventory = self.world.inventory()
            self._alerts.new_messages(start)
            for firing in self.timeline(start, end):
                while firing.at >= next_progress:
                    self._report_progress(result, next_progress, started)
                    next_progress += self.progress_every
                # A drill's Wait states move the clock on: what was due meanwhile happens when it ends.
                traveller.move_to(max(firing.at, datetime.now(UTC)))
                if firing.what == "tick":
                    self._tick(firing.at, result)
                elif firing.what == "backup":
                    events = self.world.run_backup(firing.region, firing.database, firing.at)
                    self._dispatch(events, firing.at, result, depth=1)
                elif firing.schedule is not None:
                    self._fire(firing.schedule, firing.at, result)
                if self._bar is not None:
                    self._bar.update((firing.at - start) / timedelta(days=1))
            if self._bar is not None:
                self._bar.clear()
                self._bar = None
            traveller.move_to(max(end, datetime.now(UTC)))
            self._sample(end, result)
            self._finish(initial_state, result)
        result.wall_seconds = time.perf_counter() - started
        return result

    # ---- one step ----

    def _tick(self, now: datetime, result: SimulationResult) -> None:
        for restarted in self.world.restart_long_stopped(now):
            result.restarts.append((now, restarted))
        self._sample(now, result)

    def _fire(self, schedule: ScheduleSpec, at: datetime, result: SimulationResult) -> None:
        event = schedule.event_for(at)
        if schedule in self.machine_schedules:
            self._run_state_machine(schedule, event, at, result)
            return
        self._invoke(schedule.function, event, f"schedule:{schedule.name}", at, result, depth=0)

    def _invoke(
        self, function: str, event: Any, trigger: str, at: datetime, result: SimulationResult, depth: int
    ) -> Invocation:
        invocation = self.functions.invoke(function, event)
        result.invocations += 1
        payload = invocation.payload if isinstance(invocation.payload, dict) else {}
        run = JobRun(
            at=at,
            function=function,
            trigger=trigger,
            job=str(payload.get("job", function)),
            ok=invocation.error is None and bool(payload.get("ok", True)),
            counts={k: int(v) for k, v in payload.get("counts", {}).items() if isinstance(v, int)},
            error=None if invocation.error is None else f"{type(invocation.error).__name__}: {invocation.error}",
        )
        result.jobs.append(run)
        if run.error is not None:
            result.errors.append(run)
        self._after_change(at, result, depth)
        if self.runner is not None:
            try:
                outcomes = self.runner.run_started()
            except Exception as exc:  # a drill that never ends is a result, not the end of the simulation
                outcomes = [{"status": "ERROR", "error": f"{type(exc).__name__}: {exc}"}]
            for outcome in outcomes:
                self._record_drill(outcome, f"function:{function}", at, result)
        return invocation

    def _after_change(self, at: datetime, result: SimulationResult, depth: int) -> None:
        """Diff the inventory, count what changed, pick up alerts, and dispatch the RDS events."""
        before, after = self._inventory, self.world.inventory()
        self._inventory = after
        for snapshot in after.added_since(before):
            counter = result.copied if snapshot.is_copy else result.created
            counter[(snapshot.region, snapshot.kind)] += 1
        for snapshot in after.removed_since(before):
            result.pruned[(snapshot.region, snapshot.kind)] += 1
        result.alerts.extend(self._alerts.new_messages(at))
        self._dispatch(self.world.snapshot_events(before, after, at), at, result, depth + 1)

    def _dispatch(self, events: list[dict[str, Any]], at: datetime, result: SimulationResult, depth: int) -> None:
        for event in events:
            event_id = str(event["detail"].get("EventID", "?"))
            result.events_emitted[(event["region"], event_id)] += 1
            if event["region"] != self.template.region:
                continue  # EventBridge rules are regional: the stack's rules live in its own Region
            if depth > MAX_EVENT_DEPTH:
                raise RuntimeError(f"event chain deeper than {MAX_EVENT_DEPTH} at {at.isoformat()}: {event_id}")
            for rule, pattern in self._patterns:
                if pattern.matches_event(cast(Any, event)):
                    result.events_delivered[(event_id, rule.function)] += 1
                    self._invoke(rule.function, _rule_input(rule, event), f"rule:{rule.name}", at, result, depth)

    def _run_state_machine(
        self, schedule: ScheduleSpec, event: dict[str, Any], at: datetime, result: SimulationResult
    ) -> None:
        if self.runner is None:
            result.drills_not_run[schedule.function] += 1
            return
        try:
            outcome = self.runner.run(schedule.function, event)
        except Exception as exc:  # a failed drill is a result, not the end of the simulation
            outcome = {"state_machine": schedule.function, "status": "ERROR", "error": f"{type(exc).__name__}: {exc}"}
        self._record_drill(outcome, f"schedule:{schedule.name}", at, result)

    def _record_drill(self, outcome: dict[str, Any], trigger: str, at: datetime, result: SimulationResult) -> None:
        started = outcome.get("started_at")
        result.drills.append(
            DrillRun(
                at=started if isinstance(started, datetime) else at,
                state_machine=str(outcome.get("state_machine", "?")),
                status=str(outcome.get("status", "UNKNOWN")),
                figures=drill_figures(outcome.get("output")),
                detail=outcome,
                trigger=trigger,
            )
        )
        self._after_change(datetime.now(UTC), result, depth=0)

    # ---- bookkeeping ----

    def _sample(self, now: datetime, result: SimulationResult) -> None:
        snapshots: dict[str, int] = {}
        storage: dict[str, int] = {}
        by_kind: dict[str, dict[str, int]] = {}
        for region in self.world.regions:
            in_region = self._inventory.in_region(region)
            snapshots[region] = len(in_region)
            storage[region] = sum(s.size_gb for s in in_region)
            by_kind[region] = dict(Counter(s.kind for s in in_region))
        result.samples.append(DailySample(now, snapshots, storage, by_kind))

    def _finish(self, initial_state: dict[tuple[str, str], Any], result: SimulationResult) -> None:
        self._inventory = self.world.inventory()
        result.final_snapshots = sorted(self._inventory.snapshots.values(), key=lambda s: (s.region, s.identifier))
        for snapshot in result.final_snapshots:
            result.kept[(snapshot.region, snapshot.kind)] += 1
        final_state = self.world.database_state()
        snapshot_sources = {(s.source_region, s.source_identifier) for s in result.final_snapshots}
        for region, identifier in self.unprotected:
            key = (region, identifier)
            result.untouched[f"{region}/{identifier}"] = (
                initial_state.get(key) == final_state.get(key) and key not in snapshot_sources
            )

    def _report_progress(self, result: SimulationResult, now: datetime, started: float) -> None:
        if self.progress is None:
            return
        if self._bar is not None:
            self._bar.clear()
        elapsed = max(time.perf_counter() - started, 1e-9)
        done = (now - result.start) / timedelta(days=1)
        counts = self._inventory
        per_region = ", ".join(f"{r} {len(counts.in_region(r))}" for r in self.world.regions)
        print(
            f"  {now:%Y-%m-%d} day {done:>4.0f}/{result.simulated_days:.0f}: {result.invocations} invocations, "
            f"snapshots {per_region}, {len(result.errors)} errors, {len(result.alerts)} alerts "
            f"({done / elapsed:.1f} simulated days/s)",
            file=self.progress,
            flush=True,
        )


def _rule_input(rule: RuleSpec, event: dict[str, Any]) -> Any:
    """The target input: the whole event, or the part ``InputPath`` selects (``$.detail`` ...)."""
    if not rule.input_path or rule.input_path == "$":
        return event
    value: Any = event
    for part in rule.input_path.removeprefix("$.").split("."):
        value = value.get(part) if isinstance(value, dict) else None
    return value


def daily_totals(result: SimulationResult, key: Callable[[DailySample], dict[str, int]]) -> dict[str, list[int]]:
    """Region -> a value per sample (for charts)."""
    series: dict[str, list[int]] = defaultdict(list)
    for sample in result.samples:
        for region in result.regions:
            series[region].append(key(sample).get(region, 0))
    return dict(series)
