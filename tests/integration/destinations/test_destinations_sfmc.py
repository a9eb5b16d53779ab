"""Salesforce Marketing Cloud beyond the upsert suite: tokens (fetch, expiry, refresh on 401),
asynchronous row requests (polling, timeouts, row errors), removal behaviour and the picker."""

from __future__ import annotations

import dataclasses

import pytest

from sluice.destinations.delivery import deliver
from sluice.destinations.errors import ConfigError
from sluice.destinations.sdk import Connector, IdentifierKind, Op, OpKind, Outcome, Target, TargetSpec
from sluice.destinations.sfmc.emulator import CLIENT_SECRET, MID, SfmcEmulator
from sluice.destinations.testing import Harness

pytestmark = pytest.mark.anyio
CUSTOMERS = TargetSpec("data_extension", id="sluice-customers", identifier_kind=IdentifierKind.EXTERNAL_ID)


def sfmc(harness: Harness) -> SfmcEmulator:
    assert isinstance(harness.emulator, SfmcEmulator)
    return harness.emulator


async def target(connector: Connector, spec: TargetSpec = CUSTOMERS) -> Target:
    return dataclasses.replace(await connector.ensure_target(spec), identifier_kind=spec.identifier_kind)


async def send(connector: Connector, where: Target, ops: list[Op]) -> list[Outcome]:
    return [o async for o in deliver(connector, where, ops)]


def rows(numbers: range, **fields: object) -> list[Op]:
    return [Op(OpKind.UPSERT, f"k{n}", f"sub-{n}", {"FirstName": f"F{n}", **fields}) for n in numbers]


async def test_one_token_serves_many_calls_and_the_secret_goes_to_the_token_endpoint_only() -> None:
    harness = Harness.of("sfmc")
    emulator = sfmc(harness)
    connector = harness.connect()
    where = await target(connector)
    assert {o.status for o in await send(connector, where, rows(range(1200)))} == {"delivered"}
    token_calls = [r for r in emulator.requests if r.path == "/v2/token"]
    assert len(token_calls) == 1
    assert token_calls[0].body == {
        "grant_type": "client_credentials",
        "client_id": "emulator-sfmc-client",
        "client_secret": CLIENT_SECRET,
        "account_id": MID,
    }
    rest = [r for r in emulator.requests if r.path != "/v2/token"]
    assert all(r.headers["authorization"].startswith("Bearer eyJ") for r in rest)
    assert all(CLIENT_SECRET not in str(r.headers) + str(r.body) + str(r.query) for r in rest)
    puts = [r for r in rest if r.method == "PUT"]
    assert [len(r.body["items"]) for r in puts] == [500, 500, 200]
    assert puts[0].path == "/data/v1/async/dataextensions/key:sluice-customers/rows"
    assert puts[0].body["items"][0] == {"SubscriberKey": "sub-0", "FirstName": "F0"}
    await connector.aclose()


async def test_an_expired_token_is_renewed_before_use_and_a_revoked_one_after_a_401() -> None:
    harness = Harness.of("sfmc")
    emulator = sfmc(harness)
    connector = harness.connect()
    await connector.check()
    harness.clock.now += 1100  # 20 minutes less a bit: inside the refresh margin
    await connector.check()
    assert emulator.token_requests == 2
    assert [r.status for r in emulator.requests].count(401) == 0, "renewed before it expired"
    emulator.revoke_tokens()
    await connector.check()
    assert emulator.token_requests == 3
    assert [r.status for r in emulator.requests].count(401) == 1, "one 401, one new token, one retry"
    emulator.client_secret = "rotated-in-marketing-cloud"
    emulator.revoke_tokens()
    with pytest.raises(ConfigError, match="Client authentication failed"):
        await connector.check()
    await connector.aclose()


