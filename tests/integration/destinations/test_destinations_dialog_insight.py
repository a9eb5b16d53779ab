"""Dialog Insight beyond the shared suites: Merge records keyed by the project's key field, per-record
validation results, Delete by clause, and refusals that pause the activation."""

from __future__ import annotations

import dataclasses

import httpx
import pytest

from sluice.destinations.delivery import deliver
from sluice.destinations.errors import ConfigError
from sluice.destinations.sdk import Connector, IdentifierKind, Op, OpKind, Outcome, Target, TargetSpec
from sluice.destinations.testing import Harness

pytestmark = pytest.mark.anyio

CONTACTS = TargetSpec("contacts", identifier_kind=IdentifierKind.EMAIL)


async def target(connector: Connector) -> Target:
    return dataclasses.replace(await connector.ensure_target(CONTACTS), identifier_kind=IdentifierKind.EMAIL)


async def send(connector: Connector, where: Target, ops: list[Op]) -> list[Outcome]:
    return [o async for o in deliver(connector, where, ops)]


async def test_dialog_insight_merge_sends_key_and_data_and_rejects_invalid_records_only() -> None:
    harness = Harness.of("dialog_insight")
    connector = harness.connect()
    contacts = await target(connector)
    ops = [
        Op(OpKind.UPSERT, "1", "ann@example.com", {"f_FirstName": "Ann", "f_DateOfBirth": "1990-02-01"}),
        Op(OpKind.UPSERT, "2", "bob@example.com", {"f_FirstName": "Bob", "f_DateOfBirth": "soon"}),
    ]
    outcomes = {o.identifier: o for o in await send(connector, contacts, ops)}
    assert str(outcomes["ann@example.com"].status) == "delivered"
    assert str(outcomes["bob@example.com"].status) == "rejected"
    assert outcomes["bob@example.com"].message == (
        "InvalidValue: The value 'soon' is not valid for field f_DateOfBirth (Date)"
    )
    merge = harness.emulator.requests[-1]
    assert (merge.path, merge.query) == ("/webservices/ofc4/contacts.ashx", {"method": "Merge"})
    assert merge.body["AuthKey"] == {"idKey": 3103, "Key": "di-emulator-key-0000"}
    assert merge.body["idProject"] == 781
    assert merge.body["Records"][0] == {
        "ID": {"key_f_EMail": "ann@example.com"},
        "Data": {"f_FirstName": "Ann", "f_DateOfBirth": "1990-02-01", "f_EMail": "ann@example.com"},
    }
    assert merge.body["MergeOptions"]["AllowInsert"] is True
    assert set(harness.emulator.records(contacts)) == {"ann@example.com"}
    await connector.aclose()


async def test_dialog_insight_delete_by_clause_and_unknown_field_rejects_each_row() -> None:
    harness = Harness.of("dialog_insight")
    connector = harness.connect()
    contacts = await target(connector)
    people = ["ann@example.com", "bob@example.com"]
    await send(connector, contacts, [Op(OpKind.UPSERT, p, p, {"f_LastName": "Martin"}) for p in people])
    outcomes = await send(
        connector, contacts, [Op(OpKind.DELETE, p, p) for p in [*people[:1], "zoe@example.com"]]
    )
    assert [o.message for o in outcomes] == ["", "nothing to delete: no such contact"]
    assert set(harness.emulator.records(contacts)) == {"bob@example.com"}
    assert harness.emulator.requests[-1].body["Clause"]["ComparisonValue"] in {
        "ann@example.com",
        "zoe@example.com",
    }
    refused = await send(connector, contacts, [Op(OpKind.UPSERT, "3", "bob@example.com", {"f_Shoe": 38})])
    assert [o.message for o in refused] == ["InvalidField: Field f_Shoe does not exist in project 781"]
    await connector.aclose()


async def test_dialog_insight_unknown_project_is_a_configuration_error() -> None:
    harness = Harness.of("dialog_insight")
    config = {**harness.emulator.connector_config("http://emulator.test"), "project_id": 9}
    client = httpx.AsyncClient(transport=httpx.ASGITransport(app=harness.emulator.app))
    connector = harness.connector_class.connect(config, http_client=client)
    with pytest.raises(ConfigError, match="InvalidProject: Project 9 not found"):
        await connector.check()
    await connector.aclose()
    await client.aclose()
