"""A real run to Meta: demo warehouse (DuckDB) → segment → Meta emulator over HTTP; only hashes leave."""

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
from sluice.destinations.hashing import sha256_hex
from sluice.destinations.meta.emulator import MetaEmulator
from sluice.destinations.testing.pii import scan
from sluice.destinations.testing.runs import newsletter_activation, run_once
from sluice.store.db import Database


@pytest.fixture
def meta_run(
    settings: Settings, sqlite_database: Database, tmp_path: Path
) -> Iterator[tuple[Database, Settings, BackgroundEmulators, str, Path]]:
    warehouse = tmp_path / "demo.duckdb"
    build_demo_warehouse(users=600, seed=7, path=warehouse, as_of=date.today())
    with BackgroundEmulators(contacts=demo_contacts(warehouse)) as emulators:
        target = {"kind": "custom_audience", "name": "Newsletter", "create_if_missing": True}
        activation_id = newsletter_activation(sqlite_database, emulators, warehouse, "meta", target)
        yield sqlite_database, settings, emulators, activation_id, warehouse


def test_a_run_creates_the_audience_and_sends_only_hashes(
    meta_run: tuple[Database, Settings, BackgroundEmulators, str, Path],
) -> None:
    database, settings, emulators, activation_id, warehouse = meta_run
    first = run_once(database, settings, activation_id)
    assert first.state == "succeeded", first.error
    assert first.counts["delivered"] > 0
    emulator = emulators.emulators["meta"]
    assert isinstance(emulator, MetaEmulator)
    (audience,) = emulator.accounts["act_1234567890"].audiences.values()
    assert audience.name == "Newsletter"
    assert audience.subtype == "CUSTOM"
    assert audience.customer_file_source == "USER_PROVIDED_ONLY"
    assert len(audience.members) == first.counts["delivered"]
    hashes_of_demo_users = {sha256_hex(email.strip().lower()) for email in demo_contacts(warehouse)}
    assert audience.members <= hashes_of_demo_users, "members are SHA-256 of normalised demo emails"
    writes = [r for r in emulator.requests if r.path.endswith("/users")]
    assert writes
    assert all(r.headers.get("authorization", "").startswith("Bearer ") for r in writes)
    assert all("access_token" not in r.query for r in emulator.requests), "the token stays out of URLs"
    assert scan(emulator) == []
    assert emulator.limit_violations == []

    again = run_once(database, settings, activation_id)
    assert again.state == "succeeded", again.error
    assert again.counts.get("delivered", 0) == 0, "an unchanged audience sends nothing"


def test_a_full_refresh_replaces_the_audience_so_leavers_are_removed(
    meta_run: tuple[Database, Settings, BackgroundEmulators, str, Path],
) -> None:
    database, settings, emulators, activation_id, warehouse = meta_run
    assert run_once(database, settings, activation_id).state == "succeeded"
    emulator = emulators.emulators["meta"]
    assert isinstance(emulator, MetaEmulator)
    (audience,) = emulator.accounts["act_1234567890"].audiences.values()
    before = set(audience.members)
    # someone added at Meta by hand (unknown to Sluice), and a member who leaves the segment
    stray = sha256_hex("added.by.hand@example.com")
    audience.members.add(stray)
    leaver = next(e for e in demo_contacts(warehouse) if sha256_hex(e.strip().lower()) in before)
    with duckdb.connect(str(warehouse)) as con:
        con.execute("UPDATE users SET email_consent = false WHERE email = ?", [leaver])
    left = sha256_hex(leaver.strip().lower())
    assert left in before

    refreshed = run_once(database, settings, activation_id, full_refresh=True)
    assert refreshed.state == "succeeded", refreshed.error

    assert audience.members == before - {left}, "the stray and the leaver are gone, everyone else stays"
    replaces = [r for r in emulator.requests if r.path.endswith("/usersreplace")]
    assert replaces
    assert replaces[-1].body["session"]["last_batch_flag"] is True
    assert [r.body["session"]["batch_seq"] for r in replaces] == list(range(1, len(replaces) + 1))
    assert {r.body["session"]["session_id"] for r in replaces} == {replaces[0].body["session"]["session_id"]}
    assert replaces[0].body["session"]["estimated_num_total"] == len(before) - 1
    assert emulator.replacements == 1
    assert scan(emulator) == []

    again = run_once(database, settings, activation_id)
    assert again.state == "succeeded", again.error
    assert again.counts.get("delivered", 0) == 0, "the snapshot matches the replaced audience"
