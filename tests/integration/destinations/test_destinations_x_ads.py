"""X Ads custom audiences: OAuth 1.0a signed requests, hashed identifiers only, against the emulator."""

from __future__ import annotations

from collections.abc import Iterator

import httpx
import pytest

from sluice.destinations.errors import ConfigError
from sluice.destinations.hashing import sha256_hex
from sluice.destinations.sdk import IdentifierKind, OpKind, OutcomeStatus, TargetSpec
from sluice.destinations.testing import DestinationConformance
from sluice.destinations.testing.harness import EMULATOR_URL, Harness
from sluice.destinations.testing.pii import scan
from sluice.destinations.x_ads.emulator import (
    ACCESS_TOKEN,
    ACCESS_TOKEN_SECRET,
    ACCOUNT_ID,
    CONSUMER_KEY,
    CONSUMER_SECRET,
    XAdsEmulator,
)
from sluice.destinations.x_ads.oauth1 import OAuth1, sign, signature_base


class TestXAdsConformanceSendsNoRawPii(DestinationConformance):
    """The whole membership conformance suite, X only, every body scanned and every request signed."""

    @pytest.fixture(params=["x_ads"])
    def harness(self, request: pytest.FixtureRequest) -> Iterator[Harness]:
        harness = Harness.of(str(request.param))
        yield harness
        assert scan(harness.emulator) == []
        assert harness.emulator.state()["unhashed_refusals"] == 0


def _emulator(harness: Harness) -> XAdsEmulator:
    assert isinstance(harness.emulator, XAdsEmulator)
    return harness.emulator


def test_the_signature_matches_the_published_example() -> None:
    """X's "Creating a signature" walk-through: same parameters, same secrets, same signature."""
    params = [
        ("status", "Hello Ladies + Gentlemen, a signed OAuth request!"),
        ("include_entities", "true"),
        ("oauth_consumer_key", "xvz1evFS4wEEPTGEFPHBog"),
        ("oauth_nonce", "kYjzVBB8Y0ZFabxSWbWovY3uYSQ2pTgmZeNu2VS4cg"),
        ("oauth_signature_method", "HMAC-SHA1"),
        ("oauth_timestamp", "1318622958"),
        ("oauth_token", "370773112-GmHxMAgYyLbNEtIKZeRNFsMKPR9EyMZeS9weJAEb"),
        ("oauth_version", "1.0"),
    ]
    base = signature_base("post", "https://api.twitter.com/1.1/statuses/update.json", params)
    assert base.startswith(
        "POST&https%3A%2F%2Fapi.twitter.com%2F1.1%2Fstatuses%2Fupdate.json&include_entities"
    )
    signature = sign(
        base, "kAcSOqF21Fu85e7zjz7ZN2U4ZRhfV3WpwPAoE3Z7kBw", "LswwdoUaIvS8ltyTt5jkRh4J50vUPVVHtR2YPi5kE"
    )
    assert signature == "hCtSmYh+iHYCEqBWrE7C7hYmtUk="


