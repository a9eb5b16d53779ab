"""LinkedIn Matched Audiences: user and company DMP segments, hashed emails only, against the emulator."""

from __future__ import annotations

from collections.abc import Iterator
from urllib.parse import parse_qs, urlsplit

import httpx
import pytest

from sluice.destinations.errors import ConfigError
from sluice.destinations.hashing import sha256_hex
from sluice.destinations.linkedin.config import LinkedInConfig
from sluice.destinations.linkedin.connector import LinkedInConnector
from sluice.destinations.linkedin.emulator import (
    ACCOUNT_ID,
    CLIENT_ID,
    CLIENT_SECRET,
    TOKEN_PATH,
    LinkedInEmulator,
)
from sluice.destinations.oauth import exchange_code
from sluice.destinations.sdk import IdentifierKind, OpKind, OutcomeStatus, TargetSpec
from sluice.destinations.testing import DestinationConformance
from sluice.destinations.testing.harness import EMULATOR_URL, Harness
from sluice.destinations.testing.pii import scan


class TestLinkedInConformanceSendsNoRawPii(DestinationConformance):
    """The whole membership conformance suite, LinkedIn only, with every received body scanned."""

    @pytest.fixture(params=["linkedin"])
    def harness(self, request: pytest.FixtureRequest) -> Iterator[Harness]:
        harness = Harness.of(str(request.param))
        yield harness
        assert scan(harness.emulator) == []
        assert harness.emulator.state()["unhashed_refusals"] == 0


def _emulator(harness: Harness) -> LinkedInEmulator:
    assert isinstance(harness.emulator, LinkedInEmulator)
    return harness.emulator


def _writes(harness: Harness, resource: str) -> list[dict[str, object]]:
    return [r.body for r in harness.emulator.requests if r.path.endswith(f"/{resource}")]


@pytest.mark.anyio
async def test_user_segments_are_created_then_streamed_as_hashed_batch_creates() -> None:
    harness = Harness.of("linkedin")
    connector = harness.connect()
    target = await harness.target(connector)
    assert harness.clock.slept[:1] == [5.0], "waits 5 s after creating a segment, as LinkedIn asks"
    outcomes = await harness.send(connector, target, OpKind.ADD, [" User1@Example.com", "user2@example.com"])
    assert [o.status for o in outcomes] == [OutcomeStatus.DELIVERED, OutcomeStatus.DELIVERED]
    write = [r for r in harness.emulator.requests if r.path.endswith("/users")][-1]
    assert write.headers["x-restli-method"] == "BATCH_CREATE"
    assert write.headers["linkedin-version"] == "202611"
    assert write.headers["x-restli-protocol-version"] == "2.0.0"
    assert write.body == {
        "elements": [
            {
                "action": "ADD",
                "userIds": [{"idType": "SHA256_EMAIL", "idValue": sha256_hex("user1@example.com")}],
            },
            {
                "action": "ADD",
                "userIds": [{"idType": "SHA256_EMAIL", "idValue": sha256_hex("user2@example.com")}],
            },
        ]
    }
    created = next(
        r for r in harness.emulator.requests if r.method == "POST" and r.path == "/rest/dmpSegments"
    )
    assert created.body["type"] == "USER"
    assert created.body["account"] == f"urn:li:sponsoredAccount:{ACCOUNT_ID}"
    assert scan(harness.emulator) == []
    await connector.aclose()


@pytest.mark.anyio
async def test_company_segments_match_on_urn_domain_or_name() -> None:
    harness = Harness.of("linkedin")
    connector = harness.connect()
    spec = TargetSpec("company_segment", "Target accounts", identifier_kind=IdentifierKind.EXTERNAL_ID)
    target = await connector.ensure_target(spec)
    assert target.kind == "company_segment"
    outcomes = await harness.send(
        connector, target, OpKind.ADD, ["https://www.Acme.com/", "Globex Corporation", "x" * 300]
    )
    assert [o.status for o in outcomes] == [
        OutcomeStatus.REJECTED,  # too long for a company name: never sent
        OutcomeStatus.DELIVERED,
        OutcomeStatus.DELIVERED,
    ]
    assert _writes(harness, "companies")[-1] == {
        "elements": [
            {"action": "ADD", "companyWebsiteDomain": "acme.com"},
            {"action": "ADD", "companyName": "Globex Corporation"},
        ]
    }
    assert harness.emulator.members(target) == {"acme.com", "Globex Corporation"}
    await harness.send(connector, target, OpKind.REMOVE, ["acme.com"])
    assert harness.emulator.members(target) == {"Globex Corporation"}

    by_urn = await connector.ensure_target(
        TargetSpec("company_segment", "By URN", identifier_kind=IdentifierKind.PLATFORM_ID)
    )
    outcomes = await harness.send(
        connector, by_urn, OpKind.ADD, ["urn:li:organization:1035", "2414183", "acme"]
    )
    assert [o.status for o in outcomes] == [
        OutcomeStatus.REJECTED,
        OutcomeStatus.DELIVERED,
        OutcomeStatus.DELIVERED,
    ]
    assert _writes(harness, "companies")[-1] == {
        "elements": [
            {"action": "ADD", "organizationUrn": "urn:li:organization:1035"},
            {"action": "ADD", "organizationUrn": "urn:li:organization:2414183"},
        ]
    }
    with pytest.raises(ConfigError, match="company_segment"):
        await connector.ensure_target(
            TargetSpec("company_segment", "Emails?", identifier_kind=IdentifierKind.EMAIL)
        )
    await connector.aclose()


