"""The demo workspace's Emarsys, Meta, Google Ads and TikTok activations run as `make run` serves them:
demo warehouse → segment → emulator over HTTP through the stored destination; the ad platforms receive
only SHA-256 digests, and an unchanged segment sends nothing the second time."""

from __future__ import annotations

from datetime import date
from pathlib import Path

from sluice.core.settings import Settings
from sluice.demo.emulator_server import BackgroundEmulators
from sluice.demo.warehouse import build_demo_warehouse
from sluice.demo.workspace import seed_demo_workspace
from sluice.destinations.emulators import demo_contacts
from sluice.destinations.testing.pii import scan
from sluice.destinations.testing.runs import run_once
from sluice.store.db import Database

AD_ACTIVATIONS = {
    "meta": "Lookalike seed → Meta custom audience",
    "google_ads": "VIP France → Google Ads Customer Match",
    "tiktok": "Churn risk → TikTok audience",
}


def test_demo_ad_and_crm_activations_deliver(
    settings: Settings, sqlite_database: Database, tmp_path: Path
) -> None:
    warehouse = tmp_path / "demo.duckdb"
    build_demo_warehouse(users=1500, seed=5, path=warehouse, as_of=date.today())
    with BackgroundEmulators(contacts=demo_contacts(warehouse)) as emulators:
        demo = seed_demo_workspace(
            sqlite_database, warehouse=warehouse, emulators_url=emulators.url, emulators=emulators.emulators
        )

        emarsys = run_once(sqlite_database, settings, demo.activations["Newsletter → Emarsys"])
        assert emarsys.state in ("succeeded", "partial"), emarsys.error
        assert emarsys.counts["delivered"] > 0
        assert emarsys.counts["failed"] == 0

        for destination, name in AD_ACTIVATIONS.items():
            first = run_once(sqlite_database, settings, demo.activations[name])
            assert first.state == "succeeded", (destination, first.error)
            assert first.counts["failed"] == 0, destination
            assert first.counts["delivered"] == first.counts["added"], destination
            emulator = emulators.emulators[destination]
            assert scan(emulator) == [], destination  # digests only
            second = run_once(sqlite_database, settings, demo.activations[name])
            assert second.state == "succeeded", (destination, second.error)
            assert second.counts["delivered"] == 0, destination
        assert (
            sum(
                run_once(sqlite_database, settings, demo.activations[n]).counts["audience"]
                for n in AD_ACTIVATIONS.values()
            )
            > 0
        )
