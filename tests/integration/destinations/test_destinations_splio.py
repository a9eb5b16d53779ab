"""Splio beyond the shared suites: the API-key → JWT exchange, subscription lists, contacts created
or edited by unique key with typed custom fields, and full refresh of a group, against the emulator."""

from __future__ import annotations

from datetime import datetime

import pytest

from sluice.destinations.delivery import deliver
from sluice.destinations.errors import ConfigError
from sluice.destinations.sdk import Connector, Op, OpKind, Outcome, OutcomeStatus, Target, TargetSpec
from sluice.destinations.splio.emulator import SplioEmulator
from sluice.destinations.testing import Harness

pytestmark = pytest.mark.anyio


async def send(connector: Connector, target: Target, ops: list[Op]) -> list[Outcome]:
    return [o async for o in deliver(connector, target, ops)]


def splio() -> tuple[Harness, SplioEmulator, Connector]:
    harness = Harness.of("splio")
    assert isinstance(harness.emulator, SplioEmulator)
    return harness, harness.emulator, harness.connect()


def ops(kind: OpKind, people: list[str]) -> list[Op]:
    return [Op(kind, f"k-{p}", p) for p in people]


async def test_one_token_serves_many_calls_and_is_renewed_when_it_expires() -> None:
    harness, emulator, connector = splio()
    people = harness.contacts(range(3))
    target = await connector.ensure_target(TargetSpec("group", name="VIP"))
    await send(connector, target, ops(OpKind.ADD, people[:1]))
    await send(connector, target, ops(OpKind.ADD, people[1:2]))
    assert [r.path for r in emulator.requests].count("/authenticate") == 1
    assert emulator.requests[0].body == {"api_key": emulator.api_key}
    harness.clock.now += 3700  # past the one-hour token
    assert {o.status for o in await send(connector, target, ops(OpKind.ADD, people[2:]))} == {"delivered"}
    assert [r.path for r in emulator.requests].count("/authenticate") == 2
    assert emulator.members(target) == set(people)
    assert all(r.status != 401 for r in emulator.requests), "renewed before expiry, never refused"
    await connector.aclose()


async def test_a_revoked_token_is_renewed_once_then_the_call_succeeds() -> None:
    harness, emulator, connector = splio()
    people = harness.contacts(range(2))
    target = await connector.ensure_target(TargetSpec("group", name="VIP"))
    emulator.tokens.clear()  # revoked on Splio's side
    assert {o.status for o in await send(connector, target, ops(OpKind.ADD, people))} == {"delivered"}
    statuses = [(r.path, r.status) for r in emulator.requests][-3:]
    assert statuses == [
        (f"/target/groups/{target.id}/add", 401),
        ("/authenticate", 200),
        (statuses[2][0], 200),
    ]
    await connector.aclose()


async def test_lists_subscribe_and_unsubscribe_one_contact_per_call() -> None:
    harness, emulator, connector = splio()
    people = harness.contacts(range(3))
    stranger = harness.contacts([99], seed=False)[0]
    newsletter = await connector.ensure_target(TargetSpec("list", name="Newsletter"))
    assert newsletter.id == "1"
    outcomes = {
        o.identifier: o for o in await send(connector, newsletter, ops(OpKind.ADD, [*people, stranger]))
    }
    assert {outcomes[p].status for p in people} == {OutcomeStatus.DELIVERED}
    assert outcomes[stranger].status is OutcomeStatus.REJECTED
    assert "Contact not found for given identifier." in outcomes[stranger].message
    assert emulator.members(newsletter) == set(people)
    subscribe = [r for r in emulator.requests if r.path.endswith("/lists/subscribe")]
    assert len(subscribe) == 4
    assert subscribe[0].body == {"list_ids": [1]}
    removed = await send(connector, newsletter, ops(OpKind.REMOVE, [people[0], stranger]))
    assert {o.status for o in removed} == {OutcomeStatus.DELIVERED}, "an unknown contact is in no list"
    assert emulator.members(newsletter) == set(people[1:])
    await connector.aclose()


async def test_lists_are_never_created_by_sluice() -> None:
    _, _, connector = splio()
    with pytest.raises(ConfigError, match="lists are created in the Splio application"):
        await connector.ensure_target(TargetSpec("list", name="Brand new list"))
    await connector.aclose()


