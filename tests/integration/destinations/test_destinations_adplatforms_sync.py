"""Real runs to Snapchat, TikTok and Pinterest: demo warehouse (DuckDB) → segment → emulator over
HTTP, through the stored destination (OAuth client and refresh token for Snapchat and Pinterest,
encrypted); the audience is created, only SHA-256 digests of demo emails leave, and an unchanged
segment sends nothing the second time."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from datetime import date
from pathlib import Path

import pytest

from sluice.core.settings import Settings
from sluice.demo.emulator_server import BackgroundEmulators
from sluice.demo.warehouse import build_demo_warehouse
from sluice.demo.workspace import seed_demo_workspace
from sluice.destinations import registry
from sluice.destinations.emulation import Emulator
from sluice.destinations.emulators import demo_contacts
from sluice.destinations.hashing import sha256_hex, unmatchable_digest
from sluice.destinations.pinterest.emulator import PinterestEmulator
from sluice.destinations.snapchat.emulator import SnapchatEmulator
from sluice.destinations.testing.pii import scan
from sluice.destinations.tiktok.emulator import TikTokEmulator
from sluice.segments.demo import NEWSLETTER
from sluice.store.db import Database
from sluice.store.tables.activations import Activation, Run
from sluice.store.tables.destinations import Destination
from sluice.store.tables.segments import Segment
from sluice.sync.runner import execute_run
from sluice.sync.runs import RunRequest, request_run


def snapchat_digests(emulator: Emulator) -> list[set[str]]:
    assert isinstance(emulator, SnapchatEmulator)
    return [s.members for s in emulator.segments.values()]


def tiktok_digests(emulator: Emulator) -> list[set[str]]:
    assert isinstance(emulator, TikTokEmulator)
    return [a.members for a in emulator.audiences.values()]


def pinterest_digests(emulator: Emulator) -> list[set[str]]:
    assert isinstance(emulator, PinterestEmulator)
    return [c.records for c in emulator.lists.values()]


#: destination type → target kind and how to read the digests its emulator holds per target
PLATFORMS: dict[str, tuple[str, Callable[[Emulator], list[set[str]]]]] = {
    "snapchat": ("segment", snapchat_digests),
    "tiktok": ("custom_audience", tiktok_digests),
    "pinterest": ("customer_list", pinterest_digests),
}

Setup = tuple[Database, Settings, BackgroundEmulators, str, Path, str]


@pytest.fixture(params=list(PLATFORMS))
def platform_run(
    request: pytest.FixtureRequest, settings: Settings, sqlite_database: Database, tmp_path: Path
) -> Iterator[Setup]:
    type_name = str(request.param)
    warehouse = tmp_path / "demo.duckdb"
    build_demo_warehouse(users=400, seed=11, path=warehouse, as_of=date.today())
    with BackgroundEmulators(contacts=demo_contacts(warehouse)) as emulators:
        workspace = seed_demo_workspace(sqlite_database, warehouse=warehouse, emulators_url=emulators.url)
        config = emulators.emulators[type_name].connector_config(f"{emulators.url}/{type_name}")
        secrets = set(registry.get(type_name).config_model.secret_field_names())
        with sqlite_database.session() as session:
            destination = Destination(
                workspace_id=workspace.workspace_id, name=f"{type_name} (emulator)", type=type_name
            )
            session.add(destination)
            destination.config = {k: v for k, v in config.items() if k not in secrets}
            destination.write_secrets(
                sqlite_database.secrets, {k: v for k, v in config.items() if k in secrets}
            )
            session.flush()
            segment = (
                session.query(Segment).filter_by(workspace_id=workspace.workspace_id, name=NEWSLETTER).one()
            )
            activation = Activation(
                workspace_id=workspace.workspace_id,
                name=f"Newsletter → {type_name}",
                segment_id=segment.id,
                destination_id=destination.id,
                service="membership",
                target={"kind": PLATFORMS[type_name][0], "name": "Newsletter", "create_if_missing": True},
                identifier={"field": "email", "kind": "email"},
                mapping=[],
                schedule={"kind": "manual"},
                settings={},
            )
            session.add(activation)
            session.flush()
            activation_id = activation.id
        yield sqlite_database, settings, emulators, activation_id, warehouse, type_name


def run_once(database: Database, settings: Settings, activation_id: str) -> Run:
    with database.session() as session:
        activation = session.get(Activation, activation_id)
        assert activation is not None
        run_id = request_run(session, activation, RunRequest()).id
    execute_run(database, settings, run_id, worker="test")
    with database.session() as session:
        run = session.get(Run, run_id)
        assert run is not None
        session.expunge(run)
        return run


def test_a_run_creates_the_audience_and_sends_only_digests(platform_run: Setup) -> None:
    database, settings, emulators, activation_id, warehouse, type_name = platform_run
    first = run_once(database, settings, activation_id)
    assert first.state == "succeeded", first.error
    assert first.counts["delivered"] > 0
    emulator = emulators.emulators[type_name]
    (held,) = PLATFORMS[type_name][1](emulator)
    demo_digests = {sha256_hex(email.strip().lower()) for email in demo_contacts(warehouse)}
    assert held - {unmatchable_digest()} <= demo_digests, "members are SHA-256 of normalised demo emails"
    assert len(held - {unmatchable_digest()}) == first.counts["delivered"]
    assert scan(emulator) == []
    assert emulator.limit_violations == []

    again = run_once(database, settings, activation_id)
    assert again.state == "succeeded", again.error
    assert again.counts.get("delivered", 0) == 0, "an unchanged segment sends nothing"
