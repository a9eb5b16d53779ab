"""Iterable, SendGrid, Zendesk and Intercom contacts through the real sync runner, on the demo
warehouse and the emulators served over HTTP as ``make run`` serves them.

List exports (Iterable, SendGrid) deliver known users, reject the ~10% the vendor does not know and a
second run sends only those again. Upserts (Zendesk users, Intercom contacts) create records, send only
a changed row next time, and — with removal *clear* — clear the mapped fields of a user who left the
segment. One demo for all (its set-up is the expensive part).
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
from sluice.destinations.sdk import IdentifierKind, Target
from sluice.store.db import Database
from sluice.store.tables.activations import Activation, Run
from sluice.sync.runner import execute_run
from sluice.sync.runs import RunRequest, request_run

LISTS = {"iterable": "Newsletter → Iterable", "sendgrid": "Cart abandoners → SendGrid"}
UPSERTS = {
    "zendesk": ("VIP France → Zendesk users", Target("user", "users", "")),
    "intercom": ("VIP France → Intercom contacts", Target("contact", "contacts", "")),
}


@dataclass
class Demo:
    settings: Settings
    database: Database
    warehouse: Path
    emulators: BackgroundEmulators
    workspace: DemoWorkspace

    def run(self, name: str, *, full_refresh: bool = False) -> Run:
        with self.database.session() as session:
            activation = session.get(Activation, self.workspace.activations[name])
            assert activation is not None
            run_id = request_run(session, activation, RunRequest(full_refresh=full_refresh)).id
        execute_run(self.database, self.settings, run_id, worker="test")
        with self.database.session() as session:
            run = session.get(Run, run_id)
            assert run is not None
            session.expunge(run)
            return run

    def list_target(self, name: str) -> Target:
        with self.database.session() as session:
            activation = session.get(Activation, self.workspace.activations[name])
            assert activation is not None
            return Target("list", str(activation.target["id"]), "", identifier_kind=IdentifierKind.EMAIL)

    def set_removal(self, name: str, removal: str) -> None:
        with self.database.session() as session:
            activation = session.get(Activation, self.workspace.activations[name])
            assert activation is not None
            activation.settings = {**(activation.settings or {}), "removal": removal}


@pytest.fixture
def demo(settings: Settings, sqlite_database: Database, tmp_path: Path) -> Iterator[Demo]:
    warehouse = tmp_path / "demo.duckdb"
    build_demo_warehouse(users=400, seed=11, path=warehouse, as_of=date.today())
    with BackgroundEmulators(contacts=demo_contacts(warehouse)) as emulators:
        workspace = seed_demo_workspace(sqlite_database, warehouse=warehouse, emulators_url=emulators.url)
        yield Demo(settings, sqlite_database, warehouse, emulators, workspace)


def test_demo_list_exports_and_upserts_reach_the_emulators(demo: Demo) -> None:
    for destination, name in LISTS.items():
        first = demo.run(name)
        counts = first.counts
        assert first.state == "partial", (destination, first.error)  # unknown demo users are rejected
        assert counts["delivered"] > 0, destination
        assert counts["rejected"] > 0, destination
        assert counts["failed"] == 0, destination
        emulator = demo.emulators.emulators[destination]
        members = emulator.members(demo.list_target(name))
        assert len(members) == counts["delivered"], destination
        second = demo.run(name)
        assert second.counts["added"] == counts["rejected"], destination
        assert second.counts["delivered"] == 0, destination
        assert emulator.members(demo.list_target(name)) == members, destination
    for destination, (name, target) in UPSERTS.items():
        upsert_sends_changes_then_clears_a_leaver(demo, destination, name, target)


def upsert_sends_changes_then_clears_a_leaver(
    demo: Demo, destination: str, name: str, target: Target
) -> None:
    emulator = demo.emulators.emulators[destination]
    first = demo.run(name)
    assert first.state == "succeeded", (destination, first.error)
    delivered = first.counts["delivered"]
    records = emulator.records(target)
    tiered = sorted(email for email, fields in records.items() if fields.get("tier") in ("gold", "platinum"))
    assert len(tiered) == delivered > 1, destination  # upserts create users the vendor did not know
    renamed, leaver = tiered[0], tiered[1]
    with duckdb.connect(str(demo.warehouse)) as con:
        con.execute(
            "UPDATE users SET first_name = ? WHERE lower(trim(email)) = ?", [destination, renamed.lower()]
        )
        con.execute("UPDATE users SET country = 'DE' WHERE lower(trim(email)) = ?", [leaver.lower()])
    demo.set_removal(name, "clear")
    second = demo.run(name)
    assert second.state == "succeeded", (destination, second.error)
    assert (second.counts["changed"], second.counts["removed"], second.counts["delivered"]) == (1, 1, 2)
    records = emulator.records(target)
    assert str(records[renamed]["name"]).startswith(f"{destination} "), destination
    assert not records[leaver].get("tier"), destination  # cleared, the record itself stays
    before = len(emulator.requests)
    refreshed = demo.run(name, full_refresh=True)  # an upsert's full refresh resends its audience
    assert refreshed.state == "succeeded", (destination, refreshed.error)
    assert refreshed.counts["delivered"] == refreshed.counts["audience"] == delivered - 1, destination
    searched = [r.body for r in list(emulator.requests)[before:] if r.path == "/contacts/search"]
    assert all("segment_id" not in str(body) for body in searched), "no members read for an upsert"
