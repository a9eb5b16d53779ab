"""Google Ads Customer Match: hashed identifiers only, offline user data jobs run and polled, per-row
refusals kept with Google's words, quota waits, failed jobs retried, full refresh with removeAll."""

from __future__ import annotations

import dataclasses
from collections.abc import Iterator
from typing import Any, cast

import httpx
import pytest

from sluice.destinations.delivery import deliver
from sluice.destinations.emulation import FaultKind
from sluice.destinations.errors import ConfigError
from sluice.destinations.google_ads.connector import GoogleAdsConnector
from sluice.destinations.google_ads.emulator import GoogleAdsEmulator
from sluice.destinations.hashing import sha256_hex
from sluice.destinations.sdk import IdentifierKind, Op, OpKind, OutcomeStatus, ReplaceBatch, TargetSpec
from sluice.destinations.testing import DestinationConformance
from sluice.destinations.testing.harness import EMULATOR_URL, Harness
from sluice.destinations.testing.pii import scan
from sluice.sync.load import Replacement


class TestGoogleAdsConformanceSendsNoRawPii(DestinationConformance):
    """The membership conformance suite, Google Ads only, with every received body scanned."""

    @pytest.fixture(params=["google_ads"])
    def harness(self, request: pytest.FixtureRequest) -> Iterator[Harness]:
        harness = Harness.of(str(request.param))
        yield harness
        assert scan(harness.emulator) == []
        assert harness.emulator.state()["unhashed_refusals"] == 0


def _writes(harness: Harness, suffix: str) -> list[Any]:
    return [r.body for r in harness.emulator.requests if r.path.endswith(suffix)]


def _fake(harness: Harness) -> GoogleAdsEmulator:
    return cast(GoogleAdsEmulator, harness.emulator)


@pytest.mark.anyio
async def test_a_batch_is_one_job_run_and_polled_with_headers_and_consent() -> None:
    harness = Harness.of("google_ads")
    connector = harness.connector_class.connect(
        {**harness.emulator.connector_config(EMULATOR_URL), "ad_user_data_consent": "GRANTED"},
        http_client=httpx.AsyncClient(transport=httpx.ASGITransport(app=harness.emulator.app)),
    )
    connector.http.sleep = harness.clock.sleep
    _fake(harness).job_polls = 3
    target = await connector.ensure_target(TargetSpec(kind="user_list", name="VIP buyers"))
    people = harness.contacts(range(4))
    outcomes = await harness.send(connector, target, OpKind.ADD, [*people, "John.Smith@Gmail.com"])
    assert {o.status for o in outcomes} == {OutcomeStatus.DELIVERED}
    assert harness.emulator.members(target) == {*people, sha256_hex("johnsmith@gmail.com")}
    (job,) = _writes(harness, "offlineUserDataJobs:create")
    assert job["job"]["type"] == "CUSTOMER_MATCH_USER_LIST"
    assert job["job"]["customerMatchUserListMetadata"]["consent"] == {"adUserData": "GRANTED"}
    (added,) = _writes(harness, ":addOperations")
    assert added["enablePartialFailure"] is True
    assert added["operations"][-1] == {
        "create": {"userIdentifiers": [{"hashedEmail": sha256_hex("johnsmith@gmail.com")}]}
    }
    polls = [r for r in harness.emulator.requests if "/operations/" in r.path]
    assert len(polls) == 4, "polled until done"
    assert len(harness.clock.slept) >= 3, "waits between polls"
    write = next(r for r in harness.emulator.requests if r.path.endswith(":run"))
    assert write.headers["developer-token"] == _fake(harness).developer_token
    assert write.headers["login-customer-id"] == _fake(harness).manager_id
    assert write.headers["authorization"].startswith("Bearer ")
    assert "list match rate 80%" in outcomes[0].message, "4 of 5 hashes are known people"
    page = await connector.list_targets()
    assert [(t.name, t.size) for t in page.items] == [("VIP buyers", 5)]
    await connector.aclose()


@pytest.mark.anyio
async def test_phones_are_hashed_in_e164_with_plus() -> None:
    harness = Harness.of("google_ads")
    connector = harness.connect()
    target = dataclasses.replace(await harness.target(connector), identifier_kind=IdentifierKind.PHONE)
    outcomes = await harness.send(connector, target, OpKind.ADD, ["+1 (650) 555-1212", "650.555.1213", "12"])
    assert [o.status for o in outcomes] == [
        OutcomeStatus.REJECTED,
        OutcomeStatus.DELIVERED,
        OutcomeStatus.DELIVERED,
    ]
    (added,) = _writes(harness, ":addOperations")
    assert [op["create"]["userIdentifiers"][0] for op in added["operations"]] == [
        {"hashedPhoneNumber": sha256_hex("+16505551212")},
        {"hashedPhoneNumber": sha256_hex("+16505551213")},
    ]
    assert scan(harness.emulator) == []
    await connector.aclose()


