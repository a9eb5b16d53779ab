"""Braze, Klaviyo, HubSpot and Brevo beyond the shared suites: events, consent, async jobs, associations,
deletion, and the vendor limits their emulators enforce — as a user of each destination would see them."""

from __future__ import annotations

import dataclasses

import httpx
import pytest

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


async def target(connector: Connector, spec: TargetSpec) -> Target:
    return dataclasses.replace(await connector.ensure_target(spec), identifier_kind=spec.identifier_kind)


async def send(connector: Connector, where: Target, ops: list[Op]) -> list[Outcome]:
    return [o async for o in deliver(connector, where, ops)]


def statuses(outcomes: list[Outcome]) -> dict[str, str]:
    return {o.identifier: str(o.status) for o in outcomes}


# -- Braze ------------------------------------------------------------------------------------


async def test_braze_events_are_sent_in_batches_of_75_with_their_time_and_properties() -> None:
    harness = Harness.of("braze")
    connector = harness.connect()
    people = [f"ext-{n}" for n in range(80)]
    harness.emulator.seed_contacts(people)
    event = await target(
        connector, TargetSpec("event", "order_completed", identifier_kind=IdentifierKind.EXTERNAL_ID)
    )
    ops = [
        Op(OpKind.EVENT, f"order-{n}", p, {"time": "2026-11-30T10:00:00Z", "total": 10.5})
        for n, p in enumerate(people)
    ]
    assert set(statuses(await send(connector, event, ops)).values()) == {"delivered"}
    tracks = [r for r in harness.emulator.requests if r.path == "/users/track"]
    assert [len(r.body["events"]) for r in tracks] == [75, 5]
    user = harness.emulator.find("external_id", "ext-3")  # type: ignore[attr-defined]
    assert user.events == [
        {"name": "order_completed", "time": "2026-11-30T10:00:00Z", "properties": {"total": 10.5}}
    ]
    assert (await connector.list_targets("event")).items[0].name == "order_completed"
    await connector.aclose()


async def test_braze_update_only_rejects_unknown_users_and_membership_never_creates_them() -> None:
    harness = Harness.of("braze")
    config = {**harness.emulator.connector_config("http://emulator.test"), "create_users": False}
    connector = harness.connector_class.connect(
        config, http_client=httpx.AsyncClient(transport=httpx.ASGITransport(app=harness.emulator.app))
    )
    connector.http.sleep, connector.http.clock = harness.clock.sleep, harness.clock
    harness.emulator.seed_contacts(["ext-1"])
    users = await target(connector, TargetSpec("users", identifier_kind=IdentifierKind.EXTERNAL_ID))
    outcomes = await send(
        connector, users, [Op(OpKind.UPSERT, k, k, {"first_name": "Ann"}) for k in ("ext-1", "ext-2")]
    )
    assert statuses(outcomes) == {"ext-1": "delivered", "ext-2": "rejected"}
    assert "_update_existing_only" in next(o.message for o in outcomes if o.identifier == "ext-2")
    segment = await target(
        connector, TargetSpec("attribute", "VIP France", identifier_kind=IdentifierKind.EXTERNAL_ID)
    )
    assert segment.id == "sluice_vip_france"
    removed = await send(connector, segment, [Op(OpKind.REMOVE, "k", "ext-9")])
    assert removed[0].status is OutcomeStatus.DELIVERED
    assert removed[0].message.startswith("nothing to remove")
    assert len(harness.emulator.users) == 1  # type: ignore[attr-defined]
    await connector.aclose()


async def test_braze_subscription_groups_are_set_50_users_at_a_time_and_reverted() -> None:
    harness = Harness.of("braze")
    connector = harness.connect()
    people = harness.contacts(range(60))
    group = await target(
        connector, TargetSpec("subscription_group", id="sg-123", identifier_kind=IdentifierKind.EMAIL)
    )
    assert set(
        statuses(await send(connector, group, [Op(OpKind.CONSENT_SET, p, p) for p in people])).values()
    ) == {"delivered"}
    sets = [
        r.body["subscription_groups"][0]
        for r in harness.emulator.requests
        if r.path == "/v2/subscription/status/set"
    ]
    assert [len(g["emails"]) for g in sets] == [50, 10]
    assert {g["subscription_state"] for g in sets} == {"subscribed"}
    await send(connector, group, [Op(OpKind.CONSENT_REVERT, p, p) for p in people[:5]])
    states = [harness.emulator.find("email", p).subscriptions["sg-123"] for p in people[:6]]  # type: ignore[attr-defined]
    assert states == ["unsubscribed"] * 5 + ["subscribed"]
    by_braze_id = dataclasses.replace(group, identifier_kind=IdentifierKind.PLATFORM_ID)
    refused = await send(connector, by_braze_id, [Op(OpKind.CONSENT_SET, "k", "5f0000")])
    assert refused[0].status is OutcomeStatus.REJECTED
    assert harness.emulator.limit_violations == []
    await connector.aclose()