async def test_contacts_are_created_or_edited_by_unique_key_with_typed_custom_fields() -> None:
    harness, emulator, connector = splio()
    [known] = harness.contacts([1])
    new = harness.contacts([2], seed=False)[0]
    target = await connector.ensure_target(TargetSpec("contacts"))
    first = datetime(2026, 3, 4, 15, 0)
    outcomes = await send(
        connector,
        target,
        [
            Op(
                OpKind.UPSERT, "a", known, {"firstname": "Ann", "loyalty_points": 12, "first_purchase": first}
            ),
            Op(OpKind.UPSERT, "b", new, {"lastname": "Bo", "civility": "mr"}),
            Op(OpKind.UPSERT, "c", "carl@example.com", {"loyalty_points": "lots"}),
        ],
    )
    by_key = {o.key: o for o in outcomes}
    assert by_key["a"].status is by_key["b"].status is OutcomeStatus.DELIVERED
    assert by_key["c"].status is OutcomeStatus.REJECTED
    assert "Custom field loyalty_points expects an integer." in by_key["c"].message
    view = emulator.contact_view(known)
    assert view is not None
    assert view["firstname"] == "Ann"
    custom = {f["name"]: f["value"] for f in view["custom_fields"]}
    assert custom == {"loyalty_points": 12, "first_purchase": "2026-03-04 15:00:00"}
    assert emulator.records(target)[new] == {"lastname": "Bo", "civility": "mr"}
    paths = [r.path for r in emulator.requests if r.path.startswith("/data/contacts")]
    assert [r.path for r in emulator.requests].count("/data/fields/contacts") == 1, "fields read once"
    assert paths == ["/data/contacts/bulk", f"/data/contacts/{known}"], "only the existing contact is edited"
    patch = next(r for r in emulator.requests if r.method == "PATCH")
    assert "email" not in patch.body, "the unique key is never sent in an edit"
    await connector.aclose()


async def test_a_full_refresh_empties_the_group_in_one_call() -> None:
    harness, emulator, connector = splio()
    people = harness.contacts(range(4))
    target = await connector.ensure_target(TargetSpec("group", name="Winback"))
    emulator.seed_members(target, people)
    again = await connector.reset_target(target)
    assert again.id == target.id
    assert emulator.members(target) == set()
    assert emulator.requests[-1].path == f"/target/groups/{target.id}/clear"
    await connector.aclose()


async def test_a_spent_rate_window_is_waited_out_as_rate_limit_reset_says() -> None:
    harness, emulator, connector = splio()
    people = harness.contacts(range(2))
    target = await connector.ensure_target(TargetSpec("group", name="VIP"))
    harness.clock.now = float(int(harness.clock.now)) + 0.25  # a quarter into a one-second window
    emulator.inject("rate_limit", 1)
    assert {o.status for o in await send(connector, target, ops(OpKind.ADD, people))} == {"delivered"}
    refused = [r for r in emulator.requests if r.status == 429]
    assert len(refused) == 1
    assert 0.7 < harness.clock.slept[-1] < 1.0, "waits the rest of the window (rateLimit-reset), not a guess"
    await connector.aclose()


async def test_calls_in_flight_when_the_token_is_revoked_share_one_renewal() -> None:
    harness, emulator, connector = splio()
    people = harness.contacts(range(6))
    newsletter = await connector.ensure_target(TargetSpec("list", name="Newsletter"))
    emulator.tokens.clear()
    outcomes = await send(connector, newsletter, ops(OpKind.ADD, people))
    assert {o.status for o in outcomes} == {OutcomeStatus.DELIVERED}
    assert [r.path for r in emulator.requests].count("/authenticate") == 2, (
        "the first token, then one renewal"
    )
    assert emulator.members(newsletter) == set(people)
    await connector.aclose()


async def test_a_universe_not_keyed_by_email_fails_the_connection_test() -> None:
    _, emulator, connector = splio()
    assert "keyed by email" in await connector.check()
    emulator.unique_key = "c0"
    with pytest.raises(ConfigError, match="identifies contacts by 'c0'"):
        await connector.check()
    await connector.aclose()


async def test_a_mapped_custom_field_the_universe_does_not_have_stops_the_run() -> None:
    harness, emulator, connector = splio()
    target = await connector.ensure_target(TargetSpec("contacts"))
    [person] = harness.contacts([1])
    with pytest.raises(ConfigError, match="the Splio universe has no contact custom field 'shoe_size'"):
        await send(connector, target, [Op(OpKind.UPSERT, "k", person, {"firstname": "Ann", "shoe_size": 42})])
    assert not [r for r in emulator.requests if r.path.startswith("/data/contacts")], "nothing sent"
    await connector.aclose()
