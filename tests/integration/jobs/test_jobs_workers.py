"""Acceptance with real processes: Redis queue, PostgreSQL control DB, `sluice worker` processes.

The schedules here are *seconds* long (``{"kind": "interval", "seconds": 6}``), allowed only by
the test setting ``SLUICE_SCHEDULE_SECONDS_ALLOWED``: the issue's "20 activations on a 1-minute
schedule for 5 minutes" becomes 20 activations every 6 seconds until each has run ten times
(about a minute once the workers are up), so the suite stays short. Workers execute runs with
:func:`sluice.jobs.testing.recording_executor`, which logs each execution to a file so that
"executed exactly once" is checked independently of the runs table. (A worker killed mid-run is
covered with the real sync runner in ``test_jobs_worker_crash.py``.)
"""

from __future__ import annotations

import itertools
import os
import secrets
import signal
import subprocess
import sys
import time
from collections import Counter
from collections.abc import Callable, Iterator
from datetime import timedelta
from pathlib import Path

import pytest
from sqlalchemy import func, select, update

from sluice.core.settings import Settings
from sluice.store.db import Database
from sluice.store.migrate import ensure_default_workspace, upgrade
from sluice.store.tables.activations import Activation, Run
from sluice.store.tables.jobs import RunDispatch
from sluice.sync.runs import ACTIVE_RUN_STATES

pytestmark = [pytest.mark.slow, pytest.mark.redis, pytest.mark.postgres]

REDIS_URL = os.environ.get("SLUICE_TEST_REDIS", "redis://127.0.0.1:6379/0")
SLOT_SECONDS = 6
SLOTS = 10


def wait_for(condition: Callable[[], bool], what: str, seconds: float = 90) -> None:
    deadline = time.monotonic() + seconds
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError(f"gave up waiting for {what}")
        time.sleep(0.2)


class Workers:
    """Starts `sluice worker` processes sharing one control DB and one Redis queue."""

    def __init__(self, tmp_path: Path, database_url: str, settings: Settings) -> None:
        self.tmp_path = tmp_path
        self.execution_log = tmp_path / "executions.log"
        self.env = {k: v for k, v in os.environ.items() if not k.startswith("SLUICE_")} | {
            "SLUICE_DATA_DIR": str(tmp_path / "worker-data"),
            "SLUICE_DATABASE_URL": database_url,
            "SLUICE_SECRET_KEY": settings.resolved_secret_key,
            "SLUICE_REDIS_URL": REDIS_URL,
            "SLUICE_QUEUE_NAME": f"sluice-test-{secrets.token_hex(4)}",
            "SLUICE_SCHEDULE_SECONDS_ALLOWED": "true",
            "SLUICE_SCHEDULER_TICK_SECONDS": "0.5",
            "SLUICE_RUN_EXECUTOR": "sluice.jobs.testing:recording_executor",
            "SLUICE_TEST_EXECUTION_LOG": str(self.execution_log),
            "SLUICE_LOG_LEVEL": "warning",
        }
        self.processes: dict[str, subprocess.Popen[bytes]] = {}

    def start(self, name: str, **env: str) -> subprocess.Popen[bytes]:
        output = (self.tmp_path / f"{name}.log").open("wb")
        process = subprocess.Popen(
            [sys.executable, "-m", "sluice", "worker", "--name", name],
            env=self.env | env,
            stdout=output,
            stderr=subprocess.STDOUT,
        )
        self.processes[name] = process
        return process

    def stop_all(self) -> None:
        for process in self.processes.values():
            if process.poll() is None:
                process.send_signal(signal.SIGINT)  # graceful: running runs finish first
        for process in self.processes.values():
            try:
                process.wait(30)
            except subprocess.TimeoutExpired:
                process.kill()

    def wait_until_started(self) -> None:
        """Wait until every process has started (imports are slow on a busy machine)."""
        wait_for(
            lambda: all("Sluice worker" in self.output(name) for name in self.processes),
            "the workers to start",
            300,
        )

    def executions(self) -> list[tuple[str, str]]:
        if not self.execution_log.exists():
            return []
        lines = self.execution_log.read_text().splitlines()
        return [(line.split()[0], line.split()[1]) for line in lines]

    def output(self, name: str) -> str:
        return (self.tmp_path / f"{name}.log").read_text(errors="replace")