async def test_braze_segments_array_keeps_each_segment_as_one_value() -> None:
    harness = Harness.of("braze")
    connector = harness.connect()
    people = harness.contacts(range(4))
    vip = await target(connector, TargetSpec("segments_array", "VIP France"))
    churn = await target(connector, TargetSpec("segments_array", "Churn risk"))
    assert (vip.id, vip.parent_id) == ("vip_france", "sluice_segments")
    await send(connector, vip, [Op(OpKind.ADD, p, p) for p in people])
    await send(connector, churn, [Op(OpKind.ADD, p, p) for p in people[:2]])
    await send(connector, vip, [Op(OpKind.REMOVE, p, p) for p in people[:1]])
    assert harness.emulator.members(vip) == set(people[1:])
    assert harness.emulator.members(churn) == set(people[:2])
    user = harness.emulator.find("email", people[0])  # type: ignore[attr-defined]
    assert user.attributes["sluice_segments"] == ["churn_risk"]
    sent = next(r.body for r in harness.emulator.requests if r.path == "/users/track")
    assert sent["attributes"][0]["sluice_segments"] == {"add": ["vip_france"]}
    await connector.aclose()


async def test_braze_emulator_refuses_more_than_75_attribute_objects() -> None:
    harness = Harness.of("braze")
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=harness.emulator.app)) as http:
        response = await http.post(
            "http://emulator.test/users/track",
            json={"attributes": [{"external_id": str(n), "a": 1} for n in range(76)]},
            headers={"Authorization": "Bearer emulator-braze-rest-key"},
        )
    assert response.status_code == 400
    assert harness.emulator.limit_violations
    assert {"x-ratelimit-limit", "x-ratelimit-remaining", "x-ratelimit-reset"} <= set(response.headers.keys())


# -- Klaviyo ----------------------------------------------------------------------------------


async def test_klaviyo_import_rows_are_reported_only_once_the_job_completes() -> None:
    harness = Harness.of("klaviyo")
    harness.emulator.polls_to_complete = 4  # type: ignore[attr-defined]
    connector = harness.connect()
    profiles = await target(connector, TargetSpec("profiles", identifier_kind=IdentifierKind.EMAIL))
    ops = [Op(OpKind.UPSERT, "a", "ann@example.com", {"first_name": "Ann", "plan": "gold"})]
    assert statuses(await send(connector, profiles, ops)) == {"ann@example.com": "delivered"}
    polls = [
        r for r in harness.emulator.requests if r.method == "GET" and "/profile-bulk-import-jobs/" in r.path
    ]
    assert len(polls) == 4
    assert len(harness.clock.slept) >= 3  # waited between polls on the connector's clock
    assert harness.emulator.records(profiles)["ann@example.com"]["plan"] == "gold"
    deleted = await send(connector, profiles, [Op(OpKind.DELETE, "a", "ann@example.com")])
    assert deleted[0].status is OutcomeStatus.REJECTED
    assert "data privacy" in deleted[0].message
    await connector.aclose()


async def test_klaviyo_subscription_list_subscribes_with_consent_and_unsubscribes() -> None:
    harness = Harness.of("klaviyo")
    connector = harness.connect()
    people = harness.contacts(range(3))
    newsletter = await target(connector, TargetSpec("list", "Newsletter"))
    consent = await target(
        connector, TargetSpec("subscription", id=newsletter.id, identifier_kind=IdentifierKind.EMAIL)
    )
    fresh = "new@example.com"
    await send(connector, consent, [Op(OpKind.CONSENT_SET, p, p) for p in [*people, fresh]])
    emulator = harness.emulator
    assert emulator.find("email", fresh).subscriptions == {"email": "SUBSCRIBED"}  # type: ignore[attr-defined]
    assert emulator.members(newsletter) == {*people, fresh}
    await send(connector, consent, [Op(OpKind.CONSENT_REVERT, people[0], people[0])])
    assert emulator.find("email", people[0]).subscriptions == {"email": "UNSUBSCRIBED"}  # type: ignore[attr-defined]
    job = emulator.subscription_jobs[0]  # type: ignore[attr-defined]
    assert job["attributes"]["custom_source"] == "Sluice"
    assert job["relationships"]["list"]["data"]["id"] == newsletter.id
    await connector.aclose()


async def test_klaviyo_burst_window_answers_429_with_retry_after_and_the_connector_waits() -> None:
    harness = Harness.of("klaviyo")
    harness.emulator.windows[1.0][0] = 2  # type: ignore[attr-defined]
    connector = harness.connect()
    people = harness.contacts(range(250))
    listed = await target(connector, TargetSpec("list", "Burst"))
    assert set(statuses(await send(connector, listed, [Op(OpKind.ADD, p, p) for p in people])).values()) == {
        "delivered"
    }
    throttled = [r for r in harness.emulator.requests if r.status == 429]
    assert throttled
    assert harness.clock.slept
    assert min(harness.clock.slept) >= 1.0  # Retry-After is whole seconds
    await connector.aclose()


