"""The run state machine (BRIEF §4 rule 8), kept in the control DB.

``queued → running → succeeded | partial | failed | cancelled``; a queued run may also be
cancelled directly. Every transition is a conditional UPDATE (``… WHERE state = 'queued'``), so
two workers can never both claim a run, and the partial unique index on ``runs`` guarantees at
most one active (queued or running) run per activation.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from enum import StrEnum
from typing import Any

from sqlalchemy import select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from sluice.core.errors import Conflict
from sluice.store.base import utcnow
from sluice.store.tables.activations import ACTIVE_RUN_STATES, Activation, Run


class RunState(StrEnum):
    QUEUED = "queued"
    RUNNING = "running"
    SUCCEEDED = "succeeded"
    PARTIAL = "partial"
    FAILED = "failed"
    CANCELLED = "cancelled"


FINAL_STATES = frozenset({RunState.SUCCEEDED, RunState.PARTIAL, RunState.FAILED, RunState.CANCELLED})


class RunTrigger(StrEnum):
    MANUAL = "manual"
    SCHEDULE = "schedule"
    API = "api"
    CLI = "cli"
    DEPENDENCY = "dependency"
    PROBE = "probe"


class RunAlreadyActive(Conflict):
    """The activation already has a queued or running run."""

    def __init__(self, activation_name: str, run_id: str, state: str) -> None:
        super().__init__(f"activation '{activation_name}' already has a {state} run ({run_id})")
        self.run_id = run_id


@dataclass(frozen=True)
class RunRequest:
    """What a caller asks for when starting a run."""

    trigger: RunTrigger = RunTrigger.MANUAL
    full_refresh: bool = False
    dry_run: bool = False
    requested_by: str | None = None


def active_run(session: Session, activation_id: str) -> Run | None:
    """The queued or running run of an activation, if any."""
    return session.scalars(
        select(Run).where(Run.activation_id == activation_id, Run.state.in_(ACTIVE_RUN_STATES))
    ).first()


def request_run(session: Session, activation: Activation, request: RunRequest | None = None) -> Run:
    """Queue a run of ``activation``; raise :class:`RunAlreadyActive` if one is active.

    The store enforces the rule: two concurrent requests cannot both insert an active run.
    Like every function here, it works inside the caller's transaction (the caller commits).
    """
    request = request or RunRequest()
    run = Run(
        workspace_id=activation.workspace_id,
        activation_id=activation.id,
        state=RunState.QUEUED,
        trigger=request.trigger,
        full_refresh=request.full_refresh,
        dry_run=request.dry_run,
        requested_by=request.requested_by,
        queued_at=utcnow(),
    )
    try:
        with session.begin_nested():
            session.add(run)
    except IntegrityError:
        existing = active_run(session, activation.id)
        if existing is None:  # the other run finished in between: try once more
            return request_run(session, activation, request)
        raise RunAlreadyActive(activation.name, existing.id, existing.state) from None
    return run


def claim_run(session: Session, run_id: str, worker: str) -> bool:
    """Move a queued run to running for ``worker``; False if it was cancelled or taken."""
    now = utcnow()
    result = session.execute(
        update(Run)
        .where(Run.id == run_id, Run.state == RunState.QUEUED)
        .values(state=RunState.RUNNING, started_at=now, heartbeat_at=now, worker=worker)
        .execution_options(synchronize_session=False)
    )
    return bool(getattr(result, "rowcount", 0))


def heartbeat(session: Session, run_id: str, *, stage: str | None = None) -> bool:
    """Record that the worker is alive (and which stage it is in); True if cancel was requested."""
    values: dict[str, Any] = {"heartbeat_at": utcnow()}
    if stage is not None:
        values["stage"] = stage
    session.execute(
        update(Run)
        .where(Run.id == run_id, Run.state == RunState.RUNNING)
        .values(**values)
        .execution_options(synchronize_session=False)
    )
    cancel = session.scalar(select(Run.cancel_requested).where(Run.id == run_id))
    return bool(cancel)


def finish_run(
    session: Session,
    run_id: str,
    state: RunState,
    *,
    error: str | None = None,
    error_kind: str | None = None,
) -> bool:
    """Move a running run to a final state; False if it was no longer running (e.g. reconciled)."""
    if state not in FINAL_STATES:
        raise ValueError(f"{state} is not a final state")
    result = session.execute(
        update(Run)
        .where(Run.id == run_id, Run.state == RunState.RUNNING)
        .values(state=state, finished_at=utcnow(), error=error, error_kind=error_kind, stage=None)
        .execution_options(synchronize_session=False)
    )
    return bool(getattr(result, "rowcount", 0))


def cancel_run(session: Session, run_id: str) -> str:
    """Cancel a queued run now, or ask a running one to stop at its next checkpoint.

    Returns the run's state after the call.
    """
    now = utcnow()
    session.execute(
        update(Run)
        .where(Run.id == run_id, Run.state == RunState.QUEUED)
        .values(state=RunState.CANCELLED, finished_at=now, error="cancelled before it started")
        .execution_options(synchronize_session=False)
    )
    session.execute(
        update(Run)
        .where(Run.id == run_id, Run.state == RunState.RUNNING)
        .values(cancel_requested=True)
        .execution_options(synchronize_session=False)
    )
    return str(session.scalar(select(Run.state).where(Run.id == run_id)))


def fail_stale_runs(session: Session, *, stale_after: timedelta, now: datetime | None = None) -> list[str]:
    """Fail running runs whose worker stopped heart-beating; returns their ids (the reconciler)."""
    cutoff = (now or utcnow()) - stale_after
    stale = list(
        session.scalars(select(Run.id).where(Run.state == RunState.RUNNING, Run.heartbeat_at < cutoff))
    )
    for run_id in stale:
        finish_run(
            session,
            run_id,
            RunState.FAILED,
            error="the worker running this sync stopped responding; the next run resumes from the last snapshot",
            error_kind="worker_lost",
        )
    return stale


def record_progress(
    session: Session, run_id: str, *, timings: dict[str, float], counts: dict[str, int]
) -> None:
    """Store the stage timings and counts measured so far."""
    session.execute(
        update(Run)
        .where(Run.id == run_id)
        .values(timings=dict(timings), counts=dict(counts))
        .execution_options(synchronize_session=False)
    )