@pytest.mark.anyio
async def test_a_row_google_refuses_is_rejected_with_its_words_and_the_rest_delivered() -> None:
    harness = Harness.of("google_ads")
    connector = harness.connect()
    target = await harness.target(connector)
    people = harness.contacts(range(5))
    _fake(harness).refusals[sha256_hex(people[2])] = ("INVALID_EMAIL", "The email address is not valid.")
    outcomes = {o.identifier: o for o in await harness.send(connector, target, OpKind.ADD, people)}
    assert outcomes[people[2]].status is OutcomeStatus.REJECTED
    assert (
        "The email address is not valid. (offlineUserDataJobError.INVALID_EMAIL)"
        in outcomes[people[2]].message
    )
    assert {outcomes[p].status for p in people if p != people[2]} == {OutcomeStatus.DELIVERED}
    assert harness.emulator.members(target) == set(people) - {people[2]}
    await connector.aclose()


@pytest.mark.anyio
async def test_the_emulator_refuses_unhashed_pii_and_oversized_requests() -> None:
    harness = Harness.of("google_ads")
    connector = cast(GoogleAdsConnector, harness.connect())
    target = await harness.target(connector)
    job = await connector._create_job(target)
    token = await connector.http.auth.source.access_token(connector.http.client)  # type: ignore[union-attr]
    headers = {
        "Authorization": f"Bearer {token}",
        "developer-token": _fake(harness).developer_token,
    }
    async with httpx.AsyncClient(
        transport=httpx.ASGITransport(app=harness.emulator.app), base_url=EMULATOR_URL
    ) as client:
        raw = {
            "enablePartialFailure": True,
            "operations": [{"create": {"userIdentifiers": [{"hashedEmail": "mary@example.com"}]}}],
        }
        answer = (await client.post(f"/v26/{job}:addOperations", json=raw, headers=headers)).json()
        (error,) = answer["partialFailureError"]["details"][0]["errors"]
        assert error["errorCode"] == {"offlineUserDataJobError": "INVALID_SHA256_FORMAT"}
        assert error["location"]["fieldPathElements"][0] == {"fieldName": "operations", "index": 0}
        many = [
            {"create": {"userIdentifiers": [{"hashedEmail": sha256_hex(str(n))}]}} for n in range(100_001)
        ]
        refused = await client.post(f"/v26/{job}:addOperations", json={"operations": many}, headers=headers)
        assert refused.status_code == 400
        assert refused.json()["error"]["status"] == "INVALID_ARGUMENT"
        no_token = await client.post(f"/v26/{job}:run", json={}, headers={"developer-token": "x"})
        assert no_token.status_code == 401
    assert harness.emulator.members(target) == set()
    assert len(harness.emulator.limit_violations) == 2
    await connector.aclose()


@pytest.mark.anyio
async def test_quota_waits_for_googles_retry_delay_and_a_failed_job_fails_the_rows() -> None:
    harness = Harness.of("google_ads")
    connector = harness.connect()
    target = await harness.target(connector)
    people = harness.contacts(range(3))
    harness.emulator.inject(FaultKind.RATE_LIMIT, 1)
    outcomes = await harness.send(connector, target, OpKind.ADD, people)
    assert {o.status for o in outcomes} == {OutcomeStatus.DELIVERED}
    assert 2.0 <= harness.clock.slept[0] < 2.1, "waits the retryDelay in the RESOURCE_EXHAUSTED body"
    _fake(harness).fail_next_job = "INTERNAL_ERROR"
    outcomes = await harness.send(connector, target, OpKind.REMOVE, people)
    assert {o.status for o in outcomes} == {OutcomeStatus.FAILED}, "retried next run, never rejected"
    assert "failed" in outcomes[0].message
    assert harness.emulator.members(target) == set(people)
    await connector.aclose()


@pytest.mark.anyio
async def test_full_refresh_is_one_job_remove_all_then_members_and_tokens_are_refreshed_on_401() -> None:
    harness = Harness.of("google_ads")
    connector = harness.connect()
    target = await harness.target(connector)
    stayed, left, joined = (
        harness.contacts(range(3)),
        harness.contacts(range(3, 6)),
        harness.contacts(range(6, 8)),
    )
    harness.emulator.seed_members(target, stayed + left)
    _fake(harness).oauth.expire_access_tokens()
    before = len(harness.emulator.requests)
    ops = [Op(OpKind.ADD, f"key-{p}", p) for p in [*stayed, *joined]]
    first = await connector.replace_members(
        target, ops[:3], ReplaceBatch(77, 1, last=False, estimated_total=5)
    )
    assert {o.status for o in first} == {OutcomeStatus.DELIVERED}
    assert harness.emulator.members(target) == set(stayed + left), "nothing changes before the last batch"
    last = await connector.replace_members(target, ops[3:], ReplaceBatch(77, 2, last=True, estimated_total=5))
    assert {o.status for o in last} == {OutcomeStatus.DELIVERED}
    assert harness.emulator.members(target) == set(stayed + joined)
    added = _writes(harness, ":addOperations")
    assert added[0]["operations"][0] == {"removeAll": True}
    assert len(added[0]["operations"]) == 4
    assert len(_fake(harness).jobs) == 1, "one job for the whole refresh"
    statuses = [r.status for r in list(harness.emulator.requests)[before:]]
    assert statuses.count(401) == 1, "the expired token was refused once, then refreshed"
    assert _fake(harness).oauth.token_requests == 2, "one refresh after the 401, then the call repeated"
    await connector.aclose()


