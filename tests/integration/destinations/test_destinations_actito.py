"""Actito beyond the shared suites: the API key → 15-minute token exchange, segmentations and
subscriptions on existing profiles, profiles upserted by either unique attribute, against the emulator."""

from __future__ import annotations

from datetime import date

import pytest

from sluice.destinations.actito.emulator import ActitoEmulator
from sluice.destinations.delivery import deliver
from sluice.destinations.errors import ConfigError
from sluice.destinations.sdk import (
    Connector,
    IdentifierKind,
    Op,
    OpKind,
    Outcome,
    OutcomeStatus,
    Target,
    TargetSpec,
)
from sluice.destinations.testing import Harness

pytestmark = pytest.mark.anyio


async def send(connector: Connector, target: Target, ops: list[Op]) -> list[Outcome]:
    return [o async for o in deliver(connector, target, ops)]


def actito() -> tuple[Harness, ActitoEmulator, Connector]:
    harness = Harness.of("actito")
    assert isinstance(harness.emulator, ActitoEmulator)
    return harness, harness.emulator, harness.connect()


async def test_the_api_key_only_buys_tokens_and_a_token_is_renewed_after_15_minutes() -> None:
    harness, emulator, connector = actito()
    people = harness.contacts(range(2))
    target = await connector.ensure_target(TargetSpec("segmentation", name="Gold"))
    assert target.parent_id == "Loyalty"
    await send(connector, target, [Op(OpKind.ADD, "k0", people[0])])
    harness.clock.now += 15 * 60 + 1
    await send(connector, target, [Op(OpKind.ADD, "k1", people[1])])
    token_calls = [r for r in emulator.requests if r.path == "/auth/token"]
    assert len(token_calls) == 2
    assert {r.headers["authorization"] for r in token_calls} == {emulator.api_key}
    data_calls = [r for r in emulator.requests if r.path != "/auth/token"]
    assert all(r.headers["authorization"].startswith("Bearer ") for r in data_calls), (
        "the key never goes elsewhere"
    )
    assert all(r.status != 401 for r in emulator.requests)
    assert emulator.members(target) == set(people)
    await connector.aclose()


async def test_segmentation_membership_needs_an_existing_profile_and_is_idempotent() -> None:
    harness, emulator, connector = actito()
    [known] = harness.contacts([1])
    stranger = harness.contacts([2], seed=False)[0]
    target = await connector.ensure_target(TargetSpec("segmentation", name="Gold"))
    outcomes = {
        o.identifier: o
        for o in await send(connector, target, [Op(OpKind.ADD, "a", known), Op(OpKind.ADD, "b", stranger)])
    }
    assert outcomes[known].status is OutcomeStatus.DELIVERED
    assert outcomes[stranger].status is OutcomeStatus.REJECTED
    assert "No profile found for the given key" in outcomes[stranger].message
    assert len(emulator.profiles) == 1, "membership never creates a profile"
    posts = [r for r in emulator.requests if r.method == "POST"]
    assert posts[0].query == {"allowUpdate": "true"}
    assert posts[0].body == {
        "attributes": [{"name": "emailAddress", "value": known}],
        "segmentations": [{"belongs": True, "segmentation": {"name": "Gold", "category": "Loyalty"}}],
    }
    removed = await send(connector, target, [Op(OpKind.REMOVE, "a", known), Op(OpKind.REMOVE, "b", stranger)])
    assert {o.status for o in removed} == {OutcomeStatus.DELIVERED}
    assert emulator.members(target) == set()
    await connector.aclose()


async def test_subscriptions_are_a_target_kind_too() -> None:
    harness, emulator, connector = actito()
    people = harness.contacts(range(3))
    newsletter = await connector.ensure_target(TargetSpec("subscription", name="Newsletter"))
    await send(connector, newsletter, [Op(OpKind.ADD, f"k{n}", p) for n, p in enumerate(people)])
    await send(connector, newsletter, [Op(OpKind.REMOVE, "k0", people[0])])
    assert emulator.members(newsletter) == set(people[1:])
    assert emulator.find("emailAddress", people[0]).subscriptions == {"Newsletter": False}  # type: ignore[union-attr]
    await connector.aclose()


@pytest.mark.parametrize(("kind", "name"), [("segmentation", "Platinum"), ("subscription", "Weekly digest")])
async def test_segmentations_and_subscriptions_are_never_created_by_sluice(kind: str, name: str) -> None:
    _, _, connector = actito()
    with pytest.raises(ConfigError, match="created in Actito's 'Manage DB structure'"):
        await connector.ensure_target(TargetSpec(kind, name=name))
    await connector.aclose()


