"""Load: hand the plan's batches to a destination through the SDK's delivery (BRIEF §4 rule 5)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import pyarrow as pa

from sluice.destinations.delivery import deliver
from sluice.destinations.sdk import Connector, Op, OpKind, Target
from sluice.schemas.activations import FullRefreshBehaviour
from sluice.sync.audience import IDENTIFIER, KEY
from sluice.sync.plan import OP


@dataclass
class Delivery:
    """An open connector and target for one run."""

    connector: Connector
    target: Target
    full_refresh: FullRefreshBehaviour
    throttled_seconds: float = 0.0
    target_changed: bool = False

    async def deliver(self, records: list[dict[str, Any]]) -> list[dict[str, Any]]:
        """One batch of planned ops (pipeline records) → one outcome record per op."""
        ops = [
            Op(
                OpKind(record[OP]),
                record[KEY],
                record[IDENTIFIER] or "",
                {name: value for name, value in record.items() if not name.startswith("__")},
            )
            for record in records
        ]
        return [
            {
                KEY: o.key,
                IDENTIFIER: o.identifier,
                OP: str(o.kind) if o.kind else None,
                "status": str(o.status),
                "message": o.message or None,
            }
            async for o in deliver(self.connector, self.target, ops)
        ]

    async def prepare_full_refresh(self) -> pa.Table | None:
        """Before a full refresh: recreate the target, or list its members so strays are removed."""
        if self.full_refresh is FullRefreshBehaviour.RESEND_ALL:
            return None
        capabilities = self.connector.capabilities
        if type(self.connector).reset_target is not Connector.reset_target:
            recreated = await self.connector.reset_target(self.target)
            self.target_changed = recreated.id != self.target.id
            self.target = recreated
            return None
        if capabilities.can_read_members:
            members = [member async for member in self.connector.read_members(self.target)]
            return pa.table({IDENTIFIER: pa.array(members, pa.string())})
        return None