@pytest.mark.anyio
async def test_the_emulator_refuses_unhashed_emails_oversized_batches_and_early_writes() -> None:
    harness = Harness.of("linkedin")
    harness.emulator.seed_targets(["Ready"], TargetSpec("user_segment"))
    segment_id = next(iter(_emulator(harness).segments))
    emulator = _emulator(harness)
    transport = httpx.ASGITransport(app=harness.emulator.app)
    async with httpx.AsyncClient(transport=transport, base_url=EMULATOR_URL) as client:
        grant = {
            "grant_type": "refresh_token",
            "refresh_token": emulator.oauth.issue_refresh_token(CLIENT_ID),
            "client_id": CLIENT_ID,
            "client_secret": CLIENT_SECRET,
        }
        token = (await client.post(TOKEN_PATH, data=grant)).json()["access_token"]
        headers = {
            "Authorization": f"Bearer {token}",
            "LinkedIn-Version": "202611",
            "X-Restli-Protocol-Version": "2.0.0",
            "X-RestLi-Method": "BATCH_CREATE",
        }
        raw = {"elements": [{"action": "ADD", "userIds": [{"idType": "SHA256_EMAIL", "idValue": "a@b.co"}]}]}
        refused = await client.post(f"/rest/dmpSegments/{segment_id}/users", json=raw, headers=headers)
        assert refused.status_code == 400
        assert "length = 64" in refused.json()["message"]
        one = {"action": "ADD", "userIds": [{"idType": "SHA256_EMAIL", "idValue": sha256_hex("a@b.co")}]}
        too_many = {"elements": [one] * 5_001}
        refused = await client.post(f"/rest/dmpSegments/{segment_id}/users", json=too_many, headers=headers)
        assert refused.status_code == 400
        no_version = {k: v for k, v in headers.items() if k != "LinkedIn-Version"}
        refused = await client.post(
            f"/rest/dmpSegments/{segment_id}/users", json={"elements": [one]}, headers=no_version
        )
        assert refused.json()["code"] == "VERSION_MISSING"
        created = await client.post(
            "/rest/dmpSegments",
            json={
                "name": "New",
                "sourcePlatform": "SLUICE",
                "account": f"urn:li:sponsoredAccount:{ACCOUNT_ID}",
                "type": "USER",
                "destinations": [{"destination": "LINKEDIN"}],
            },
            headers=headers,
        )
        new_id = created.headers["x-restli-id"]
        early = await client.post(
            f"/rest/dmpSegments/{new_id}/users", json={"elements": [one]}, headers=headers
        )
        assert early.status_code == 404, "a segment accepts members only 5 s after its creation"
        bad_token = await client.get(
            f"/rest/adAccounts/{ACCOUNT_ID}", headers={**headers, "Authorization": "Bearer x"}
        )
        assert bad_token.json()["code"] == "INVALID_ACCESS_TOKEN"
    assert _emulator(harness).segments[segment_id].members == set()
    assert len(harness.emulator.limit_violations) == 2
    assert harness.emulator.state()["unhashed_refusals"] == 1


@pytest.mark.anyio
async def test_audience_size_is_reported_and_a_vanished_segment_pauses() -> None:
    harness = Harness.of("linkedin")
    connector = harness.connect()
    target = await harness.target(connector)
    harness.emulator.seed_members(target, harness.contacts(range(320)))
    page = await connector.list_targets("user_segment")
    assert [(t.name, t.size) for t in page.items] == [("Sluice conformance", 320)]
    del _emulator(harness).segments[int(target.id)]
    with pytest.raises(ConfigError, match="no longer exists"):
        await harness.send(connector, target, OpKind.ADD, harness.contacts(range(2)))
    await connector.aclose()


@pytest.mark.anyio
async def test_connect_with_linkedin_issues_a_refresh_token_the_connector_uses() -> None:
    """The authorization-code flow against the emulator: authorize, exchange the code, sync."""
    harness = Harness.of("linkedin")
    emulator = _emulator(harness)
    config = LinkedInConfig.model_validate({**emulator.connector_config(EMULATOR_URL), "refresh_token": None})
    app = LinkedInConnector.oauth_app
    assert app is not None
    resolved = app.resolved(config)
    callback = "https://sluice.example/api/v1/destinations/oauth/callback"
    transport = httpx.ASGITransport(app=emulator.app)
    async with httpx.AsyncClient(transport=transport, base_url=EMULATOR_URL) as client:
        consent = await client.get(resolved.authorize_url_for(CLIENT_ID, callback, state="s1"))
        assert consent.status_code == 302
        code = parse_qs(urlsplit(consent.headers["location"]).query)["code"][0]
        tokens = await exchange_code(
            resolved,
            client,
            client_id=CLIENT_ID,
            client_secret=CLIENT_SECRET,
            code=code,
            redirect_uri=callback,
        )
    assert tokens.refresh_token
    connector = LinkedInConnector.connect(
        {
            **config.model_dump(mode="json"),
            "client_secret": CLIENT_SECRET,
            "refresh_token": tokens.refresh_token,
        },
        http_client=httpx.AsyncClient(transport=httpx.ASGITransport(app=emulator.app)),
    )
    assert "Sluice demo ad account" in await connector.check()
    await connector.aclose()