@pytest.mark.anyio
async def test_audiences_are_created_and_written_with_hashed_emails_and_usernames() -> None:
    harness = Harness.of("x_ads")
    connector = harness.connect()
    target = await harness.target(connector)
    created = next(r for r in harness.emulator.requests if r.method == "POST")
    assert created.query == {"name": "Sluice conformance"}
    assert created.headers["authorization"].startswith("OAuth ")
    outcomes = await harness.send(connector, target, OpKind.ADD, [" User1@Example.com"])
    assert [o.status for o in outcomes] == [OutcomeStatus.DELIVERED]
    write = harness.emulator.requests[-1]
    assert write.body == [
        {"operation_type": "Update", "params": {"users": [{"email": [sha256_hex("user1@example.com")]}]}}
    ]
    handles = TargetSpec("custom_audience", "Followers", identifier_kind=IdentifierKind.PLATFORM_ID)
    by_handle = await connector.ensure_target(handles)
    idfa = "4B61639E-47CC-4056-A16A-C8217E029462"
    outcomes = await harness.send(
        connector, by_handle, OpKind.ADD, ["@AdsAPI", "143567", idfa, "not a handle!"]
    )
    assert [o.status for o in outcomes] == [
        OutcomeStatus.REJECTED,  # never sent
        OutcomeStatus.DELIVERED,
        OutcomeStatus.DELIVERED,
        OutcomeStatus.DELIVERED,
    ]
    assert harness.emulator.requests[-1].body == [
        {"operation_type": "Update", "params": {"users": [{"twandle": [sha256_hex("adsapi")]}]}},
        {"operation_type": "Update", "params": {"users": [{"twitter_id": [sha256_hex("143567")]}]}},
        {"operation_type": "Update", "params": {"users": [{"device_id": [sha256_hex(idfa.lower())]}]}},
    ]
    assert sha256_hex("adsapi") == "49e0be2aeccfb51a8dee4c945c8a70a9ac500cf6f5cb08112575f74db9b1470d"
    await harness.send(connector, by_handle, OpKind.REMOVE, ["adsapi"])
    assert harness.emulator.members(by_handle) == {
        f"twitter_id:{sha256_hex('143567')}",
        f"device_id:{sha256_hex(idfa.lower())}",
    }
    assert _emulator(harness).signature_refusals == 0
    assert scan(harness.emulator) == []
    await connector.aclose()


@pytest.mark.anyio
async def test_the_emulator_verifies_signatures_and_refuses_replays_unhashed_values_and_big_batches() -> None:
    harness = Harness.of("x_ads")
    emulator = _emulator(harness)
    emulator.seed_targets(["Seeded"], TargetSpec("custom_audience"))
    audience_id = next(iter(emulator.audiences))
    path = f"/12/accounts/{ACCOUNT_ID}/custom_audiences/{audience_id}/users"
    signer = OAuth1(CONSUMER_KEY, CONSUMER_SECRET, ACCESS_TOKEN, ACCESS_TOKEN_SECRET)
    forger = OAuth1(CONSUMER_KEY, "guessed-secret", ACCESS_TOKEN, ACCESS_TOKEN_SECRET)
    transport = httpx.ASGITransport(app=emulator.app)
    one = {"operation_type": "Update", "params": {"users": [{"email": [sha256_hex("a@b.co")]}]}}
    async with httpx.AsyncClient(transport=transport, base_url=EMULATOR_URL) as client:
        forged = await client.post(path, json=[one], auth=forger)
        assert forged.status_code == 401
        assert forged.json()["errors"][0]["code"] == "UNAUTHORIZED_ACCESS"
        unsigned = await client.post(path, json=[one])
        assert unsigned.status_code == 401
        fixed = OAuth1(CONSUMER_KEY, CONSUMER_SECRET, ACCESS_TOKEN, ACCESS_TOKEN_SECRET, nonce=lambda: "same")
        assert (await client.post(path, json=[one], auth=fixed)).status_code == 200
        assert (await client.post(path, json=[one], auth=fixed)).status_code == 401, "a nonce is used once"
        raw = [{"operation_type": "Update", "params": {"users": [{"email": ["a@b.co"]}]}}]
        refused = await client.post(path, json=raw, auth=signer)
        assert refused.status_code == 400
        assert "SHA256" in refused.json()["errors"][0]["message"]
        refused = await client.post(path, json=[one] * 2_501, auth=signer)
        assert refused.status_code == 400
        assert "2500" in refused.json()["errors"][0]["message"]
    assert emulator.audiences[audience_id].members == {f"email:{sha256_hex('a@b.co')}"}
    assert emulator.signature_refusals == 3
    assert len(emulator.limit_violations) == 2


@pytest.mark.anyio
async def test_audience_size_is_reported_and_a_deleted_audience_pauses() -> None:
    harness = Harness.of("x_ads")
    connector = harness.connect()
    target = await harness.target(connector)
    harness.emulator.seed_members(target, harness.contacts(range(120)))
    page = await connector.list_targets("custom_audience")
    assert [(t.name, t.size) for t in page.items] == [("Sluice conformance", 120)]
    del _emulator(harness).audiences[target.id]
    with pytest.raises(ConfigError, match="no longer exists"):
        await harness.send(connector, target, OpKind.ADD, harness.contacts(range(2)))
    await connector.aclose()
