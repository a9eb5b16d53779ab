"""A real run to Google Ads Customer Match: demo warehouse (DuckDB) → segment → Google Ads emulator
over HTTP (OAuth token, jobs run and polled); only hashes leave, a full refresh replaces the list."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import date
from pathlib import Path

import duckdb
import pytest

from sluice.core.settings import Settings
from sluice.demo.emulator_server import BackgroundEmulators
from sluice.demo.warehouse import build_demo_warehouse
from sluice.demo.workspace import DemoWorkspace, seed_demo_workspace
from sluice.destinations.emulators import demo_contacts
from sluice.destinations.google_ads.connector import GoogleAdsConnector
from sluice.destinations.google_ads.emulator import GoogleAdsEmulator
from sluice.destinations.hashing import GOOGLE_ADS, PiiField, hash_value, sha256_hex
from sluice.destinations.testing.pii import scan
from sluice.segments.demo import NEWSLETTER
from sluice.store.db import Database
from sluice.store.tables.activations import Activation, Run
from sluice.store.tables.destinations import Destination
from sluice.store.tables.segments import Segment
from sluice.sync.runner import execute_run
from sluice.sync.runs import RunRequest, request_run


@pytest.fixture
def google_run(
    settings: Settings, sqlite_database: Database, tmp_path: Path
) -> Iterator[tuple[Database, Settings, BackgroundEmulators, str, Path]]:
    warehouse = tmp_path / "demo.duckdb"
    build_demo_warehouse(users=600, seed=7, path=warehouse, as_of=date.today())
    with BackgroundEmulators(contacts=demo_contacts(warehouse)) as emulators:
        workspace: DemoWorkspace = seed_demo_workspace(
            sqlite_database, warehouse=warehouse, emulators_url=emulators.url
        )
        config = emulators.emulators["google_ads"].connector_config(f"{emulators.url}/google_ads")
        secrets = set(GoogleAdsConnector.config_model.secret_field_names())
        with sqlite_database.session() as session:
            destination = Destination(
                workspace_id=workspace.workspace_id, name="Google Ads (emulator)", type="google_ads"
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
                name="Newsletter → Google Ads",
                segment_id=segment.id,
                destination_id=destination.id,
                service="membership",
                target={"kind": "user_list", "name": "Newsletter", "create_if_missing": True},
                identifier={"field": "email", "kind": "email"},
                mapping=[],
                schedule={"kind": "manual"},
                settings={},
            )
            session.add(activation)
            session.flush()
            activation_id = activation.id
        yield sqlite_database, settings, emulators, activation_id, warehouse


def google(email: str) -> str:
    """The hash Google Ads gets for a demo email (Google's normalisation: Gmail dots removed)."""
    return hash_value(PiiField.EMAIL, email, GOOGLE_ADS)


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


def test_a_run_creates_the_list_runs_a_job_and_sends_only_hashes(
    google_run: tuple[Database, Settings, BackgroundEmulators, str, Path],
) -> None:
    database, settings, emulators, activation_id, warehouse = google_run
    emulator = emulators.emulators["google_ads"]
    assert isinstance(emulator, GoogleAdsEmulator)
    emulator.job_polls = 0  # done on the first poll: the run waits on the real clock
    first = run_once(database, settings, activation_id)
    assert first.state == "succeeded", first.error
    assert first.counts["delivered"] > 0
    (user_list,) = emulator.user_lists.values()
    assert user_list.name == "Newsletter"
    assert len(user_list.members) == first.counts["delivered"]
    hashes_of_demo_users = {google(email) for email in demo_contacts(warehouse)}
    assert user_list.members <= hashes_of_demo_users, (
        "members are SHA-256 of emails normalised by Google's rules"
    )
    assert any(sha256_hex(e.lower()) != google(e) for e in demo_contacts(warehouse)), (
        "Gmail dots were removed"
    )
    assert set(emulator.state()["jobs"].values()) == {"SUCCESS"}
    assert emulator.oauth.token_requests == 1
    assert scan(emulator) == []
    assert emulator.limit_violations == []

    again = run_once(database, settings, activation_id)
    assert again.state == "succeeded", again.error
    assert again.counts.get("delivered", 0) == 0, "an unchanged audience sends nothing"


def test_a_full_refresh_replaces_the_list_in_one_job(
    google_run: tuple[Database, Settings, BackgroundEmulators, str, Path],
) -> None:
    database, settings, emulators, activation_id, warehouse = google_run
    emulator = emulators.emulators["google_ads"]
    assert isinstance(emulator, GoogleAdsEmulator)
    emulator.job_polls = 0
    assert run_once(database, settings, activation_id).state == "succeeded"
    (user_list,) = emulator.user_lists.values()
    before = set(user_list.members)
    stray = sha256_hex("added.by.hand@example.com")
    user_list.members.add(stray)
    leaver = next(e for e in demo_contacts(warehouse) if google(e) in before)
    with duckdb.connect(str(warehouse)) as con:
        con.execute("UPDATE users SET email_consent = false WHERE email = ?", [leaver])
    jobs_before = len(emulator.jobs)

    with database.session() as session:
        activation = session.get(Activation, activation_id)
        assert activation is not None
        run_id = request_run(session, activation, RunRequest(full_refresh=True)).id
    execute_run(database, settings, run_id, worker="test")
    with database.session() as session:
        run = session.get(Run, run_id)
        assert run is not None
        assert run.state == "succeeded", run.error

    left = google(leaver)
    assert user_list.members == before - {left}, "the stray and the leaver are gone, everyone else stays"
    assert len(emulator.jobs) == jobs_before + 1, "one job replaced the list"
    assert scan(emulator) == []

    again = run_once(database, settings, activation_id)
    assert again.state == "succeeded", again.error
    assert again.counts.get("delivered", 0) == 0, "the snapshot matches the replaced list"
