"""Meta Conversions API: the server events as Meta reads them, hashing, windows, test events, and the
emulator's refusals (the events conformance suite covers retries, dedupe, limits and consent)."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import pytest

from sluice.destinations.delivery import deliver
from sluice.destinations.hashing import sha256_hex
from sluice.destinations.meta.graph_emulation import ACCESS_TOKEN
from sluice.destinations.meta_capi.emulator import PIXEL_ID, MetaCapiEmulator
from sluice.destinations.sdk import Connector, Op, OpKind, Outcome, OutcomeStatus, TargetSpec
from sluice.destinations.testing.harness import Harness
from sluice.destinations.testing.pii import scan

pytestmark = pytest.mark.anyio


@pytest.fixture
def harness() -> Harness:
    return Harness.of("meta_capi")


@pytest.fixture
async def connector(harness: Harness) -> AsyncIterator[Connector]:
    connector = harness.connect()
    yield connector
    await connector.aclose()


def ago(harness: Harness, **delta: float) -> datetime:
    return datetime.fromtimestamp(harness.clock(), UTC) - timedelta(**delta)


async def send(connector: Connector, name: str, ops: list[Op]) -> list[Outcome]:
    target = await connector.ensure_target(TargetSpec("event", name))
    return [o async for o in deliver(connector, target, ops)]


def pixel(harness: Harness) -> Any:
    emulator = harness.emulator
    assert isinstance(emulator, MetaCapiEmulator)
    return emulator.pixels[PIXEL_ID]


def events_posted(harness: Harness) -> list[dict[str, Any]]:
    return [e for r in harness.emulator.requests if r.path.endswith("/events") for e in r.body["data"]]


async def test_a_purchase_is_sent_as_meta_reads_it(harness: Harness, connector: Connector) -> None:
    occurred = ago(harness, hours=2)
    fields: dict[str, Any] = {
        "event_time": occurred,
        "value": 42.5,
        "currency": "EUR",
        "order_id": "o-17",
        "phone": "(650) 555-1212",
        "first_name": " Mary ",
        "postal_code": "94025-1234",
        "client_ip_address": "2001:db8::7",
        "client_user_agent": "Mozilla/5.0",
        "fbc": "fb.1.1554763741205.AbCdEf",
        "data_processing_options": [],
    }
    outcomes = await send(
        connector, "Purchase", [Op(OpKind.EVENT, "order-17", "John_Smith@Gmail.com ", fields)]
    )
    assert [o.status for o in outcomes] == [OutcomeStatus.DELIVERED]
    [event] = events_posted(harness)
    assert event["event_name"] == "Purchase"
    assert event["event_id"] == "order-17"
    assert event["event_time"] == int(occurred.timestamp())
    assert event["action_source"] == "website"
    assert event["data_processing_options"] == []
    user = event["user_data"]
    # Meta's published vectors: john_smith@gmail.com, 16505551212 and "mary"
    assert user["em"] == ["62a14e44f765419d10fea99367361a727c12365e2520f32218d505ed9aa0f62f"]
    assert user["ph"] == ["e323ec626319ca94ee8bff2e4c87cf613be6ea19919ed1364124e16807ab3176"]
    assert user["fn"] == ["6915771be1c5aa0c886870b6951b03d7eafc121fea0e80a5ea83beb7c449f4ec"]
    assert user["zp"] == [sha256_hex("94025")]
    assert (user["client_ip_address"], user["client_user_agent"], user["fbc"]) == (
        "2001:db8::7",
        "Mozilla/5.0",
        "fb.1.1554763741205.AbCdEf",
    )
    assert event["custom_data"] == {"value": 42.5, "currency": "EUR", "order_id": "o-17"}
    assert harness.emulator.limit_violations == []


async def test_a_match_key_that_cannot_be_normalised_is_left_out_with_a_note(
    harness: Harness, connector: Connector
) -> None:
    op = Op(OpKind.EVENT, "e-1", "ann@example.com", {"event_time": ago(harness, hours=1), "phone": "12"})
    [outcome] = await send(connector, "Lead", [op])
    assert outcome.status is OutcomeStatus.DELIVERED
    assert "phone" in outcome.message
    assert "ph" not in events_posted(harness)[0]["user_data"]


async def test_physical_store_events_may_be_62_days_old_others_7(
    harness: Harness, connector: Connector
) -> None:
    month_old = ago(harness, days=30)
    store = Op(
        OpKind.EVENT, "s-1", "a@example.com", {"event_time": month_old, "action_source": "physical_store"}
    )
    web = Op(OpKind.EVENT, "w-1", "b@example.com", {"event_time": month_old})
    outcomes = {o.key: o for o in await send(connector, "Purchase", [store, web])}
    assert outcomes["s-1"].status is OutcomeStatus.DELIVERED
    assert outcomes["w-1"].status is OutcomeStatus.REJECTED
    assert "older than Meta's window of 7 days" in outcomes["w-1"].message
    assert [e["event_id"] for e in events_posted(harness)] == ["s-1"]


async def test_test_event_code_sends_to_the_test_events_tab(harness: Harness) -> None:
    emulator = harness.emulator
    assert isinstance(emulator, MetaCapiEmulator)
    config = {**emulator.connector_config("http://emulator.test"), "test_event_code": "TEST123"}
    client = httpx.AsyncClient(transport=httpx.ASGITransport(app=emulator.app))
    connector = type(harness.connect()).connect(config, http_client=client)
    connector.http.clock = harness.clock
    op = Op(OpKind.EVENT, "t-1", "c@example.com", {"event_time": ago(harness, minutes=5)})
    assert [o.status for o in await send(connector, "Purchase", [op])] == [OutcomeStatus.DELIVERED]
    await client.aclose()
    assert harness.emulator.requests[-1].body["test_event_code"] == "TEST123"
    assert len(emulator.pixels[PIXEL_ID].test_events) == 1
    assert emulator.pixels[PIXEL_ID].events == {}


async def raw_post(harness: Harness, data: list[dict[str, Any]]) -> httpx.Response:
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=harness.emulator.app)) as client:
        return await client.post(
            f"http://emulator.test/v25.0/{PIXEL_ID}/events",
            json={"data": data},
            headers={"Authorization": f"Bearer {ACCESS_TOKEN}"},
        )


def server_event(harness: Harness, **overrides: Any) -> dict[str, Any]:
    event = {
        "event_name": "Purchase",
        "event_time": int(harness.clock()) - 60,
        "event_id": "x-1",
        "action_source": "website",
        "user_data": {"em": [sha256_hex("a@example.com")]},
    }
    return {**event, **overrides}


async def test_the_emulator_refuses_raw_contact_information(harness: Harness) -> None:
    response = await raw_post(harness, [server_event(harness, user_data={"em": ["a@example.com"]})])
    assert response.status_code == 400
    assert "SHA-256" in response.json()["error"]["error_user_msg"]
    assert harness.emulator.limit_violations == ["unhashed user_data.em in data[0]"]
    assert scan(harness.emulator) == ["a@example.com"]


async def test_the_emulator_refuses_the_whole_request_for_one_stale_event(harness: Harness) -> None:
    fresh = server_event(harness, event_id="fresh")
    stale = server_event(harness, event_id="stale", event_time=int(harness.clock()) - 8 * 86_400)
    response = await raw_post(harness, [fresh, stale])
    assert response.status_code == 400
    assert "more than 7 days" in response.json()["error"]["error_user_msg"]
    assert pixel(harness).events == {}


async def test_the_emulator_counts_an_event_name_and_id_once(harness: Harness) -> None:
    for _ in range(2):
        response = await raw_post(harness, [server_event(harness)])
        assert response.json()["events_received"] == 1
    other_name = await raw_post(harness, [server_event(harness, event_name="Lead")])
    assert other_name.status_code == 200
    held = pixel(harness)
    assert sorted(held.events) == [("Lead", "x-1"), ("Purchase", "x-1")]
    assert held.duplicates == 1
