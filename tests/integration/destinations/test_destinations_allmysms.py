"""All My SMS beyond the shared suites: numbers sent as international digits, impossible numbers never
sent, ignored (blacklisted) numbers found by reading the list back, and upserts that replace fields."""

from __future__ import annotations

import dataclasses
import json
from urllib.parse import unquote_plus

import pytest

from sluice.destinations.delivery import deliver
from sluice.destinations.errors import ConfigError
from sluice.destinations.sdk import Connector, IdentifierKind, Op, OpKind, Outcome, Target, TargetSpec
from sluice.destinations.testing import Harness

pytestmark = pytest.mark.anyio

SMS_LIST = TargetSpec("list", "Winter sale", identifier_kind=IdentifierKind.PHONE)


async def target(connector: Connector) -> Target:
    return dataclasses.replace(await connector.ensure_target(SMS_LIST), identifier_kind=IdentifierKind.PHONE)


async def send(connector: Connector, where: Target, ops: list[Op]) -> list[Outcome]:
    return [o async for o in deliver(connector, where, ops)]


def written(harness: Harness, key: str) -> dict[str, object]:
    """The ``DATA`` of the last createList call carrying ``key`` (the emulator records the form body)."""
    for request in reversed(harness.emulator.requests):
        fields = dict(item.split("=", 1) for item in str(request.body).split("&"))
        if key in fields:
            return dict(json.loads(unquote_plus(fields[key]))["DATA"])
    raise AssertionError(f"no createList call with {key}")


async def test_allmysms_sends_numbers_without_plus_and_refuses_impossible_ones_before_sending() -> None:
    harness = Harness.of("allmysms")
    connector = harness.connect()
    sms_list = await target(connector)
    before = len(harness.emulator.requests)
    outcomes = await send(
        connector, sms_list, [Op(OpKind.ADD, "1", "+33612345678"), Op(OpKind.ADD, "2", "+33123456")]
    )
    assert [o.message for o in outcomes] == ["not sent: not a possible phone number", ""]
    assert written(harness, "populateData")["CONTACTS"] == [{"MOBILEPHONE": "33612345678"}]
    assert len(harness.emulator.requests) == before + 1
    assert harness.emulator.members(sms_list) == {"+33612345678"}
    await connector.aclose()


async def test_allmysms_blacklisted_numbers_are_rejected_after_reading_the_list_back() -> None:
    harness = Harness.of("allmysms")
    connector = harness.connect()
    sms_list = await target(connector)
    harness.emulator.blacklist.add("33699999999")  # type: ignore[attr-defined]
    outcomes = await send(
        connector, sms_list, [Op(OpKind.ADD, "1", "+33612345678"), Op(OpKind.ADD, "2", "+33699999999")]
    )
    by_number = {o.identifier: o for o in outcomes}
    assert str(by_number["+33612345678"].status) == "delivered"
    assert str(by_number["+33699999999"].status) == "rejected"
    assert "blacklisted" in by_number["+33699999999"].message
    assert [r.path for r in list(harness.emulator.requests)[-2:]] == [
        "/http/9.0/createList/",
        "/http/9.0/getContacts/",
    ]
    await connector.aclose()


async def test_allmysms_upsert_replaces_the_fields_of_a_number_already_in_the_list() -> None:
    harness = Harness.of("allmysms")
    connector = harness.connect()
    sms_list = await target(connector)
    assert written(harness, "listData")["STRUCTURE"] == [
        {"FIELDNAME": "FIRSTNAME", "FILTER": 0, "MAILING": 0},
        {"FIELDNAME": "LASTNAME", "FILTER": 0, "MAILING": 0},
    ]
    for first in ("Ann", "Anne"):
        await send(connector, sms_list, [Op(OpKind.UPSERT, "1", "+33612345678", {"FIRSTNAME": first})])
    assert harness.emulator.records(sms_list) == {"+33612345678": {"FIRSTNAME": "Anne"}}
    outcomes = await send(connector, sms_list, [Op(OpKind.UPSERT, "1", "+33612345678", {"SHOE": "38"})])
    assert [o.message for o in outcomes] == ["not sent: SHOE not among the list fields (list_fields)"]
    assert harness.emulator.records(sms_list) == {"+33612345678": {"FIRSTNAME": "Anne"}}, "never deleted"
    bad = harness.connect(valid=False)
    with pytest.raises(ConfigError, match="unknown login or apiKey"):
        await bad.check()
    await bad.aclose()
    await connector.aclose()
