"""Google Ads conversions: the events suite, and click conversions, enhanced conversions and
adjustments as Google takes them."""

from __future__ import annotations

import dataclasses
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any, cast

import pytest

from sluice.destinations.delivery import deliver
from sluice.destinations.errors import ConfigError
from sluice.destinations.google_ads_conversions.emulator import GoogleAdsConversionsEmulator
from sluice.destinations.hashing import sha256_hex
from sluice.destinations.sdk import (
    Connector,
    IdentifierKind,
    Op,
    OpKind,
    Outcome,
    OutcomeStatus,
    Target,
    TargetSpec,
)
from sluice.destinations.testing.events import EventCase, EventsConformance
from sluice.destinations.testing.harness import Harness
from sluice.destinations.testing.pii import scan


class TestGoogleAdsConversionsEvents(EventsConformance):
    """The events conformance suite, Google Ads conversions only."""

    @pytest.fixture
    def case(self) -> Iterator[EventCase]:
        case = EventCase(Harness.of("google_ads_conversions"), 0)
        yield case
        assert scan(case.harness.emulator) == []
        assert _fake(case.harness).unhashed_refusals == 0


def _fake(harness: Harness) -> GoogleAdsConversionsEmulator:
    return cast(GoogleAdsConversionsEmulator, harness.emulator)


def _ops(fields: list[tuple[str, str, dict[str, Any]]]) -> list[Op]:
    return [Op(OpKind.EVENT, key, identifier, extra) for key, identifier, extra in fields]


async def _send(connector: Connector, target: Target, ops: list[Op]) -> dict[str, Outcome]:
    return {o.key: o async for o in deliver(connector, target, ops)}


@pytest.mark.anyio
async def test_click_conversions_carry_the_click_id_googles_time_format_order_id_and_consent() -> None:
    harness = Harness.of("google_ads_conversions")
    fake = _fake(harness)
    connector = harness.connect()
    target = await connector.ensure_target(TargetSpec(kind="conversion_action", name="Sluice purchases"))
    target = dataclasses.replace(target, identifier_kind=IdentifierKind.PLATFORM_ID)
    now = datetime.fromtimestamp(harness.clock(), UTC)
    fake.seed_click("Cj0KCQiAgclid001", now - timedelta(days=3))
    fake.seed_click("GBRAIDvalue0001", now - timedelta(days=3))
    ops = _ops(
        [
            (
                "order-1",
                "Cj0KCQiAgclid001",
                {"conversion_time": now - timedelta(days=2), "value": "19.90", "currency": "eur"},
            ),
            (
                "order-2",
                "GBRAIDvalue0001",
                {
                    "conversion_time": (now - timedelta(days=1)).isoformat(),
                    "click_id_type": "gbraid",
                    "ad_personalization": False,
                },
            ),
            ("order-3", "Cj0KCQiAunknown9", {"conversion_time": now - timedelta(hours=5)}),
            ("order-4", "Cj0KCQiAgclid001", {"conversion_time": now - timedelta(days=91)}),
            ("order-5", "not a gclid!", {"conversion_time": now}),
        ]
    )
    outcomes = await _send(connector, target, ops)
    assert outcomes["order-1"].status is OutcomeStatus.DELIVERED
    assert outcomes["order-2"].status is OutcomeStatus.DELIVERED
    assert outcomes["order-3"].status is OutcomeStatus.REJECTED
    assert "CLICK_NOT_FOUND" in outcomes["order-3"].message
    assert outcomes["order-4"].message.startswith("not sent: event time")
    assert "older than Google Ads's window of 90 days" in outcomes["order-4"].message
    assert outcomes["order-5"].message.startswith("not sent: not a Google click id")
    (upload,) = [r.body for r in fake.requests if r.path.endswith(":uploadClickConversions")]
    assert upload["partialFailure"] is True
    first, second, _ = upload["conversions"]
    action = f"customers/{fake.customer_id}/conversionActions/{target.id}"
    assert first == {
        "conversionAction": action,
        "conversionDateTime": (now - timedelta(days=2)).strftime("%Y-%m-%d %H:%M:%S+00:00"),
        "orderId": "order-1",
        "gclid": "Cj0KCQiAgclid001",
        "conversionValue": 19.9,
        "currencyCode": "EUR",
        "consent": {"adUserData": "GRANTED"},
    }
    assert second["gbraid"] == "GBRAIDvalue0001"
    assert "gclid" not in second
    assert second["consent"] == {"adUserData": "GRANTED", "adPersonalization": "DENIED"}
    assert fake.state()["conversion_actions"][0]["conversions"] == 2
    await connector.aclose()


