"""The upsert-service conformance suite (BRIEF §4 rule 4, §5): records created or updated by
identifier, cleared on removal, per-row refusals kept with the vendor's words, limits obeyed.

Parametrised over every (destination type, upsert target) pair an emulator declares in
``Emulator.upsert_specs``; use it from a test module like :class:`DestinationConformance`::

    class TestUpsertConformance(UpsertConformance):
        pass
"""

from __future__ import annotations

import dataclasses
from collections.abc import AsyncIterator, Iterable
from typing import Any

import pytest

from sluice.destinations import registry
from sluice.destinations.delivery import deliver
from sluice.destinations.emulation import FaultKind
from sluice.destinations.errors import ConfigError
from sluice.destinations.sdk import Connector, Op, OpKind, Outcome, OutcomeStatus, Service, Target
from sluice.destinations.testing.harness import Harness


def _upsert_cases() -> list[Any]:
    """(type, spec index) per upsert target; a type whose emulator cannot load gets one case that
    fails with the reason (never silently dropped, and it does not break collection of the rest)."""
    cases: list[Any] = []
    for connector in registry.all_types():
        if Service.UPSERT not in connector.capabilities.services:
            continue
        try:
            specs = registry.emulator_class(connector.type_name).upsert_specs
        except Exception as exc:  # reported by the case itself
            cases.append(pytest.param((connector.type_name, repr(exc)), id=f"{connector.type_name}-broken"))
            continue
        cases += [
            pytest.param(
                (connector.type_name, index), id=f"{connector.type_name}-{spec.kind}-{spec.identifier_kind}"
            )
            for index, spec in enumerate(specs)
        ]
    return cases


UPSERT_CASES = _upsert_cases()


@dataclasses.dataclass
class UpsertCase:
    """One destination type's emulator and one of its upsert targets."""

    harness: Harness
    index: int

    async def target(self, connector: Connector) -> Target:
        spec = self.harness.emulator.upsert_specs[self.index]
        target = await connector.ensure_target(spec)
        return dataclasses.replace(target, identifier_kind=spec.identifier_kind)

    def ops(
        self, target: Target, numbers: Iterable[int], *, version: int = 0, kind: OpKind = OpKind.UPSERT
    ) -> list[Op]:
        emulator = self.harness.emulator
        ops = []
        for number in numbers:
            identifier = emulator.record_identifier(target, number)
            fields = emulator.upsert_fields(target, number, version)
            if kind is OpKind.CLEAR:
                fields = dict.fromkeys(fields)
            ops.append(Op(kind, f"key-{number}", identifier, fields))
        return ops

    @staticmethod
    async def send(connector: Connector, target: Target, ops: list[Op]) -> list[Outcome]:
        return [outcome async for outcome in deliver(connector, target, ops)]


def _statuses(outcomes: list[Outcome]) -> set[str]:
    return {str(o.status) for o in outcomes}


def _holds(record: dict[str, Any] | None, fields: dict[str, Any]) -> bool:
    return record is not None and all(record.get(name) == value for name, value in fields.items())