@pytest.mark.anyio
async def test_a_full_refresh_through_the_sync_load_stage_replaces_the_list() -> None:
    harness = Harness.of("google_ads")
    connector = harness.connect()
    target = await harness.target(connector)
    harness.emulator.seed_members(target, harness.contacts(range(4)))
    replacement = Replacement(connector, target, estimated_total=2)
    people = harness.contacts(range(10, 12))
    assert await replacement.add([Op(OpKind.ADD, f"key-{p}", p) for p in [*people, "not-an-email"]]) != []
    outcomes = await replacement.finish()
    assert [o.status for o in outcomes] == [OutcomeStatus.DELIVERED, OutcomeStatus.DELIVERED]
    assert harness.emulator.members(target) == set(people)
    await connector.aclose()


@pytest.mark.anyio
async def test_unknown_lists_customers_and_revoked_authorisations_are_config_errors() -> None:
    harness = Harness.of("google_ads")
    connector = harness.connect()
    with pytest.raises(ConfigError, match="no Customer Match list 4242"):
        await connector.ensure_target(TargetSpec(kind="user_list", id="4242"))
    with pytest.raises(ConfigError, match="named 'Missing'"):
        await connector.ensure_target(TargetSpec(kind="user_list", name="Missing", create_if_missing=False))
    await connector.aclose()
    stranger = harness.connector_class.connect(
        {**harness.emulator.connector_config(EMULATOR_URL), "customer_id": "111-222-3333"},
        http_client=httpx.AsyncClient(transport=httpx.ASGITransport(app=harness.emulator.app)),
    )
    with pytest.raises(ConfigError, match="USER_PERMISSION_DENIED"):
        await stranger.check()
    await stranger.aclose()
    revoked = harness.connect(valid=False)
    with pytest.raises(ConfigError, match="Reconnect"):
        await revoked.check()
    await revoked.aclose()


@pytest.mark.anyio
async def test_list_names_with_quotes_and_and_are_found_again() -> None:
    harness = Harness.of("google_ads")
    connector = harness.connect()
    spec = TargetSpec(kind="user_list", name="Rock 'n' Roll AND Jazz \\ fans")
    created = await connector.ensure_target(spec)
    assert (await connector.ensure_target(spec)).id == created.id
    assert [u.name for u in _fake(harness).user_lists.values()] == [spec.name]
    await connector.aclose()


@pytest.mark.anyio
async def test_mapped_contact_fields_are_sent_as_more_hashed_identifiers_and_an_address() -> None:
    harness = Harness.of("google_ads")
    connector = harness.connect()
    target = await harness.target(connector)
    person = {
        "phone": "650-555-1212",
        "first_name": " Zoë ",
        "last_name": "O'Brien",
        "country": "us",
        "postal_code": "94043-1351",
    }
    ops = [
        Op(OpKind.ADD, "k1", "Ann@Example.com", person),
        Op(OpKind.ADD, "k2", "bob@example.com", {"phone": "12", "first_name": "Bob"}),
    ]
    outcomes = [o async for o in deliver(connector, target, ops)]
    assert {o.status for o in outcomes} == {OutcomeStatus.DELIVERED}
    (added,) = _writes(harness, ":addOperations")
    first, second = (op["create"]["userIdentifiers"] for op in added["operations"])
    assert first == [
        {"hashedEmail": sha256_hex("ann@example.com")},
        {"hashedPhoneNumber": sha256_hex("+16505551212")},
        {
            "addressInfo": {
                "hashedFirstName": sha256_hex("zoë"),
                "hashedLastName": sha256_hex("obrien"),
                "countryCode": "US",
                "postalCode": "94043",
            }
        },
    ]
    assert second == [{"hashedEmail": sha256_hex("bob@example.com")}], (
        "a bad phone and a lone name are left out"
    )
    assert scan(harness.emulator) == []
    assert harness.emulator.limit_violations == []
    await connector.aclose()


@pytest.mark.anyio
async def test_a_job_takes_its_rows_in_requests_of_at_most_100000_identifiers() -> None:
    harness = Harness.of("google_ads")
    connector = harness.connect()
    target = await harness.target(connector)
    address = {
        "phone": "+33 1 42 68 53 00",
        "first_name": "Ann",
        "last_name": "Lee",
        "country": "FR",
        "postal_code": "75001",
    }
    ops = [Op(OpKind.ADD, f"k{n}", f"user{n}@example.com", address) for n in range(40_000)]
    outcomes = [o async for o in deliver(connector, target, ops)]
    assert {o.status for o in outcomes} == {OutcomeStatus.DELIVERED}
    sizes = [
        sum(len(op["create"]["userIdentifiers"]) for op in body["operations"])
        for body in _writes(harness, ":addOperations")
    ]
    assert sizes == [99_999, 20_001], "one job, two requests under Google's cap (3 identifiers a person)"
    assert len(_fake(harness).jobs) == 1
    assert harness.emulator.limit_violations == []
    await connector.aclose()
