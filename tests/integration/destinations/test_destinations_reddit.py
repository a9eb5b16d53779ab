"""Reddit Ads customer lists: OAuth refresh token, hashed emails and mobile ad ids, against the emulator."""

from __future__ import annotations

import dataclasses
from collections.abc import Iterator

import httpx
import pytest

from sluice.destinations.errors import ConfigError
from sluice.destinations.hashing import sha256_hex
from sluice.destinations.reddit.emulator import API, CLIENT_ID, CLIENT_SECRET, TOKEN_PATH, RedditEmulator
from sluice.destinations.sdk import IdentifierKind, OpKind, OutcomeStatus, TargetSpec
from sluice.destinations.testing import DestinationConformance
from sluice.destinations.testing.harness import EMULATOR_URL, Harness
from sluice.destinations.testing.pii import scan


class TestRedditConformanceSendsNoRawPii(DestinationConformance):
    """The whole membership conformance suite, Reddit only, with every received body scanned."""

    @pytest.fixture(params=["reddit"])
    def harness(self, request: pytest.FixtureRequest) -> Iterator[Harness]:
        harness = Harness.of(str(request.param))
        yield harness
        assert scan(harness.emulator) == []
        assert harness.emulator.state()["unhashed_refusals"] == 0


def _emulator(harness: Harness) -> RedditEmulator:
    assert isinstance(harness.emulator, RedditEmulator)
    return harness.emulator


@pytest.mark.anyio
async def test_customer_lists_are_created_and_patched_with_hashed_rows() -> None:
    harness = Harness.of("reddit")
    connector = harness.connect()
    target = await harness.target(connector)
    created = next(r for r in harness.emulator.requests if r.method == "POST" and r.path.startswith(API))
    assert created.body == {"data": {"type": "CUSTOMER_LIST", "name": "Sluice conformance"}}
    outcomes = await harness.send(connector, target, OpKind.ADD, [" User1@Example.com", "user2@example.com"])
    assert {o.status for o in outcomes} == {OutcomeStatus.DELIVERED}
    write = harness.emulator.requests[-1]
    assert write.body == {
        "data": {
            "action_type": "ADD",
            "column_order": ["EMAIL_SHA256"],
            "user_data": [[sha256_hex("user1@example.com")], [sha256_hex("user2@example.com")]],
        }
    }
    assert write.headers["user-agent"].startswith("sluice-cdp")
    token = next(r for r in harness.emulator.requests if r.path == TOKEN_PATH)
    assert token.headers["authorization"].startswith("Basic "), "Reddit authenticates the app with Basic"
    assert "grant_type=refresh_token" in token.body
    assert scan(harness.emulator) == []
    await connector.aclose()


@pytest.mark.anyio
async def test_mobile_ad_ids_are_lowercased_and_hashed() -> None:
    harness = Harness.of("reddit")
    connector = harness.connect()
    target = dataclasses.replace(await harness.target(connector), identifier_kind=IdentifierKind.PLATFORM_ID)
    gaid = "38400000-8CF0-11BD-B23E-10B96E40000D"
    outcomes = await harness.send(connector, target, OpKind.ADD, [gaid, "12345"])
    assert [o.status for o in outcomes] == [OutcomeStatus.REJECTED, OutcomeStatus.DELIVERED]
    data = harness.emulator.requests[-1].body["data"]
    assert data["column_order"] == ["MAID_SHA256"]
    assert data["user_data"] == [[sha256_hex(gaid.lower())]]
    await connector.aclose()


@pytest.mark.anyio
async def test_the_emulator_refuses_unhashed_rows_big_batches_and_generic_user_agents() -> None:
    harness = Harness.of("reddit")
    emulator = _emulator(harness)
    emulator.seed_targets(["Seeded"], TargetSpec("customer_list"))
    audience_id = next(iter(emulator.audiences))
    path = f"{API}/custom_audiences/{audience_id}/users"

    def rows(values: list[str]) -> dict[str, object]:
        return {
            "data": {
                "action_type": "ADD",
                "column_order": ["EMAIL_SHA256"],
                "user_data": [[v] for v in values],
            }
        }

    transport = httpx.ASGITransport(app=emulator.app)
    async with httpx.AsyncClient(transport=transport, base_url=EMULATOR_URL) as client:
        grant = {
            "grant_type": "refresh_token",
            "refresh_token": emulator.oauth.issue_refresh_token(CLIENT_ID),
        }
        answer = await client.post(TOKEN_PATH, data=grant, auth=(CLIENT_ID, CLIENT_SECRET))
        headers = {
            "Authorization": f"Bearer {answer.json()['access_token']}",
            "User-Agent": "sluice-test/1.0",
        }
        refused = await client.patch(path, json=rows(["a@b.co"]), headers=headers)
        assert refused.status_code == 400
        assert "SHA-256" in refused.json()["error"]["message"]
        refused = await client.patch(path, json=rows([sha256_hex("x")] * 2_501), headers=headers)
        assert refused.status_code == 400
        generic = await client.patch(
            path, json=rows([sha256_hex("a@b.co")]), headers={**headers, "User-Agent": "python-httpx/0.28"}
        )
        assert generic.status_code == 403
        assert (
            await client.patch(path, json=rows([sha256_hex("a@b.co")]), headers=headers)
        ).status_code == 200
    assert emulator.audiences[audience_id].members == {f"EMAIL_SHA256:{sha256_hex('a@b.co')}"}
    assert len(emulator.limit_violations) == 2


@pytest.mark.anyio
async def test_revoked_authorization_and_deleted_audiences_are_config_errors() -> None:
    harness = Harness.of("reddit")
    connector = harness.connect()
    target = await harness.target(connector)
    harness.emulator.seed_members(target, harness.contacts(range(1_000)))
    page = await connector.list_targets("customer_list")
    assert [(t.name, t.size) for t in page.items] == [("Sluice conformance", 1_000)]
    del _emulator(harness).audiences[target.id]
    with pytest.raises(ConfigError, match="no longer exists"):
        await harness.send(connector, target, OpKind.ADD, harness.contacts(range(2)))
    await connector.aclose()
    revoked = harness.connect(valid=False)
    with pytest.raises(ConfigError, match="Reconnect"):
        await revoked.check()
    await revoked.aclose()
