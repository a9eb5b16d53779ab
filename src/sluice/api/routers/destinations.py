"""Destinations: CRUD, connection test, target pickers; destination types at ``/destination-types``."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Query, Request, status
from sqlalchemy import select
from sqlalchemy.exc import IntegrityError

from sluice.api.deps import DbSession, get_database, require
from sluice.api.pagination import Page, PageParams, page_params, paginate
from sluice.auth.permissions import Permission
from sluice.auth.principal import Principal
from sluice.core.errors import Conflict
from sluice.destinations import registry, service
from sluice.schemas.destinations import (
    DestinationCheckOut,
    DestinationCreate,
    DestinationOut,
    DestinationTypeOut,
    DestinationUpdate,
    TargetOut,
    TargetPageOut,
)
from sluice.store.base import utcnow
from sluice.store.scoped import get_scoped
from sluice.store.tables.destinations import Destination

router = APIRouter(tags=["destinations"])
Reader = Annotated[Principal, Depends(require(Permission.DESTINATIONS_READ))]
Writer = Annotated[Principal, Depends(require(Permission.DESTINATIONS_WRITE))]


@router.get("/destination-types", response_model=list[DestinationTypeOut])
def list_destination_types(principal: Reader) -> list[DestinationTypeOut]:
    """Every destination type: config form (JSON Schema), capabilities, default activation settings."""
    return [DestinationTypeOut(**service.type_info(connector)) for connector in registry.all_types()]


@router.get("/destinations", response_model=Page[DestinationOut])
def list_destinations(
    session: DbSession, principal: Reader, params: Annotated[PageParams, Depends(page_params)]
) -> Page[DestinationOut]:
    statement = select(Destination).where(Destination.workspace_id == principal.workspace_id)
    rows, cursor = paginate(session, statement, Destination.id, params)
    return Page(items=[DestinationOut.model_validate(row) for row in rows], next_cursor=cursor)


@router.post("/destinations", response_model=DestinationOut, status_code=status.HTTP_201_CREATED)
def create_destination(
    body: DestinationCreate, request: Request, session: DbSession, principal: Writer
) -> Destination:
    """Create a destination; ``config`` and ``secrets`` are checked against the type's config form."""
    plain = {k: v.get_secret_value() for k, v in body.secrets.items()}
    _, public, secrets = service.validate_config(body.type, body.config, plain)
    destination = Destination(
        workspace_id=principal.workspace_id,
        name=body.name,
        type=registry.get(body.type).type_name,
        description=body.description,
        config=public,
        activation_defaults=service.validate_defaults(body.type, body.activation_defaults),
    )
    destination.write_secrets(get_database(request).secrets, secrets)
    session.add(destination)
    _flush_unique(session, body.name)
    return destination


@router.get("/destinations/{destination_id}", response_model=DestinationOut)
def get_destination(destination_id: str, session: DbSession, principal: Reader) -> Destination:
    return get_scoped(session, Destination, destination_id, principal.workspace_id, "destination")


@router.patch("/destinations/{destination_id}", response_model=DestinationOut)
def update_destination(
    destination_id: str, body: DestinationUpdate, request: Request, session: DbSession, principal: Writer
) -> Destination:
    """Change a destination; secrets given replace stored ones, others are kept."""
    destination = get_scoped(session, Destination, destination_id, principal.workspace_id, "destination")
    box = get_database(request).secrets
    new_secrets = {k: v.get_secret_value() for k, v in (body.secrets or {}).items()}
    if body.config is not None or new_secrets:
        stored = destination.read_secrets(box)
        config = body.config if body.config is not None else destination.config
        _, public, secrets = service.validate_config(destination.type, config, {**stored, **new_secrets})
        destination.config = public
        destination.write_secrets(box, secrets)
    if body.activation_defaults is not None:
        destination.activation_defaults = service.validate_defaults(
            destination.type, body.activation_defaults
        )
    for name in ("name", "description"):
        value = getattr(body, name)
        if value is not None:
            setattr(destination, name, value)
    _flush_unique(session, destination.name)
    return destination


@router.delete("/destinations/{destination_id}", status_code=status.HTTP_204_NO_CONTENT)
def delete_destination(destination_id: str, session: DbSession, principal: Writer) -> None:
    session.delete(get_scoped(session, Destination, destination_id, principal.workspace_id, "destination"))


@router.post("/destinations/{destination_id}/check", response_model=DestinationCheckOut)
def check_destination(
    destination_id: str, request: Request, session: DbSession, principal: Writer
) -> DestinationCheckOut:
    """Test the connection with the stored credentials; the outcome is kept on the destination."""
    destination = get_scoped(session, Destination, destination_id, principal.workspace_id, "destination")
    database = get_database(request)
    report = service.check(destination, database.secrets, database=database)
    destination.last_test_status, destination.last_test_message = report.status, report.message
    destination.last_tested_at = utcnow()
    return DestinationCheckOut(
        ok=report.ok, status=report.status, message=report.message, tested_at=destination.last_tested_at
    )


@router.get("/destinations/{destination_id}/targets", response_model=TargetPageOut)
def list_destination_targets(
    destination_id: str,
    request: Request,
    session: DbSession,
    principal: Reader,
    kind: Annotated[str | None, Query(description="Target kind (e.g. static_segment, tag, label)")] = None,
    cursor: Annotated[str | None, Query(description="Cursor from a previous page")] = None,
) -> TargetPageOut:
    """Existing targets at the destination, for pickers (read live from the platform)."""
    destination = get_scoped(session, Destination, destination_id, principal.workspace_id, "destination")
    database = get_database(request)
    page = service.list_targets(destination, database.secrets, kind, cursor, database=database)
    return TargetPageOut(
        items=[
            TargetOut(kind=t.kind, id=t.id, name=t.name, parent_id=t.parent_id, size=t.size)
            for t in page.items
        ],
        next_cursor=page.next_cursor,
    )


def _flush_unique(session: DbSession, name: str) -> None:
    try:
        session.flush()
    except IntegrityError:
        raise Conflict(f"a destination named {name!r} already exists in this workspace") from None
