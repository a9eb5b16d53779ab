"""Batch beyond the shared suites: events on profiles, partial errors, attribute rules, the
200-operation cap and the two APIs (CEP profiles, MEP install data), against the emulator."""

from __future__ import annotations

import re
from datetime import UTC, datetime
from typing import Any

import pytest

from sluice.destinations.batch.emulator import BatchEmulator
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


def spec(kind: str, name: str = "") -> TargetSpec:
    """A target as an activation matched by custom id asks for it."""
    return TargetSpec(kind, name=name, identifier_kind=IdentifierKind.EXTERNAL_ID)


def batch() -> tuple[Harness, BatchEmulator, Connector]:
    harness = Harness.of("batch")
    assert isinstance(harness.emulator, BatchEmulator)
    return harness, harness.emulator, harness.connect()


async def test_each_event_row_is_one_event_on_its_profile_with_time_and_attributes() -> None:
    _, emulator, connector = batch()
    target = await connector.ensure_target(spec("event", name="Order Placed"))
    assert target.id == "order_placed", "Batch event names are lower case [a-z0-9_]"
    moment = datetime(2026, 11, 3, 9, 30, tzinfo=UTC)
    ops = [
        Op(OpKind.EVENT, "order-1", "ext-1", {"time": moment, "amount": 12.5, "$label": "web"}),
        Op(OpKind.EVENT, "order-2", "ext-1", {"amount": 3}),
        Op(OpKind.EVENT, "order-3", "ext-2", {"amount": 7, "coupon": None}),
    ]
    outcomes = await send(connector, target, ops)
    assert {o.status for o in outcomes} == {OutcomeStatus.DELIVERED}
    events = emulator.events("order_placed")
    assert [(who, e["attributes"]) for who, e in events] == [
        ("ext-1", {"amount": 12.5, "$label": "web"}),
        ("ext-1", {"amount": 3}),
        ("ext-2", {"amount": 7}),
    ]
    assert events[0][1]["time"] == "2026-11-03T09:30:00Z"
    assert all(e["time"] for _, e in events), "events without a mapped time carry the send time"
    [request] = [r for r in emulator.requests if r.path.endswith("/profiles/update")]
    assert request.headers["x-batch-project"] == emulator.project_key
    assert request.headers["authorization"] == f"Bearer {emulator.rest_key}"
    await connector.aclose()


async def test_partial_errors_reject_only_the_indexed_operations_with_batchs_reason() -> None:
    _, emulator, connector = batch()
    target = await connector.ensure_target(spec("profiles"))
    ops = [
        Op(
            OpKind.UPSERT,
            "k0",
            "ext-0",
            {"$email_marketing": "subscribed", "$email_address": "a@example.com"},
        ),
        Op(OpKind.UPSERT, "k1", "ext-1", {"$email_marketing": "maybe"}),
        Op(OpKind.UPSERT, "k2", "ext-2", {"bio": "x" * 301}),
        Op(OpKind.UPSERT, "k3", "ext-3", {"first_name": "Cy", "$sms_marketing": False}),
    ]
    outcomes = {o.key: o for o in await send(connector, target, ops)}
    assert outcomes["k0"].status is outcomes["k3"].status is OutcomeStatus.DELIVERED
    assert outcomes["k1"].status is OutcomeStatus.REJECTED
    assert "'subscribed' or 'unsubscribed'" in outcomes["k1"].message
    assert "$email_marketing" in outcomes["k1"].message
    assert "300 characters" in outcomes["k2"].message
    assert emulator.profiles["ext-0"].attributes == {
        "$email_marketing": "subscribed",
        "$email_address": "a@example.com",
    }
    assert emulator.profiles["ext-3"].attributes == {"first_name": "Cy", "$sms_marketing": "unsubscribed"}
    assert "ext-1" not in emulator.profiles
    assert "ext-2" not in emulator.profiles
    assert len([r for r in emulator.requests if r.path.endswith("/profiles/update")]) == 1, (
        "never split on 202"
    )
    await connector.aclose()


