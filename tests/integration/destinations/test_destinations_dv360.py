"""Display & Video 360 Customer Match: hashed contact info only, v4 and v3 collection names,
consent on every upload, unhashed data and denied consent refused by the emulator."""

from __future__ import annotations

import dataclasses
from collections.abc import Iterator
from datetime import date
from pathlib import Path
from typing import Any, cast

import httpx
import pytest

from sluice.core.settings import Settings
from sluice.demo.emulator_server import BackgroundEmulators
from sluice.demo.warehouse import build_demo_warehouse
from sluice.destinations.delivery import deliver
from sluice.destinations.dv360.emulator import Dv360Emulator
from sluice.destinations.emulators import demo_contacts
from sluice.destinations.errors import ConfigError
from sluice.destinations.hashing import GOOGLE_ADS, PiiField, hash_value, sha256_hex
from sluice.destinations.sdk import IdentifierKind, Op, OpKind, OutcomeStatus, TargetSpec
from sluice.destinations.testing import DestinationConformance
from sluice.destinations.testing.harness import EMULATOR_URL, Harness
from sluice.destinations.testing.pii import scan
from sluice.destinations.testing.runs import newsletter_activation, run_once
from sluice.store.db import Database


class TestDv360ConformanceSendsNoRawPii(DestinationConformance):
    """The membership conformance suite, DV360 only, with every received body scanned."""

    @pytest.fixture(params=["dv360"])
    def harness(self, request: pytest.FixtureRequest) -> Iterator[Harness]:
        harness = Harness.of(str(request.param))
        yield harness
        assert scan(harness.emulator) == []
        assert _fake(harness).unhashed_refusals == 0


def _fake(harness: Harness) -> Dv360Emulator:
    return cast(Dv360Emulator, harness.emulator)


def _connect(harness: Harness, **overrides: Any) -> Any:
    connector = harness.connector_class.connect(
        {**harness.emulator.connector_config(EMULATOR_URL), **overrides},
        http_client=httpx.AsyncClient(transport=httpx.ASGITransport(app=harness.emulator.app)),
    )
    connector.http.sleep = harness.clock.sleep
    return connector


@pytest.mark.anyio
@pytest.mark.parametrize(
    ("version", "collection", "type_field"),
    [
        ("v4", "firstPartyAndPartnerAudiences", "firstPartyAndPartnerAudienceType"),
        ("v3", "firstAndThirdPartyAudiences", "firstAndThirdPartyAudienceType"),
    ],
)
async def test_members_are_edited_as_hashed_contact_infos_with_consent(
    version: str, collection: str, type_field: str
) -> None:
    harness = Harness.of("dv360")
    connector = _connect(harness, api_version=version, ad_personalization_consent="UNSPECIFIED")
    target = await connector.ensure_target(TargetSpec(kind="audience", name="Lapsed buyers"))
    people = harness.contacts(range(3))
    outcomes = await harness.send(connector, target, OpKind.ADD, [*people, "Jane.Doe@GMAIL.com"])
    assert {o.status for o in outcomes} == {OutcomeStatus.DELIVERED}
    (created,) = [
        r for r in harness.emulator.requests if r.method == "POST" and r.path == f"/{version}/{collection}"
    ]
    assert created.query == {"advertiserId": _fake(harness).advertiser_id}
    assert created.body["audienceType"] == "CUSTOMER_MATCH_CONTACT_INFO"
    assert type_field in created.body
    (edit,) = [r for r in harness.emulator.requests if r.path.endswith(":editCustomerMatchMembers")]
    assert edit.path == f"/{version}/{collection}/{target.id}:editCustomerMatchMembers"
    assert edit.body["advertiserId"] == _fake(harness).advertiser_id
    contact_list = edit.body["addedContactInfoList"]
    assert contact_list["consent"] == {"adUserData": "CONSENT_STATUS_GRANTED"}
    assert contact_list["contactInfos"][-1] == {"hashedEmails": [sha256_hex("janedoe@gmail.com")]}
    assert harness.emulator.members(target) == {*people, sha256_hex("janedoe@gmail.com")}
    removed = await harness.send(connector, target, OpKind.REMOVE, people[:2])
    assert {o.status for o in removed} == {OutcomeStatus.DELIVERED}
    assert harness.emulator.members(target) == {people[2], sha256_hex("janedoe@gmail.com")}
    assert scan(harness.emulator) == []
    await connector.aclose()


@pytest.mark.anyio
async def test_phones_are_hashed_in_e164() -> None:
    harness = Harness.of("dv360")
    connector = harness.connect()
    target = dataclasses.replace(await harness.target(connector), identifier_kind=IdentifierKind.PHONE)
    outcomes = await harness.send(connector, target, OpKind.ADD, ["+44 20 7946 0958", "x"])
    assert [o.status for o in outcomes] == [OutcomeStatus.REJECTED, OutcomeStatus.DELIVERED]
    (edit,) = [r for r in harness.emulator.requests if r.path.endswith(":editCustomerMatchMembers")]
    assert edit.body["addedContactInfoList"]["contactInfos"] == [
        {"hashedPhoneNumbers": [sha256_hex("+442079460958")]}
    ]
    await connector.aclose()


