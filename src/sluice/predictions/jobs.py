"""Predictor runs as jobs: heartbeats, lost runs, due schedules, and executing what is queued.

:func:`tick` is one scheduler pass for predictions (what ``sluice predictions tick`` and the worker
call): it fails runs whose process stopped heart-beating, queues a version for each predictor whose
cron schedule is due (once, however many schedulers tick: the due time moves with a conditional
UPDATE), and returns the queued version ids. :func:`execute_queued` claims and executes them; claiming
is a conditional UPDATE, so two workers never run the same version.
"""

from __future__ import annotations

import threading
from datetime import datetime, timedelta

from sqlalchemy import select, update

from sluice.core.logging import get_logger
from sluice.core.settings import Settings
from sluice.predictions.runs import claim_due_predictors, execute_version
from sluice.store.base import utcnow
from sluice.store.db import Database
from sluice.store.tables.predictions import PredictorVersion

log = get_logger(__name__)

LOST_MESSAGE = "the process running this version stopped (no heartbeat); start it again"


def heartbeat_seconds(settings: Settings) -> float:
    """How often a running version shows it is alive."""
    return max(settings.heartbeat_timeout_seconds / 4, 0.2)


def fail_lost_versions(
    database: Database, *, stale_after: timedelta, now: datetime | None = None
) -> list[str]:
    """Fail running versions without a heartbeat for ``stale_after``; their ids."""
    now = now or utcnow()
    with database.session() as session:
        lost = session.scalars(
            select(PredictorVersion.id).where(
                PredictorVersion.state == "running", PredictorVersion.updated_at < now - stale_after
            )
        ).all()
        for version_id in lost:
            session.execute(
                update(PredictorVersion)
                .where(PredictorVersion.id == version_id, PredictorVersion.state == "running")
                .values(state="failed", message=LOST_MESSAGE, finished_at=now)
                .execution_options(synchronize_session=False)
            )
    return list(lost)


def tick(database: Database, settings: Settings, *, now: datetime | None = None) -> list[str]:
    """Fail lost runs and queue due schedules; every queued version id (oldest first)."""
    fail_lost_versions(database, stale_after=timedelta(seconds=settings.heartbeat_timeout_seconds), now=now)
    with database.session() as session:
        claim_due_predictors(session, now)
    with database.session() as session:
        return list(
            session.scalars(
                select(PredictorVersion.id)
                .where(PredictorVersion.state == "queued")
                .order_by(PredictorVersion.id)
            )
        )


def execute_with_heartbeat(database: Database, settings: Settings, version_id: str) -> str:
    """Execute a version, touching it every few seconds so it is not taken for lost."""
    done = threading.Event()

    def beat() -> None:
        while not done.wait(heartbeat_seconds(settings)):
            try:
                with database.session() as session:
                    session.execute(
                        update(PredictorVersion)
                        .where(PredictorVersion.id == version_id, PredictorVersion.state == "running")
                        .values(updated_at=utcnow())
                        .execution_options(synchronize_session=False)
                    )
            except Exception:  # a missed beat is retried at the next one
                log.warning("predictor heartbeat failed", version_id=version_id)

    thread = threading.Thread(target=beat, daemon=True)
    thread.start()
    try:
        return execute_version(database, settings, version_id)
    finally:
        done.set()
        thread.join()


def execute_queued(database: Database, settings: Settings, version_ids: list[str]) -> dict[str, str]:
    """Execute each queued version in turn; version id → final state."""
    return {version_id: execute_with_heartbeat(database, settings, version_id) for version_id in version_ids}


_worker_lock = threading.Lock()
_worker: threading.Thread | None = None


def tick_in_background(database: Database, settings: Settings) -> threading.Thread | None:
    """The job runtime's hook: a tick, then queued versions executed on one background thread.

    Called by every scheduler pass; while this process is still executing earlier versions nothing
    new is started (the next pass picks up what was queued meanwhile). The thread is returned when
    one was started (tests join it).
    """
    global _worker  # one executor thread per process
    with _worker_lock:
        if _worker is not None and _worker.is_alive():
            return None
        queued = tick(database, settings)
        if not queued:
            return None
        _worker = threading.Thread(
            target=execute_queued, args=(database, settings, queued), name="sluice-predictions", daemon=True
        )
        _worker.start()
        return _worker
