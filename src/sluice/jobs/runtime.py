"""One process's share of the job system: consume the queue, tick the scheduler, settle runs.

``sluice serve`` starts a :class:`JobRuntime` beside the API (queue consumer threads only when the
queue is the local SQLite file; the scheduler always). ``sluice worker`` runs one in the
foreground. Any number of them may be alive at once: every decision they share (a due time, a
dispatch, a probe, settling a run) is claimed in the control DB, never assumed.
"""

from __future__ import annotations

import os
import socket
import threading
from collections.abc import Iterable
from datetime import timedelta
from typing import Any

from sqlalchemy import update

from sluice.core.logging import get_logger
from sluice.core.settings import Settings
from sluice.jobs.alerts import AlertEvent, send_alerts, send_pending_alerts
from sluice.jobs.dispatch import runs_to_dispatch
from sluice.jobs.executor import Executor, resolve_executor
from sluice.jobs.health import HealthPolicy, after_run
from sluice.jobs.probes import Probe, default_probe, run_probes
from sluice.jobs.queue import RunQueue
from sluice.jobs.reconciler import fail_lost_runs, unsettled_runs
from sluice.jobs.remote_refreshes import claim_due_refreshes, refreshes_to_dispatch
from sluice.jobs.scheduler import claim_due_runs, trigger_dependants
from sluice.segments.remote_refresh import execute_refresh, fail_lost_refreshes
from sluice.store.base import utcnow
from sluice.store.db import Database
from sluice.store.tables.activations import Run
from sluice.sync.runs import RunState

log = get_logger(__name__)


def default_worker_name() -> str:
    """``host:pid`` — shown on runs so a user can tell which worker ran them."""
    return f"{socket.gethostname()}:{os.getpid()}"