@pytest.mark.anyio
async def test_retractions_restatements_and_enhancements_adjust_conversions_by_order_id() -> None:
    harness = Harness.of("google_ads_conversions")
    fake = _fake(harness)
    connector = harness.connect()
    action = await connector.ensure_target(TargetSpec(kind="conversion_action", name="Sluice purchases"))
    target = dataclasses.replace(action, identifier_kind=IdentifierKind.PLATFORM_ID)
    now = datetime.fromtimestamp(harness.clock(), UTC)
    for n in range(3):
        fake.seed_click(f"Cj0KCQiAclick{n:03d}", now - timedelta(days=2))
    conversions = _ops(
        [
            (f"order-{n}", f"Cj0KCQiAclick{n:03d}", {"conversion_time": now - timedelta(days=1), "value": 50})
            for n in range(3)
        ]
    )
    assert {o.status for o in (await _send(connector, target, conversions)).values()} == {
        OutcomeStatus.DELIVERED
    }
    adjustments = await connector.ensure_target(TargetSpec(kind="conversion_adjustment", id=action.id))
    adjustments = dataclasses.replace(adjustments, identifier_kind=IdentifierKind.EXTERNAL_ID)
    ops = _ops(
        [
            ("refund-0", "order-0", {"adjustment_type": "RETRACTION"}),
            (
                "partial-1",
                "order-1",
                {"adjustment_type": "restatement", "restated_value": 20, "currency": "EUR"},
            ),
            (
                "enhance-2",
                "order-2",
                {"adjustment_type": "ENHANCEMENT", "email": "Jane.Doe@Gmail.com", "phone": "+1 650 555 1212"},
            ),
            ("refund-9", "order-9", {"adjustment_type": "RETRACTION"}),
            ("no-type", "order-1", {"restated_value": 5}),
        ]
    )
    outcomes = await _send(connector, adjustments, ops)
    assert {k: o.status for k, o in outcomes.items()} == {
        "refund-0": OutcomeStatus.DELIVERED,
        "partial-1": OutcomeStatus.DELIVERED,
        "enhance-2": OutcomeStatus.DELIVERED,
        "refund-9": OutcomeStatus.REJECTED,
        "no-type": OutcomeStatus.REJECTED,
    }
    assert "CONVERSION_NOT_FOUND" in outcomes["refund-9"].message
    assert outcomes["no-type"].message.startswith("not sent: an order id names a conversion to adjust")
    held = {c.order_id: c for c in fake.actions[action.id].conversions}
    assert held["order-0"].retracted
    assert held["order-1"].restated_value == 20.0
    assert held["order-2"].enhanced
    assert sha256_hex("janedoe@gmail.com") in held["order-2"].hashes
    assert sha256_hex("+16505551212") in held["order-2"].hashes
    (upload,) = [r.body for r in fake.requests if r.path.endswith(":uploadConversionAdjustments")]
    assert upload["conversionAdjustments"][1]["restatementValue"] == {
        "adjustedValue": 20.0,
        "currencyCode": "EUR",
    }
    again = await _send(connector, adjustments, ops[:1])
    assert again["refund-0"].status is OutcomeStatus.DELIVERED
    assert "already counted by Google" in again["refund-0"].message
    assert scan(fake) == []
    await connector.aclose()


@pytest.mark.anyio
async def test_missing_conversion_actions_are_config_errors_and_pickers_list_click_imports() -> None:
    harness = Harness.of("google_ads_conversions")
    fake = _fake(harness)
    fake.add_action("Website purchases (tag)", "WEBPAGE")
    fake.options.max_page_size = 1
    fake.seed_targets(["Leads", "Calls imported"], TargetSpec(kind="conversion_action"))
    connector = harness.connect()
    names, cursor = [], None
    while True:
        page = await connector.list_targets("conversion_action", cursor)
        names += [t.name for t in page.items]
        cursor = page.next_cursor
        if cursor is None:
            break
    assert names == ["Sluice purchases", "Leads", "Calls imported"]
    with pytest.raises(ConfigError, match="create it in Google Ads first"):
        await connector.ensure_target(TargetSpec(kind="conversion_action", name="Website purchases (tag)"))
    await connector.aclose()


@pytest.mark.anyio
async def test_enhanced_conversions_for_leads_send_hashed_phones_and_prehashed_emails_as_they_are() -> None:
    harness = Harness.of("google_ads_conversions")
    fake = _fake(harness)
    connector = harness.connect()
    now = datetime.fromtimestamp(harness.clock(), UTC)
    action = await connector.ensure_target(TargetSpec(kind="conversion_action", name="Sluice purchases"))
    phones = dataclasses.replace(action, identifier_kind=IdentifierKind.PHONE)
    outcomes = await _send(
        connector,
        phones,
        _ops(
            [
                (
                    "lead-1",
                    "(650) 555-1212",
                    {"conversion_time": now - timedelta(hours=3), "email": "Lead@Example.com"},
                )
            ]
        ),
    )
    assert outcomes["lead-1"].status is OutcomeStatus.DELIVERED
    digest = sha256_hex("someone@example.com")
    hashed = dataclasses.replace(action, identifier_kind=IdentifierKind.HASHED)
    outcomes = await _send(
        connector, hashed, _ops([("lead-2", digest, {"conversion_time": now - timedelta(hours=2)})])
    )
    assert outcomes["lead-2"].status is OutcomeStatus.DELIVERED
    first, second = [
        r.body["conversions"][0] for r in fake.requests if r.path.endswith(":uploadClickConversions")
    ]
    assert first["userIdentifiers"] == [
        {"hashedEmail": sha256_hex("lead@example.com"), "userIdentifierSource": "FIRST_PARTY"},
        {"hashedPhoneNumber": sha256_hex("+16505551212"), "userIdentifierSource": "FIRST_PARTY"},
    ]
    assert not {"gclid", "gbraid", "wbraid"} & set(first)
    assert second["userIdentifiers"] == [{"hashedEmail": digest, "userIdentifierSource": "FIRST_PARTY"}]
    assert scan(fake) == []
    await connector.aclose()
