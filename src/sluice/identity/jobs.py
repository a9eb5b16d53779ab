"""Queued identity runs as jobs: claimed, executed with heartbeats, and failed when their worker died.

The job runtime calls :func:`tick_in_background` at every scheduler pass: it queues the runs of
graphs whose schedule is due (:func:`claim_due_graphs`, see :mod:`sluice.identity.schedules`), fails running runs
whose heartbeat (``updated_at``) is older than the heartbeat timeout, then claims queued runs one
by one (a conditional UPDATE ``queued → running``, so two workers never run the same run) and
executes them on one background thread per process.
"""

from __future__ import annotations

import threading
from datetime import UTC, datetime, timedelta

from sqlalchemy import select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from sluice.core.errors import Conflict
from sluice.core.logging import get_logger
from sluice.core.settings import Settings
from sluice.identity.runs import execute, queue_run
from sluice.jobs.due_times import DueTimeColumns, claim_due_time
from sluice.store.base import utcnow
from sluice.store.db import Database
from sluice.store.tables.identity import IdentityGraph, IdentityRun

log = get_logger(__name__)
LOST_MESSAGE = "the worker running this identity graph stopped (no heartbeat); run it again"
BUSY_MESSAGE = "another run of this identity graph was already running"
SCHEDULE_TRIGGER = "schedule"
GRAPH_DUE = DueTimeColumns(IdentityGraph, "schedule", "schedule_signature", "next_run_at")


def fail_lost_runs(database: Database, *, stale_after: timedelta, now: datetime | None = None) -> list[str]:
    """Fail running runs without a heartbeat for ``stale_after``; their ids."""
    now = now or utcnow()
    with database.session() as session:
        lost = list(
            session.scalars(
                select(IdentityRun.id).where(
                    IdentityRun.state == "running", IdentityRun.updated_at < now - stale_after
                )
            )
        )
        for run_id in lost:
            session.execute(
                update(IdentityRun)
                .where(IdentityRun.id == run_id, IdentityRun.state == "running")
                .values(state="failed", error=LOST_MESSAGE, finished_at=now)
                .execution_options(synchronize_session=False)
            )
    return lost


def claim_due_graphs(
    session: Session, *, now: datetime | None = None, allow_seconds: bool = False
) -> list[str]:
    """Queue a run of every graph whose schedule is due; the queued run ids."""
    now = now or utcnow()
    rows = session.scalars(
        select(IdentityGraph).where(IdentityGraph.schedule.is_not(None)).order_by(IdentityGraph.id)
    ).all()
    queued: list[str] = []
    for graph in rows:
        if not claim_due_time(session, GRAPH_DUE, graph, now=now, allow_seconds=allow_seconds):
            continue
        try:
            with session.begin_nested():
                run = queue_run(session, graph, requested_by="schedule", trigger=SCHEDULE_TRIGGER)
        except Conflict:
            log.info("identity graph busy at its due time; skipped", graph_id=graph.id)
            continue
        queued.append(run.id)
    return queued


def queued_runs(database: Database) -> list[str]:
    """Queued run ids, oldest first."""
    with database.session() as session:
        return list(
            session.scalars(
                select(IdentityRun.id).where(IdentityRun.state == "queued").order_by(IdentityRun.id)
            )
        )


def claim(database: Database, run_id: str) -> bool:
    """Move a queued run to running; False if another worker took it (or the graph is busy)."""
    try:
        with database.session() as session:
            claimed = session.execute(
                update(IdentityRun)
                .where(IdentityRun.id == run_id, IdentityRun.state == "queued")
                .values(state="running", started_at=datetime.now(UTC))
                .execution_options(synchronize_session=False)
            )
            return bool(getattr(claimed, "rowcount", 0))
    except IntegrityError:  # the partial unique index: this graph already has a running run
        with database.session() as session:
            session.execute(
                update(IdentityRun)
                .where(IdentityRun.id == run_id, IdentityRun.state == "queued")
                .values(state="failed", error=BUSY_MESSAGE, finished_at=datetime.now(UTC))
                .execution_options(synchronize_session=False)
            )
        return False


def execute_claimed(database: Database, settings: Settings, run_id: str) -> str:
    """Execute a claimed run, touching it every few seconds so it is not taken for lost; its state."""
    done = threading.Event()

    def beat() -> None:
        while not done.wait(max(settings.heartbeat_timeout_seconds / 4, 0.2)):
            try:
                with database.session() as session:
                    session.execute(
                        update(IdentityRun)
                        .where(IdentityRun.id == run_id, IdentityRun.state == "running")
                        .values(updated_at=utcnow())
                        .execution_options(synchronize_session=False)
                    )
            except Exception:  # a missed beat is retried at the next one
                log.warning("identity heartbeat failed", run_id=run_id)

    thread = threading.Thread(target=beat, daemon=True)
    thread.start()
    try:
        with database.session() as session:
            run = session.get(IdentityRun, run_id)
            graph = session.get(IdentityGraph, run.graph_id) if run is not None else None
            if run is None or graph is None:
                return "missing"
            execute(session, graph, run, database.secrets)
            return run.state
    finally:
        done.set()
        thread.join()


def execute_queued(database: Database, settings: Settings) -> dict[str, str]:
    """Claim and execute every queued run in turn; run id → final state."""
    states: dict[str, str] = {}
    for run_id in queued_runs(database):
        if claim(database, run_id):
            states[run_id] = execute_claimed(database, settings, run_id)
    return states


_worker_lock = threading.Lock()
_worker: threading.Thread | None = None


def tick_in_background(database: Database, settings: Settings) -> threading.Thread | None:
    """The job runtime's hook: queue due schedules, fail lost runs, execute queued ones on one thread."""
    global _worker  # one executor thread per process
    try:
        with database.session() as session:
            claim_due_graphs(session, allow_seconds=settings.schedule_seconds_allowed)
    except Exception:  # the rest of the tick (lost and queued runs, other jobs) still happens
        log.exception("identity schedules not claimed; trying again at the next tick")
    with _worker_lock:
        if _worker is not None and _worker.is_alive():
            return None
        fail_lost_runs(database, stale_after=timedelta(seconds=settings.heartbeat_timeout_seconds))
        if not queued_runs(database):
            return None
        _worker = threading.Thread(
            target=execute_queued, args=(database, settings), name="sluice-identity", daemon=True
        )
        _worker.start()
        return _worker