@pytest.mark.parametrize(("kind", "name"), [("profiles", "First Name"), ("installs", "$email_address")])
async def test_a_mapped_name_batch_refuses_stops_the_run_before_sending(kind: str, name: str) -> None:
    _, emulator, connector = batch()
    target = await connector.ensure_target(spec(kind))
    with pytest.raises(ConfigError, match=f"rename the mapped field '{re.escape(name)}'"):
        await send(connector, target, [Op(OpKind.UPSERT, "k0", "ext-0", {name: "Ann"})])
    assert len(emulator.requests) == 0, "nothing sent"
    await connector.aclose()


async def test_dates_are_typed_and_a_bad_event_time_rejects_that_event_only() -> None:
    _, emulator, connector = batch()
    profiles = await connector.ensure_target(spec("profiles"))
    birthday = datetime(1990, 5, 1, tzinfo=UTC)
    [outcome] = await send(connector, profiles, [Op(OpKind.UPSERT, "k1", "ext-1", {"birthday": birthday})])
    assert outcome.status is OutcomeStatus.DELIVERED
    [request] = [r for r in emulator.requests if r.path.endswith("/profiles/update")]
    assert request.body[0]["attributes"] == {"date(birthday)": "1990-05-01T00:00:00Z"}
    assert emulator.profiles["ext-1"].attributes["birthday"] == "1990-05-01T00:00:00Z"
    signup = await connector.ensure_target(spec("event", name="signup"))
    ops = [
        Op(OpKind.EVENT, "e1", "ext-1", {"time": "yesterday"}),
        Op(OpKind.EVENT, "e2", "ext-2", {"time": "2026-11-02T08:00:00+01:00"}),
    ]
    outcomes = {o.key: o for o in await send(connector, signup, ops)}
    assert outcomes["e1"].status is OutcomeStatus.REJECTED
    assert outcomes["e1"].message == "not sent: 'yesterday' is not an ISO-8601 time"
    assert outcomes["e2"].status is OutcomeStatus.DELIVERED
    assert [(who, e["time"]) for who, e in emulator.events("signup")] == [("ext-2", "2026-11-02T07:00:00Z")]
    await connector.aclose()


async def test_events_over_the_200_operation_cap_are_split_into_calls_of_200() -> None:
    _, emulator, connector = batch()
    target = await connector.ensure_target(spec("event", name="viewed"))
    ops = [Op(OpKind.EVENT, f"row-{n}", f"ext-{n % 7}", {"n": n}) for n in range(450)]
    outcomes = await send(connector, target, ops)
    assert len(outcomes) == 450
    assert {o.status for o in outcomes} == {OutcomeStatus.DELIVERED}
    sizes = sorted(len(r.body) for r in emulator.requests if r.path.endswith("/profiles/update"))
    assert sizes == [50, 200, 200]
    assert emulator.limit_violations == []
    assert sorted(e["attributes"]["n"] for _, e in emulator.events("viewed")) == list(range(450))
    await connector.aclose()


