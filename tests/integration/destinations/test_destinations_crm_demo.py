"""Braze, Klaviyo, HubSpot and Brevo through the real sync runner, on the demo warehouse and the
emulators served over HTTP as ``make run`` serves them.

Each demo activation delivers its segment, rejects the demo users the vendor does not know (about 10%)
with the vendor's words, and a second run sends only those again. An upsert activation (HubSpot
contacts, removal *clear*) creates records, then sends only the changed row. One demo for all (its
set-up is the expensive part).
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from datetime import date
from pathlib import Path

import duckdb
import pytest

from sluice.core.settings import Settings
from sluice.demo.emulator_server import BackgroundEmulators
from sluice.demo.warehouse import build_demo_warehouse
from sluice.demo.workspace import DemoWorkspace, seed_demo_workspace
from sluice.destinations.emulators import demo_contacts
from sluice.destinations.sdk import Target
from sluice.store.db import Database
from sluice.store.tables.activations import Activation, Run
from sluice.sync.runner import execute_run
from sluice.sync.runs import request_run

ACTIVATIONS = {
    "braze": ("VIP France → Braze", "attribute"),
    "klaviyo": ("Newsletter → Klaviyo", "list"),
    "hubspot": ("Cart abandoners → HubSpot", "list"),
    "brevo": ("Newsletter → Brevo", "list"),
}


@dataclass
class Demo:
    settings: Settings
    database: Database
    warehouse: Path
    emulators: BackgroundEmulators
    workspace: DemoWorkspace

    def run(self, activation_id: str) -> Run:
        with self.database.session() as session:
            activation = session.get(Activation, activation_id)
            assert activation is not None
            run_id = request_run(session, activation).id
        execute_run(self.database, self.settings, run_id, worker="test")
        with self.database.session() as session:
            run = session.get(Run, run_id)
            assert run is not None
            session.expunge(run)
            return run

    def target(self, activation_id: str, kind: str) -> Target:
        with self.database.session() as session:
            activation = session.get(Activation, activation_id)
            assert activation is not None
            return Target(kind, str(activation.target["id"]), "")


@pytest.fixture
def demo(settings: Settings, sqlite_database: Database, tmp_path: Path) -> Iterator[Demo]:
    warehouse = tmp_path / "demo.duckdb"
    build_demo_warehouse(users=400, seed=11, path=warehouse, as_of=date.today())
    with BackgroundEmulators(contacts=demo_contacts(warehouse)) as emulators:
        workspace = seed_demo_workspace(sqlite_database, warehouse=warehouse, emulators_url=emulators.url)
        yield Demo(settings, sqlite_database, warehouse, emulators, workspace)


def test_demo_activations_deliver_known_contacts_and_retry_only_the_rejected(demo: Demo) -> None:
    for destination, (name, kind) in ACTIVATIONS.items():
        activation_id = demo.workspace.activations[name]
        first = demo.run(activation_id)
        assert first.state == "partial", (
            destination,
            first.error,
        )  # some demo users are unknown to the vendor
        counts = first.counts
        assert counts["delivered"] > 0, destination
        assert counts["rejected"] > 0, destination
        assert counts["failed"] == 0, destination
        emulator = demo.emulators.emulators[destination]
        members = emulator.members(demo.target(activation_id, kind))
        assert len(members) == counts["delivered"], destination
        second = demo.run(activation_id)
        assert second.counts["added"] == counts["rejected"], destination
        assert second.counts["delivered"] == 0, destination
        assert emulator.members(demo.target(activation_id, kind)) == members, destination
    upsert_creates_records_then_sends_only_the_change(demo)


def upsert_creates_records_then_sends_only_the_change(demo: Demo) -> None:
    """A HubSpot contacts upsert activation (removal *clear*) through the same runner."""
    workspace = demo.workspace
    with demo.database.session() as session:
        template = session.get(Activation, workspace.activations["Newsletter → Klaviyo"])
        assert template is not None
        activation = Activation(
            workspace_id=workspace.workspace_id,
            name="Newsletter → HubSpot contacts",
            segment_id=template.segment_id,
            destination_id=workspace.destinations["hubspot"],
            service="upsert",
            target={"kind": "object", "id": "contacts"},
            identifier={"field": "email", "kind": "email"},
            mapping=[
                {"source": "first_name", "destination": "firstname"},
                {"source": "city", "destination": "city"},
            ],
            schedule={"kind": "manual"},
            settings={"removal": "clear"},
        )
        session.add(activation)
        session.flush()
        activation_id = activation.id
    hubspot = demo.emulators.emulators["hubspot"]
    contacts = Target("object", "contacts", "")
    before = {email for email, props in hubspot.records(contacts).items() if "firstname" in props}
    first = demo.run(activation_id)
    assert first.state == "succeeded", first.error
    created = {email for email, props in hubspot.records(contacts).items() if "firstname" in props}
    assert len(created - before) == first.counts["delivered"] > 0  # upserts create unknown contacts too
    email = sorted(created - before)[0]
    with duckdb.connect(str(demo.warehouse)) as con:
        con.execute("UPDATE users SET first_name = 'Renamed' WHERE lower(trim(email)) = ?", [email])
    second = demo.run(activation_id)
    assert second.counts["changed"] == 1
    assert second.counts["delivered"] == 1
    assert hubspot.records(contacts)[email]["firstname"] == "Renamed"
