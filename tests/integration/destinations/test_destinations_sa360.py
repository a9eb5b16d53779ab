"""Search Ads 360: offline conversions to Floodlight activities through the v2 conversion API
(the only public SA360 write API): the events suite, the request Google documents, all-or-nothing
batches split to find the refused rows, no personal data."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import cast

import httpx
import pytest

from sluice.destinations.delivery import deliver
from sluice.destinations.errors import ConfigError
from sluice.destinations.sa360.emulator import Sa360Emulator
from sluice.destinations.sdk import IdentifierKind, Op, OpKind, OutcomeStatus, TargetSpec
from sluice.destinations.testing.events import EventCase, EventsConformance
from sluice.destinations.testing.harness import Harness


class TestSa360Events(EventsConformance):
    """The events conformance suite, Search Ads 360 only."""

    @pytest.fixture
    def case(self) -> EventCase:
        return EventCase(Harness.of("sa360"), 0)


def _fake(harness: Harness) -> Sa360Emulator:
    return cast(Sa360Emulator, harness.emulator)


@pytest.mark.anyio
async def test_conversions_are_sent_as_documented_and_refused_rows_are_found_by_splitting() -> None:
    harness = Harness.of("sa360")
    fake = _fake(harness)
    connector = harness.connect()
    target = await connector.ensure_target(
        TargetSpec(
            kind="floodlight_activity", name="Offline purchase", identifier_kind=IdentifierKind.PLATFORM_ID
        )
    )
    clicks = harness.contacts(range(4))
    when = datetime.fromtimestamp(harness.clock(), UTC).replace(microsecond=0) - timedelta(days=1)
    ops = [
        Op(
            OpKind.EVENT,
            "sale-0",
            clicks[0],
            {"conversion_time": when, "value": "12.5", "currency": "usd", "quantity": 2},
        ),
        Op(OpKind.EVENT, "sale-1", clicks[1], {"conversion_time": when - timedelta(hours=1)}),
        Op(OpKind.EVENT, "sale-2", "EAIaIQobChMIunknown", {"conversion_time": when}),
        Op(OpKind.EVENT, "sale-3", clicks[3], {"conversion_time": when, "order_id": "ORD-3"}),
        Op(OpKind.EVENT, "sale-4", clicks[2], {}),
    ]
    outcomes = {o.key: o async for o in deliver(connector, target, ops)}
    assert {k: o.status for k, o in outcomes.items()} == {
        "sale-0": OutcomeStatus.DELIVERED,
        "sale-1": OutcomeStatus.DELIVERED,
        "sale-2": OutcomeStatus.REJECTED,
        "sale-3": OutcomeStatus.DELIVERED,
        "sale-4": OutcomeStatus.REJECTED,
    }
    assert "Invalid click ID" in outcomes["sale-2"].message
    assert outcomes["sale-4"].message == "not sent: conversion_time is missing"
    first = next(r.body for r in fake.requests if r.path.endswith("/conversion"))
    assert first["kind"] == "doubleclicksearch#conversionList"
    assert first["conversion"][0] == {
        "agencyId": fake.agency_id,
        "advertiserId": fake.advertiser_id,
        "clickId": clicks[0],
        "conversionId": "sale-0",
        "conversionTimestamp": str(int(when.timestamp() * 1000)),
        "segmentationType": "FLOODLIGHT",
        "segmentationName": "Offline purchase",
        "type": "TRANSACTION",
        "revenueMicros": "12500000",
        "currencyCode": "USD",
        "quantityMillis": "2000",
    }
    assert first["conversion"][1]["type"] == "ACTION"
    assert first["conversion"][3]["conversionId"] == "ORD-3"
    assert len(fake.conversions) == 3, "the refused batch stored nothing; its valid rows were resent"
    assert fake.pii_refusals == 0
    await connector.aclose()


@pytest.mark.anyio
async def test_a_numeric_target_is_a_segmentation_id_and_foreign_advertisers_are_config_errors() -> None:
    harness = Harness.of("sa360")
    fake = _fake(harness)
    connector = harness.connect()
    target = await connector.ensure_target(
        TargetSpec(
            kind="floodlight_activity",
            id=fake.activities["Offline purchase"],
            identifier_kind=IdentifierKind.PLATFORM_ID,
        )
    )
    clicks = harness.contacts([7])
    now = datetime.fromtimestamp(harness.clock(), UTC)
    outcomes = [
        o
        async for o in deliver(
            connector, target, [Op(OpKind.EVENT, "k", clicks[0], {"conversion_time": now})]
        )
    ]
    assert [o.status for o in outcomes] == [OutcomeStatus.DELIVERED]
    (sent,) = [r.body for r in fake.requests if r.path.endswith("/conversion")]
    assert sent["conversion"][0]["segmentationId"] == fake.activities["Offline purchase"]
    assert "segmentationName" not in sent["conversion"][0]
    assert await connector.check()
    await connector.aclose()
    stranger = harness.connector_class.connect(
        {**fake.connector_config("http://emulator.test"), "advertiser_id": "1"},
        http_client=httpx.AsyncClient(transport=httpx.ASGITransport(app=fake.app)),
    )
    with pytest.raises(ConfigError, match="does not have permission"):
        await stranger.check()
    await stranger.aclose()
