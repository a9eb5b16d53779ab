"""What each destination does beyond the shared suite, as its users would see it."""

from __future__ import annotations

import dataclasses

import pytest

from sluice.destinations.delivery import deliver
from sluice.destinations.errors import ConfigError
from sluice.destinations.intercom.emulator import Contact as IntercomContact
from sluice.destinations.intercom.emulator import IntercomEmulator
from sluice.destinations.mailchimp.connector import MailchimpConnector
from sluice.destinations.mailchimp.emulator import MailchimpEmulator
from sluice.destinations.sdk import IdentifierKind, Op, OpKind, OutcomeStatus, TargetSpec
from sluice.destinations.testing import Harness
from sluice.destinations.voyado.emulator import VoyadoEmulator

pytestmark = pytest.mark.anyio


def test_mailchimp_base_url_comes_from_the_api_key_data_center() -> None:
    config = MailchimpConnector.config_model.model_validate({"api_key": "abc123-us14", "list_id": "x"})
    assert MailchimpConnector.base_url(config) == "https://us14.api.mailchimp.com/3.0"
    with pytest.raises(ConfigError, match="data center"):
        MailchimpConnector.base_url(
            MailchimpConnector.config_model.model_validate({"api_key": "abc", "list_id": "x"})
        )


async def test_mailchimp_historical_refresh_recreates_the_segment_empty() -> None:
    harness = Harness.of("mailchimp")
    emulator = harness.emulator
    assert isinstance(emulator, MailchimpEmulator)
    connector = harness.connect()
    people = harness.contacts(range(4))
    target = await harness.target(connector)
    await harness.send(connector, target, OpKind.ADD, people)
    fresh = await connector.reset_target(target)
    assert fresh.id != target.id
    assert fresh.name == target.name
    assert emulator.members(fresh) == set()
    with pytest.raises(ConfigError, match="no longer exists"):
        await connector.ensure_target(TargetSpec("static_segment", id=target.id))
    await connector.aclose()


async def test_mailchimp_never_has_more_than_ten_requests_in_flight() -> None:
    harness = Harness.of("mailchimp")
    harness.emulator.options.latency = 0.05
    connector = harness.connect()
    people = harness.contacts(range(500 * 12))
    target = await harness.target(connector)
    outcomes = await harness.send(connector, target, OpKind.ADD, people)
    assert {o.status for o in outcomes} == {OutcomeStatus.DELIVERED}
    assert 1 < harness.emulator.peak_in_flight <= 10
    assert [r.status for r in harness.emulator.requests].count(429) == 0
    await connector.aclose()


async def test_intercom_matches_users_by_user_id_and_skips_leads() -> None:
    harness = Harness.of("intercom")
    emulator = harness.emulator
    assert isinstance(emulator, IntercomEmulator)
    emulator.contacts["u1"] = IntercomContact("u1", "ann@example.com", external_id="A-1")
    emulator.contacts["u2"] = IntercomContact("u2", "bob@example.com", external_id="B-2")
    emulator.contacts["l1"] = IntercomContact("l1", "lee@example.com", external_id="L-1", role="lead")
    connector = harness.connect()
    target = dataclasses.replace(await harness.target(connector), identifier_kind=IdentifierKind.EXTERNAL_ID)
    outcomes = await harness.send(connector, target, OpKind.ADD, ["A-1", "B-2", "L-1"])
    status = {o.identifier: o.status for o in outcomes}
    assert status == {"A-1": "delivered", "B-2": "delivered", "L-1": "rejected"}
    assert emulator.members(target) == {"A-1", "B-2"}
    await harness.send(connector, target, OpKind.REMOVE, ["B-2"])
    assert emulator.members(target) == {"A-1"}
    assert [m async for m in connector.read_members(target)] == ["A-1"]
    await connector.aclose()


async def test_intercom_waits_for_the_rate_window_to_reset() -> None:
    harness = Harness.of("intercom")
    emulator = harness.emulator
    assert isinstance(emulator, IntercomEmulator)
    emulator.limit_per_window = 5
    connector = harness.connect()
    people = harness.contacts(range(30))
    target = await harness.target(connector)
    outcomes = await harness.send(connector, target, OpKind.REMOVE, people)
    assert {o.status for o in outcomes} == {OutcomeStatus.DELIVERED}
    assert sum(harness.clock.slept) >= 10, "30+ calls at 5 per 10 s window need several windows"
    await connector.aclose()


