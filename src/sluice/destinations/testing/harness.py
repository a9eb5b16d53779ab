"""A connector wired to its emulator in-process, on a virtual clock shared by both."""

from __future__ import annotations

import dataclasses
from collections.abc import Iterable
from dataclasses import dataclass

import httpx

from sluice.destinations import registry
from sluice.destinations.delivery import deliver
from sluice.destinations.emulation import Emulator, VirtualClock
from sluice.destinations.sdk import Connector, Op, OpKind, Outcome, Target

EMULATOR_URL = "http://emulator.test"


class VirtualPacer:
    """A leaky bucket like aiolimiter's (``max_rate`` per ``period`` seconds, bursts up to
    ``max_rate``) whose waits are sleeps on the virtual clock."""

    def __init__(self, max_rate: float, period: float, *, clock: VirtualClock) -> None:
        self.capacity = max_rate
        self.per_second = max_rate / period
        self.clock = clock
        self.level = 0.0
        self.last = clock()

    async def acquire(self, amount: float = 1) -> None:
        while True:
            now = self.clock()
            self.level = max(self.level - (now - self.last) * self.per_second, 0.0)
            self.last = now
            if self.level + amount <= self.capacity + 1e-6:
                self.level += amount
                return
            # at least 1 ms: a smaller step would vanish in the clock's float (≈ 1e6 s)
            await self.clock.sleep(max((self.level + amount - self.capacity) / self.per_second, 1e-3))


@dataclass
class Harness:
    """One destination type and a fresh emulator of it; :meth:`connect` gives connectors that
    reach the emulator through ``httpx.ASGITransport`` and sleep on the virtual clock."""

    connector_class: type[Connector]
    emulator: Emulator
    clock: VirtualClock

    @classmethod
    def of(cls, type_name: str) -> Harness:
        clock = VirtualClock()
        emulator = registry.emulator_class(type_name)(clock=clock)
        return cls(registry.get(type_name), emulator, clock)

    def connect(self, *, valid: bool = True, timeout: float = 5.0) -> Connector:
        client = httpx.AsyncClient(transport=httpx.ASGITransport(app=self.emulator.app))
        connector = self.connector_class.connect(
            self.emulator.connector_config(EMULATOR_URL, valid=valid), http_client=client
        )
        connector.http.sleep = self.clock.sleep
        connector.http.clock = self.clock
        if connector.http.rate_limit is not None:  # pace on the virtual clock too: waits cost no time
            connector.http.limiter = VirtualPacer(*connector.http.rate_limit, clock=self.clock)
        connector.http.timeout = timeout
        connector.http.owns_client = True
        return connector

    def contacts(self, numbers: Iterable[int], *, seed: bool = True) -> list[str]:
        """Identifiers of demo contacts ``numbers`` (made to exist at the vendor when ``seed``)."""
        identifiers = [self.emulator.contact_identifier(n) for n in numbers]
        if seed:
            self.emulator.seed_contacts(identifiers)
        return identifiers

    async def target(self, connector: Connector) -> Target:
        target = await connector.ensure_target(self.emulator.target_spec())
        return dataclasses.replace(target, identifier_kind=self.emulator.identifier_kind)

    async def send(
        self, connector: Connector, target: Target, kind: OpKind, identifiers: Iterable[str]
    ) -> list[Outcome]:
        ops = [Op(kind, f"key-{identifier}", identifier) for identifier in identifiers]
        return [outcome async for outcome in deliver(connector, target, ops)]
