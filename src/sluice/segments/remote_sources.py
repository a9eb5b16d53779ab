"""Checks on a remote segment's source when it is saved, and which platforms support it.

A remote segment is refused at once when its platform cannot list members (with the reason the
destination declares), when the kind of remote object or the platform identifier is not one the
destination knows, when the model has no such field, or when the destination answers that the
remote id does not exist. When the destination cannot be reached, saving goes on: the first
refresh reports the problem.
"""

from __future__ import annotations

import asyncio
from typing import Any

from sqlalchemy.orm import Session

from sluice.core.crypto import SecretBox
from sluice.core.errors import InvalidInput
from sluice.core.logging import get_logger
from sluice.destinations import registry
from sluice.destinations.errors import ConfigError, DestinationError
from sluice.destinations.sdk import IdentifierKind, TargetSpec
from sluice.destinations.service import connect
from sluice.jobs.scheduler import validate_schedule
from sluice.schemas.schedules import TIMED_KINDS
from sluice.segments.remote_refresh import check_platform, default_remote_kind, unsupported_reason
from sluice.segments.spec import RemoteSource
from sluice.store.scoped import get_scoped
from sluice.store.tables.destinations import Destination
from sluice.store.tables.models import Model

log = get_logger(__name__)


def platforms() -> list[dict[str, Any]]:
    """Every destination type and whether remote segments can read from it, and why not."""
    items = []
    for connector in registry.all_types():
        caps = connector.capabilities
        items.append(
            {
                "type": connector.type_name,
                "title": connector.title,
                "supported": caps.can_read_members,
                "reason": (
                    "reads the members of a segment through the platform's API"
                    if caps.can_read_members
                    else unsupported_reason(connector)
                ),
                "remote_kinds": sorted(caps.target_kinds) if caps.can_read_members else [],
                "identifiers": sorted(caps.identifiers) if caps.can_read_members else [],
            }
        )
    return sorted(items, key=lambda item: (not item["supported"], item["title"]))


def check_remote_source(
    session: Session,
    workspace_id: str,
    model: Model,
    remote: RemoteSource,
    box: SecretBox,
    *,
    reach_destination: bool = True,
) -> None:
    """Refuse a remote source Sluice could never refresh (see the module docstring)."""
    destination = get_scoped(session, Destination, remote.destination_id, workspace_id, "destination")
    check_platform(destination.type)
    connector = registry.get(destination.type)
    caps = connector.capabilities
    kind = remote.remote_kind or default_remote_kind(destination.type)
    if kind not in caps.target_kinds:
        raise InvalidInput(
            f"{connector.title} has no remote object of kind {kind!r} "
            f"(kinds: {', '.join(sorted(caps.target_kinds))})"
        )
    if IdentifierKind(remote.remote_identifier) not in caps.identifiers:
        raise InvalidInput(
            f"{connector.title} members cannot be read by {remote.remote_identifier} "
            f"(identifiers: {', '.join(sorted(caps.identifiers))})"
        )
    if remote.identifier_field not in {f.name for f in model.fields}:
        raise InvalidInput(f"model {model.name!r} has no field {remote.identifier_field!r}")
    if reach_destination:
        _check_remote_id(destination, box, kind, remote)


def _check_remote_id(destination: Destination, box: SecretBox, kind: str, remote: RemoteSource) -> None:
    async def attempt() -> None:
        async with connect(destination, box) as connector:
            connector.http.max_attempts = 2
            connector.http.timeout = 20
            await connector.ensure_target(
                TargetSpec(
                    kind=kind,
                    id=remote.remote_id,
                    create_if_missing=False,
                    identifier_kind=IdentifierKind(remote.remote_identifier),
                )
            )

    try:
        asyncio.run(attempt())
    except ConfigError as exc:
        raise InvalidInput(f"remote segment {remote.remote_id!r} cannot be read: {exc.message}") from None
    except DestinationError as exc:
        log.warning("remote id not checked: destination unreachable", error=exc.message)


def check_refresh_schedule(
    session: Session, workspace_id: str, value: dict[str, Any] | None
) -> dict[str, Any]:
    """A refresh schedule: manual or time-based (refreshes do not wait for other jobs)."""
    schedule = validate_schedule(session, workspace_id, value)
    if schedule.get("kind") not in {"manual", *TIMED_KINDS}:
        raise InvalidInput("a refresh schedule is manual, interval, cron, daily or weekly")
    return schedule
