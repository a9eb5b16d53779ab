"""June beyond the shared suite: emails matched case-insensitively, per-email errors kept with June's words,
list pages, and a required API address (June documents no public default)."""

from __future__ import annotations

import pytest
from pydantic import ValidationError

from sluice.destinations.delivery import deliver
from sluice.destinations.errors import ConfigError
from sluice.destinations.sdk import Op, OpKind, TargetSpec
from sluice.destinations.testing import Harness

pytestmark = pytest.mark.anyio


async def test_june_rejects_suppressed_addresses_with_its_message_and_adds_the_rest() -> None:
    harness = Harness.of("june")
    connector = harness.connect()
    harness.emulator.suppressed.add("bounced@example.com")  # type: ignore[attr-defined]
    target = await connector.ensure_target(TargetSpec("list", "Newsletter"))
    ops = [Op(OpKind.ADD, "1", "Ann@Example.com"), Op(OpKind.ADD, "2", "bounced@example.com")]
    outcomes = {o.key: o for o in [o async for o in deliver(connector, target, ops)]}
    assert str(outcomes["1"].status) == "delivered"
    assert str(outcomes["2"].status) == "rejected"
    assert outcomes["2"].message == "is suppressed (unsubscribed or bounced) and cannot be added"
    assert harness.emulator.requests[-1].body == {"emails": ["ann@example.com", "bounced@example.com"]}
    assert harness.emulator.members(target) == {"ann@example.com"}
    removed = [o async for o in deliver(connector, target, [Op(OpKind.REMOVE, "1", "ann@example.com")])]
    assert [str(o.status) for o in removed] == ["delivered"]
    assert harness.emulator.members(target) == set()
    await connector.aclose()


async def test_june_finds_an_existing_list_by_name_across_pages_and_refuses_a_missing_id() -> None:
    harness = Harness.of("june")
    harness.emulator.options.max_page_size = 2
    harness.emulator.seed_targets([f"list {n}" for n in range(5)], TargetSpec("list"))
    connector = harness.connect()
    found = await connector.ensure_target(TargetSpec("list", "list 4"))
    assert found.name == "list 4"
    assert len(harness.emulator.lists) == 5  # type: ignore[attr-defined]
    with pytest.raises(ConfigError, match="List 99 not found"):
        await connector.ensure_target(TargetSpec("list", id="99"))
    await connector.aclose()


def test_june_needs_the_api_address_june_gives_the_customer() -> None:
    with pytest.raises(ValidationError, match="api_url"):
        Harness.of("june").connector_class.config_model.model_validate({"api_key": "k"})
