"""The scheduler tick: queue each due run exactly once, however many schedulers are alive.

For every enabled, unpaused activation with a time-based schedule, ``schedule_states`` keeps the
next due time. A scheduler that finds it due moves it on with
``UPDATE … SET next_run_at = <next> WHERE activation_id = … AND next_run_at = <value read>``;
only the scheduler whose UPDATE changed the row queues the run (and the partial unique index on
``runs`` still refuses a second active run). ``<next>`` is the first due time after *now*, so
ticks missed while nothing was running (downtime, a pause) run once, not once per missed tick.
A new or edited schedule starts at its next due time, not at once.

``after`` schedules are driven by events instead: :func:`trigger_dependants` queues them when
the upstream activation finishes successfully (``succeeded``, or ``partial`` — a few rejected
rows must not stop the chain).
"""

from __future__ import annotations

import hashlib
import json
from datetime import datetime
from typing import Any

from pydantic import ValidationError
from sqlalchemy import select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from sluice.core.errors import InvalidInput
from sluice.core.logging import get_logger
from sluice.jobs.dispatch import record_dispatch
from sluice.schemas.schedules import SCHEDULE_ADAPTER, TIMED_KINDS, AfterSchedule, parse_schedule
from sluice.store.base import utcnow
from sluice.store.tables.activations import Activation, Run
from sluice.store.tables.jobs import ScheduleState
from sluice.store.tables.segments import Segment
from sluice.sync.runs import RunAlreadyActive, RunRequest, RunState, RunTrigger, request_run

log = get_logger(__name__)

UPSTREAM_SUCCESS = (RunState.SUCCEEDED, RunState.PARTIAL)


def schedule_signature(schedule: dict[str, object] | None) -> str:
    """Fingerprint of a stored schedule (an edit changes it)."""
    return hashlib.sha256(json.dumps(schedule or {}, sort_keys=True).encode()).hexdigest()


def claim_due_runs(
    session: Session, *, now: datetime | None = None, allow_seconds: bool = False
) -> list[str]:
    """Queue the runs that are due; returns their ids (to hand to the queue after commit)."""
    now = now or utcnow()
    rows = session.execute(
        select(Activation, ScheduleState)
        .outerjoin(ScheduleState, ScheduleState.activation_id == Activation.id)
        .where(Activation.enabled.is_(True), Activation.paused_reason.is_(None))
        .order_by(Activation.id)
    ).all()
    queued: list[str] = []
    for activation, state in rows:
        if (activation.schedule or {}).get("kind") not in TIMED_KINDS:
            continue
        try:
            schedule = parse_schedule(activation.schedule, allow_seconds=allow_seconds)
        except ValidationError as exc:
            log.warning("schedule is not valid; not scheduled", activation_id=activation.id, error=str(exc))
            continue
        signature = schedule_signature(activation.schedule)
        if state is None or state.schedule_signature != signature or state.next_run_at is None:
            _start_schedule(session, activation.id, state, signature, schedule.next_run_after(now))
            continue
        due = state.next_run_at
        if due > now:
            continue
        claimed = session.execute(
            update(ScheduleState)
            .where(ScheduleState.activation_id == activation.id, ScheduleState.next_run_at == due)
            .values(next_run_at=schedule.next_run_after(now), last_scheduled_at=due)
            .execution_options(synchronize_session=False)
        )
        if not getattr(claimed, "rowcount", 0):
            continue  # another scheduler took this due time
        run_id = _queue(session, activation, RunTrigger.SCHEDULE, scheduled_for=due)
        if run_id is not None:
            queued.append(run_id)
    return queued


def _start_schedule(
    session: Session, activation_id: str, state: ScheduleState | None, signature: str, first: datetime | None
) -> None:
    if state is None:
        try:
            with session.begin_nested():
                session.add(
                    ScheduleState(
                        activation_id=activation_id,
                        schedule_signature=signature,
                        next_run_at=first,
                        auto_paused=False,
                        probe_attempts=0,
                    )
                )
        except IntegrityError:
            pass  # another scheduler started it; both computed the same due time
        return
    session.execute(
        update(ScheduleState)
        .where(
            ScheduleState.activation_id == activation_id,
            ScheduleState.schedule_signature == state.schedule_signature,
        )
        .values(schedule_signature=signature, next_run_at=first)
        .execution_options(synchronize_session=False)
    )


