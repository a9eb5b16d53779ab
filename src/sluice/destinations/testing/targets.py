"""What the per-target conformance suites share (upsert, events): one parametrised case per
(destination type, target spec) an emulator declares for a service, and the tests every such
service must pass the same way — 429s waited out, 5xx and malformed bodies retried, exhausted
retries failing rows (never rejecting them), the batch cap, bad credentials.

A suite subclasses :class:`TargetCase` (how to build ops for a target, what "held by the vendor"
means) and :class:`TargetServiceConformance` (its own tests beside the shared ones).
"""

from __future__ import annotations

import dataclasses
from abc import ABC, abstractmethod
from collections.abc import AsyncIterator, Iterable
from typing import Any, ClassVar, Self

import pytest

from sluice.destinations import registry
from sluice.destinations.delivery import deliver
from sluice.destinations.emulation import FaultKind
from sluice.destinations.errors import ConfigError
from sluice.destinations.sdk import Connector, Op, Outcome, Service, Target, TargetSpec
from sluice.destinations.testing.harness import Harness


def target_cases(service: Service, specs_attribute: str, *, required: bool) -> list[Any]:
    """``(type, spec index)`` per target spec of every destination offering ``service``. A type
    whose emulator cannot load (or, when ``required``, declares no spec) gets one case that fails
    with the reason: never silently dropped, and it does not break collection of the rest."""
    cases: list[Any] = []
    for connector in registry.all_types():
        if service not in connector.capabilities.services:
            continue
        name = connector.type_name
        try:
            specs: tuple[TargetSpec, ...] = getattr(registry.emulator_class(name), specs_attribute)
        except Exception as exc:  # reported by the case itself
            cases.append(pytest.param((name, f"its emulator does not load: {exc!r}"), id=f"{name}-broken"))
            continue
        if required and not specs:
            cases.append(
                pytest.param((name, f"its emulator declares no {specs_attribute}"), id=f"{name}-no-specs")
            )
        cases += [
            pytest.param((name, index), id=f"{name}-{spec.kind}-{spec.name or spec.identifier_kind}")
            for index, spec in enumerate(specs)
        ]
    return cases


def statuses(outcomes: list[Outcome]) -> set[str]:
    return {str(o.status) for o in outcomes}


@dataclasses.dataclass
class TargetCase(ABC):
    """One destination type's emulator and one of the targets it declares for a service."""

    harness: Harness
    index: int
    #: the emulator attribute listing the service's target specs
    specs_attribute: ClassVar[str]

    @classmethod
    def of(cls, param: tuple[str, int | str]) -> Self:
        """The case of a :func:`target_cases` parameter (failing the test for a broken type)."""
        type_name, index = param
        if isinstance(index, str):
            pytest.fail(f"{type_name}: {index}")
        return cls(Harness.of(str(type_name)), int(index))

    async def target(self, connector: Connector) -> Target:
        spec: TargetSpec = getattr(self.harness.emulator, self.specs_attribute)[self.index]
        target = await connector.ensure_target(spec)
        return dataclasses.replace(target, identifier_kind=spec.identifier_kind)

    @abstractmethod
    def ops(self, target: Target, numbers: Iterable[int]) -> list[Op]:
        """Ops for rows ``numbers`` (their contacts exist at the vendor)."""

    @abstractmethod
    def assert_held(self, target: Target, ops: list[Op]) -> None:
        """The vendor holds what ``ops`` sent (exactly once where that matters)."""

    @staticmethod
    async def send(connector: Connector, target: Target, ops: list[Op]) -> list[Outcome]:
        return [outcome async for outcome in deliver(connector, target, ops)]


@pytest.mark.anyio
class TargetServiceConformance:
    """Tests every per-target service passes; subclasses add the ``case`` fixture and their own."""

    @pytest.fixture
    async def connector(self, case: TargetCase) -> AsyncIterator[Connector]:
        connector = case.harness.connect()
        yield connector
        await connector.aclose()

    async def test_rate_limit_waits_as_told_and_succeeds(
        self, case: TargetCase, connector: Connector
    ) -> None:
        target = await case.target(connector)
        case.harness.emulator.inject(FaultKind.RATE_LIMIT, 2)
        ops = case.ops(target, range(3))
        assert statuses(await case.send(connector, target, ops)) == {"delivered"}
        assert len(case.harness.clock.slept) >= 2, "the connector must wait before retrying a 429"
        assert [r.status for r in case.harness.emulator.requests].count(429) == 2
        case.assert_held(target, ops)

    @pytest.mark.parametrize("fault", [FaultKind.SERVER_ERROR, FaultKind.MALFORMED])
    async def test_transient_failures_are_retried(
        self, case: TargetCase, connector: Connector, fault: FaultKind
    ) -> None:
        target = await case.target(connector)
        case.harness.emulator.inject(fault, 2)
        ops = case.ops(target, range(3))
        assert statuses(await case.send(connector, target, ops)) == {"delivered"}
        case.assert_held(target, ops)

    async def test_exhausted_retries_fail_rows_never_reject_them(
        self, case: TargetCase, connector: Connector
    ) -> None:
        target = await case.target(connector)
        case.harness.emulator.inject(FaultKind.RATE_LIMIT, 500)
        outcomes = await case.send(connector, target, case.ops(target, range(2)))
        assert len(outcomes) == 2
        assert statuses(outcomes) == {"failed"}
        assert all(o.message for o in outcomes)

    async def test_batch_limits_are_never_exceeded(self, case: TargetCase, connector: Connector) -> None:
        size = connector.capabilities.batch_size
        target = await case.target(connector)
        ops = case.ops(target, range(2 * size + 7))
        outcomes = await case.send(connector, target, ops)
        assert statuses(outcomes) == {"delivered"}
        assert len(outcomes) == len(ops)
        assert case.harness.emulator.limit_violations == []
        assert case.harness.emulator.batch_limit >= size
        case.assert_held(target, ops)

    async def test_bad_credentials_raise_config_error(self, case: TargetCase) -> None:
        good = case.harness.connect()
        target = await case.target(good)
        await good.aclose()
        connector = case.harness.connect(valid=False)
        with pytest.raises(ConfigError):
            await connector.check()
        with pytest.raises(ConfigError):
            await case.send(connector, target, case.ops(target, range(2)))
        await connector.aclose()
