"""Load: hand the plan's batches to a destination through the SDK's delivery (BRIEF §4 rule 5).

A full refresh of a membership target whose connector implements ``replace_members`` is a
:class:`Replacement`: every add goes out in one numbered session and the vendor drops the members
not sent when the last batch arrives (Meta ``usersreplace``), so people who left are removed even
though their identifiers cannot be read back.
"""

from __future__ import annotations

import secrets
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import pyarrow as pa

from sluice.destinations.delivery import deliver
from sluice.destinations.errors import RateLimited, RowRejected, Transient
from sluice.destinations.sdk import Connector, Op, OpKind, Outcome, OutcomeStatus, ReplaceBatch, Target
from sluice.schemas.activations import FullRefreshBehaviour
from sluice.sync.audience import IDENTIFIER, KEY
from sluice.sync.plan import OP, PlanCounts

REPLACED = "removed by the full refresh (the vendor replaced the target's members)"


@dataclass
class Replacement:
    """One full refresh by replacement. Adds are sent in numbered batches of ``batch_size``; the
    latest batch is held back so the last one can carry the end flag. Outcomes are reported only
    once the vendor took the last batch: a replacement is all or nothing, and a failure part way
    raises :class:`Transient` (the run fails, its snapshot is not committed, and the vendor keeps
    the target as it was because the session never ended)."""

    connector: Connector
    target: Target
    session_id: int = field(default_factory=lambda: secrets.randbits(62))
    estimated_total: int = 0
    seq: int = 0
    held: list[Op] = field(default_factory=list)
    taken: list[Outcome] = field(default_factory=list)
    done: bool = False

    async def add(self, ops: Sequence[Op]) -> list[Outcome]:
        """Queue adds (sending every full batch but the latest); invalid ones are rejected now."""
        rejected = []
        for op in ops:
            reason = self.connector.invalid_reason(op, self.target.identifier_kind)
            if reason is None:
                self.held.append(op)
            else:
                rejected.append(Outcome.of(op, OutcomeStatus.REJECTED, f"not sent: {reason}"))
        size = self.connector.capabilities.batch_size
        while len(self.held) > size:
            await self._send(self.held[:size], last=False)
            del self.held[:size]
        return rejected

    async def finish(self) -> list[Outcome]:
        """Send the held batch as the last one; every add's outcome (nothing when nothing was added)."""
        self.done = True
        if not self.held:
            return []
        await self._send(self.held, last=True)
        self.held = []
        taken, self.taken = self.taken, []
        return taken

    async def _send(self, ops: list[Op], *, last: bool) -> None:
        self.seq += 1
        batch = ReplaceBatch(self.session_id, self.seq, last, max(self.estimated_total, len(ops)))
        try:
            self.taken += await self.connector.replace_members(self.target, ops, batch)
        except (RateLimited, Transient, RowRejected) as exc:
            raise Transient(
                f"the full refresh stopped at batch {self.seq} of its replacement ({exc}); "
                f"{self.connector.title} keeps the target's members as they were"
            ) from exc


@dataclass
class Delivery:
    """An open connector and target for one run."""

    connector: Connector
    target: Target
    full_refresh: FullRefreshBehaviour
    throttled_seconds: float = 0.0
    target_changed: bool = False
    replacement: Replacement | None = None

    def planned(self, counts: PlanCounts) -> None:
        """The plan is known: a replacement learns how many members it will send."""
        if self.replacement is not None:
            self.replacement.estimated_total = counts.by_op.get(str(OpKind.ADD), 0)

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
        replacement = self.replacement
        if replacement is None or replacement.done:
            return _records([o async for o in deliver(self.connector, self.target, ops)])
        # a full refresh by replacement: adds come first (the plan orders them before removes)
        adds = [op for op in ops if op.kind is OpKind.ADD]
        rest = [op for op in ops if op.kind is not OpKind.ADD]
        outcomes = await replacement.add(adds)
        if rest:
            replaced = bool(replacement.held)
            outcomes += await replacement.finish()
            if replaced:  # who left is gone with the replacement: nothing to send
                outcomes += [Outcome.of(op, OutcomeStatus.DELIVERED, REPLACED) for op in rest]
            else:
                outcomes += [o async for o in deliver(self.connector, self.target, rest)]
        return _records(outcomes)

    async def finish(self) -> list[dict[str, Any]]:
        """After the last planned batch: end an open replacement (its outcomes come now)."""
        if self.replacement is None or self.replacement.done:
            return []
        return _records(await self.replacement.finish())

    async def prepare_full_refresh(self) -> pa.Table | None:
        """Before a full refresh: replace the target's members, recreate the target, or list its
        members so strays are removed."""
        if self.full_refresh is FullRefreshBehaviour.RESEND_ALL:
            return None
        capabilities = self.connector.capabilities
        if type(self.connector).replace_members is not Connector.replace_members:
            self.replacement = Replacement(self.connector, self.target)
            return None
        if type(self.connector).reset_target is not Connector.reset_target:
            recreated = await self.connector.reset_target(self.target)
            self.target_changed = recreated.id != self.target.id
            self.target = recreated
            return None
        if capabilities.can_read_members:
            members = [member async for member in self.connector.read_members(self.target)]
            return pa.table({IDENTIFIER: pa.array(members, pa.string())})
        return None


def _records(outcomes: list[Outcome]) -> list[dict[str, Any]]:
    return [
        {
            KEY: o.key,
            IDENTIFIER: o.identifier,
            OP: str(o.kind) if o.kind else None,
            "status": str(o.status),
            "message": o.message or None,
        }
        for o in outcomes
    ]
