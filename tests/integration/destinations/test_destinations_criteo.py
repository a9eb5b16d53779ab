"""Criteo contact-list audience segments: client-credentials OAuth, hashed emails only, against the emulator."""

from __future__ import annotations

import dataclasses
from collections.abc import Iterator

import httpx
import pytest

from sluice.destinations.criteo.emulator import (
    ADVERTISER_ID,
    API,
    CLIENT_ID,
    CLIENT_SECRET,
    TOKEN_PATH,
    CriteoEmulator,
)
from sluice.destinations.errors import ConfigError
from sluice.destinations.hashing import sha256_hex
from sluice.destinations.sdk import IdentifierKind, OpKind, OutcomeStatus, TargetSpec
from sluice.destinations.testing import DestinationConformance
from sluice.destinations.testing.harness import EMULATOR_URL, Harness
from sluice.destinations.testing.pii import scan


class TestCriteoConformanceSendsNoRawPii(DestinationConformance):
    """The whole membership conformance suite, Criteo only, with every received body scanned."""

    @pytest.fixture(params=["criteo"])
    def harness(self, request: pytest.FixtureRequest) -> Iterator[Harness]:
        harness = Harness.of(str(request.param))
        yield harness
        assert scan(harness.emulator) == []
        assert harness.emulator.state()["unhashed_refusals"] == 0


def _emulator(harness: Harness) -> CriteoEmulator:
    assert isinstance(harness.emulator, CriteoEmulator)
    return harness.emulator


@pytest.mark.anyio
async def test_contact_lists_are_created_and_amended_with_hashed_emails() -> None:
    harness = Harness.of("criteo")
    connector = harness.connect()
    target = await harness.target(connector)
    created = next(r for r in harness.emulator.requests if r.path.endswith("/audience-segments/create"))
    assert created.body["data"][0]["attributes"]["advertiserId"] == ADVERTISER_ID
    assert "contactList" in created.body["data"][0]["attributes"]
    outcomes = await harness.send(connector, target, OpKind.ADD, [" User1@Example.com", "user1@example.com"])
    assert {o.status for o in outcomes} == {OutcomeStatus.DELIVERED}
    write = harness.emulator.requests[-1]
    assert write.method == "PATCH"
    assert write.body == {
        "data": {
            "type": "ContactlistAmendment",
            "attributes": {
                "operation": "add",
                "identifierType": "email",
                "identifiers": [sha256_hex("user1@example.com")],
            },
        }
    }
    assert write.headers["authorization"].startswith("Bearer at-")
    token = next(r for r in harness.emulator.requests if r.path == TOKEN_PATH)
    assert "grant_type=client_credentials" in token.body
    assert _emulator(harness).oauth.token_requests == 1
    assert scan(harness.emulator) == []
    await connector.aclose()


@pytest.mark.anyio
async def test_mobile_ad_ids_are_sent_as_lowercase_madids() -> None:
    harness = Harness.of("criteo")
    connector = harness.connect()
    target = dataclasses.replace(await harness.target(connector), identifier_kind=IdentifierKind.PLATFORM_ID)
    idfa = "4B61639E-47CC-4056-A16A-C8217E029462"
    outcomes = await harness.send(connector, target, OpKind.ADD, [idfa, "not-a-device-id"])
    assert [o.status for o in outcomes] == [OutcomeStatus.REJECTED, OutcomeStatus.DELIVERED]
    attributes = harness.emulator.requests[-1].body["data"]["attributes"]
    assert (attributes["identifierType"], attributes["identifiers"]) == ("madid", [idfa.lower()])
    assert harness.emulator.members(target) == {f"madid:{idfa.lower()}"}
    await connector.aclose()


@pytest.mark.anyio
async def test_the_emulator_counts_invalid_identifiers_and_refuses_clear_emails_and_big_batches() -> None:
    harness = Harness.of("criteo")
    emulator = _emulator(harness)
    emulator.seed_targets(["Seeded"], TargetSpec("contact_list"))
    segment_id = next(iter(emulator.segments))
    path = f"{API}/audience-segments/{segment_id}/contact-list"

    def amendment(identifiers: list[str]) -> dict[str, object]:
        attributes = {"operation": "add", "identifierType": "email", "identifiers": identifiers}
        return {"data": {"type": "ContactlistAmendment", "attributes": attributes}}

    transport = httpx.ASGITransport(app=emulator.app)
    async with httpx.AsyncClient(transport=transport, base_url=EMULATOR_URL) as client:
        grant = {"grant_type": "client_credentials", "client_id": CLIENT_ID, "client_secret": CLIENT_SECRET}
        token = (await client.post(TOKEN_PATH, data=grant)).json()["access_token"]
        headers = {"Authorization": f"Bearer {token}"}
        answer = await client.patch(path, json=amendment([sha256_hex("a@b.co"), "not-hex"]), headers=headers)
        counts = answer.json()["data"]["attributes"]
        assert (counts["nbValidIdentifiers"], counts["nbInvalidIdentifiers"]) == (1, 1)
        assert counts["sampleInvalidIdentifiers"] == ["not-hex"]
        clear = await client.patch(path, json=amendment(["a@b.co"]), headers=headers)
        assert clear.status_code == 400
        assert clear.json()["errors"][0]["code"] == "unhashed-identifier"
        too_many = await client.patch(path, json=amendment(["x"] * 50_001), headers=headers)
        assert too_many.status_code == 400
        unauthorised = await client.patch(path, json=amendment([]), headers={"Authorization": "Bearer nope"})
        assert unauthorised.status_code == 401
    assert emulator.segments[segment_id].members == {f"email:{sha256_hex('a@b.co')}"}
    assert len(emulator.limit_violations) == 2


@pytest.mark.anyio
async def test_a_deleted_contact_list_pauses_the_activation() -> None:
    harness = Harness.of("criteo")
    connector = harness.connect()
    target = await harness.target(connector)
    del _emulator(harness).segments[int(target.id)]
    with pytest.raises(ConfigError, match="no longer exists"):
        await harness.send(connector, target, OpKind.ADD, harness.contacts(range(2)))
    with pytest.raises(ConfigError, match="not available"):
        await connector.ensure_target(TargetSpec("contact_list", id=target.id))
    await connector.aclose()