async def test_rows_are_reported_only_once_the_request_completed() -> None:
    clock_harness = Harness.of("sfmc")
    emulator = SfmcEmulator(job_polls=4, clock=clock_harness.clock)
    harness = Harness(clock_harness.connector_class, emulator, clock_harness.clock)
    connector = harness.connect()
    where = await target(connector)
    outcomes = await send(connector, where, rows(range(3)))
    assert {o.status for o in outcomes} == {"delivered"}
    polls = [r for r in emulator.requests if r.path.endswith("/status")]
    assert len(polls) == 5
    assert harness.clock.slept, "the connector waits between polls"
    assert set(emulator.records(where)) == {"sub-0", "sub-1", "sub-2"}
    await connector.aclose()


async def test_a_request_still_pending_after_the_timeout_fails_its_rows_for_the_next_run() -> None:
    base = Harness.of("sfmc")
    emulator = SfmcEmulator(job_polls=10**6, clock=base.clock)
    harness = Harness(base.connector_class, emulator, base.clock)
    connector = harness.connect()
    connector.config = connector.config.model_copy(update={"job_timeout_seconds": 30})
    where = await target(connector)
    outcomes = await send(connector, where, rows(range(2)))
    assert {o.status for o in outcomes} == {"failed"}
    assert "still running" in outcomes[0].message
    assert emulator.records(where) == {}
    await connector.aclose()


async def test_row_errors_keep_marketing_clouds_words_and_spare_the_other_rows() -> None:
    harness = Harness.of("sfmc")
    connector = harness.connect()
    where = await target(connector)
    ops = rows(range(6))
    ops[1] = Op(OpKind.UPSERT, "k1", "sub-1", {"Points": "many"})
    ops[4] = Op(OpKind.UPSERT, "k4", "sub-4", {"FirstName": "x" * 51})
    outcomes = {o.identifier: (str(o.status), o.message) for o in await send(connector, where, ops)}
    assert outcomes["sub-1"] == (
        "rejected",
        "ValidationError: Error converting value 'many' to data type Number for column 'Points'",
    )
    assert outcomes["sub-4"] == (
        "rejected",
        "ValidationError: String or binary data would be truncated in column 'FirstName'",
    )
    assert {outcomes[f"sub-{n}"][0] for n in (0, 2, 3, 5)} == {"delivered"}
    assert set(sfmc(harness).records(where)) == {"sub-0", "sub-2", "sub-3", "sub-5"}
    await connector.aclose()


async def test_delete_is_declared_impossible_and_clear_empties_the_columns() -> None:
    harness = Harness.of("sfmc")
    connector = harness.connect()
    where = await target(connector)
    await send(connector, where, rows(range(2), Points=7))
    before = len(sfmc(harness).requests)
    deleted = await send(connector, where, [Op(OpKind.DELETE, "k0", "sub-0")])
    assert deleted[0].status == "rejected"
    assert "cannot delete single data extension rows" in deleted[0].message
    assert len(sfmc(harness).requests) == before, "nothing sent for a delete"
    cleared = await send(
        connector, where, [Op(OpKind.CLEAR, "k0", "sub-0", {"FirstName": None, "Points": None})]
    )
    assert cleared[0].status == "delivered"
    assert sfmc(harness).records(where)["sub-0"] == {"FirstName": None, "Points": None}
    assert sfmc(harness).records(where)["sub-1"] == {"FirstName": "F1", "Points": 7}
    await connector.aclose()


async def test_the_picker_pages_through_data_extensions_and_unknown_ones_are_config_errors() -> None:
    harness = Harness.of("sfmc")
    emulator = sfmc(harness)
    emulator.seed_targets([f"Picker {n}" for n in range(8)], CUSTOMERS)
    emulator.options.max_page_size = 3
    connector = harness.connect()
    names: list[str] = []
    cursor: str | None = None
    for _ in range(10):
        page = await connector.list_targets("data_extension", cursor)
        names += [t.name for t in page.items]
        cursor = page.next_cursor
        if cursor is None:
            break
    assert len(names) == len(set(names)) == 10
    by_name = await connector.ensure_target(TargetSpec("data_extension", "Picker 7"))
    assert by_name.id == "picker-7"
    with pytest.raises(ConfigError, match=r"create it .* in Contact Builder first"):
        await connector.ensure_target(TargetSpec("data_extension", id="nope"))
    await connector.aclose()
