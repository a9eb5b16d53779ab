"""Delivery rules on a minimal in-test destination (a fake vendor, not a fake of Sluice code)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, ClassVar

import pytest

from sluice.destinations.delivery import deliver, plan_batches
from sluice.destinations.errors import ConfigError, RowRejected, Transient
from sluice.destinations.http import parse_retry_after
from sluice.destinations.sdk import (
    ActivationDefaults,
    Capabilities,
    Connector,
    DestinationConfig,
    IdentifierKind,
    Op,
    OpKind,
    Outcome,
    OutcomeStatus,
    Service,
    Target,
    TargetPage,
    TargetSpec,
)

pytestmark = pytest.mark.anyio


class NotebookConfig(DestinationConfig):
    fatal: bool = False


class Notebook(Connector):
    """A vendor that writes identifiers in a notebook; refuses whole batches holding 'bad@x.io'."""

    type_name = "notebook"
    title = "Notebook"
    config_model = NotebookConfig
    activation_defaults = ActivationDefaults
    capabilities = Capabilities(
        services=frozenset({Service.MEMBERSHIP}),
        target_kinds=frozenset({"page"}),
        identifiers=frozenset({IdentifierKind.EMAIL}),
        batch_size=4,
        concurrency=2,
    )
    calls: ClassVar[list[list[str]]] = []

    @classmethod
    def base_url(cls, config: Any) -> str:
        return "http://notebook.invalid"

    async def check(self) -> str:
        return "ok"

    async def list_targets(self, kind: str | None = None, cursor: str | None = None) -> TargetPage:
        return TargetPage([])

    async def ensure_target(self, spec: TargetSpec) -> Target:
        return Target("page", "1", spec.name)

    async def apply(self, target: Target, ops: Sequence[Op]) -> list[Outcome]:
        assert isinstance(self.config, NotebookConfig)
        self.calls.append([f"{op.kind}:{op.identifier}" for op in ops])
        if self.config.fatal:
            raise ConfigError("notebook is locked")
        if any(op.identifier == "bad@x.io" for op in ops):
            raise RowRejected("a page refuses bad@x.io")
        if any(op.identifier == "flaky@x.io" for op in ops):
            raise Transient("ink ran out")
        return [Outcome.of(op, OutcomeStatus.DELIVERED) for op in ops]


async def run(ops: list[Op], **config: Any) -> list[Outcome]:
    Notebook.calls.clear()
    connector = Notebook.connect(config)
    progress: list[int] = []
    outcomes = [
        o async for o in deliver(connector, Target("page", "1", "p"), ops, on_progress=progress.append)
    ]
    assert sum(progress) == len(outcomes)
    await connector.aclose()
    return outcomes


def adds(*emails: str) -> list[Op]:
    return [Op(OpKind.ADD, f"k-{e}", e) for e in emails]


async def test_a_rejected_batch_is_split_until_the_bad_row_is_found() -> None:
    emails = [f"u{i}@x.io" for i in range(3)] + ["bad@x.io"]
    outcomes = await run(adds(*emails))
    status = {o.identifier: o.status for o in outcomes}
    assert status["bad@x.io"] is OutcomeStatus.REJECTED
    assert {status[e] for e in emails[:3]} == {OutcomeStatus.DELIVERED}
    assert next(o.message for o in outcomes if o.identifier == "bad@x.io") == "a page refuses bad@x.io"


async def test_transient_failures_become_failed_rows_never_rejected() -> None:
    outcomes = await run(adds("flaky@x.io", "u1@x.io"))
    assert {o.status for o in outcomes} == {OutcomeStatus.FAILED}
    assert all(o.message == "ink ran out" for o in outcomes)


async def test_config_error_stops_delivery() -> None:
    with pytest.raises(ConfigError, match="locked"):
        await run(adds("u1@x.io"), fatal=True)


async def test_invalid_identifiers_are_rejected_without_a_call() -> None:
    outcomes = await run(adds("not-an-email", "u1@x.io"))
    assert [o.status for o in outcomes if o.identifier == "not-an-email"] == [OutcomeStatus.REJECTED]
    assert Notebook.calls == [["add:u1@x.io"]]


async def test_every_batch_of_one_kind_finishes_before_the_next_kind_starts() -> None:
    ops = [Op(OpKind.REMOVE, f"k{i}", f"old{i}@x.io") for i in range(6)] + adds(
        *(f"new{i}@x.io" for i in range(6))
    )
    outcomes = await run(ops)
    assert len(outcomes) == 12
    kinds = [call[0].split(":")[0] for call in Notebook.calls]
    assert kinds == ["remove", "remove", "add", "add"]
    assert all(len(call) <= 4 for call in Notebook.calls)


def test_plan_batches_keeps_order_and_size() -> None:
    ops = adds(*(f"u{i}@x.io" for i in range(9)))
    assert [len(b) for b in plan_batches(ops, 4)] == [4, 4, 1]
    assert [op for batch in plan_batches(ops, 4) for op in batch] == ops


def test_retry_after_accepts_seconds_and_http_dates() -> None:
    assert parse_retry_after("7", now=0) == 7
    assert parse_retry_after("Thu, 01 Jan 1970 00:00:30 GMT", now=10) == 20
    assert parse_retry_after("soon", now=0) is None
