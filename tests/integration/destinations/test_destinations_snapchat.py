"""Snapchat customer lists: only SHA-256 hashes leave Sluice, batches stay within 100,000
identifiers, and segments below Snap's 1,000-user targeting minimum are reported.

The membership conformance suite runs again for Snapchat with every received body scanned for raw
emails and phone numbers.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Iterator

import httpx
import pytest

from sluice.destinations.errors import ConfigError
from sluice.destinations.hashing import SNAPCHAT, PiiField, hash_value, sha256_hex
from sluice.destinations.sdk import IdentifierKind, OpKind, OutcomeStatus
from sluice.destinations.snapchat.emulator import SnapchatEmulator
from sluice.destinations.testing import DestinationConformance
from sluice.destinations.testing.harness import EMULATOR_URL, Harness
from sluice.destinations.testing.pii import scan

#: Snap Conversions API parameters page: ``Person@Example.com`` → ``person@example.com`` → digest
SNAP_EMAIL_VECTOR = ("Person@Example.com", "542d240129883c019e106e3b1b2d3f3cb3537c43c425364de8e951d5a3083345")


class TestSnapchatConformanceSendsNoRawPii(DestinationConformance):
    """The whole membership conformance suite, Snapchat only, with every received body scanned."""

    @pytest.fixture(params=["snapchat"])
    def harness(self, request: pytest.FixtureRequest) -> Iterator[Harness]:
        harness = Harness.of(str(request.param))
        yield harness
        assert scan(harness.emulator) == []
        assert harness.emulator.state()["unhashed_refusals"] == 0


def test_snap_email_normalisation_matches_the_published_example() -> None:
    raw, digest = SNAP_EMAIL_VECTOR
    assert hash_value(PiiField.EMAIL, raw, SNAPCHAT) == digest
    assert hash_value(PiiField.PHONE, "+1 (650) 555-1212", SNAPCHAT) == sha256_hex("16505551212")
    assert hash_value(
        PiiField.MOBILE_AD_ID, " 6D92078A-8246-4BA4-AE5B-76104861E7DC ", SNAPCHAT
    ) == sha256_hex("6d92078a-8246-4ba4-ae5b-76104861e7dc")


@pytest.mark.anyio
async def test_phones_and_mobile_ad_ids_use_their_own_schema() -> None:
    harness = Harness.of("snapchat")
    connector = harness.connect()
    base = await harness.target(connector)
    phones = dataclasses.replace(base, identifier_kind=IdentifierKind.PHONE)
    outcomes = await harness.send(connector, phones, OpKind.ADD, ["+44 20 7946 0958", "12"])
    assert [o.status for o in outcomes] == [OutcomeStatus.REJECTED, OutcomeStatus.DELIVERED]
    write = [r for r in harness.emulator.requests if r.path.endswith("/users")][-1]
    assert write.body == {"users": [{"schema": ["PHONE_SHA256"], "data": [[sha256_hex("442079460958")]]}]}
    devices = dataclasses.replace(base, identifier_kind=IdentifierKind.PLATFORM_ID)
    idfa = "6D92078A-8246-4BA4-AE5B-76104861E7DC"
    outcomes = await harness.send(connector, devices, OpKind.ADD, [idfa, "not-an-ad-id"])
    assert [o.status for o in outcomes] == [OutcomeStatus.REJECTED, OutcomeStatus.DELIVERED]
    write = [r for r in harness.emulator.requests if r.path.endswith("/users")][-1]
    assert write.body["users"][0] == {"schema": ["MOBILE_AD_ID_SHA256"], "data": [[sha256_hex(idfa.lower())]]}
    assert scan(harness.emulator) == []
    await connector.aclose()


@pytest.mark.anyio
async def test_small_segments_are_delivered_with_a_targeting_note_and_sizes_are_reported() -> None:
    harness = Harness.of("snapchat")
    connector = harness.connect()
    target = await harness.target(connector)
    outcomes = await harness.send(connector, target, OpKind.ADD, harness.contacts(range(5)))
    assert {o.status for o in outcomes} == {OutcomeStatus.DELIVERED}
    assert all("at least 1,000 matched users" in o.message for o in outcomes)
    again = await connector.ensure_target(dataclasses.replace(harness.emulator.target_spec(), id=target.id))
    assert again.size == 5
    harness.emulator.seed_members(target, harness.contacts(range(5, 1200)))
    grown = (await connector.list_targets("segment")).items[0]
    assert grown.size == 1200
    outcomes = await harness.send(connector, grown, OpKind.ADD, harness.contacts(range(1200, 1203)))
    assert {o.message for o in outcomes} == {""}
    await connector.aclose()


@pytest.mark.anyio
async def test_the_emulator_refuses_unhashed_pii_oversized_batches_and_bad_tokens() -> None:
    harness = Harness.of("snapchat")
    connector = harness.connect()
    target = await harness.target(connector)
    await connector.aclose()
    assert isinstance(harness.emulator, SnapchatEmulator)
    token = next(iter(harness.emulator.oauth.access_tokens))  # the one the connector was given
    headers = {"Authorization": f"Bearer {token}"}
    path = f"/v1/segments/{target.id}/users"
    transport = httpx.ASGITransport(app=harness.emulator.app)
    async with httpx.AsyncClient(transport=transport, base_url=EMULATOR_URL) as client:
        raw = {"users": [{"schema": ["EMAIL_SHA256"], "data": [["person@example.com"]]}]}
        refused = await client.post(path, json=raw, headers=headers)
        assert refused.status_code == 400
        assert "SHA-256" in refused.json()["debug_message"]
        too_many = {
            "users": [{"schema": ["EMAIL_SHA256"], "data": [[sha256_hex(str(n))] for n in range(100_001)]}]
        }
        refused = await client.post(path, json=too_many, headers=headers)
        assert refused.status_code == 400
        assert "100000" in refused.json()["debug_message"]
        anonymous = await client.get(path.removesuffix("/users"), headers={"Authorization": "Bearer nope"})
        assert anonymous.status_code == 401
    assert harness.emulator.members(target) == set()
    assert len(harness.emulator.limit_violations) == 2


@pytest.mark.anyio
async def test_a_vanished_segment_or_unknown_account_is_a_config_error() -> None:
    harness = Harness.of("snapchat")
    connector = harness.connect()
    target = await harness.target(connector)
    with pytest.raises(ConfigError, match="no longer exists"):
        await harness.send(
            connector, dataclasses.replace(target, id="404"), OpKind.ADD, harness.contacts([1])
        )
    await connector.aclose()
    config = {
        **harness.emulator.connector_config(EMULATOR_URL),
        "ad_account_id": "00000000-0000-0000-0000-000000000000",
    }
    stranger = harness.connector_class.connect(
        config, http_client=httpx.AsyncClient(transport=httpx.ASGITransport(app=harness.emulator.app))
    )
    with pytest.raises(ConfigError, match="00000000"):
        await stranger.check()
    await stranger.http.client.aclose()


@pytest.mark.anyio
async def test_an_expired_access_token_is_refreshed_from_the_refresh_token() -> None:
    harness = Harness.of("snapchat")
    connector = harness.connect()
    target = await harness.target(connector)
    harness.clock.now += 3600  # Snap access tokens live 30 minutes
    outcomes = await harness.send(connector, target, OpKind.ADD, harness.contacts(range(2)))
    assert {o.status for o in outcomes} == {OutcomeStatus.DELIVERED}
    assert harness.emulator.state()["oauth_token_requests"] == 2
    assert all("refresh_token" not in str(r.body) for r in harness.emulator.requests if "/v1/" in r.path)
    await connector.aclose()
