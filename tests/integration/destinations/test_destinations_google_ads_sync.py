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
from sluice.destinations.emulators import demo_contacts
from sluice.destinations.google_ads.emulator import GoogleAdsEmulator
from sluice.destinations.hashing import GOOGLE_ADS, PiiField, hash_value, sha256_hex
from sluice.destinations.testing.pii import scan
from sluice.destinations.testing.runs import newsletter_activation, run_once
from sluice.store.db import Database

Setup = tuple[Database, Settings, GoogleAdsEmulator, str, Path]


@pytest.fixture
def google_run(settings: Settings, sqlite_database: Database, tmp_path: Path) -> Iterator[Setup]:
    warehouse = tmp_path / "demo.duckdb"
    build_demo_warehouse(users=600, seed=7, path=warehouse, as_of=date.today())
    with BackgroundEmulators(contacts=demo_contacts(warehouse)) as emulators:
        target = {"kind": "user_list", "name": "Newsletter", "create_if_missing": True}
        activation_id = newsletter_activation(sqlite_database, emulators, warehouse, "google_ads", target)
        emulator = emulators.emulators["google_ads"]
        assert isinstance(emulator, GoogleAdsEmulator)
        emulator.job_polls = 0  # done on the first poll: the run waits on the real clock
        yield sqlite_database, settings, emulator, activation_id, warehouse


def google(email: str) -> str:
    """The hash Google Ads gets for a demo email (Google's normalisation: Gmail dots removed)."""
    return hash_value(PiiField.EMAIL, email, GOOGLE_ADS)


def test_a_run_creates_the_list_runs_a_job_and_sends_only_hashes(google_run: Setup) -> None:
    database, settings, emulator, activation_id, warehouse = google_run
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


def test_a_full_refresh_replaces_the_list_in_one_job(google_run: Setup) -> None:
    database, settings, emulator, activation_id, warehouse = google_run
    assert run_once(database, settings, activation_id).state == "succeeded"
    (user_list,) = emulator.user_lists.values()
    before = set(user_list.members)
    user_list.members.add(sha256_hex("added.by.hand@example.com"))  # unknown to Sluice
    leaver = next(e for e in demo_contacts(warehouse) if google(e) in before)
    with duckdb.connect(str(warehouse)) as con:
        con.execute("UPDATE users SET email_consent = false WHERE email = ?", [leaver])
    jobs_before = len(emulator.jobs)

    refreshed = run_once(database, settings, activation_id, full_refresh=True)
    assert refreshed.state == "succeeded", refreshed.error
    assert user_list.members == before - {google(leaver)}, (
        "the stray and the leaver are gone, everyone else stays"
    )
    assert len(emulator.jobs) == jobs_before + 1, "one job replaced the list"
    assert scan(emulator) == []

    again = run_once(database, settings, activation_id)
    assert again.state == "succeeded", again.error
    assert again.counts.get("delivered", 0) == 0, "the snapshot matches the replaced list"
