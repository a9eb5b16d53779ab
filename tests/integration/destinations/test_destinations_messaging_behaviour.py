"""Iterable, SendGrid, Intercom (contacts/companies) and Zendesk beyond the shared suites: async
jobs, vendor limits and the errors users see, against each emulator on a virtual clock."""

from __future__ import annotations

import dataclasses
from typing import Any

import pytest

from sluice.destinations.delivery import deliver
from sluice.destinations.errors import ConfigError
from sluice.destinations.intercom.emulator import IntercomEmulator
from sluice.destinations.intercom.emulator_model import Contact
from sluice.destinations.iterable.emulator import IterableEmulator
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
from sluice.destinations.sendgrid.connector import SendGridConnector
from sluice.destinations.sendgrid.emulator import SendGridEmulator
from sluice.destinations.testing import Harness
from sluice.destinations.zendesk.emulator import ZendeskEmulator

pytestmark = pytest.mark.anyio


async def send(connector: Connector, target: Target, ops: list[Op]) -> list[Outcome]:
    return [o async for o in deliver(connector, target, ops)]


def upserts(people: list[str], **fields: Any) -> list[Op]:
    return [Op(OpKind.UPSERT, f"k{n}", p, {**fields}) for n, p in enumerate(people)]


async def test_sendgrid_contacts_exist_only_once_the_import_job_has_finished() -> None:
    harness = Harness.of("sendgrid")
    emulator = harness.emulator
    assert isinstance(emulator, SendGridEmulator)
    emulator.job_polls = 3
    connector = harness.connect()
    contacts = await connector.ensure_target(TargetSpec("contacts"))
    people = [emulator.contact_identifier(n) for n in range(5)]
    outcomes = await send(connector, contacts, upserts(people, first_name="Ann"))
    assert {o.status for o in outcomes} == {OutcomeStatus.DELIVERED}
    polls = [r for r in emulator.requests if r.path.startswith("/v3/marketing/contacts/imports/")]
    assert len(polls) == 4, "three 'pending' answers, then the finished job"
    assert harness.clock.slept[-3:] == [1.0, 1.5, 2.25], "polls back off on the connector's clock"
    assert {emulator.records(contacts)[p]["first_name"] for p in people} == {"Ann"}
    await connector.aclose()


async def test_sendgrid_errored_job_rejects_the_rows_of_its_errors_file() -> None:
    harness = Harness.of("sendgrid")
    emulator = harness.emulator
    connector = harness.connect()
    contacts = await connector.ensure_target(TargetSpec("contacts"))
    people = [emulator.contact_identifier(n) for n in range(3)]
    ops = [
        Op(OpKind.UPSERT, "k0", people[0], {"loyalty_points": 3}),
        Op(OpKind.UPSERT, "k1", people[1], {"loyalty_points": "lots"}),
        Op(OpKind.UPSERT, "k2", people[2], {"loyalty_points": 5}),
    ]
    outcomes = {o.key: o for o in await send(connector, contacts, ops)}
    assert outcomes["k1"].status is OutcomeStatus.REJECTED
    assert "custom field loyalty_points must be a number" in outcomes["k1"].message
    assert outcomes["k0"].status is outcomes["k2"].status is OutcomeStatus.DELIVERED
    [download] = [r for r in emulator.requests if r.path.startswith("/_files/")]
    assert "authorization" not in download.headers, "the API key never goes to the download host"
    await connector.aclose()


async def test_sendgrid_job_still_running_fails_rows_for_the_next_run() -> None:
    harness = Harness.of("sendgrid")
    emulator = harness.emulator
    assert isinstance(emulator, SendGridEmulator)
    emulator.job_polls = 10**6
    config = emulator.connector_config("http://emulator.test") | {"job_timeout_seconds": 30}
    connector = harness.connect()
    connector.config = SendGridConnector.config_model.model_validate(config)
    contacts = await connector.ensure_target(TargetSpec("contacts"))
    outcomes = await send(connector, contacts, upserts([emulator.contact_identifier(1)], first_name="Bo"))
    assert [o.status for o in outcomes] == [OutcomeStatus.FAILED]
    assert "still running" in outcomes[0].message
    await connector.aclose()


@pytest.mark.parametrize(
    ("destination", "kind", "fragment"),
    [
        ("sendgrid", "contacts", "no custom field named 'shoe_size'"),
        ("zendesk", "user", "no user field with key 'shoe_size'"),
        ("intercom", "contact", "no custom contact attribute 'shoe_size'"),
        ("intercom", "company", "no custom company attribute 'shoe_size'"),
    ],
)
async def test_a_mapped_field_the_vendor_does_not_have_stops_the_run(
    destination: str, kind: str, fragment: str
) -> None:
    harness = Harness.of(destination)
    connector = harness.connect()
    spec = next(s for s in harness.emulator.upsert_specs if s.kind == kind)
    target = dataclasses.replace(await connector.ensure_target(spec), identifier_kind=spec.identifier_kind)
    identifier = harness.emulator.record_identifier(target, 1)
    with pytest.raises(ConfigError, match=fragment):
        await send(connector, target, [Op(OpKind.UPSERT, "k", identifier, {"shoe_size": 42})])
    assert harness.emulator.limit_violations == []
    await connector.aclose()


