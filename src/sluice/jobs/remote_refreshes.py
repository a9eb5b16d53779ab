"""Remote segment refreshes in the job system: schedules, dispatch, and what runs after them.

A remote segment's ``refresh_schedule`` takes the same time-based kinds as activations. Its next
due time lives on the segment (``next_refresh_at``) and is claimed like an activation's
(:func:`sluice.jobs.due_times.claim_due_time`): with
``UPDATE … WHERE next_refresh_at = <value read>``, so of several schedulers exactly one queues the
refresh, and ticks missed during downtime give one refresh, not many. Queued refreshes are handed
to the queue once (``dispatched_at`` is claimed the same way) and again only when their message
was lost. Activations scheduled ``{"kind": "after", "remote_segment_id": …}`` run when a refresh
of that segment succeeds.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from sqlalchemy import or_, select, update
from sqlalchemy.orm import Session

from sluice.core.logging import get_logger
from sluice.jobs.due_times import DueTimeColumns, claim_due_time
from sluice.segments.remote_refresh import (
    RefreshAlreadyActive,
    RefreshState,
    RefreshTrigger,
    request_refresh,
)
from sluice.store.base import utcnow
from sluice.store.tables.activations import Activation
from sluice.store.tables.segments import RemoteRefresh, Segment
from sluice.sync.runs import RunAlreadyActive, RunRequest, RunTrigger, request_run

log = get_logger(__name__)
REFRESH_DUE = DueTimeColumns(Segment, "refresh_schedule", "refresh_schedule_signature", "next_refresh_at")


def claim_due_refreshes(
    session: Session, *, now: datetime | None = None, allow_seconds: bool = False
) -> list[str]:
    """Queue the refreshes that are due; returns their ids."""
    now = now or utcnow()
    segments = session.scalars(
        select(Segment)
        .where(Segment.type == "remote", Segment.refresh_schedule.is_not(None))
        .order_by(Segment.id)
    ).all()
    queued: list[str] = []
    for segment in segments:
        if not claim_due_time(session, REFRESH_DUE, segment, now=now, allow_seconds=allow_seconds):
            continue
        try:
            refresh = request_refresh(
                session, segment, trigger=RefreshTrigger.SCHEDULE, requested_by="schedule"
            )
        except RefreshAlreadyActive:
            continue
        queued.append(refresh.id)
    return queued


def refreshes_to_dispatch(
    session: Session, *, requeue_after: timedelta, now: datetime | None = None
) -> list[str]:
    """Queued refreshes this process must hand to the queue now (new ones, and lost messages)."""
    now = now or utcnow()
    waiting = session.execute(
        select(RemoteRefresh.id, RemoteRefresh.dispatched_at)
        .where(
            RemoteRefresh.state == RefreshState.QUEUED,
            or_(RemoteRefresh.dispatched_at.is_(None), RemoteRefresh.dispatched_at < now - requeue_after),
        )
        .order_by(RemoteRefresh.id)
    ).all()
    claimed: list[str] = []
    for refresh_id, dispatched_at in waiting:
        condition = (
            RemoteRefresh.dispatched_at.is_(None)
            if dispatched_at is None
            else RemoteRefresh.dispatched_at == dispatched_at
        )
        result = session.execute(
            update(RemoteRefresh)
            .where(RemoteRefresh.id == refresh_id, condition)
            .values(dispatched_at=now)
            .execution_options(synchronize_session=False)
        )
        if getattr(result, "rowcount", 0):
            claimed.append(refresh_id)
    return claimed


def activations_after(session: Session, segment: Segment) -> list[Activation]:
    """Enabled, unpaused activations scheduled to run after ``segment`` refreshes."""
    candidates = session.scalars(
        select(Activation)
        .where(
            Activation.workspace_id == segment.workspace_id,
            Activation.enabled.is_(True),
            Activation.paused_reason.is_(None),
        )
        .order_by(Activation.id)
    ).all()
    return [
        activation
        for activation in candidates
        if (activation.schedule or {}).get("kind") == "after"
        and (activation.schedule or {}).get("remote_segment_id") == segment.id
    ]


def trigger_after_remote_refresh(session: Session, segment: Segment) -> list[str]:
    """Queue the runs of activations that wait for this remote segment's refresh.

    The runs are queued in the control DB only; the next scheduler tick hands them to the queue.
    """
    queued: list[str] = []
    for activation in activations_after(session, segment):
        try:
            run = request_run(
                session, activation, RunRequest(trigger=RunTrigger.DEPENDENCY, requested_by="remote refresh")
            )
        except RunAlreadyActive:
            continue
        queued.append(run.id)
    return queued
