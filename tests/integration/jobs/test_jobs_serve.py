"""`sluice serve` on one machine: its embedded scheduler hands queued runs to the SQLite queue and
its embedded worker threads execute them (no Redis, no separate worker)."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path

import httpx

from sluice.core.settings import Settings
from sluice.store.db import Database
from sluice.store.migrate import ensure_default_workspace, upgrade
from sluice.store.tables.activations import Activation, Run
from sluice.sync.runs import request_run


def wait_for(condition: Callable[[], bool], what: str, seconds: float = 300) -> None:
    deadline = time.monotonic() + seconds
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError(f"gave up waiting for {what}")
        time.sleep(0.2)


def test_serve_executes_queued_runs_itself(tmp_path: Path, settings: Settings) -> None:
    database = Database.from_settings(settings)
    upgrade(database)
    with database.session() as session:
        workspace = ensure_default_workspace(session)
        activation = Activation(
            workspace_id=workspace.id, name="one", segment_id="s", destination_id="d", service="membership"
        )
        session.add(activation)
        session.flush()
        run_id = request_run(session, activation).id
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    env = {k: v for k, v in os.environ.items() if not k.startswith("SLUICE_")} | {
        "SLUICE_DATA_DIR": str(settings.data_dir),
        "SLUICE_SECRET_KEY": settings.resolved_secret_key,
        "SLUICE_RUN_EXECUTOR": "sluice.jobs.testing:recording_executor",
        "SLUICE_SCHEDULER_TICK_SECONDS": "0.5",
        "SLUICE_LOG_LEVEL": "warning",
    }
    log = (tmp_path / "serve.log").open("wb")
    server = subprocess.Popen(
        [sys.executable, "-m", "sluice", "serve", "--port", str(port)],
        env=env,
        stdout=log,
        stderr=subprocess.STDOUT,
    )
    try:

        def finished() -> bool:
            with database.session() as session:
                run = session.get(Run, run_id)
                return run is not None and run.state == "succeeded"

        def answers() -> bool:
            try:
                return httpx.get(f"http://127.0.0.1:{port}/api/v1/health").status_code == 200
            except httpx.HTTPError:
                return False

        wait_for(finished, "the server to execute the queued run")
        wait_for(answers, "the API to answer beside the jobs")
    finally:
        server.send_signal(signal.SIGINT)
        server.wait(60)
    output = (tmp_path / "serve.log").read_text()
    assert "Jobs: schedules tick here; runs are executed here" in output
    with database.session() as session:
        run = session.get(Run, run_id)
        assert run is not None
        assert run.worker is not None
        assert run.worker.endswith(f":{server.pid}")
    database.dispose()
