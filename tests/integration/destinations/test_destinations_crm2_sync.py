"""Splio, Actito and Batch through the real sync runner, on the demo warehouse and the emulators served
over HTTP as ``make run`` serves them: membership runs reject the demo users the vendor does not know
(about 10%) with the vendor's words and a second run sends only those again; a Batch profile upsert
creates profiles by custom id, then sends only the changed row."""

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
from sluice.demo.workspace import seed_demo_workspace
from sluice.destinations import registry
from sluice.destinations.emulators import demo_contacts
from sluice.destinations.sdk import IdentifierKind, Target
from sluice.segments.demo import NEWSLETTER
from sluice.store.db import Database
from sluice.store.tables.activations import Activation, Run
from sluice.store.tables.destinations import Destination
from sluice.store.tables.segments import Segment
from sluice.sync.runner import execute_run
from sluice.sync.runs import request_run


@dataclass
class Demo:
    settings: Settings
    database: Database
    warehouse: Path
    emulators: BackgroundEmulators
    workspace_id: str
    newsletter_id: str

    def destination(self, type_name: str, **overrides: Any) -> str:
        """A destination of ``type_name`` pointing at its emulator (secrets stored encrypted)."""
        config = {
            **self.emulators.emulators[type_name].connector_config(f"{self.emulators.url}/{type_name}"),
            **overrides,
        }
        secrets = set(registry.get(type_name).config_model.secret_field_names())
        with self.database.session() as session:
            destination = Destination(
                workspace_id=self.workspace_id, name=f"{type_name} (emulator)", type=type_name
            )
            session.add(destination)
            destination.config = {k: v for k, v in config.items() if k not in secrets}
            destination.write_secrets(
                self.database.secrets, {k: v for k, v in config.items() if k in secrets}
            )
            session.flush()
            return destination.id

    def activation(self, destination_id: str, **fields: Any) -> str:
        with self.database.session() as session:
            activation = Activation(
                workspace_id=self.workspace_id,
                segment_id=self.newsletter_id,
                destination_id=destination_id,
                mapping=[],
                schedule={"kind": "manual"},
                settings={},
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

    def target(self, activation_id: str, kind: str) -> Target:
        with self.database.session() as session:
            activation = session.get(Activation, activation_id)
            assert activation is not None
            target = activation.target
            return Target(kind, str(target["id"]), "", parent_id=target.get("parent_id"))


@pytest.fixture
def demo(settings: Settings, sqlite_database: Database, tmp_path: Path) -> Iterator[Demo]:
    warehouse = tmp_path / "demo.duckdb"
    build_demo_warehouse(users=300, seed=5, path=warehouse, as_of=date.today())
    with BackgroundEmulators(contacts=demo_contacts(warehouse)) as emulators:
        workspace = seed_demo_workspace(sqlite_database, warehouse=warehouse, emulators_url=emulators.url)
        with sqlite_database.session() as session:
            newsletter = (
                session.query(Segment).filter_by(workspace_id=workspace.workspace_id, name=NEWSLETTER).one()
            )
            newsletter_id = newsletter.id
        yield Demo(settings, sqlite_database, warehouse, emulators, workspace.workspace_id, newsletter_id)


def assert_rejected_then_retried_alone(demo: Demo, activation_id: str, kind: str) -> None:
    first = demo.run(activation_id)
    assert first.state == "partial", first.error  # some demo users are unknown to the vendor
    counts = first.counts
    assert counts["delivered"] > 0
    assert counts["rejected"] > 0
    assert counts["failed"] == 0
    emulator = demo.emulators.emulators[kind.split(":")[0]]
    members = emulator.members(demo.target(activation_id, kind.split(":")[1]))
    assert len(members) == counts["delivered"]
    second = demo.run(activation_id)
    assert second.counts["added"] == counts["rejected"]
    assert second.counts["delivered"] == 0
    assert emulator.members(demo.target(activation_id, kind.split(":")[1])) == members


def test_splio_group_and_actito_segmentation_through_the_runner(demo: Demo) -> None:
    splio = demo.activation(
        demo.destination("splio"),
        name="Newsletter → Splio",
        service="membership",
        target={"kind": "group", "name": "Newsletter", "create_if_missing": True},
        identifier={"field": "email", "kind": "email"},
    )
    assert_rejected_then_retried_alone(demo, splio, "splio:group")
    actito = demo.activation(
        demo.destination("actito", requests_per_minute=6000),  # a licence with extension packs
        name="Newsletter → Actito",
        service="membership",
        target={"kind": "segmentation", "name": "Gold", "create_if_missing": False},
        identifier={"field": "email", "kind": "email"},
    )
    assert_rejected_then_retried_alone(demo, actito, "actito:segmentation")


def test_batch_profiles_are_created_by_custom_id_then_only_the_change_is_sent(demo: Demo) -> None:
    activation_id = demo.activation(
        demo.destination("batch"),
        name="Newsletter → Batch profiles",
        service="upsert",
        target={"kind": "profiles", "id": "profiles"},
        identifier={"field": "user_id", "kind": str(IdentifierKind.EXTERNAL_ID)},
    )
    with demo.database.session() as session:
        activation = session.get(Activation, activation_id)
        assert activation is not None
        activation.mapping = [{"source": "first_name", "destination": "first_name"}]
        activation.settings = {"removal": "clear"}
    batch = demo.emulators.emulators["batch"]
    first = demo.run(activation_id)
    assert first.state == "succeeded", first.error
    profiles = Target("profiles", "profiles", "")
    named = {cid: attrs for cid, attrs in batch.records(profiles).items() if "first_name" in attrs}
    assert len(named) == first.counts["delivered"] > 0, "every member's profile, created by custom id"
    custom_id = sorted(named)[0]
    with duckdb.connect(str(demo.warehouse)) as con:
        con.execute("UPDATE users SET first_name = 'Renamed' WHERE CAST(user_id AS VARCHAR) = ?", [custom_id])
    second = demo.run(activation_id)
    assert second.counts["changed"] == 1
    assert second.counts["delivered"] == 1
    assert batch.records(profiles)[custom_id]["first_name"] == "Renamed"
