"""Acceptance: a `sluice worker` killed in the middle of a sync (after a batch reached the vendor,
before the snapshot was committed). The reconciler in the surviving worker fails the run once its
heartbeat is older than the timeout, and the next scheduled run converges the destination.

Real parts: the sync runner on the demo warehouse, the Mailchimp emulator over HTTP, two worker
processes on the local SQLite queue and control DB. The kill is ``SLUICE_CRASH_AT=batch_delivered``
(:mod:`sluice.sync.crashpoints`: the process SIGKILLs itself there, like ``kill -9``).
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from datetime import date, timedelta
from pathlib import Path

import pytest
from sqlalchemy import select

from sluice.core.settings import Settings
from sluice.demo.emulator_server import BackgroundEmulators
from sluice.demo.warehouse import build_demo_warehouse
from sluice.demo.workspace import DemoWorkspace, seed_demo_workspace
from sluice.destinations.emulators import demo_contacts
from sluice.destinations.mailchimp.emulator import LIST_ID, MailchimpEmulator
from sluice.store.db import Database
from sluice.store.tables.activations import Activation, Run

pytestmark = pytest.mark.slow

VIP = "VIP France → Mailchimp"
HEARTBEAT_TIMEOUT = 3


def wait_for(condition: Callable[[], bool], what: str, seconds: float = 300) -> None:
    deadline = time.monotonic() + seconds
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError(f"gave up waiting for {what}")
        time.sleep(0.2)


@pytest.fixture
def demo(sqlite_database: Database, tmp_path: Path) -> Iterator[tuple[BackgroundEmulators, DemoWorkspace]]:
    warehouse = tmp_path / "demo.duckdb"
    build_demo_warehouse(users=2000, seed=11, path=warehouse, as_of=date.today())
    with BackgroundEmulators(contacts=demo_contacts(warehouse)) as emulators:
        yield (
            emulators,
            seed_demo_workspace(sqlite_database, warehouse=warehouse, emulators_url=emulators.url),
        )


def test_worker_killed_mid_sync_then_the_next_scheduled_run_converges(
    sqlite_database: Database,
    settings: Settings,
    tmp_path: Path,
    demo: tuple[BackgroundEmulators, DemoWorkspace],
) -> None:
    emulators, workspace = demo
    database = sqlite_database
    mailchimp = emulators.emulators["mailchimp"]
    assert isinstance(mailchimp, MailchimpEmulator)
    activation_id = workspace.activations[VIP]
    with database.session() as session:
        activation = session.get(Activation, activation_id)
        assert activation is not None
        activation.schedule = {"kind": "interval", "seconds": 4}

    env = {k: v for k, v in os.environ.items() if not k.startswith("SLUICE_")} | {
        "SLUICE_DATA_DIR": str(settings.data_dir),
        "SLUICE_SECRET_KEY": settings.resolved_secret_key,
        "SLUICE_SCHEDULE_SECONDS_ALLOWED": "true",
        "SLUICE_SCHEDULER_TICK_SECONDS": "0.5",
        "SLUICE_HEARTBEAT_TIMEOUT_SECONDS": str(HEARTBEAT_TIMEOUT),
        "SLUICE_LOG_LEVEL": "warning",
    }

    def start(name: str, **extra: str) -> subprocess.Popen[bytes]:
        return subprocess.Popen(
            [sys.executable, "-m", "sluice", "worker", "--name", name],
            env=env | extra,
            stdout=(tmp_path / f"{name}.log").open("wb"),
            stderr=subprocess.STDOUT,
        )

    def runs() -> list[Run]:
        with database.session() as session:
            return list(
                session.scalars(select(Run).where(Run.activation_id == activation_id).order_by(Run.id))
            )

    doomed = start("doomed", SLUICE_CRASH_AT="batch_delivered")
    survivor: subprocess.Popen[bytes] | None = None
    try:
        assert doomed.wait(300) == -signal.SIGKILL  # it died at the crash point, mid-run
        [lost] = runs()
        assert lost.state == "running"
        assert lost.worker == "doomed"
        sent_before_crash = vip_members(mailchimp)
        assert sent_before_crash, "the first batch reached the vendor before the crash"

        survivor = start("survivor")
        wait_for(lambda: runs()[0].state == "failed", "the reconciler to fail the lost run")
        wait_for(
            lambda: any(r.state in ("succeeded", "partial") for r in runs()[1:]),
            "the next scheduled run to finish",
        )
    finally:
        for process in (doomed, survivor):
            if process is not None and process.poll() is None:
                process.send_signal(signal.SIGINT)
                process.wait(60)

    failed, *later = runs()
    assert failed.error_kind == "worker_lost"
    assert failed.heartbeat_at is not None
    assert failed.finished_at is not None
    assert failed.finished_at - failed.heartbeat_at >= timedelta(seconds=HEARTBEAT_TIMEOUT)
    converging = next(r for r in later if r.state in ("succeeded", "partial"))
    assert converging.trigger == "schedule"
    # Nothing was committed by the lost run, so the next run sends the whole audience again
    # (adds are idempotent) and the destination holds exactly what it delivered.
    members = vip_members(mailchimp)
    assert sent_before_crash <= members
    assert len(members) == converging.counts["delivered"]
    with database.session() as session:
        activation = session.get(Activation, activation_id)
        assert activation is not None
        assert activation.snapshot_run_id is not None
        assert activation.snapshot_run_id != failed.id


def vip_members(mailchimp: MailchimpEmulator) -> set[str]:
    """Members of the one static segment named VIP France (a second one would be a duplicate target)."""
    segments = [s for s in mailchimp.audiences[LIST_ID].segments.values() if s.name == "VIP France"]
    assert len(segments) <= 1, "the target was created twice"
    return set(segments[0].members) if segments else set()