@pytest.mark.anyio
class UpsertConformance:
    """Behaviour every upsert service + emulator pair must show."""

    @pytest.fixture(params=UPSERT_CASES)
    def case(self, request: pytest.FixtureRequest) -> UpsertCase:
        type_name, index = request.param
        if isinstance(index, str):
            pytest.fail(f"{type_name}: its emulator does not load: {index}")
        return UpsertCase(Harness.of(str(type_name)), int(index))

    @pytest.fixture
    async def connector(self, case: UpsertCase) -> AsyncIterator[Connector]:
        connector = case.harness.connect()
        yield connector
        await connector.aclose()

    async def test_upserts_create_then_update_records_once(
        self, case: UpsertCase, connector: Connector
    ) -> None:
        emulator = case.harness.emulator
        target = await case.target(connector)
        for version in (0, 0, 1):
            ops = case.ops(target, range(5), version=version)
            assert _statuses(await case.send(connector, target, ops)) == {"delivered"}
            records = emulator.records(target)
            assert all(_holds(records.get(op.identifier), dict(op.fields)) for op in ops)
        assert len([i for i in emulator.records(target) if i in {op.identifier for op in ops}]) == 5

    async def test_clear_empties_the_mapped_fields(self, case: UpsertCase, connector: Connector) -> None:
        target = await case.target(connector)
        await case.send(connector, target, case.ops(target, range(2)))
        cleared = case.ops(target, range(1), kind=OpKind.CLEAR)
        assert _statuses(await case.send(connector, target, cleared)) == {"delivered"}
        records = case.harness.emulator.records(target)
        assert all(not records[cleared[0].identifier].get(name) for name in cleared[0].fields)
        kept = case.ops(target, [1])[0]
        assert _holds(records[kept.identifier], dict(kept.fields))

    async def test_refused_rows_are_rejected_with_the_vendor_message(
        self, case: UpsertCase, connector: Connector
    ) -> None:
        target = await case.target(connector)
        refused = case.harness.emulator.refused_fields(target)
        if refused is None:
            pytest.skip(f"{connector.title} {target.kind}: the emulator knows no per-row refusal")
        fields, message = refused
        good = case.ops(target, range(3))
        bad = Op(OpKind.UPSERT, "key-bad", case.harness.emulator.record_identifier(target, 50), fields)
        outcomes = await case.send(connector, target, [*good[:2], bad, good[2]])
        by_key = {o.key: o for o in outcomes}
        assert len(outcomes) == 4
        assert {by_key[op.key].status for op in good} == {OutcomeStatus.DELIVERED}
        assert by_key["key-bad"].status is OutcomeStatus.REJECTED
        assert message in by_key["key-bad"].message

    async def test_rate_limit_waits_as_told_and_succeeds(
        self, case: UpsertCase, connector: Connector
    ) -> None:
        target = await case.target(connector)
        case.harness.emulator.inject(FaultKind.RATE_LIMIT, 2)
        assert _statuses(await case.send(connector, target, case.ops(target, range(3)))) == {"delivered"}
        assert len(case.harness.clock.slept) >= 2, "the connector must wait before retrying a 429"
        assert [r.status for r in case.harness.emulator.requests].count(429) == 2

    @pytest.mark.parametrize("fault", [FaultKind.SERVER_ERROR, FaultKind.MALFORMED])
    async def test_transient_failures_are_retried(
        self, case: UpsertCase, connector: Connector, fault: FaultKind
    ) -> None:
        target = await case.target(connector)
        case.harness.emulator.inject(fault, 2)
        ops = case.ops(target, range(3))
        assert _statuses(await case.send(connector, target, ops)) == {"delivered"}
        records = case.harness.emulator.records(target)
        assert all(_holds(records.get(op.identifier), dict(op.fields)) for op in ops)

    async def test_exhausted_retries_fail_rows_never_reject_them(
        self, case: UpsertCase, connector: Connector
    ) -> None:
        target = await case.target(connector)
        case.harness.emulator.inject(FaultKind.RATE_LIMIT, 500)
        outcomes = await case.send(connector, target, case.ops(target, range(2)))
        assert len(outcomes) == 2
        assert _statuses(outcomes) == {"failed"}
        assert all(o.message for o in outcomes)

    async def test_batch_limits_are_never_exceeded(self, case: UpsertCase, connector: Connector) -> None:
        size = connector.capabilities.batch_size
        target = await case.target(connector)
        ops = case.ops(target, range(2 * size + 7))
        outcomes = await case.send(connector, target, ops)
        assert _statuses(outcomes) == {"delivered"}
        assert len(outcomes) == len(ops)
        assert case.harness.emulator.limit_violations == []
        assert {op.identifier for op in ops} <= set(case.harness.emulator.records(target))

    async def test_invalid_identifiers_are_never_sent(self, case: UpsertCase, connector: Connector) -> None:
        target = await case.target(connector)
        bad = case.harness.emulator.invalid_identifier() if target.identifier_kind == "email" else " "
        before = len(case.harness.emulator.requests)
        outcomes = await case.send(connector, target, [Op(OpKind.UPSERT, "key-x", bad, {})])
        assert [o.status for o in outcomes] == [OutcomeStatus.REJECTED]
        assert outcomes[0].message.startswith("not sent")
        assert len(case.harness.emulator.requests) == before

    async def test_bad_credentials_raise_config_error(self, case: UpsertCase) -> None:
        good = case.harness.connect()
        target = await case.target(good)
        await good.aclose()
        connector = case.harness.connect(valid=False)
        with pytest.raises(ConfigError):
            await connector.check()
        with pytest.raises(ConfigError):
            await case.send(connector, target, case.ops(target, range(2)))
        await connector.aclose()