def _queue(
    session: Session, activation: Activation, trigger: RunTrigger, *, scheduled_for: datetime | None = None
) -> str | None:
    try:
        run = request_run(session, activation, RunRequest(trigger=trigger, requested_by=str(trigger)))
    except RunAlreadyActive as exc:
        log.info(
            "run not queued: the previous one is still active", activation_id=activation.id, run_id=exc.run_id
        )
        return None
    session.flush()
    record_dispatch(session, run.id, scheduled_for=scheduled_for)
    return run.id


def queue_run(session: Session, activation: Activation, trigger: RunTrigger) -> str | None:
    """Queue a run now (probe resumes, dependants); None when one is already active."""
    return _queue(session, activation, trigger)


def trigger_dependants(session: Session, run: Run) -> list[str]:
    """Queue the activations scheduled to run after ``run``'s activation succeeds."""
    if run.state not in UPSTREAM_SUCCESS or run.dry_run:
        return []
    candidates = session.scalars(
        select(Activation)
        .where(
            Activation.workspace_id == run.workspace_id,
            Activation.enabled.is_(True),
            Activation.paused_reason.is_(None),
            Activation.id != run.activation_id,
        )
        .order_by(Activation.id)
    ).all()
    queued: list[str] = []
    for activation in candidates:
        schedule = activation.schedule or {}
        if schedule.get("kind") == "after" and schedule.get("activation_id") == run.activation_id:
            run_id = _queue(session, activation, RunTrigger.DEPENDENCY)
            if run_id is not None:
                queued.append(run_id)
    return queued


def validate_schedule(
    session: Session,
    workspace_id: str,
    value: dict[str, Any] | None,
    *,
    activation_id: str | None = None,
    allow_seconds: bool = False,
) -> dict[str, Any]:
    """Check a submitted schedule and return it normalised (for the activation service).

    Beyond the fields: an ``after`` schedule must name an activation of the same workspace, and
    the chain of ``after`` schedules must not lead back to ``activation_id`` (it would never run).
    """
    try:
        schedule = parse_schedule(value, allow_seconds=allow_seconds)
    except ValidationError as exc:
        problems = "; ".join(
            f"{'.'.join(str(p) for p in error['loc'][1:]) or 'schedule'}: {error['msg'].removeprefix('Value error, ')}"
            for error in exc.errors()
        )
        raise InvalidInput(f"invalid schedule: {problems}") from None
    if isinstance(schedule, AfterSchedule) and schedule.activation_id is not None:
        upstream = session.get(Activation, schedule.activation_id)
        if upstream is None or upstream.workspace_id != workspace_id:
            raise InvalidInput(
                f"the schedule runs after activation {schedule.activation_id}, which does not exist in this workspace"
            )
        seen = {activation_id} if activation_id else set()
        current: Activation | None = upstream
        while current is not None:
            if current.id in seen:
                raise InvalidInput(f"the schedule would wait for itself (through '{current.name}')")
            seen.add(current.id)
            following = current.schedule or {}
            if following.get("kind") != "after" or not following.get("activation_id"):
                break
            current = session.get(Activation, following["activation_id"])
    if isinstance(schedule, AfterSchedule) and schedule.remote_segment_id is not None:
        upstream_segment = session.get(Segment, schedule.remote_segment_id)
        if (
            upstream_segment is None
            or upstream_segment.workspace_id != workspace_id
            or upstream_segment.type != "remote"
        ):
            raise InvalidInput(
                f"the schedule runs after remote segment {schedule.remote_segment_id}, "
                "which is not a remote segment of this workspace"
            )
    normalised: dict[str, Any] = SCHEDULE_ADAPTER.dump_python(schedule, mode="json", exclude_none=True)
    return normalised
