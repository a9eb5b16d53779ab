"""Microsoft Advertising customer match lists: OAuth, hashed emails only, against the emulator."""

from __future__ import annotations

from collections.abc import Iterator

import httpx
import pytest

from sluice.destinations.errors import ConfigError
from sluice.destinations.hashing import sha256_hex
from sluice.destinations.microsoft_ads.emulator import (
    ACCOUNT_ID,
    CLIENT_ID,
    CLIENT_SECRET,
    CUSTOMER_ID,
    DEVELOPER_TOKEN,
    TOKEN_PATH,
    MicrosoftAdsEmulator,
)
from sluice.destinations.sdk import OpKind, OutcomeStatus, TargetSpec
from sluice.destinations.testing import DestinationConformance
from sluice.destinations.testing.harness import EMULATOR_URL, Harness
from sluice.destinations.testing.pii import scan


class TestMicrosoftAdsConformanceSendsNoRawPii(DestinationConformance):
    """The whole membership conformance suite, Microsoft only, with every received body scanned."""

    @pytest.fixture(params=["microsoft_ads"])
    def harness(self, request: pytest.FixtureRequest) -> Iterator[Harness]:
        harness = Harness.of(str(request.param))
        yield harness
        assert scan(harness.emulator) == []
        assert harness.emulator.state()["unhashed_refusals"] == 0


def _emulator(harness: Harness) -> MicrosoftAdsEmulator:
    assert isinstance(harness.emulator, MicrosoftAdsEmulator)
    return harness.emulator


@pytest.mark.anyio
async def test_lists_are_created_and_written_with_hashed_emails_and_the_account_headers() -> None:
    harness = Harness.of("microsoft_ads")
    connector = harness.connect()
    target = await harness.target(connector)
    created = next(r for r in harness.emulator.requests if r.path.endswith("/Audiences"))
    assert created.body["Audiences"][0]["Type"] == "CustomerList"
    outcomes = await harness.send(connector, target, OpKind.ADD, [" User1@Example.com", "user2@example.com"])
    assert {o.status for o in outcomes} == {OutcomeStatus.DELIVERED}
    write = harness.emulator.requests[-1]
    assert write.path == "/CampaignManagement/v13/CustomerListUserData/Apply"
    assert write.body == {
        "CustomerListUserData": {
            "ActionType": "Add",
            "AudienceId": int(target.id),
            "CustomerListItemSubType": "Email",
            "CustomerListItems": [sha256_hex("user1@example.com"), sha256_hex("user2@example.com")],
        }
    }
    assert write.headers["developertoken"] == DEVELOPER_TOKEN
    assert (write.headers["customerid"], write.headers["customeraccountid"]) == (CUSTOMER_ID, ACCOUNT_ID)
    assert write.headers["authorization"].startswith("Bearer at-")
    token = next(r for r in harness.emulator.requests if r.path == "/common/oauth2/v2.0/token")
    assert "grant_type=refresh_token" in token.body
    assert f"client_id={CLIENT_ID}" in token.body
    assert "msads.manage" in token.body
    assert _emulator(harness).oauth.token_requests == 1, "one access token serves every call"
    assert scan(harness.emulator) == []
    await connector.aclose()


@pytest.mark.anyio
async def test_an_expired_access_token_is_refreshed_and_the_call_repeated() -> None:
    harness = Harness.of("microsoft_ads")
    connector = harness.connect()
    target = await harness.target(connector)
    emulator = _emulator(harness)
    emulator.oauth.expire_access_tokens()
    outcomes = await harness.send(connector, target, OpKind.ADD, harness.contacts(range(3)))
    assert {o.status for o in outcomes} == {OutcomeStatus.DELIVERED}
    assert emulator.oauth.token_requests == 2
    assert len(emulator.oauth.live_refresh_tokens()) == 1, "Microsoft rotates refresh tokens"
    await connector.aclose()


@pytest.mark.anyio
async def test_unaccepted_customer_match_terms_tell_the_user_what_to_do() -> None:
    harness = Harness.of("microsoft_ads")
    _emulator(harness).terms_accepted = False
    connector = harness.connect()
    with pytest.raises(ConfigError, match="accept"):
        await connector.ensure_target(TargetSpec("customer_list", "New list"))
    await connector.aclose()


@pytest.mark.anyio
async def test_the_emulator_refuses_unhashed_items_one_by_one_and_oversized_batches() -> None:
    harness = Harness.of("microsoft_ads")
    emulator = _emulator(harness)
    emulator.seed_targets(["Seeded"], TargetSpec("customer_list"))
    list_id = next(iter(emulator.lists))

    def body(items: list[str]) -> dict[str, object]:
        return {
            "CustomerListUserData": {
                "ActionType": "Add",
                "AudienceId": list_id,
                "CustomerListItemSubType": "Email",
                "CustomerListItems": items,
            }
        }

    transport = httpx.ASGITransport(app=emulator.app)
    path = "/CampaignManagement/v13/CustomerListUserData/Apply"
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
            "DeveloperToken": DEVELOPER_TOKEN,
            "CustomerId": CUSTOMER_ID,
            "CustomerAccountId": ACCOUNT_ID,
        }
        answer = await client.post(path, json=body([sha256_hex("a@b.co"), "c@d.co"]), headers=headers)
        assert answer.status_code == 200
        assert [(e["Index"], e["ErrorCode"]) for e in answer.json()["PartialErrors"]] == [
            (1, "InvalidCustomerListItem")
        ]
        too_many = await client.post(
            path, json=body([sha256_hex(str(n)) for n in range(1_001)]), headers=headers
        )
        assert too_many.status_code == 400
        assert "1000" in too_many.json()["OperationErrors"][0]["Message"]
        wrong_token = await client.post(path, json=body([]), headers={**headers, "DeveloperToken": "x"})
        assert wrong_token.json()["Errors"][0]["Code"] == 105
    assert emulator.lists[list_id].members == {sha256_hex("a@b.co")}
    assert len(emulator.limit_violations) == 2