class JobRuntime:
    """Queue consumer, scheduler loop and run settlement for one process."""

    def __init__(
        self,
        database: Database,
        settings: Settings,
        *,
        executor: Executor | None = None,
        probe: Probe | None = None,
        worker_name: str | None = None,
    ) -> None:
        self.database = database
        self.settings = settings
        self._executor = executor
        self.probe = probe or default_probe
        self.policy = HealthPolicy.from_settings(settings)
        self.worker_name = worker_name or default_worker_name()
        self.queue = RunQueue.from_settings(settings, self.process, self.process_refresh)
        self._stopping = threading.Event()
        self._scheduler_thread: threading.Thread | None = None
        self._consumer: Any = None

    # -- executing a run (the queue's task) -------------------------------------------------

    @property
    def executor(self) -> Executor:
        """The configured executor, imported on first use (so a server starts even without it)."""
        if self._executor is None:
            self._executor = resolve_executor(self.settings)
        return self._executor

    def process(self, run_id: str) -> None:
        """Execute one run, keeping it visibly alive, then settle it."""
        done = threading.Event()
        beat = threading.Thread(target=self._keep_alive, args=(run_id, done), daemon=True)
        beat.start()
        try:
            self.executor(self.database, self.settings, run_id, worker=self.worker_name)
        except Exception:
            # The executor records failures itself; this is a crash it could not record. The run
            # stays running without heartbeats and the reconciler fails it with a clear message.
            log.exception("executor crashed", run_id=run_id)
        finally:
            done.set()
            beat.join()
        self.settle([run_id])

    def process_refresh(self, refresh_id: str) -> None:
        """Execute one remote segment refresh (it records its own outcome and alerts)."""
        try:
            execute_refresh(self.database, self.settings, refresh_id, worker=self.worker_name)
        except Exception:
            log.exception("remote refresh crashed", refresh_id=refresh_id)
        send_pending_alerts(self.database, self.settings)

    def _keep_alive(self, run_id: str, done: threading.Event) -> None:
        """Heart-beat while the executor works, so a long batch is not mistaken for a dead worker."""
        interval = max(self.settings.heartbeat_timeout_seconds / 4, 0.2)
        while not done.wait(interval):
            try:
                with self.database.session() as session:
                    session.execute(
                        update(Run)
                        .where(
                            Run.id == run_id, Run.state == RunState.RUNNING, Run.worker == self.worker_name
                        )
                        .values(heartbeat_at=utcnow())
                        .execution_options(synchronize_session=False)
                    )
            except Exception:
                log.exception("heartbeat failed", run_id=run_id)

    def settle(self, run_ids: Iterable[str]) -> None:
        """Apply the consequences of finished runs (once each), send alerts, queue dependants."""
        events: list[AlertEvent] = []
        queued: list[str] = []
        for run_id in run_ids:
            with self.database.session() as session:
                settlement = after_run(session, run_id, self.policy)
                if settlement.settled:
                    events += settlement.events
                    run = session.get(Run, run_id)
                    if run is not None and run.state in (RunState.SUCCEEDED, RunState.PARTIAL):
                        queued += trigger_dependants(session, run)
        self._deliver(events, queued)

    def _deliver(self, events: list[AlertEvent], run_ids: list[str]) -> None:
        for run_id in run_ids:
            self.queue.enqueue(run_id)
        if events:
            send_alerts(self.database, self.settings, events)

    # -- the scheduler tick -------------------------------------------------------------------

    def tick(self) -> None:
        """One pass: fail lost runs, queue due runs, settle, probe paused activations, dispatch."""
        with self.database.session() as session:
            fail_lost_runs(session, stale_after=timedelta(seconds=self.settings.heartbeat_timeout_seconds))
        with self.database.session() as session:
            due = claim_due_runs(session, allow_seconds=self.settings.schedule_seconds_allowed)
        self._deliver([], due)
        with self.database.session() as session:
            finished = unsettled_runs(session)
        self.settle(finished)
        probed = run_probes(self.database, self.policy, self.probe)
        self._deliver(probed.events, probed.run_ids)
        with self.database.session() as session:
            waiting = runs_to_dispatch(
                session, requeue_after=timedelta(seconds=self.settings.requeue_after_seconds)
            )
        self._deliver([], waiting)
        self._tick_predictions()
        self._tick_identity()
        self._tick_refreshes()
        send_pending_alerts(self.database, self.settings)

    def _tick_refreshes(self) -> None:
        """Remote segments: fail lost refreshes, queue due ones, hand queued ones to the queue."""
        with self.database.session() as session:
            fail_lost_refreshes(session, stale_after=timedelta(seconds=self.settings.refresh_timeout_seconds))
            claim_due_refreshes(session, allow_seconds=self.settings.schedule_seconds_allowed)
        with self.database.session() as session:
            waiting = refreshes_to_dispatch(
                session, requeue_after=timedelta(seconds=self.settings.requeue_after_seconds)
            )
        for refresh_id in waiting:
            self.queue.enqueue_refresh(refresh_id)

    def _tick_predictions(self) -> None:
        """AI predictions: fail lost runs, queue due schedules, execute queued versions (own thread)."""
        from sluice.predictions.jobs import tick_in_background  # imported at the first tick, not at start-up

        tick_in_background(self.database, self.settings)

    def _tick_identity(self) -> None:
        """Identity resolution: fail lost runs, execute queued ones (own thread)."""
        from sluice.identity.jobs import tick_in_background  # imported at the first tick, not at start-up

        tick_in_background(self.database, self.settings)

    def _scheduler_loop(self) -> None:
        while not self._stopping.is_set():
            try:
                self.tick()
            except Exception:
                log.exception("scheduler tick failed; trying again at the next tick")
            self._stopping.wait(self.settings.scheduler_tick_seconds)

    # -- life cycle -----------------------------------------------------------------------------

    def start(self, *, consume: bool = True, schedule: bool = True) -> None:
        """Start consumer threads and/or the scheduler thread in the background."""
        if consume:
            self._consumer = self.queue.consumer(self.settings.worker_concurrency, embedded=True)
            self._consumer.start()
        if schedule:
            self._scheduler_thread = threading.Thread(
                target=self._scheduler_loop, name="sluice-scheduler", daemon=True
            )
            self._scheduler_thread.start()
        log.info("jobs started", queue=self.queue.backend, consume=consume, schedule=schedule)

    def stop(self) -> None:
        """Stop the scheduler and let running runs finish."""
        self._stopping.set()
        if self._consumer is not None:
            self._consumer.stop(graceful=True)
            self._consumer = None
        if self._scheduler_thread is not None:
            self._scheduler_thread.join()
            self._scheduler_thread = None

    def run_worker(self, *, schedule: bool = True) -> None:
        """Consume the queue in the foreground until SIGINT/SIGTERM (``sluice worker``)."""
        self.start(consume=False, schedule=schedule)
        try:
            self.queue.consumer(self.settings.worker_concurrency, embedded=False).run()
        finally:
            self.stop()
