"""Crash safety (BRIEF §4 rule 6): a worker killed with SIGKILL anywhere in a run loses nothing.

For each kill point, the audience changes (rows enter, leave, and change email), faults are
injected at the emulator, a worker process runs the sync and is killed at that point; the
reconciler fails the orphaned run, one more run converges: the Mailchimp static segment then holds
exactly the valid audience's existing contacts — nothing missing, no removal lost.
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import date, timedelta
from pathlib import Path

import duckdb
import pytest
from sqlalchemy import select

from sluice.core.settings import Settings
from sluice.demo.emulator_server import BackgroundEmulators
from sluice.demo.warehouse import build_demo_warehouse
from sluice.demo.workspace import seed_demo_workspace
from sluice.destinations.emulators import demo_contacts, keeps
from sluice.destinations.sdk import Target
from sluice.schemas.segments import SegmentDefinition
from sluice.store.db import Database
from sluice.store.tables.activations import Activation, Run
from sluice.store.tables.models import Model
from sluice.store.tables.segments import Segment
from sluice.sync.crashpoints import ENVIRONMENT_VARIABLE
from sluice.sync.runner import execute_run
from sluice.sync.runs import RunRequest, fail_stale_runs, request_run
from sluice.sync.validate import EMAIL_PATTERN

TIERS = ["silver", "gold", "platinum"]
KILL_POINTS = [
    "claimed",
    "extracted",
    "validated",
    "diffed",
    "planned",
    "batch_delivered:1",
    "batch_delivered:4",
    "delivered",
    "snapshot_written",
    "outcomes_written",
    "committed",
]
WORKER = (
    "import sys\n"
    "from sluice.core.settings import load_settings\n"
    "from sluice.store.db import Database\n"
    "from sluice.sync.runner import execute_run\n"
    "settings = load_settings()\n"
    "execute_run(Database.from_settings(settings), settings, sys.argv[1], worker='doomed')\n"
)


@dataclass
class Setup:
    settings: Settings
    database: Database
    warehouse: Path
    emulators: BackgroundEmulators
    activation_id: str
    contacts: set[str]

    def expected(self) -> set[str]:
        """The valid audience's existing Mailchimp contacts, computed without Sluice."""
        with duckdb.connect(str(self.warehouse), read_only=True) as con:
            rows = con.execute(
                "SELECT user_id, lower(trim(email)) FROM users WHERE loyalty_tier IN (SELECT unnest(?))",
                [TIERS],
            ).fetchall()
        keys = [key for key, _ in rows]
        valid = {
            email
            for key, email in rows
            if key is not None and keys.count(key) == 1 and email and re.fullmatch(EMAIL_PATTERN, email)
        }
        return valid & self.contacts

    def members(self) -> set[str]:
        with self.database.session() as session:
            activation = session.get(Activation, self.activation_id)
            assert activation is not None
            segment_id = activation.target.get("id")
        emulator = self.emulators.emulators["mailchimp"]
        return emulator.members(Target("static_segment", str(segment_id), "")) if segment_id else set()

    def queue(self) -> str:
        with self.database.session() as session:
            activation = session.get(Activation, self.activation_id)
            assert activation is not None
            return request_run(session, activation, RunRequest()).id

    def run_here(self) -> Run:
        run_id = self.queue()
        execute_run(self.database, self.settings, run_id, worker="survivor")
        with self.database.session() as session:
            run = session.get(Run, run_id)
            assert run is not None
            session.expunge(run)
            return run


@pytest.fixture
def setup(settings: Settings, sqlite_database: Database, tmp_path: Path) -> Iterator[Setup]:
    warehouse = tmp_path / "demo.duckdb"
    build_demo_warehouse(users=1500, seed=3, path=warehouse, as_of=date.today())
    contacts = demo_contacts(warehouse)
    # What the emulators are seeded with: about 90% of the demo users.
    existing = {email.lower() for email in contacts if keeps(email, 0.9)}
    with BackgroundEmulators(contacts=contacts) as emulators:
        workspace = seed_demo_workspace(sqlite_database, warehouse=warehouse, emulators_url=emulators.url)
        with sqlite_database.session() as session:
            users = session.scalars(select(Model).where(Model.name == "users")).one()
            definition = {
                "conditions": {
                    "conditions": [
                        {"kind": "property", "field": "loyalty_tier", "operator": "in", "values": TIERS}
                    ]
                }
            }
            segment = Segment(
                workspace_id=workspace.workspace_id,
                name="Crash test audience",
                model_id=users.id,
                type="conditions",
                definition=SegmentDefinition.model_validate(definition).model_dump(mode="json"),
            )
            session.add(segment)
            session.flush()
            activation = session.get(Activation, workspace.activations["Newsletter → Mailchimp"])
            assert activation is not None
            activation.segment_id = segment.id
            activation.settings = {"batch_rows": 40}
            activation_id = activation.id
        yield Setup(settings, sqlite_database, warehouse, emulators, activation_id, existing)


def churn(warehouse: Path, round_number: int) -> None:
    """Rows leave and enter the audience, and some change email."""
    with duckdb.connect(str(warehouse)) as con:
        con.execute(
            "UPDATE users SET loyalty_tier = CASE WHEN loyalty_tier = 'bronze' THEN 'gold' ELSE 'bronze' END "
            "WHERE user_id % 97 = ?",
            [round_number],
        )
        con.execute(
            "UPDATE users SET email = 'moved' || ? || '.' || email WHERE user_id % 89 = ? AND email LIKE '%@%'",
            [round_number, round_number],
        )


@pytest.mark.slow
def test_a_worker_killed_anywhere_loses_nothing(setup: Setup) -> None:
    first = setup.run_here()
    assert first.state in ("succeeded", "partial"), first.error
    assert setup.members() == setup.expected()
    environment = {**os.environ, "SLUICE_DATA_DIR": str(setup.settings.data_dir)}
    for round_number, point in enumerate(KILL_POINTS, start=1):
        churn(setup.warehouse, round_number)
        mailchimp = setup.emulators.emulators["mailchimp"]
        mailchimp.inject("server_error", 1)
        mailchimp.inject("rate_limit", 1)
        run_id = setup.queue()
        worker = subprocess.run(
            [sys.executable, "-c", WORKER, run_id],
            env={**environment, ENVIRONMENT_VARIABLE: point},
            capture_output=True,
            text=True,
            timeout=300,
            check=False,
        )
        assert worker.returncode == -9, (
            f"{point}: worker was not killed ({worker.returncode}): {worker.stderr[-2000:]}"
        )
        with setup.database.session() as session:
            reconciled = fail_stale_runs(session, stale_after=timedelta(0))
        assert reconciled == ([run_id] if point != "committed" else []), point
        recovery = setup.run_here()
        assert recovery.state in ("succeeded", "partial"), f"{point}: {recovery.error}"
        assert setup.members() == setup.expected(), (
            f"destination differs from the audience after a kill at {point}"
        )