async def test_profiles_are_upserted_by_either_unique_attribute() -> None:
    _, emulator, connector = actito()
    by_id = await connector.ensure_target(TargetSpec("profiles", identifier_kind=IdentifierKind.EXTERNAL_ID))
    created = await send(
        connector,
        by_id,
        [Op(OpKind.UPSERT, "c1", "C-1", {"emailAddress": "ann@example.com", "birthDate": date(1990, 5, 17)})],
    )
    assert [o.status for o in created] == [OutcomeStatus.DELIVERED]
    by_email = await connector.ensure_target(TargetSpec("profiles", identifier_kind=IdentifierKind.EMAIL))
    updated = await send(
        connector, by_email, [Op(OpKind.UPSERT, "c1", "ann@example.com", {"firstName": "Ann"})]
    )
    assert [o.status for o in updated] == [OutcomeStatus.DELIVERED]
    [profile] = emulator.profiles
    assert profile.attributes == {
        "customerId": "C-1",
        "emailAddress": "ann@example.com",
        "birthDate": "17/05/1990",
        "firstName": "Ann",
    }
    await send(connector, by_id, [Op(OpKind.UPSERT, "c2", "C-2", {"emailAddress": "bo@example.com"})])
    [clash] = await send(
        connector, by_id, [Op(OpKind.UPSERT, "c2", "C-2", {"emailAddress": "ann@example.com"})]
    )
    assert clash.status is OutcomeStatus.REJECTED
    assert clash.message == "The unique attributes given match different profiles"
    assert len(emulator.profiles) == 2
    await connector.aclose()


async def test_a_mapped_attribute_the_table_does_not_have_stops_the_run() -> None:
    _, emulator, connector = actito()
    target = await connector.ensure_target(TargetSpec("profiles"))
    with pytest.raises(ConfigError, match="profile table 'Customers' has no attribute 'shoeSize'"):
        await send(connector, target, [Op(OpKind.UPSERT, "k", "bo@example.com", {"shoeSize": 44})])
    assert not [r for r in emulator.requests if r.method == "POST"], "nothing sent"
    await connector.aclose()


async def test_a_value_actito_refuses_rejects_that_row_only() -> None:
    _, _, connector = actito()
    target = await connector.ensure_target(TargetSpec("profiles"))
    outcomes = {
        o.key: o
        for o in await send(
            connector,
            target,
            [
                Op(OpKind.UPSERT, "a", "ann@example.com", {"loyaltyPoints": 3}),
                Op(OpKind.UPSERT, "b", "bo@example.com", {"loyaltyPoints": "many"}),
            ],
        )
    }
    assert outcomes["a"].status is OutcomeStatus.DELIVERED
    assert outcomes["b"].status is OutcomeStatus.REJECTED
    assert outcomes["b"].message == "Attribute 'loyaltyPoints' expects an INTEGER value, got 'many'"
    await connector.aclose()


async def test_a_wrong_entity_or_table_fails_the_connection_test() -> None:
    harness, emulator, _ = actito()
    for change in ({"entity": "Other"}, {"profile_table": "Prospects"}):
        config = {**emulator.connector_config("http://emulator.test"), **change}
        connector = harness.connector_class.connect(config, http_client=harness.connect().http.client)
        with pytest.raises(ConfigError, match=r"Other|Prospects"):
            await connector.check()
        await connector.aclose()


async def test_calls_stay_within_100_per_minute_and_5_in_flight() -> None:
    harness, emulator, connector = actito()
    people = harness.contacts(range(60))
    target = await connector.ensure_target(TargetSpec("segmentation", name="Gold"))
    started = harness.clock()
    outcomes = await send(connector, target, [Op(OpKind.ADD, f"k{n}", p) for n, p in enumerate(people)])
    assert {o.status for o in outcomes} == {OutcomeStatus.DELIVERED}
    calls = len(emulator.requests)
    assert calls == 2 + 2 * 60, "token, structure, then a lookup and a write per contact"
    assert harness.clock() - started >= 60 * (calls - 100) / 100, "paced at 100 calls per minute"
    assert emulator.throttled == 0, "Actito never had to slow a call down"
    assert emulator.peak_in_flight <= 5
    await connector.aclose()


async def test_segmentations_of_the_same_name_in_two_categories_stay_apart() -> None:
    harness, emulator, connector = actito()
    emulator.segmentations.append(("Tiers 2027", "Gold"))
    [person] = harness.contacts([1])
    picked = await connector.ensure_target(TargetSpec("segmentation", name="Gold", parent_id="Tiers 2027"))
    assert (picked.id, picked.parent_id) == ("Tiers 2027:Gold", "Tiers 2027")
    page = await connector.list_targets("segmentation")
    assert {t.id for t in page.items} >= {"Loyalty:Gold", "Tiers 2027:Gold"}
    await send(connector, picked, [Op(OpKind.ADD, "k", person)])
    assert emulator.find("emailAddress", person).segmentations == {("Tiers 2027", "Gold")}  # type: ignore[union-attr]
    await connector.aclose()
