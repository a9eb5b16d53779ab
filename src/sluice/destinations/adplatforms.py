"""What the advertising-platform connectors share (Pinterest, TikTok, Snapchat…): find a target by
name across the picker's pages, refuse a batch of ops a target cannot take, and check an op before
it is sent (an identifier the vendor's hashing rules cannot normalise, a conversion outside the
vendor's time window)."""

from __future__ import annotations

from collections.abc import Callable, Sequence

from sluice.destinations.events import BadEventTime, event_time, stale_reason
from sluice.destinations.hashing import InvalidIdentifier
from sluice.destinations.sdk import Connector, Op, OpKind, Outcome, OutcomeStatus, Target

#: the mapped field holding an event's time
EVENT_TIME_FIELD = "time"


async def find_by_name(connector: Connector, kind: str, name: str) -> Target | None:
    """The first target of ``kind`` called ``name``, reading the picker's pages until found."""
    cursor: str | None = None
    while True:
        page = await connector.list_targets(kind, cursor)
        for target in page.items:
            if target.name == name:
                return target
        if page.next_cursor is None:
            return None
        cursor = page.next_cursor


def refuse_unsupported(
    connector: Connector, target: Target, ops: Sequence[Op], allowed: dict[str, tuple[OpKind, ...]]
) -> list[Outcome] | None:
    """Rejected outcomes when ``target``'s kind does not take ``ops``' kind (``allowed`` maps target
    kinds to op kinds), else None."""
    if ops[0].kind in allowed.get(target.kind, ()):
        return None
    message = f"{connector.title} {target.kind} targets do not support {ops[0].kind}"
    return [Outcome.of(op, OutcomeStatus.REJECTED, message) for op in ops]


def unhashable_reason(hash_one: Callable[[str], str], value: str) -> str | None:
    """Why ``value`` cannot be normalised and hashed by ``hash_one`` (the vendor's rules), or None."""
    try:
        hash_one(value or "")
    except InvalidIdentifier as exc:
        return str(exc)
    return None


def event_time_reason(op: Op, max_age: float | None, now: float, vendor: str) -> str | None:
    """Why an event op must not be sent: its mapped ``time`` is missing or unreadable, or outside
    the vendor's window (:func:`sluice.destinations.events.stale_reason`); None when it may go."""
    try:
        moment = event_time(op.fields.get(EVENT_TIME_FIELD))
    except BadEventTime as exc:
        return str(exc)
    return stale_reason(moment, max_age, now, vendor)
