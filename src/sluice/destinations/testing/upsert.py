"""The upsert-service conformance suite (BRIEF §4 rule 4, §5): records created or updated by
identifier, cleared on removal, per-row refusals kept with the vendor's words, limits obeyed.

Parametrised over every (destination type, upsert target) pair an emulator declares in
``Emulator.upsert_specs``; use it from a test module like :class:`DestinationConformance`::

    class TestUpsertConformance(UpsertConformance):
        pass
"""

from __future__ import annotations

import dataclasses
from collections.abc import Iterable
from typing import Any

import pytest

from sluice.destinations.sdk import Connector, Op, OpKind, OutcomeStatus, Service, Target
from sluice.destinations.testing.targets import TargetCase, TargetServiceConformance, target_cases
from sluice.destinations.testing.targets import statuses as _statuses

UPSERT_CASES = target_cases(Service.UPSERT, "upsert_specs", required=False)


@dataclasses.dataclass
class UpsertCase(TargetCase):
    """One destination type's emulator and one of its upsert targets."""

    specs_attribute = "upsert_specs"

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

    def assert_held(self, target: Target, ops: list[Op]) -> None:
        records = self.harness.emulator.records(target)
        assert all(_holds(records.get(op.identifier), dict(op.fields)) for op in ops)


def _holds(record: dict[str, Any] | None, fields: dict[str, Any]) -> bool:
    return record is not None and all(record.get(name) == value for name, value in fields.items())


class UpsertConformance(TargetServiceConformance):
    """Behaviour every upsert service + emulator pair must show (beside the shared tests)."""

    @pytest.fixture(params=UPSERT_CASES)
    def case(self, request: pytest.FixtureRequest) -> UpsertCase:
        return UpsertCase.of(request.param)

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

    async def test_invalid_identifiers_are_never_sent(self, case: UpsertCase, connector: Connector) -> None:
        target = await case.target(connector)
        bad = case.harness.emulator.invalid_identifier() if target.identifier_kind == "email" else " "
        before = len(case.harness.emulator.requests)
        outcomes = await case.send(connector, target, [Op(OpKind.UPSERT, "key-x", bad, {})])
        assert [o.status for o in outcomes] == [OutcomeStatus.REJECTED]
        assert outcomes[0].message.startswith("not sent")
        assert len(case.harness.emulator.requests) == before
