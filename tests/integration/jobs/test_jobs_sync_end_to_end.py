"""End to end with the sync runner: the demo warehouse, a schedule, the job runtime (SQLite queue,
worker threads, scheduler), the Mailchimp emulator over HTTP, webhook alerts.

A scheduled activation syncs its segment; the API key is then revoked at the vendor, the next
run fails with a fatal error and the activation pauses itself (alerted); a failing probe keeps it
paused; when the key works again the probe resumes it and the queued run converges the
destination. Schedules are seconds long here (``SLUICE_SCHEDULE_SECONDS_ALLOWED``, tests only).
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from datetime import date
from pathlib import Path

import duckdb
import pytest
from fastapi.testclient import TestClient
from jobs_alert_receivers import HttpReceiver
from sqlalchemy import select

from sluice.core.settings import Settings
from sluice.demo.emulator_server import BackgroundEmulators
from sluice.demo.warehouse import build_demo_warehouse
from sluice.demo.workspace import DemoWorkspace, seed_demo_workspace
from sluice.destinations.emulators import demo_contacts
from sluice.destinations.sdk import Target
from sluice.jobs.probes import model_probe
from sluice.jobs.runtime import JobRuntime
from sluice.store.db import Database
from sluice.store.tables.activations import Activation, Run

pytestmark = pytest.mark.slow

VIP = "VIP France → Mailchimp"


def wait_for(condition: Callable[[], bool], what: str, seconds: float = 240) -> None:
    deadline = time.monotonic() + seconds
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError(f"gave up waiting for {what}")
        time.sleep(0.2)


@pytest.fixture
def demo(sqlite_database: Database, tmp_path: Path) -> Iterator[tuple[BackgroundEmulators, DemoWorkspace]]:
    warehouse = tmp_path / "demo.duckdb"
    build_demo_warehouse(users=2000, seed=7, path=warehouse, as_of=date.today())
    with BackgroundEmulators(contacts=demo_contacts(warehouse)) as emulators:
        yield (
            emulators,
            seed_demo_workspace(sqlite_database, warehouse=warehouse, emulators_url=emulators.url),
        )


def test_scheduled_sync_pauses_on_revoked_key_and_converges_after_resume(
    client: TestClient,
    sqlite_database: Database,
    settings: Settings,
    demo: tuple[BackgroundEmulators, DemoWorkspace],
    http_receiver: HttpReceiver,
) -> None:
    emulators, workspace = demo
    database = sqlite_database
    mailchimp = emulators.emulators["mailchimp"]
    good_key = mailchimp.api_key
    activation_id = workspace.activations[VIP]
    with database.session() as session:
        activation = session.get(Activation, activation_id)
        assert activation is not None
        activation.schedule = {"kind": "interval", "seconds": 3}
    hook = {"name": "hook", "kind": "webhook", "url": http_receiver.url, "events": ["pause", "resume"]}
    assert client.post("/api/v1/alert-channels", json=hook).status_code == 201

    def runs() -> list[Run]:
        with database.session() as session:
            return list(
                session.scalars(select(Run).where(Run.activation_id == activation_id).order_by(Run.id))
            )

    def members() -> set[str]:
        with database.session() as session:
            found = session.get(Activation, activation_id)
            assert found is not None
            target_id = found.target.get("id")
        return set() if target_id is None else mailchimp.members(Target("static_segment", str(target_id), ""))

    def paused() -> bool:
        return bool(client.get(f"/api/v1/activations/{activation_id}/schedule").json()["paused"])

    run_settings = settings.model_copy(
        update={
            "schedule_seconds_allowed": True,
            "scheduler_tick_seconds": 0.3,
            "probe_backoff_seconds": 1.0,
            "probe_backoff_max_seconds": 2.0,
        }
    )
    runtime = JobRuntime(database, run_settings, worker_name="e2e")
    runtime.start()
    try:
        wait_for(
            lambda: len([r for r in runs() if r.state in ("succeeded", "partial")]) >= 2,
            "two scheduled syncs",
        )
        first = next(r for r in runs() if r.state in ("succeeded", "partial"))
        assert first.trigger == "schedule"
        assert first.counts["delivered"] > 0
        delivered_before = members()
        assert len(delivered_before) == first.counts["delivered"]

        mailchimp.api_key = "revoked000000000000000000000-us1"  # the key is revoked at the vendor
        wait_for(paused, "the automatic pause")
        failed = [r for r in runs() if r.state == "failed"]
        assert failed[-1].error_kind == "config"
        assert "API key" in (failed[-1].error or "")
        wait_for(
            lambda: client.get(f"/api/v1/activations/{activation_id}/schedule").json()["probe_attempts"] >= 1,
            "a failed probe",
        )
        assert paused()

        mailchimp.api_key = good_key  # the key works again
        wait_for(lambda: not paused(), "the automatic resume")
        wait_for(
            lambda: any(r.trigger == "probe" and r.state in ("succeeded", "partial") for r in runs()),
            "the run queued by the resume",
        )
    finally:
        runtime.stop()
    assert members() >= delivered_before
    assert [body["event"] for _, body in http_receiver.received][:2] == ["pause", "resume"]


def test_model_probe_notices_a_mapped_column_gone_from_the_source(
    sqlite_database: Database, tmp_path: Path, demo: tuple[BackgroundEmulators, DemoWorkspace]
) -> None:
    _, workspace = demo
    activation_id = workspace.activations[VIP]
    healthy = model_probe(sqlite_database, activation_id)
    assert healthy.healthy, healthy.message
    with duckdb.connect(str(tmp_path / "demo.duckdb")) as con:
        con.execute("ALTER TABLE users RENAME COLUMN first_name TO given_name")
    broken = model_probe(sqlite_database, activation_id)
    assert not broken.healthy
    assert broken.message.startswith("model '")
    assert "first_name" in broken.message
