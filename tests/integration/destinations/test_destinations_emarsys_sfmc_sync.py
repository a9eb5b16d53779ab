"""Emarsys and Salesforce Marketing Cloud through the real sync runner, on the demo warehouse and the
emulators served over HTTP as ``make run`` serves them: a contact-list export (unknown demo users
rejected with Emarsys' words, only they are sent again), an Emarsys contacts upsert and a Marketing
Cloud data extension upsert (records created, then only the changed row sent)."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from datetime import date
from pathlib import Path
from typing import Any

import duckdb
import pytest

from sluice.core.settings import Settings
from sluice.demo.emulator_server import BackgroundEmulators
from sluice.demo.warehouse import build_demo_warehouse
from sluice.demo.workspace import DemoWorkspace, seed_demo_workspace
from sluice.destinations import registry
from sluice.destinations.emulators import demo_contacts
from sluice.destinations.sdk import IdentifierKind, Target
from sluice.store.db import Database
from sluice.store.tables.activations import Activation, Run
from sluice.store.tables.destinations import Destination
from sluice.sync.runner import execute_run
from sluice.sync.runs import request_run


@dataclass
class Demo:
    settings: Settings
    database: Database
    warehouse: Path
    emulators: BackgroundEmulators
    workspace: DemoWorkspace

    def destination(self, type_name: str) -> str:
        """A destination of ``type_name`` on its emulator (secrets stored encrypted, as the API does)."""
        config = self.emulators.emulators[type_name].connector_config(f"{self.emulators.url}/{type_name}")
        secrets = set(registry.get(type_name).config_model.secret_field_names())
        with self.database.session() as session:
            row = Destination(
                workspace_id=self.workspace.workspace_id, name=f"{type_name} (sync test)", type=type_name
            )
            session.add(row)
            row.config = {k: v for k, v in config.items() if k not in secrets}
            row.write_secrets(self.database.secrets, {k: v for k, v in config.items() if k in secrets})
            session.flush()
            return row.id

    def activation(self, name: str, destination_id: str, **fields: Any) -> str:
        with self.database.session() as session:
            template = session.get(Activation, self.workspace.activations["Newsletter → Klaviyo"])
            assert template is not None
            activation = Activation(
                workspace_id=self.workspace.workspace_id,
                name=name,
                segment_id=template.segment_id,
                destination_id=destination_id,
                schedule={"kind": "manual"},
                **fields,
            )
            session.add(activation)
            session.flush()
            return activation.id

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

    def target(self, activation_id: str, kind: str, identifier: IdentifierKind) -> Target:
        with self.database.session() as session:
            activation = session.get(Activation, activation_id)
            assert activation is not None
            return Target(kind, str(activation.target["id"]), "", identifier_kind=identifier)

    def rename(self, email: str) -> None:
        with duckdb.connect(str(self.warehouse)) as con:
            con.execute(
                "UPDATE users SET first_name = 'Renamed' WHERE lower(trim(email)) = lower(trim(?))", [email]
            )


@pytest.fixture
def demo(settings: Settings, sqlite_database: Database, tmp_path: Path) -> Iterator[Demo]:
    warehouse = tmp_path / "demo.duckdb"
    build_demo_warehouse(users=300, seed=7, path=warehouse, as_of=date.today())
    with BackgroundEmulators(contacts=demo_contacts(warehouse)) as emulators:
        workspace = seed_demo_workspace(sqlite_database, warehouse=warehouse, emulators_url=emulators.url)
        yield Demo(settings, sqlite_database, warehouse, emulators, workspace)


def test_emarsys_and_marketing_cloud_activations_run_end_to_end(demo: Demo) -> None:
    emarsys = demo.destination("emarsys")
    emulator = demo.emulators.emulators["emarsys"]
    email = {"field": "email", "kind": "email"}

    listed = demo.activation(
        "Newsletter → Emarsys list",
        emarsys,
        service="membership",
        target={"kind": "contact_list", "name": "Newsletter", "create_if_missing": True},
        identifier=email,
        settings={},
    )
    first = demo.run(listed)
    assert first.state == "partial", first.error  # about 10% of demo users are unknown to Emarsys
    assert first.counts["delivered"] > 0
    assert first.counts["rejected"] > 0
    assert first.counts["failed"] == 0
    members = emulator.members(demo.target(listed, "contact_list", IdentifierKind.EMAIL))
    assert len(members) == first.counts["delivered"]
    second = demo.run(listed)
    assert second.counts["added"] == first.counts["rejected"]
    assert second.counts["delivered"] == 0

    contacts = demo.activation(
        "Newsletter → Emarsys contacts",
        emarsys,
        service="upsert",
        target={"kind": "contact"},
        identifier=email,
        mapping=[
            {"source": "first_name", "destination": "first_name"},
            {"source": "city", "destination": "city"},
        ],
        settings={"removal": "clear"},
    )
    upserted = demo.run(contacts)
    assert upserted.state == "succeeded", upserted.error  # create_if_not_exists creates the unknown ones
    contact_target = Target("contact", "contact", "", identifier_kind=IdentifierKind.EMAIL)
    named = {e for e, fields in emulator.records(contact_target).items() if fields["first_name"]}
    assert len(named) >= upserted.counts["delivered"] > 0
    changed = sorted(named)[0]
    demo.rename(changed)
    again = demo.run(contacts)
    assert again.counts["changed"] == 1
    assert again.counts["delivered"] == 1
    assert emulator.records(contact_target)[changed]["first_name"] == "Renamed"

    sfmc = demo.emulators.emulators["sfmc"]
    rows = demo.activation(
        "Newsletter → Marketing Cloud",
        demo.destination("sfmc"),
        service="upsert",
        target={"kind": "data_extension", "id": "sluice-newsletter"},
        identifier=email,
        mapping=[{"source": "first_name", "destination": "FirstName"}],
        settings={"removal": "clear"},
    )
    synced = demo.run(rows)
    assert synced.state == "succeeded", synced.error
    newsletter = Target("data_extension", "sluice-newsletter", "")
    assert len(sfmc.records(newsletter)) == synced.counts["delivered"] > 0
    changed = next(e for e, row in sorted(sfmc.records(newsletter).items()) if row["FirstName"] != "Renamed")
    demo.rename(changed)
    resent = demo.run(rows)
    assert resent.counts["delivered"] == 1
    assert sfmc.records(newsletter)[changed]["FirstName"] == "Renamed"
