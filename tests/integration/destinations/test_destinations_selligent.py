"""Selligent (Marigold Engage) beyond the shared suites: list loads with typed fields, per-record refusals,
deletion from the list, segments of the profile list — as a user of the destination would see them."""

from __future__ import annotations

import dataclasses

import pytest

from sluice.destinations.delivery import deliver
from sluice.destinations.errors import ConfigError
from sluice.destinations.sdk import Connector, IdentifierKind, Op, OpKind, Outcome, Target, TargetSpec
from sluice.destinations.testing import Harness

pytestmark = pytest.mark.anyio

CONTACTS = TargetSpec("list", "CONTACTS", identifier_kind=IdentifierKind.EMAIL)


async def target(connector: Connector, spec: TargetSpec) -> Target:
    return dataclasses.replace(await connector.ensure_target(spec), identifier_kind=spec.identifier_kind)


async def send(connector: Connector, where: Target, ops: list[Op]) -> list[Outcome]:
    return [o async for o in deliver(connector, where, ops)]


async def test_selligent_loads_records_with_the_key_field_and_reports_bad_values_per_record() -> None:
    harness = Harness.of("selligent")
    connector = harness.connect()
    contacts = await target(connector, CONTACTS)
    ops = [
        Op(OpKind.UPSERT, "1", "ann@example.com", {"FIRSTNAME": "Ann", "BIRTHDATE": "1990-02-01"}),
        Op(OpKind.UPSERT, "2", "bob@example.com", {"FIRSTNAME": "Bob", "BIRTHDATE": "soon"}),
    ]
    outcomes = {o.identifier: o for o in await send(connector, contacts, ops)}
    assert str(outcomes["ann@example.com"].status) == "delivered"
    assert str(outcomes["bob@example.com"].status) == "rejected"
    assert outcomes["bob@example.com"].message == "Value 'soon' for field BIRTHDATE is not a valid DateTime"
    load = harness.emulator.requests[-1]
    assert load.path == "/Portal/Api/organizations/SLUICE/lists/CONTACTS/data/load"
    assert load.body["mode"] == "InsertOrUpdate"
    assert load.body["keys"] == ["MAIL"]
    assert load.body["data"][0] == {"FIRSTNAME": "Ann", "BIRTHDATE": "1990-02-01", "MAIL": "ann@example.com"}
    assert harness.emulator.records(contacts) == {
        "ann@example.com": {"MAIL": "ann@example.com", "FIRSTNAME": "Ann", "BIRTHDATE": "1990-02-01"}
    }
    await connector.aclose()


async def test_selligent_unknown_field_refuses_the_batch_row_by_row_and_delete_removes_from_segments() -> (
    None
):
    harness = Harness.of("selligent")
    connector = harness.connect()
    contacts = await target(connector, CONTACTS)
    outcomes = await send(connector, contacts, [Op(OpKind.UPSERT, "1", "ann@example.com", {"SHOE_SIZE": 38})])
    assert [o.message for o in outcomes] == ["Field 'SHOE_SIZE' does not exist in list CONTACTS"]
    people = ["ann@example.com", "bob@example.com"]
    await send(connector, contacts, [Op(OpKind.UPSERT, p, p, {"NAME": "Martin"}) for p in people])
    segment = await target(connector, TargetSpec("segment", "Big spenders"))
    assert (segment.id, segment.parent_id) == ("BIG_SPENDERS", "CONTACTS")
    await send(connector, segment, [Op(OpKind.ADD, p, p) for p in people])
    await send(connector, contacts, [Op(OpKind.DELETE, "1", "ann@example.com")])
    assert set(harness.emulator.records(contacts)) == {"bob@example.com"}
    assert [m async for m in connector.read_members(segment)] == ["bob@example.com"]
    await connector.aclose()


async def test_selligent_unknown_organization_and_list_are_configuration_errors() -> None:
    harness = Harness.of("selligent")
    config = {**harness.emulator.connector_config("http://emulator.test"), "organization": "OTHER"}
    connector = harness.connector_class.connect(config, http_client=harness.connect().http.client)
    with pytest.raises(ConfigError, match="no organization 'OTHER'"):
        await connector.check()
    good = harness.connect()
    with pytest.raises(ConfigError, match="List with api name 'ORDERS' not found"):
        await good.ensure_target(TargetSpec("list", "ORDERS"))
    with pytest.raises(ConfigError, match="has no segment"):
        await good.ensure_target(TargetSpec("segment", "Nobody", create_if_missing=False))
    await good.aclose()
    await connector.aclose()