@pytest.fixture
def pg_control(pg_database: str, settings: Settings) -> Iterator[Database]:
    database = Database(pg_database, settings.resolved_secret_key)
    upgrade(database)  # before the workers start, so they do not migrate concurrently
    yield database
    database.dispose()


@pytest.fixture
def workers(tmp_path: Path, pg_database: str, settings: Settings, pg_control: Database) -> Iterator[Workers]:
    pool = Workers(tmp_path, pg_database, settings)
    yield pool
    pool.stop_all()


def make_activations(database: Database, count: int) -> list[str]:
    with database.session() as session:
        workspace = ensure_default_workspace(session)
        activations = [
            Activation(
                workspace_id=workspace.id,
                name=f"activation {n:02d}",
                segment_id="seg",
                destination_id="dst",
                service="membership",
                schedule={"kind": "interval", "seconds": SLOT_SECONDS},
            )
            for n in range(count)
        ]
        session.add_all(activations)
        session.flush()
        return [a.id for a in activations]


def runs_per_activation(database: Database, ids: list[str]) -> list[int]:
    with database.session() as session:
        counts = dict(
            session.execute(select(Run.activation_id, func.count()).group_by(Run.activation_id)).all()
        )
    return [int(counts.get(activation_id, 0)) for activation_id in ids]


def active_runs(database: Database) -> int:
    with database.session() as session:
        return len(session.scalars(select(Run.id).where(Run.state.in_(ACTIVE_RUN_STATES))).all())


def test_two_workers_run_every_due_run_exactly_once(pg_control: Database, workers: Workers) -> None:
    database = pg_control
    for name in ("worker-a", "worker-b"):
        workers.start(name)
    workers.wait_until_started()
    ids = make_activations(database, 20)
    wait_for(
        lambda: min(runs_per_activation(database, ids)) >= SLOTS, f"{SLOTS} runs of every activation", 600
    )
    with database.session() as session:  # stop scheduling, then let the queue drain
        session.execute(update(Activation).values(enabled=False))
    wait_for(lambda: active_runs(database) == 0, "the queue to drain")
    workers.stop_all()

    with database.session() as session:
        runs = session.scalars(select(Run)).all()
        slots = {d.run_id: d.scheduled_for for d in session.scalars(select(RunDispatch))}
    executions = workers.executions()
    counted = Counter(run_id for run_id, _ in executions)
    print(
        f"\n{len(runs)} runs of {len(ids)} activations; executions by worker: "
        f"{dict(Counter(worker for _, worker in executions))}"
    )
    assert [run_id for run_id, n in counted.items() if n > 1] == [], "a run executed twice"
    assert set(counted) == {run.id for run in runs}, "a run was queued but never executed"
    assert {run.state for run in runs} == {"succeeded"}
    assert {run.worker for run in runs} == {"worker-a", "worker-b"}
    step = timedelta(seconds=SLOT_SECONDS)
    for activation_id in ids:
        mine = sorted((run for run in runs if run.activation_id == activation_id), key=lambda r: slots[r.id])
        for earlier, later in itertools.pairwise(mine):
            due, next_due = slots[earlier.id], slots[later.id]
            assert next_due > due, "one due time queued twice"
            # a due time may only be skipped while the previous run was still active
            skipped = due + step
            if next_due > skipped:
                assert earlier.finished_at is not None
                assert earlier.finished_at > skipped, f"{activation_id}: due time {skipped} was lost"
