"""`sluice sync run NAME --wait` as a user runs it: a demo activation to an emulator over HTTP runs in the
command's process and prints the run's state and counts; run again, it sends nothing."""

from __future__ import annotations

import os
import subprocess
import sys
from datetime import date
from pathlib import Path

from sluice.core.settings import Settings
from sluice.demo.emulator_server import BackgroundEmulators
from sluice.demo.warehouse import build_demo_warehouse
from sluice.demo.workspace import seed_demo_workspace
from sluice.destinations.emulators import demo_contacts
from sluice.store.db import Database


def _sluice(*args: str, data_dir: Path) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("SLUICE_")} | {
        "SLUICE_DATA_DIR": str(data_dir)
    }
    return subprocess.run(
        [sys.executable, "-m", "sluice", *args], capture_output=True, text=True, env=env, timeout=120
    )


def test_sync_run_wait_prints_the_run_and_a_second_run_sends_nothing(
    settings: Settings, sqlite_database: Database, tmp_path: Path
) -> None:
    warehouse = tmp_path / "demo.duckdb"
    build_demo_warehouse(users=400, seed=3, path=warehouse, as_of=date.today())
    with BackgroundEmulators(contacts=demo_contacts(warehouse)) as emulators:
        seed_demo_workspace(
            sqlite_database, warehouse=warehouse, emulators_url=emulators.url, emulators=emulators.emulators
        )
        first = _sluice("sync", "run", "Newsletter → Brevo", "--wait", data_dir=settings.data_dir)
        assert first.returncode == 0, first.stderr
        assert ": partial" in first.stdout, first.stdout  # demo users unknown to Brevo are rejected
        delivered = next(line for line in first.stdout.splitlines() if "delivered" in line)
        assert int(delivered.split("│")[2].strip().replace(",", "")) > 0, first.stdout

        second = _sluice("sync", "run", "Newsletter → Brevo", "--wait", data_dir=settings.data_dir)
        assert second.returncode == 0, second.stderr
        delivered = next(line for line in second.stdout.splitlines() if "delivered" in line)
        assert int(delivered.split("│")[2].strip().replace(",", "")) == 0, second.stdout
