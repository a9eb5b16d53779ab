"""The audit log of the current workspace: filter, page, export (read-only by design)."""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Iterator
from datetime import datetime
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Depends, Query
from fastapi.responses import StreamingResponse
from pydantic import BaseModel
from sqlalchemy import Select, select

from sluice.api.deps import DbSession, require
from sluice.api.pagination import Page, PageParams, page_params, paginate
from sluice.auth.permissions import Permission
from sluice.auth.principal import Principal
from sluice.schemas.auth import AuditLogOut
from sluice.store.tables.audit import AuditLog

router = APIRouter(prefix="/audit-logs", tags=["audit"])
Auditor = Annotated[Principal, Depends(require(Permission.AUDIT_READ))]


class AuditFilter(BaseModel):
    action: str | None = None
    actor_id: str | None = None
    target_type: str | None = None
    target_id: str | None = None
    since: datetime | None = None
    until: datetime | None = None


def audit_filter(
    action: str | None = Query(default=None, description="Exact action, or a prefix ending in '*' (auth.*)"),
    actor_id: str | None = Query(default=None),
    target_type: str | None = Query(default=None, description="source, membership, api_token, …"),
    target_id: str | None = Query(default=None),
    since: datetime | None = Query(default=None, description="Only entries at or after this time"),
    until: datetime | None = Query(default=None, description="Only entries before this time"),
) -> AuditFilter:
    return AuditFilter(
        action=action,
        actor_id=actor_id,
        target_type=target_type,
        target_id=target_id,
        since=since,
        until=until,
    )


def _statement(principal: Principal, wanted: AuditFilter) -> Select[Any]:
    statement = select(AuditLog).where(AuditLog.workspace_id == principal.workspace_id)
    if wanted.action:
        if wanted.action.endswith("*"):
            statement = statement.where(AuditLog.action.startswith(wanted.action[:-1], autoescape=True))
        else:
            statement = statement.where(AuditLog.action == wanted.action)
    for column, value in (
        (AuditLog.actor_id, wanted.actor_id),
        (AuditLog.target_type, wanted.target_type),
        (AuditLog.target_id, wanted.target_id),
    ):
        if value:
            statement = statement.where(column == value)
    if wanted.since:
        statement = statement.where(AuditLog.created_at >= wanted.since)
    if wanted.until:
        statement = statement.where(AuditLog.created_at < wanted.until)
    return statement


@router.get("", response_model=Page[AuditLogOut])
def list_audit_logs(
    session: DbSession,
    principal: Auditor,
    wanted: Annotated[AuditFilter, Depends(audit_filter)],
    params: Annotated[PageParams, Depends(page_params)],
    order: Literal["oldest", "newest"] = Query(
        default="oldest", description="oldest first (the default) or newest first; cursors follow it"
    ),
) -> Page[AuditLogOut]:
    """Audit entries of this workspace, filtered, oldest (or newest) first."""
    rows, cursor = paginate(
        session, _statement(principal, wanted), AuditLog.id, params, newest_first=order == "newest"
    )
    return Page(items=[AuditLogOut.model_validate(row) for row in rows], next_cursor=cursor)


@router.get("/export")
def export_audit_logs(
    session: DbSession,
    principal: Auditor,
    wanted: Annotated[AuditFilter, Depends(audit_filter)],
    format: Literal["jsonl", "csv"] = Query(default="jsonl"),
) -> StreamingResponse:
    """Every matching entry as JSON lines or CSV (download)."""
    entries = [
        AuditLogOut.model_validate(row).model_dump(mode="json")
        for row in session.scalars(_statement(principal, wanted).order_by(AuditLog.id))
    ]
    media = "application/x-ndjson" if format == "jsonl" else "text/csv"
    headers = {"Content-Disposition": f'attachment; filename="audit-log.{format}"'}
    return StreamingResponse(_render(entries, format), media_type=media, headers=headers)


def _render(entries: list[dict[str, object]], fmt: str) -> Iterator[str]:
    if fmt == "jsonl":
        for entry in entries:
            yield json.dumps(entry, sort_keys=True) + "\n"
        return
    columns = list(AuditLogOut.model_fields)
    buffer = io.StringIO()
    writer = csv.DictWriter(buffer, fieldnames=columns)
    writer.writeheader()
    for entry in entries:
        writer.writerow({k: json.dumps(v) if isinstance(v, dict) else v for k, v in entry.items()})
    yield buffer.getvalue()