async def test_voyado_consent_target_sets_and_reverts_email_contactability_by_contact_id() -> None:
    harness = Harness.of("voyado")
    emulator = harness.emulator
    assert isinstance(emulator, VoyadoEmulator)
    people = harness.contacts(range(3))
    ids = [emulator.contact_id_of(p) for p in people]
    connector = harness.connect()
    spec = TargetSpec("consent", id="acceptsEmail", identifier_kind=IdentifierKind.PLATFORM_ID)
    target = await connector.ensure_target(spec)
    assert target.identifier_kind is IdentifierKind.PLATFORM_ID
    outcomes = await harness.send(connector, target, OpKind.CONSENT_SET, ids)
    assert {o.status for o in outcomes} == {OutcomeStatus.DELIVERED}
    assert emulator.members(target) == set(ids)
    await harness.send(connector, target, OpKind.CONSENT_REVERT, ids[:1])
    assert emulator.members(target) == set(ids[1:])
    assert all(c.preferences["acceptsSms"] is False for c in emulator.contacts.values())
    patches = [r.body for r in emulator.requests if r.method == "PATCH"]
    assert patches
    assert all(
        body == {"preferences": {"acceptsEmail": body["preferences"]["acceptsEmail"]}} for body in patches
    )
    await connector.aclose()


async def test_voyado_ambiguous_email_is_rejected_and_bad_contact_id_never_sent() -> None:
    harness = Harness.of("voyado")
    emulator = harness.emulator
    assert isinstance(emulator, VoyadoEmulator)
    people = harness.contacts(range(2))
    emulator.add_duplicate(people[1])
    connector = harness.connect()
    label = await harness.target(connector)
    outcomes = await harness.send(connector, label, OpKind.ADD, people)
    by_identifier = {o.identifier: o for o in outcomes}
    assert by_identifier[people[0]].status is OutcomeStatus.DELIVERED
    assert by_identifier[people[1]].status is OutcomeStatus.REJECTED
    assert "MultipleMatches" in by_identifier[people[1]].message
    by_id = dataclasses.replace(label, identifier_kind=IdentifierKind.PLATFORM_ID)
    [outcome] = await harness.send(connector, by_id, OpKind.ADD, ["12345"])
    assert outcome.status is OutcomeStatus.REJECTED
    assert outcome.message == "not sent: a Voyado contactId is a GUID"
    await connector.aclose()


async def test_voyado_label_paths_are_settings_and_a_wrong_one_is_explained() -> None:
    harness = Harness.of("voyado")
    config = harness.emulator.connector_config("http://emulator.test")
    config["label_api"] = {"list_labels": "/api/v3/segments/labels"}
    connector = type(harness.connect()).connect(config, http_client=harness.connect().http.client)
    with pytest.raises(ConfigError, match="Swagger"):
        await connector.list_targets("label")
    with pytest.raises(ConfigError, match="create it in Engage first"):
        await harness.connect().ensure_target(TargetSpec("label", name="never made"))


async def test_mailchimp_upsert_updates_merge_fields_of_existing_contacts_only() -> None:
    harness = Harness.of("mailchimp")
    emulator = harness.emulator
    assert isinstance(emulator, MailchimpEmulator)
    connector = harness.connect()
    people = harness.contacts(range(3))
    stranger = harness.contacts([77], seed=False)[0]
    audience = await connector.ensure_target(TargetSpec("audience"))
    ops = [
        Op(OpKind.UPSERT, p, p, {"FNAME": f"Ann{n}", "TIER": "gold"})
        for n, p in enumerate([*people, stranger])
    ]
    outcomes = [o async for o in deliver(connector, audience, ops)]
    status = {o.identifier: o.status for o in outcomes}
    assert status == {**dict.fromkeys(people, OutcomeStatus.DELIVERED), stranger: OutcomeStatus.REJECTED}
    stored = emulator.audiences[audience.id].merge_fields
    assert stored[people[1].lower()] == {"FNAME": "Ann1", "TIER": "gold"}
    cleared = [
        o async for o in deliver(connector, audience, [Op(OpKind.CLEAR, "k", people[0], {"TIER": None})])
    ]
    assert cleared[0].status is OutcomeStatus.DELIVERED
    assert stored[people[0].lower()] == {"FNAME": "Ann0", "TIER": ""}
    bad = [o async for o in deliver(connector, audience, [Op(OpKind.UPSERT, "k", people[2], {"tier": "x"})])]
    assert bad[0].status is OutcomeStatus.REJECTED
    assert "not a merge tag" in bad[0].message
    archived = [o async for o in deliver(connector, audience, [Op(OpKind.DELETE, "k", people[2])])]
    assert archived[0].status is OutcomeStatus.DELIVERED
    assert people[2].lower() not in emulator.audiences[audience.id].members
    await connector.aclose()
