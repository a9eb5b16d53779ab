"""Stand-in executors for tests of the queue, workers, scheduler and automatic pause.

Worker processes started by tests select it with
``SLUICE_RUN_EXECUTOR=sluice.jobs.testing:recording_executor``. It claims the run like the sync
runner, appends ``<run id> <worker>`` to the file named by ``SLUICE_TEST_EXECUTION_LOG`` (so a
test can count executions independently of the runs table), works for
``SLUICE_TEST_RUN_SECONDS`` while honouring cancel requests, and finishes the run as succeeded.

:func:`connection_executor` runs the part of a sync that talks to the destination first: it
connects with the stored credentials and runs the connector's ``check()`` against the real (or
emulated) vendor API, failing the run the way the sync runner does (``config`` for refused
credentials or a missing target, which pauses at once).
"""

from __future__ import annotations

import os
import time

from sluice.core.settings import Settings
from sluice.destinations.service import CheckReport, check
from sluice.store.db import Database
from sluice.store.tables.activations import Activation, Run
from sluice.store.tables.destinations import Destination
from sluice.sync.runs import RunState, claim_run, finish_run, heartbeat

EXECUTION_LOG_ENV = "SLUICE_TEST_EXECUTION_LOG"
RUN_SECONDS_ENV = "SLUICE_TEST_RUN_SECONDS"


def recording_executor(database: Database, settings: Settings, run_id: str, *, worker: str) -> str | None:
    """Claim, record, wait, finish (see the module docstring)."""
    with database.session() as session:
        if not claim_run(session, run_id, worker):
            return None
    log_path = os.environ.get(EXECUTION_LOG_ENV)
    if log_path:
        with open(log_path, "a", encoding="utf-8") as log:
            log.write(f"{run_id} {worker}\n")
    deadline = time.monotonic() + float(os.environ.get(RUN_SECONDS_ENV, "0.05"))
    state = RunState.SUCCEEDED
    while time.monotonic() < deadline:
        time.sleep(min(0.1, max(deadline - time.monotonic(), 0)))
        with database.session() as session:
            if heartbeat(session, run_id, stage="load"):
                state = RunState.CANCELLED
                break
    with database.session() as session:
        finish_run(
            session, run_id, state, error="cancelled by a user" if state == RunState.CANCELLED else None
        )
    return str(state)


def connection_executor(database: Database, settings: Settings, run_id: str, *, worker: str) -> str | None:
    """Claim, test the destination connection, finish succeeded or failed (see the module docstring)."""
    with database.session() as session:
        if not claim_run(session, run_id, worker):
            return None
        run = session.get(Run, run_id)
        activation = session.get(Activation, run.activation_id) if run else None
        destination = session.get(Destination, activation.destination_id) if activation else None
        if destination is not None:
            session.expunge(destination)
    if destination is None:
        report = CheckReport(False, "config_error", "the activation's destination no longer exists")
    else:
        report = check(destination, database.secrets, database=database)
    state = RunState.SUCCEEDED if report.ok else RunState.FAILED
    kind = None if report.ok else ("config" if report.status == "config_error" else "destination_unreachable")
    with database.session() as session:
        finish_run(session, run_id, state, error=None if report.ok else report.message, error_kind=kind)
    return str(state)
