"""A real events run to the Meta Conversions API: demo warehouse orders (an events model) → segment
of completed orders → Meta CAPI emulator over HTTP. Each order is sent once as a Purchase; orders
older than Meta's 7-day window are rejected before sending; only hashes leave."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import duckdb
import pytest
from sqlalchemy import select

from sluice.core.settings import Settings
from sluice.demo.emulator_server import BackgroundEmulators
from sluice.demo.warehouse import build_demo_warehouse
from sluice.demo.workspace import seed_demo_workspace
from sluice.destinations.emulators import demo_contacts
from sluice.destinations.hashing import sha256_hex
from sluice.destinations.meta_capi.connector import MetaCapiConnector
from sluice.destinations.meta_capi.emulator import PIXEL_ID, MetaCapiEmulator
from sluice.destinations.testing.pii import scan
from sluice.destinations.testing.runs import run_once
from sluice.schemas.segments import SegmentDefinition
from sluice.store.db import Database
from sluice.store.tables.activations import Activation
from sluice.store.tables.destinations import Destination
from sluice.store.tables.models import Model
from sluice.store.tables.segments import Segment

CompletedOrders = tuple[Database, Settings, MetaCapiEmulator, str, Path]


@pytest.fixture
def capi_run(settings: Settings, sqlite_database: Database, tmp_path: Path) -> Iterator[CompletedOrders]:
    warehouse = tmp_path / "demo.duckdb"
    build_demo_warehouse(users=300, seed=11, path=warehouse, as_of=date.today())
    with BackgroundEmulators(contacts=demo_contacts(warehouse)) as emulators:
        workspace = seed_demo_workspace(sqlite_database, warehouse=warehouse, emulators_url=emulators.url)
        emulator = emulators.emulators["meta_capi"]
        assert isinstance(emulator, MetaCapiEmulator)
        config = emulator.connector_config(f"{emulators.url}/meta_capi")
        secrets = set(MetaCapiConnector.config_model.secret_field_names())
        with sqlite_database.session() as session:
            orders = session.scalar(
                select(Model).where(Model.workspace_id == workspace.workspace_id, Model.name == "orders")
            )
            assert orders is not None
            definition = SegmentDefinition.model_validate(
                {
                    "conditions": {
                        "conditions": [
                            {
                                "kind": "property",
                                "field": "status",
                                "operator": "equals",
                                "value": "completed",
                            }
                        ]
                    }
                }
            )
            segment = Segment(
                workspace_id=workspace.workspace_id,
                name="Completed orders",
                model_id=orders.id,
                type="conditions",
                definition=definition.model_dump(mode="json"),
            )
            destination = Destination(
                workspace_id=workspace.workspace_id, name="Meta CAPI (emulator)", type="meta_capi"
            )
            session.add_all([segment, destination])
            destination.config = {k: v for k, v in config.items() if k not in secrets}
            destination.write_secrets(
                sqlite_database.secrets, {k: v for k, v in config.items() if k in secrets}
            )
            session.flush()
            activation = Activation(
                workspace_id=workspace.workspace_id,
                name="Completed orders → Meta CAPI",
                segment_id=segment.id,
                destination_id=destination.id,
                service="events",
                target={"kind": "event", "name": "Purchase"},
                identifier={"field": "user_id", "kind": "external_id"},
                mapping=[
                    {"source": "ordered_at", "destination": "event_time"},
                    {"source": "total", "destination": "value"},
                    {"source": "currency", "destination": "currency"},
                ],
                schedule={"kind": "manual"},
                settings={},
            )
            session.add(activation)
            session.flush()
            activation_id = activation.id
        yield sqlite_database, settings, emulator, activation_id, warehouse


def test_completed_orders_are_sent_once_as_purchases_within_the_window(capi_run: CompletedOrders) -> None:
    database, settings, emulator, activation_id, warehouse = capi_run
    with duckdb.connect(str(warehouse), read_only=True) as con:
        recent = dict(
            con.execute(
                "SELECT order_id::VARCHAR, user_id::VARCHAR FROM orders WHERE status = 'completed' "
                "AND ordered_at > ?",
                [datetime.now(UTC).replace(tzinfo=None) - timedelta(days=6, hours=23)],
            ).fetchall()
        )
        completed = con.execute("SELECT count(*) FROM orders WHERE status = 'completed'").fetchone()
    assert recent, "the demo has orders of the last week"
    assert completed is not None

    first = run_once(database, settings, activation_id)
    assert first.state == "partial", first.error  # the old orders are rejected (not sent)
    assert first.counts["delivered"] == len(recent)
    assert first.counts["rejected"] == completed[0] - len(recent), "older orders are refused before sending"

    events = emulator.pixels[PIXEL_ID].events
    assert {event_id for (_, event_id) in events} == set(recent)
    for (name, event_id), (event, _) in events.items():
        assert name == "Purchase"
        assert event["user_data"]["external_id"] == [sha256_hex(recent[event_id])]
        assert event["action_source"] == "website"
        assert isinstance(event["event_time"], int)
        assert {"value", "currency"} <= set(event["custom_data"])
    assert all(len(r.body["data"]) <= 1000 for r in emulator.requests if r.path.endswith("/events"))
    assert scan(emulator) == []
    assert emulator.limit_violations == []

    again = run_once(database, settings, activation_id)
    assert again.counts.get("delivered", 0) == 0, "a sent event is never sent again"
    assert len(emulator.pixels[PIXEL_ID].events) == len(recent)
