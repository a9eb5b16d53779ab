"""Full refresh by replacement (``Connector.replace_members``), driven through the load stage against
the Meta emulator: numbered batches of one session, the last one flagged, all or nothing."""

from __future__ import annotations

import pytest

from sluice.destinations.emulation import FaultKind
from sluice.destinations.errors import Transient
from sluice.destinations.hashing import sha256_hex
from sluice.destinations.meta.emulator import MetaEmulator
from sluice.destinations.sdk import OpKind
from sluice.destinations.testing.harness import Harness
from sluice.schemas.activations import FullRefreshBehaviour
from sluice.sync.audience import IDENTIFIER, KEY
from sluice.sync.load import REPLACED, Delivery
from sluice.sync.plan import OP, PlanCounts

pytestmark = pytest.mark.anyio


def records(kind: OpKind, emails: list[str]) -> list[dict[str, str]]:
    return [{OP: str(kind), KEY: f"k-{e}", IDENTIFIER: e} for e in emails]


async def open_delivery(harness: Harness) -> tuple[Delivery, MetaEmulator]:
    connector = harness.connect()
    target = await harness.target(connector)
    emulator = harness.emulator
    assert isinstance(emulator, MetaEmulator)
    emulator.seed_members(target, ["left@example.com", "added.by.hand@example.com"])
    delivery = Delivery(connector, target, FullRefreshBehaviour.DESTINATION_DEFAULT)
    assert await delivery.prepare_full_refresh() is None, "no members to read: the replace removes strays"
    assert delivery.replacement is not None
    return delivery, emulator


async def test_a_large_audience_is_replaced_in_numbered_batches_of_one_session() -> None:
    harness = Harness.of("meta")
    delivery, emulator = await open_delivery(harness)
    members = [f"member{n}@example.com" for n in range(23_456)]
    delivery.planned(PlanCounts({"add": len(members), "remove": 1}))
    outcomes = []
    for start in range(0, len(members), 5_000):  # the pipeline's record batches
        outcomes += await delivery.deliver(records(OpKind.ADD, members[start : start + 5_000]))
    assert outcomes == [], "nothing is reported before the replacement ended"
    outcomes += await delivery.deliver(records(OpKind.REMOVE, ["left@example.com"]))
    assert await delivery.finish() == []
    assert {o["status"] for o in outcomes} == {"delivered"}
    assert len(outcomes) == len(members) + 1
    assert outcomes[-1]["message"] == REPLACED

    sessions = [r.body["session"] for r in emulator.requests if r.path.endswith("/usersreplace")]
    assert [s["batch_seq"] for s in sessions] == [1, 2, 3]
    assert [s["last_batch_flag"] for s in sessions] == [False, False, True]
    assert {s["session_id"] for s in sessions} == {sessions[0]["session_id"]}
    assert {s["estimated_num_total"] for s in sessions} == {len(members)}
    assert not [r for r in emulator.requests if r.path.endswith("/users")], "no add or remove calls"
    (audience,) = emulator.accounts["act_1234567890"].audiences.values()
    assert audience.members == {sha256_hex(m) for m in members}
    assert emulator.limit_violations == []
    await delivery.connector.aclose()


async def test_the_last_batch_is_sent_when_the_load_finishes() -> None:
    harness = Harness.of("meta")
    delivery, emulator = await open_delivery(harness)
    outcomes = await delivery.deliver(records(OpKind.ADD, ["a@example.com", "not-an-email", "b@example.com"]))
    assert [(o[IDENTIFIER], o["status"]) for o in outcomes] == [("not-an-email", "rejected")]
    finished = await delivery.finish()
    assert sorted(o[IDENTIFIER] for o in finished) == ["a@example.com", "b@example.com"]
    (audience,) = emulator.accounts["act_1234567890"].audiences.values()
    assert audience.members == {sha256_hex("a@example.com"), sha256_hex("b@example.com")}
    await delivery.connector.aclose()


async def test_a_replacement_that_fails_part_way_fails_the_run_and_changes_nothing() -> None:
    harness = Harness.of("meta")
    delivery, emulator = await open_delivery(harness)
    (audience,) = emulator.accounts["act_1234567890"].audiences.values()
    before = set(audience.members)
    emulator.inject(FaultKind.SERVER_ERROR, 50, after=1)  # the first batch goes through, then 5xx
    with pytest.raises(Transient, match="stopped at batch 2"):
        await delivery.deliver(records(OpKind.ADD, [f"m{n}@example.com" for n in range(20_001)]))
    assert audience.members == before, "Meta keeps the audience until a session's last batch"
    assert emulator.replacements == 0
    await delivery.connector.aclose()


async def test_an_empty_audience_falls_back_to_removing_what_sluice_sent() -> None:
    harness = Harness.of("meta")
    delivery, emulator = await open_delivery(harness)
    outcomes = await delivery.deliver(records(OpKind.REMOVE, ["left@example.com"]))
    assert [o["status"] for o in outcomes] == ["delivered"]
    assert outcomes[0]["message"] != REPLACED
    (audience,) = emulator.accounts["act_1234567890"].audiences.values()
    assert audience.members == {sha256_hex("added.by.hand@example.com")}
    await delivery.connector.aclose()