async def test_zendesk_waits_out_retry_after_across_rate_windows() -> None:
    harness = Harness.of("zendesk")
    emulator = harness.emulator
    assert isinstance(emulator, ZendeskEmulator)
    emulator.limit_per_minute = 4
    connector = harness.connect()
    users = await connector.ensure_target(TargetSpec("user"))
    people = [emulator.contact_identifier(n) for n in range(250)]
    outcomes = await send(connector, users, upserts(people, tier="gold"))
    assert {o.status for o in outcomes} == {OutcomeStatus.DELIVERED}
    assert [r.status for r in emulator.requests].count(429) >= 2
    assert max(harness.clock.slept) >= 30, "Retry-After tells how long the rest of the minute lasts"
    assert emulator.limit_violations == [], "three jobs of at most 100 users"
    deleted = await send(connector, users, [Op(OpKind.DELETE, "k", people[0])])
    assert deleted[0].status is OutcomeStatus.REJECTED
    assert "does not delete Zendesk users" in deleted[0].message
    await connector.aclose()


async def test_iterable_lists_by_user_id_read_as_text_and_unknown_removals_are_done() -> None:
    harness = Harness.of("iterable")
    emulator = harness.emulator
    assert isinstance(emulator, IterableEmulator)
    harness.contacts(range(4))
    connector = harness.connect()
    spec = TargetSpec("list", name="By user id", identifier_kind=IdentifierKind.EXTERNAL_ID)
    target = await connector.ensure_target(spec)
    ids = ["ext-user0", "ext-user1", "ext-user2", "nobody"]
    added = {o.identifier: o for o in await harness.send(connector, target, OpKind.ADD, ids)}
    assert added["nobody"].status is OutcomeStatus.REJECTED
    assert added["nobody"].message.startswith("notFound")
    assert sorted([m async for m in connector.read_members(target)]) == ids[:3]
    removed = await harness.send(connector, target, OpKind.REMOVE, ["ext-user0", "nobody"])
    assert {o.status for o in removed} == {OutcomeStatus.DELIVERED}
    assert emulator.members(target) == {"ext-user1", "ext-user2"}
    [get_users] = [r for r in emulator.requests if r.path == "/api/lists/getUsers"]
    assert get_users.query["preferUserId"] == "true"
    await connector.aclose()


async def test_intercom_upsert_unarchives_a_matching_archived_user_instead_of_duplicating() -> None:
    harness = Harness.of("intercom")
    emulator = harness.emulator
    assert isinstance(emulator, IntercomEmulator)
    emulator.contacts["old"] = Contact("old", "ann@example.com", archived=True)
    connector = harness.connect()
    contacts = await connector.ensure_target(TargetSpec("contact"))
    [outcome] = await send(connector, contacts, upserts(["ann@example.com"], name="Ann", tier="gold"))
    assert outcome.status is OutcomeStatus.DELIVERED
    assert list(emulator.contacts) == ["old"], "no second user"
    assert not emulator.contacts["old"].archived
    assert emulator.contacts["old"].attributes == {"name": "Ann", "tier": "gold"}
    assert [r.status for r in emulator.requests if r.path == "/contacts"] == [409]
    await connector.aclose()


@pytest.mark.parametrize(
    ("destination", "kind"),
    [
        ("iterable", "user"),
        ("sendgrid", "contacts"),
        ("intercom", "contact"),
        ("intercom", "company"),
        ("zendesk", "custom_object"),
    ],
)
async def test_removal_delete_removes_the_record_and_a_missing_one_counts_as_done(
    destination: str, kind: str
) -> None:
    harness = Harness.of(destination)
    emulator = harness.emulator
    connector = harness.connect()
    spec = next(s for s in emulator.upsert_specs if s.kind == kind)
    target = dataclasses.replace(await connector.ensure_target(spec), identifier_kind=spec.identifier_kind)
    ids = [emulator.record_identifier(target, n) for n in range(3)]
    ops = [Op(OpKind.UPSERT, f"k{n}", i, emulator.upsert_fields(target, n)) for n, i in enumerate(ids)]
    assert {o.status for o in await send(connector, target, ops)} == {OutcomeStatus.DELIVERED}
    deletes = [
        Op(OpKind.DELETE, "k0", ids[0]),
        Op(OpKind.DELETE, "k9", emulator.record_identifier(target, 9)),
    ]
    outcomes = await send(connector, target, deletes)
    assert {o.status for o in outcomes} == {OutcomeStatus.DELIVERED}
    assert set(emulator.records(target)) & set(ids) == set(ids[1:])
    await connector.aclose()
