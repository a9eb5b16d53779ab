"""Pinterest: customer-list audiences and conversions send only SHA-256 hashes, conversions are
deduplicated on the row key and stay inside the attribution window, test mode records nothing.

The membership conformance suite runs again for Pinterest with every received body scanned (the
events suite, ``TestEventsConformance``, covers conversions for every events destination).
Conversion requests are validated against Pinterest's published v5 OpenAPI document here;
membership requests are in ``test_destinations_vendor_specs``.
"""

from __future__ import annotations

import dataclasses
import json
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import pytest
from openapi_core import Config, OpenAPI
from openapi_core.contrib.requests import RequestsOpenAPIRequest
from requests import Request

from sluice.destinations.errors import ConfigError
from sluice.destinations.hashing import sha256_hex
from sluice.destinations.pinterest.connector import PLACEHOLDER_RECORD
from sluice.destinations.sdk import Op, OpKind, OutcomeStatus, Target, TargetSpec
from sluice.destinations.testing import DestinationConformance
from sluice.destinations.testing.harness import Harness
from sluice.destinations.testing.pii import scan

SPEC = Path(__file__).resolve().parents[3].parent / "shared" / "vendor-specs" / "pinterest-v5.openapi.json"


class TestPinterestConformanceSendsNoRawPii(DestinationConformance):
    """The whole membership conformance suite, Pinterest only, with every received body scanned."""

    @pytest.fixture(params=["pinterest"])
    def harness(self, request: pytest.FixtureRequest) -> Iterator[Harness]:
        harness = Harness.of(str(request.param))
        yield harness
        assert scan(harness.emulator) == []
        assert harness.emulator.state()["unhashed_refusals"] == 0


def conversions(harness: Harness, numbers: range, **extra: object) -> list[Op]:
    people = harness.contacts(numbers)
    moment = datetime.fromtimestamp(harness.clock() - 3600, UTC)
    return [
        Op(OpKind.EVENT, f"order-{n}", person, {"time": moment, "value": 12.5, "currency": "EUR", **extra})
        for n, person in zip(numbers, people, strict=True)
    ]


async def send(harness: Harness, target: Target, ops: list[Op], **config: object) -> list[OutcomeStatus]:
    from sluice.destinations.delivery import deliver

    connector = harness.connect()
    if config:
        connector.config = connector.config.model_copy(update=config)
    outcomes = [o.status async for o in deliver(connector, target, ops)]
    await connector.aclose()
    return outcomes


@pytest.mark.anyio
async def test_conversions_carry_hashed_user_data_and_match_the_openapi_document() -> None:
    harness = Harness.of("pinterest")
    connector = harness.connect()
    target = await connector.ensure_target(TargetSpec("conversion_event", "checkout"))
    await connector.aclose()
    ops = conversions(harness, range(3), phone="+1 650 555 1212", first_name="Mary", order_id="A-1")
    assert await send(harness, target, ops) == [OutcomeStatus.DELIVERED] * 3
    write = [r for r in harness.emulator.requests if r.path.endswith("/events")][-1]
    first = write.body["data"][0]
    assert first["event_id"] == "order-0"
    assert first["event_time"] == int(harness.clock() - 3600)
    assert first["user_data"] == {
        "em": [sha256_hex("user0@example.com")],
        "ph": [sha256_hex("16505551212")],
        "fn": [sha256_hex("mary")],
    }
    assert first["custom_data"] == {"value": "12.5", "currency": "EUR", "order_id": "A-1"}
    assert scan(harness.emulator) == []
    if not SPEC.exists():
        pytest.skip(f"vendor OpenAPI document not found at {SPEC}")
    spec = OpenAPI.from_file_path(str(SPEC), config=Config(spec_validator_cls=None))
    request = Request(
        "POST",
        f"https://api.pinterest.com/v5{write.path.removeprefix('/v5')}",
        data=json.dumps(write.body),
        headers={"Content-Type": "application/json", "Authorization": write.headers["authorization"]},
    ).prepare()
    spec.validate_request(RequestsOpenAPIRequest(request))


@pytest.mark.anyio
async def test_a_resent_conversion_is_counted_once_and_test_mode_records_nothing() -> None:
    harness = Harness.of("pinterest")
    connector = harness.connect()
    target = await connector.ensure_target(TargetSpec("conversion_event", "lead"))
    await connector.aclose()
    ops = conversions(harness, range(4))
    assert await send(harness, target, ops) == [OutcomeStatus.DELIVERED] * 4
    assert await send(harness, target, ops) == [OutcomeStatus.DELIVERED] * 4
    assert len(harness.emulator.received_events(target)) == 4
    more = conversions(harness, range(4, 6))
    assert await send(harness, target, more, test_mode=True) == [OutcomeStatus.DELIVERED] * 2
    assert harness.emulator.requests[-1].query == {"test": "true"}
    assert len(harness.emulator.received_events(target)) == 4
    assert harness.emulator.state()["test_events"] == 2


@pytest.mark.anyio
async def test_refused_conversions_keep_pinterests_words_and_unknown_event_names_are_config_errors() -> None:
    harness = Harness.of("pinterest")
    connector = harness.connect()
    with pytest.raises(ConfigError, match="no conversion event 'purchase'"):
        await connector.ensure_target(TargetSpec("conversion_event", "purchase"))
    await connector.aclose()
    bogus = Target("conversion_event", "purchase", "purchase")  # as if Pinterest dropped an event name
    statuses = await send(harness, bogus, conversions(harness, range(2)))
    assert statuses == [OutcomeStatus.REJECTED] * 2
    assert harness.emulator.requests[-1].status == 422


@pytest.mark.anyio
async def test_a_new_list_gets_its_audience_and_small_audiences_are_noted() -> None:
    harness = Harness.of("pinterest")
    connector = harness.connect()
    target = await harness.target(connector)
    created = next(
        r for r in harness.emulator.requests if r.method == "POST" and r.path.endswith("/customer_lists")
    )
    assert created.body == {"name": "Sluice conformance", "records": PLACEHOLDER_RECORD, "list_type": "EMAIL"}
    audience = next(
        r for r in harness.emulator.requests if r.path.endswith("/audiences") and r.method == "POST"
    )
    assert audience.body["rule"] == {"customer_list_id": target.id}
    assert audience.body["audience_type"] == "CUSTOMER_LIST"
    assert target.size == 0
    from sluice.destinations.delivery import deliver

    ops = [Op(OpKind.ADD, p, p) for p in harness.contacts(range(3))]
    outcomes = [o async for o in deliver(connector, target, ops)]
    assert all("at least 100 matched users" in o.message for o in outcomes)
    harness.emulator.seed_members(target, harness.contacts(range(3, 150)))
    again = await connector.ensure_target(dataclasses.replace(harness.emulator.target_spec(), id=target.id))
    assert again.size == 150
    assert harness.emulator.state()["customer_lists"][0]["matched"] == 150
    await connector.aclose()
