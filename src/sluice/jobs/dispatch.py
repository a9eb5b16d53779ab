"""Handing queued runs to the queue: each once, and again only when the message was lost.

A run is queued in the control DB first (by the API, the CLI, a schedule, a dependency or a
probe); the queue carries only its id. Schedulers find queued runs without a ``run_dispatches``
row and hand them over (the row's primary key makes that happen once across processes). A run
still queued ``requeue_after`` after it was handed over (its worker died before claiming it, or
the process crashed between commit and enqueue) is handed over again; claiming a run is a
conditional UPDATE, so a duplicate message is harmless.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from sqlalchemy import select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from sluice.store.base import utcnow
from sluice.store.tables.activations import Run
from sluice.store.tables.jobs import RunDispatch
from sluice.sync.runs import RunState


def record_dispatch(session: Session, run_id: str, *, scheduled_for: datetime | None = None) -> bool:
    """Mark ``run_id`` as handed to the queue; False if another process did it first."""
    try:
        with session.begin_nested():
            session.add(
                RunDispatch(run_id=run_id, enqueued_at=utcnow(), attempts=1, scheduled_for=scheduled_for)
            )
    except IntegrityError:
        return False
    return True


def runs_to_dispatch(session: Session, *, requeue_after: timedelta, now: datetime | None = None) -> list[str]:
    """Queued runs this process must hand to the queue now (claimed in the caller's transaction)."""
    now = now or utcnow()
    new = session.scalars(
        select(Run.id)
        .outerjoin(RunDispatch, RunDispatch.run_id == Run.id)
        .where(Run.state == RunState.QUEUED, RunDispatch.run_id.is_(None))
        .order_by(Run.id)
    ).all()
    claimed = [run_id for run_id in new if record_dispatch(session, run_id)]
    lost = session.execute(
        select(RunDispatch.run_id, RunDispatch.enqueued_at)
        .join(Run, Run.id == RunDispatch.run_id)
        .where(Run.state == RunState.QUEUED, RunDispatch.enqueued_at < now - requeue_after)
        .order_by(RunDispatch.run_id)
    ).all()
    for run_id, enqueued_at in lost:
        result = session.execute(
            update(RunDispatch)
            .where(RunDispatch.run_id == run_id, RunDispatch.enqueued_at == enqueued_at)
            .values(enqueued_at=now, attempts=RunDispatch.attempts + 1)
            .execution_options(synchronize_session=False)
        )
        if getattr(result, "rowcount", 0):
            claimed.append(run_id)
    return claimed
