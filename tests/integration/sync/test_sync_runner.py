"""A run end to end: demo warehouse → segment → Mailchimp emulator over HTTP, recorded in the store."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from datetime import date
from pathlib import Path

import duckdb
import pytest
from sqlalchemy import select

from sluice.core.settings import Settings
from sluice.demo.emulator_server import BackgroundEmulators
from sluice.demo.warehouse import build_demo_warehouse
from sluice.demo.workspace import DemoWorkspace, seed_demo_workspace
from sluice.destinations.emulators import demo_contacts
from sluice.destinations.sdk import Target
from sluice.store.db import Database
from sluice.store.tables.activations import Activation, Run
from sluice.store.tables.models import ModelField
from sluice.store.tables.sources import Source
from sluice.sync.runner import execute_run
from sluice.sync.runs import RunRequest, request_run

VIP = "VIP France → Mailchimp"


@dataclass
class Demo:
    settings: Settings
    database: Database
    warehouse: Path
    emulators: BackgroundEmulators
    workspace: DemoWorkspace

    def run(self, name: str = VIP, **request: bool) -> Run:
        activation_id = self.workspace.activations[name]
        with self.database.session() as session:
            activation = session.get(Activation, activation_id)
            assert activation is not None
            run_id = request_run(session, activation, RunRequest(**request)).id
        execute_run(self.database, self.settings, run_id, worker="test")
        with self.database.session() as session:
            run = session.get(Run, run_id)
            assert run is not None
            session.expunge(run)
            return run

    def mailchimp_members(self, name: str = VIP) -> set[str]:
        with self.database.session() as session:
            activation = session.get(Activation, self.workspace.activations[name])
            assert activation is not None
            target = activation.target
        emulator = self.emulators.emulators["mailchimp"]
        segment_id = target.get("id")
        return (
            set() if segment_id is None else emulator.members(Target("static_segment", str(segment_id), ""))
        )


@pytest.fixture
def demo(settings: Settings, sqlite_database: Database, tmp_path: Path) -> Iterator[Demo]:
    warehouse = tmp_path / "demo.duckdb"
    build_demo_warehouse(users=3000, seed=42, path=warehouse, as_of=date.today())
    with BackgroundEmulators(contacts=demo_contacts(warehouse)) as emulators:
        workspace = seed_demo_workspace(sqlite_database, warehouse=warehouse, emulators_url=emulators.url)
        yield Demo(settings, sqlite_database, warehouse, emulators, workspace)


def test_first_run_sends_the_audience_and_the_second_sends_nothing(demo: Demo) -> None:
    first = demo.run()
    assert first.state in ("succeeded", "partial"), first.error
    counts = first.counts
    assert counts["audience"] > 0
    assert counts["delivered"] + counts["rejected"] + counts["failed"] == counts["planned"]
    members = demo.mailchimp_members()
    assert len(members) == counts["delivered"]
    # About 10% of demo users are not Mailchimp contacts: rejected with the vendor's message, retried later.
    assert counts["rejected"] > 0
    assert first.outcomes_uri
    assert set(first.timings) >= {"extract", "validate", "diff", "plan", "load", "commit"}
    second = demo.run()
    assert second.counts["added"] == counts["rejected"]  # only the rejected rows are tried again
    assert second.counts["removed"] == 0
    assert demo.mailchimp_members() == members


def test_rows_leaving_the_segment_are_removed(demo: Demo) -> None:
    demo.run()
    before = demo.mailchimp_members()
    leaving = sorted(before)[:5]
    with duckdb.connect(str(demo.warehouse)) as con:
        con.execute("UPDATE users SET loyalty_tier = 'bronze' WHERE email IN (SELECT unnest(?))", [leaving])
    run = demo.run()
    assert run.counts["removed"] == len(leaving)
    assert demo.mailchimp_members() == before - set(leaving)


def test_runs_delete_the_snapshot_files_no_pointer_needs(demo: Demo) -> None:
    demo.run()  # a full snapshot
    with duckdb.connect(str(demo.warehouse)) as con:
        con.execute(
            "UPDATE users SET loyalty_tier = 'bronze' WHERE email IN (SELECT email FROM users LIMIT 40)"
        )
    demo.run()  # a delta and its manifest
    demo.run(full_refresh=True)  # a new full snapshot: the older files are left over
    last = demo.run()  # nothing new to deliver; the run first sweeps the leftovers
    assert last.state in ("succeeded", "partial"), last.error
    with demo.database.session() as session:
        activation = session.get(Activation, demo.workspace.activations[VIP])
        assert activation is not None
        pointer = Path(activation.snapshot_uri or "")
    assert pointer.suffix == ".parquet"
    assert {p.name for p in pointer.parent.iterdir() if p.is_file()} == {pointer.name}
    assert len(list((pointer.parent / "outcomes").iterdir())) == 4  # run history keeps its outcomes


def test_dry_run_sends_nothing(demo: Demo) -> None:
    run = demo.run(dry_run=True)
    assert run.state == "succeeded"
    assert run.counts["planned"] > 0
    assert demo.mailchimp_members() == set()


def test_bad_credentials_fail_the_run_with_a_config_error(demo: Demo) -> None:
    demo.emulators.emulators["mailchimp"].api_key = "rotated0000000000000000000000-us1"
    run = demo.run()
    assert run.state == "failed"
    assert run.error_kind == "config"
    assert "API key" in (run.error or "")


def _set_diff_mode(demo: Demo, mode: str) -> None:
    with demo.database.session() as session:
        activation = session.get(Activation, demo.workspace.activations[VIP])
        assert activation is not None
        activation.settings = {**(activation.settings or {}), "diff_mode": mode}


def _make_source_writable(demo: Demo) -> None:
    """The demo opens its file read-only (many readers); here one process runs everything."""
    with demo.database.session() as session:
        for source in session.scalars(select(Source)):
            source.config = {**source.config, "read_only": False, "bookkeeping_schema": "sluice"}


def test_in_warehouse_diff_mode_converges_and_switching_modes_loses_nothing(demo: Demo) -> None:
    _make_source_writable(demo)
    _set_diff_mode(demo, "warehouse")
    first = demo.run()
    assert first.state in ("succeeded", "partial"), first.error
    with demo.database.session() as session:
        activation = session.get(Activation, demo.workspace.activations[VIP])
        assert activation is not None
        assert (activation.snapshot_uri or "").startswith("warehouse://sluice/")
    members = demo.mailchimp_members()
    assert len(members) == first.counts["delivered"]

    leaving = sorted(members)[:5]
    with duckdb.connect(str(demo.warehouse)) as con:
        con.execute("UPDATE users SET loyalty_tier = 'bronze' WHERE email IN (SELECT unnest(?))", [leaving])
    second = demo.run()
    assert second.counts["removed"] == len(leaving)
    assert second.counts["added"] == first.counts["rejected"]  # the rejected rows are retried, nothing else
    assert demo.mailchimp_members() == members - set(leaving)

    _set_diff_mode(demo, "local")
    third = demo.run()  # the snapshot moves out of the warehouse; hashes differ, so every row is re-sent once
    assert third.state in ("succeeded", "partial"), third.error
    assert third.counts["removed"] == 0
    assert demo.mailchimp_members() == members - set(leaving)
    with demo.database.session() as session:
        activation = session.get(Activation, demo.workspace.activations[VIP])
        assert activation is not None
        assert (activation.snapshot_uri or "").endswith(".parquet")
    assert demo.run().counts["added"] == third.counts["rejected"]


def test_a_model_that_drifted_stops_the_run_before_anything_is_sent(demo: Demo) -> None:
    with duckdb.connect(str(demo.warehouse)) as con:
        con.execute("ALTER TABLE users RENAME COLUMN first_name TO given_name")
    run = demo.run()
    assert run.state == "failed"
    assert run.error_kind == "config"  # pauses the activation until the model is repaired
    assert "no longer matches its source" in (run.error or "")
    assert "first_name" in (run.error or "")
    assert demo.mailchimp_members() == set()
    with demo.database.session() as session:
        broken = [f.name for f in session.scalars(select(ModelField)) if f.broken_reason]
    assert "first_name" in broken