# -- HubSpot ----------------------------------------------------------------------------------


async def test_hubspot_upserts_associate_records_and_delete_archives_them() -> None:
    harness = Harness.of("hubspot")
    connector = harness.connect()
    companies = await target(
        connector,
        TargetSpec("object", id="companies:company_uid", identifier_kind=IdentifierKind.EXTERNAL_ID),
    )
    await send(connector, companies, [Op(OpKind.UPSERT, "c", "acme", {"name": "Acme"})])
    company_id = next(iter(harness.emulator.objects["companies"]))  # type: ignore[attr-defined]
    contacts = await target(
        connector, TargetSpec("object", id="contacts", identifier_kind=IdentifierKind.EMAIL)
    )
    ops = [
        Op(OpKind.UPSERT, "p", "ann@example.com", {"firstname": "Ann", "associations.companies": company_id})
    ]
    assert statuses(await send(connector, contacts, ops)) == {"ann@example.com": "delivered"}
    contact_id = next(
        i for i, p in harness.emulator.objects["contacts"].items() if p.get("email") == "ann@example.com"
    )  # type: ignore[attr-defined]
    assert ("contacts", contact_id, "companies", company_id) in harness.emulator.associations  # type: ignore[attr-defined]
    deleted = await send(
        connector,
        contacts,
        [Op(OpKind.DELETE, "p", "ann@example.com"), Op(OpKind.DELETE, "q", "nobody@example.com")],
    )
    assert statuses(deleted) == {"ann@example.com": "delivered", "nobody@example.com": "delivered"}
    assert "ann@example.com" not in harness.emulator.records(contacts)
    await connector.aclose()


async def test_hubspot_refuses_non_unique_properties_and_dynamic_lists() -> None:
    harness = Harness.of("hubspot")
    connector = harness.connect()
    with pytest.raises(ConfigError, match="not unique"):
        await connector.ensure_target(
            TargetSpec("object", id="companies:name", identifier_kind=IdentifierKind.EXTERNAL_ID)
        )
    from sluice.destinations.hubspot.emulator import HList

    harness.emulator.lists["77"] = HList("77", "Active list", "DYNAMIC")  # type: ignore[attr-defined]
    with pytest.raises(ConfigError, match="DYNAMIC"):
        await connector.ensure_target(TargetSpec("list", id="77"))
    await connector.aclose()


async def test_hubspot_rolling_window_is_respected_from_its_headers() -> None:
    harness = Harness.of("hubspot")
    harness.emulator.limit_per_window = 10  # type: ignore[attr-defined]
    connector = harness.connect()
    people = harness.contacts(range(450))
    listed = await target(connector, TargetSpec("list", "Window"))
    assert set(statuses(await send(connector, listed, [Op(OpKind.ADD, p, p) for p in people])).values()) == {
        "delivered"
    }
    assert harness.clock.slept  # paused until the 10-second window moved on
    assert harness.emulator.limit_violations == []
    await connector.aclose()


# -- Brevo ------------------------------------------------------------------------------------


async def test_brevo_import_is_polled_to_completion_and_clear_empties_attributes() -> None:
    harness = Harness.of("brevo")
    harness.emulator.polls_to_complete = 3  # type: ignore[attr-defined]
    connector = harness.connect()
    contacts = await target(connector, TargetSpec("contacts", identifier_kind=IdentifierKind.EMAIL))
    ops = [Op(OpKind.UPSERT, "a", "ann@example.com", {"FIRSTNAME": "Ann", "LASTNAME": "Lee"})]
    assert statuses(await send(connector, contacts, ops)) == {"ann@example.com": "delivered"}
    assert len([r for r in harness.emulator.requests if r.path.startswith("/v3/processes/")]) == 3
    await send(connector, contacts, [Op(OpKind.CLEAR, "a", "ann@example.com", {"LASTNAME": None})])
    assert harness.emulator.records(contacts)["ann@example.com"] == {"FIRSTNAME": "Ann"}
    deleted = await send(connector, contacts, [Op(OpKind.DELETE, "a", "ann@example.com")])
    assert deleted[0].status is OutcomeStatus.DELIVERED
    assert "ann@example.com" not in harness.emulator.records(contacts)
    await connector.aclose()


async def test_brevo_emulator_refuses_more_than_150_contacts_per_list_call() -> None:
    harness = Harness.of("brevo")
    connector = harness.connect()
    listed = await target(connector, TargetSpec("list", "Big"))
    await connector.aclose()
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=harness.emulator.app)) as http:
        response = await http.post(
            f"http://emulator.test/v3/contacts/lists/{listed.id}/contacts/add",
            json={"emails": [f"u{n}@example.com" for n in range(151)]},
            headers={"api-key": harness.emulator.api_key},  # type: ignore[attr-defined]
        )
    assert response.status_code == 400
    assert response.json()["code"] == "out_of_range"
    assert harness.emulator.limit_violations
    assert "x-sib-ratelimit-remaining" in response.headers
