"""The reconciler: fail runs whose worker died, and find finished runs nobody settled yet.

A worker heart-beats while it runs (at every stage and batch boundary). A running run silent for
longer than ``SLUICE_HEARTBEAT_TIMEOUT_SECONDS`` is failed with a message saying so; the next
scheduled run starts from the last committed snapshot and converges the destination. Runs
finished by any process (a worker, ``sluice sync run``, the reconciler itself) are settled here
if their finisher did not do it (see :func:`sluice.jobs.health.after_run`).
"""

from __future__ import annotations

from datetime import datetime, timedelta

from sqlalchemy import select
from sqlalchemy.orm import Session

from sluice.store.base import utcnow
from sluice.store.tables.activations import Run
from sluice.store.tables.jobs import SettledRun
from sluice.sync.runs import FINAL_STATES, fail_stale_runs

# Finished runs older than this are left alone (they predate the jobs tables or were settled).
SETTLE_WINDOW = timedelta(days=1)


def fail_lost_runs(session: Session, *, stale_after: timedelta, now: datetime | None = None) -> list[str]:
    """Fail the running runs without a recent heartbeat; returns their ids."""
    return fail_stale_runs(session, stale_after=stale_after, now=now)


def unsettled_runs(session: Session, *, now: datetime | None = None, limit: int = 500) -> list[str]:
    """Finished runs (of the last day) whose consequences were not applied yet, oldest first."""
    since = (now or utcnow()) - SETTLE_WINDOW
    return list(
        session.scalars(
            select(Run.id)
            .outerjoin(SettledRun, SettledRun.run_id == Run.id)
            .where(
                Run.state.in_([str(state) for state in FINAL_STATES]),
                Run.finished_at >= since,
                SettledRun.run_id.is_(None),
            )
            .order_by(Run.id)
            .limit(limit)
        )
    )