async def test_install_data_goes_to_the_custom_data_api_and_a_bad_user_is_isolated() -> None:
    _, emulator, connector = batch()
    target = await connector.ensure_target(spec("installs"))
    ops = [
        Op(OpKind.UPSERT, "k0", "ext-0", {"plan": "gold"}),
        Op(OpKind.UPSERT, "k1", "ext-1", {"plan": "p" * 65}),
        Op(OpKind.UPSERT, "k2", "ext-2", {"plan": "silver"}),
    ]
    outcomes = {o.key: o for o in await send(connector, target, ops)}
    assert outcomes["k0"].status is outcomes["k2"].status is OutcomeStatus.DELIVERED
    assert outcomes["k1"].status is OutcomeStatus.REJECTED
    assert "64 characters" in outcomes["k1"].message
    assert outcomes["k1"].message.startswith("31: Malformed parameter"), "Batch's code and message"
    assert emulator.installs["ext-0"] == {"plan": "gold"}
    assert emulator.installs["ext-2"] == {"plan": "silver"}
    calls = [r for r in emulator.requests if r.path.startswith("/1.0/")]
    assert calls[0].path == f"/1.0/{emulator.app_key}/data/users"
    assert calls[0].headers["x-authorization"] == emulator.rest_key
    assert calls[0].body[0] == {"id": "ext-0", "update": {"overwrite": False, "values": {"u.plan": "gold"}}}
    assert emulator.profiles == {}, "install data never touches CEP profiles"
    [empty] = await send(connector, target, [Op(OpKind.UPSERT, "k3", "ext-3", {})])
    assert (empty.status, empty.message) == (OutcomeStatus.DELIVERED, "nothing to update: no mapped field")
    assert "ext-3" not in emulator.installs, "Batch wants at least one value per user: nothing sent"
    await connector.aclose()


def connect_with(harness: Harness, emulator: BatchEmulator, **change: Any) -> Connector:
    config = {**emulator.connector_config("http://emulator.test"), **change}
    return harness.connector_class.connect(config, http_client=harness.connect().http.client)


@pytest.mark.parametrize(
    ("change", "kind"), [({"project_key": ""}, "event"), ({"app_api_key": ""}, "installs")]
)
async def test_a_target_whose_key_is_missing_is_a_config_error(change: dict[str, Any], kind: str) -> None:
    harness, emulator, _ = batch()
    connector = connect_with(harness, emulator, **change)
    with pytest.raises(ConfigError, match="project key" if kind == "event" else "API key of a Batch app"):
        await connector.ensure_target(spec(kind, name="signup"))
    await connector.aclose()


async def test_a_wrong_project_key_is_a_config_error_not_rejected_rows() -> None:
    harness, emulator, _ = batch()
    connector = connect_with(harness, emulator, project_key="project_other")
    target = await connector.ensure_target(spec("profiles"))
    ops = [Op(OpKind.UPSERT, "k", "ext-1", {"first_name": "Ann"})]
    with pytest.raises(ConfigError, match="AUTHENTICATION_INVALID"):
        await send(connector, target, ops)
    with pytest.raises(ConfigError):
        await connector.check()
    await connector.aclose()


def test_a_config_needs_a_project_key_or_an_app_key() -> None:
    from pydantic import ValidationError

    from sluice.destinations.batch.config import BatchConfig

    with pytest.raises(ValidationError, match="project key"):
        BatchConfig.model_validate({"rest_api_key": "k"})


async def test_profile_updates_stay_within_300_per_second_with_bursts_of_1000() -> None:
    harness, emulator, connector = batch()
    target = await connector.ensure_target(spec("profiles"))
    started = harness.clock()
    ops = [Op(OpKind.UPSERT, f"k{n}", f"ext-{n}", {"tier": "gold"}) for n in range(2400)]
    outcomes = await send(connector, target, ops)
    assert {o.status for o in outcomes} == {OutcomeStatus.DELIVERED}
    assert [r.status for r in emulator.requests].count(429) == 0, "paced, never refused"
    assert harness.clock() - started >= (2400 - 1000) / 300, "1,000 at once, then 300 a second"
    await connector.aclose()


async def test_a_spent_update_budget_is_a_429_that_is_waited_out() -> None:
    _, emulator, connector = batch()
    target = await connector.ensure_target(spec("profiles"))
    emulator._bucket = 0.0  # another integration of the project spent the budget
    ops = [Op(OpKind.UPSERT, f"k{n}", f"ext-{n}", {"tier": "gold"}) for n in range(150)]
    assert {o.status for o in await send(connector, target, ops)} == {OutcomeStatus.DELIVERED}
    assert [r.status for r in emulator.requests][:1] == [429]
    assert emulator.profiles["ext-149"].attributes == {"tier": "gold"}
    await connector.aclose()
