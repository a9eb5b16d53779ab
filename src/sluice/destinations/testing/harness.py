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
