"""Meta Custom Audiences: unhashed PII never leaves Sluice, and the emulator refuses it when sent.

The conformance suite runs again for Meta here with a check after every test: every request body
the emulator received is walked and no string (other than a SHA-256 digest) may look like an email
or a phone number.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Iterator

import httpx
import pytest

from sluice.destinations.emulation import FaultKind
from sluice.destinations.errors import ConfigError
from sluice.destinations.hashing import sha256_hex
from sluice.destinations.meta.graph_emulation import ACCESS_TOKEN
from sluice.destinations.sdk import IdentifierKind, OpKind, OutcomeStatus
from sluice.destinations.testing import DestinationConformance
from sluice.destinations.testing.harness import EMULATOR_URL, Harness
from sluice.destinations.testing.pii import raw_pii, scan


def test_the_scanner_finds_raw_emails_and_phones() -> None:
    body = {"payload": {"schema": "EMAIL_SHA256", "data": ["a.b@example.com", sha256_hex("x")]}}
    assert raw_pii(body) == ["a.b@example.com"]
    assert raw_pii({"data": [["+1 (650) 555-1212"]]}) == ["+1 (650) 555-1212"]
    assert raw_pii({"data": [sha256_hex("16505551212")], "name": "Sluice conformance"}) == []


class TestMetaConformanceSendsNoRawPii(DestinationConformance):
    """The whole membership conformance suite, Meta only, with every received body scanned."""

    @pytest.fixture(params=["meta"])
    def harness(self, request: pytest.FixtureRequest) -> Iterator[Harness]:
        harness = Harness.of(str(request.param))
        yield harness
        assert scan(harness.emulator) == []
        assert harness.emulator.state()["unhashed_refusals"] == 0


@pytest.mark.anyio
async def test_phone_audiences_send_hashed_e164_digits() -> None:
    harness = Harness.of("meta")
    connector = harness.connect()
    target = dataclasses.replace(await harness.target(connector), identifier_kind=IdentifierKind.PHONE)
    outcomes = await harness.send(connector, target, OpKind.ADD, ["+1 (650) 555-1212", "650.555.1213", "12"])
    assert [o.status for o in outcomes] == [
        OutcomeStatus.REJECTED,  # invalid rows come out first, without a request
        OutcomeStatus.DELIVERED,
        OutcomeStatus.DELIVERED,
    ]
    write = [r for r in harness.emulator.requests if r.path.endswith("/users")][-1]
    assert write.body["payload"] == {
        "schema": "PHONE_SHA256",
        "data": [sha256_hex("16505551212"), sha256_hex("16505551213")],
    }
    assert scan(harness.emulator) == []
    await connector.aclose()


@pytest.mark.anyio
async def test_the_emulator_refuses_unhashed_pii_and_oversized_batches() -> None:
    harness = Harness.of("meta")
    connector = harness.connect()
    target = await harness.target(connector)
    await connector.aclose()
    headers = {"Authorization": f"Bearer {ACCESS_TOKEN}"}
    transport = httpx.ASGITransport(app=harness.emulator.app)
    async with httpx.AsyncClient(transport=transport, base_url=EMULATOR_URL) as client:
        raw = {"payload": {"schema": ["EMAIL", "FN"], "data": [[sha256_hex("a@b.co"), "Mary"]]}}
        refused = await client.post(f"/v25.0/{target.id}/users", json=raw, headers=headers)
        assert refused.status_code == 400
        assert refused.json()["error"]["error_user_title"] == "Data not hashed"
        too_many = {
            "payload": {"schema": "EMAIL_SHA256", "data": [sha256_hex(str(n)) for n in range(10_001)]}
        }
        refused = await client.post(f"/v25.0/{target.id}/users", json=too_many, headers=headers)
        assert refused.status_code == 400
        assert "10000" in refused.json()["error"]["message"]
        bad_token = await client.get("/v25.0/act_1234567890", headers={"Authorization": "Bearer nope"})
        assert bad_token.json()["error"]["code"] == 190
    assert harness.emulator.members(target) == set()
    assert len(harness.emulator.limit_violations) == 2


@pytest.mark.anyio
async def test_throttling_waits_for_the_usage_header_and_gone_audiences_pause() -> None:
    harness = Harness.of("meta")
    connector = harness.connect()
    target = await harness.target(connector)
    people = harness.contacts(range(3))
    harness.emulator.inject(FaultKind.RATE_LIMIT, 1)
    outcomes = await harness.send(connector, target, OpKind.ADD, people)
    assert {o.status for o in outcomes} == {OutcomeStatus.DELIVERED}
    assert harness.clock.slept, "the connector must wait before retrying"
    assert harness.clock.slept[0] >= 60, "waits the minutes Meta announces"
    gone = dataclasses.replace(target, id="999")
    with pytest.raises(ConfigError):
        await harness.send(connector, gone, OpKind.ADD, people)
    await connector.aclose()


@pytest.mark.anyio
async def test_prehashed_identifiers_pass_through_and_a_wrong_account_is_a_config_error() -> None:
    harness = Harness.of("meta")
    connector = harness.connect()
    target = dataclasses.replace(await harness.target(connector), identifier_kind=IdentifierKind.HASHED)
    digest = sha256_hex("user1@example.com")
    outcomes = await harness.send(connector, target, OpKind.ADD, [digest, "USER1@EXAMPLE.COM"])
    assert [o.status for o in outcomes] == [OutcomeStatus.REJECTED, OutcomeStatus.DELIVERED]
    assert "SHA-256" in outcomes[0].message
    write = [r for r in harness.emulator.requests if r.path.endswith("/users")][-1]
    assert write.body["payload"] == {"schema": "EMAIL_SHA256", "data": [digest]}
    await connector.aclose()
    config = {**harness.emulator.connector_config(EMULATOR_URL), "ad_account_id": "act_999"}
    stranger = harness.connector_class.connect(
        config, http_client=httpx.AsyncClient(transport=httpx.ASGITransport(app=harness.emulator.app))
    )
    with pytest.raises(ConfigError, match="act_999"):
        await stranger.check()
    await stranger.http.client.aclose()