@pytest.mark.anyio
async def test_the_emulator_refuses_unhashed_data_denied_consent_and_oversized_lists() -> None:
    harness = Harness.of("dv360")
    connector = harness.connect()
    target = await harness.target(connector)
    token = await connector.http.auth.source.access_token(connector.http.client)  # type: ignore[union-attr]
    path = f"/v4/firstPartyAndPartnerAudiences/{target.id}:editCustomerMatchMembers"
    advertiser = _fake(harness).advertiser_id
    async with httpx.AsyncClient(
        transport=httpx.ASGITransport(app=harness.emulator.app),
        base_url=EMULATOR_URL,
        headers={"Authorization": f"Bearer {token}"},
    ) as client:
        raw = {
            "advertiserId": advertiser,
            "addedContactInfoList": {"contactInfos": [{"hashedEmails": ["a@b.co"]}]},
        }
        refused = await client.post(path, json=raw)
        assert refused.status_code == 400
        assert refused.json()["error"]["status"] == "INVALID_ARGUMENT"
        denied = {
            "advertiserId": advertiser,
            "addedContactInfoList": {
                "contactInfos": [{"hashedEmails": [sha256_hex("a@b.co")]}],
                "consent": {"adUserData": "CONSENT_STATUS_DENIED"},
            },
        }
        assert (await client.post(path, json=denied)).status_code == 400
        many = {"contactInfos": [{"hashedEmails": [sha256_hex(str(n))]} for n in range(500_001)]}
        oversized = await client.post(path, json={"advertiserId": advertiser, "addedContactInfoList": many})
        assert oversized.status_code == 400
        stranger = await client.post(path, json={**denied, "advertiserId": "1"})
        assert stranger.json()["error"]["status"] == "PERMISSION_DENIED"
    assert harness.emulator.members(target) == set()
    assert len(harness.emulator.limit_violations) == 2
    await connector.aclose()


@pytest.mark.anyio
async def test_unknown_advertisers_and_audiences_are_config_errors() -> None:
    harness = Harness.of("dv360")
    stranger = _connect(harness, advertiser_id="999")
    with pytest.raises(ConfigError, match="PERMISSION_DENIED"):
        await stranger.check()
    await stranger.aclose()
    connector = harness.connect()
    with pytest.raises(ConfigError, match="no audience 31337"):
        await connector.ensure_target(TargetSpec(kind="audience", id="31337"))
    with pytest.raises(ConfigError, match="named 'Missing'"):
        await connector.ensure_target(TargetSpec(kind="audience", name="Missing", create_if_missing=False))
    await connector.aclose()


def test_a_real_run_keeps_a_dv360_audience_of_hashed_demo_emails(
    settings: Settings, sqlite_database: Database, tmp_path: Path
) -> None:
    warehouse = tmp_path / "demo.duckdb"
    build_demo_warehouse(users=300, seed=5, path=warehouse, as_of=date.today())
    with BackgroundEmulators(contacts=demo_contacts(warehouse)) as emulators:
        target = {"kind": "audience", "name": "Newsletter", "create_if_missing": True}
        activation_id = newsletter_activation(sqlite_database, emulators, warehouse, "dv360", target)
        first = run_once(sqlite_database, settings, activation_id)
        assert first.state == "succeeded", first.error
        emulator = emulators.emulators["dv360"]
        assert isinstance(emulator, Dv360Emulator)
        (audience,) = emulator.audiences.values()
        assert audience.name == "Newsletter"
        assert len(audience.members) == first.counts["delivered"] > 0
        google = {hash_value(PiiField.EMAIL, e, GOOGLE_ADS) for e in demo_contacts(warehouse)}
        assert audience.members <= google
        assert scan(emulator) == []
        again = run_once(sqlite_database, settings, activation_id)
        assert again.state == "succeeded", again.error
        assert again.counts.get("delivered", 0) == 0, "an unchanged audience sends nothing"


@pytest.mark.anyio
async def test_mapped_contact_fields_complete_the_contact_info() -> None:
    harness = Harness.of("dv360")
    connector = harness.connect()
    target = await harness.target(connector)
    fields = {
        "phone": "+44 20 7946 0958",
        "first_name": "Ann",
        "last_name": "Lee",
        "country": "gb",
        "postal_code": "SW1A 1AA",
    }
    outcomes = [o async for o in deliver(connector, target, [Op(OpKind.ADD, "k", "ann@example.com", fields)])]
    assert [o.status for o in outcomes] == [OutcomeStatus.DELIVERED]
    (edit,) = [r for r in harness.emulator.requests if r.path.endswith(":editCustomerMatchMembers")]
    assert edit.body["addedContactInfoList"]["contactInfos"] == [
        {
            "hashedEmails": [sha256_hex("ann@example.com")],
            "hashedPhoneNumbers": [sha256_hex("+442079460958")],
            "hashedFirstName": sha256_hex("ann"),
            "hashedLastName": sha256_hex("lee"),
            "countryCode": "GB",
            "zipCodes": ["sw1a1aa"],
        }
    ]
    assert scan(harness.emulator) == []
    await connector.aclose()
