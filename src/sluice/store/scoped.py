"""Workspace-scoped lookups: an object of another workspace is reported as not found."""

from __future__ import annotations

from typing import TypeVar

from sqlalchemy.orm import Session

from sluice.core.errors import NotFound
from sluice.store.base import WorkspaceScoped

T = TypeVar("T", bound=WorkspaceScoped)


def get_scoped(session: Session, table: type[T], object_id: str, workspace_id: str, label: str) -> T:
    """The row ``object_id`` of ``table`` in ``workspace_id``, or :class:`NotFound`."""
    row = session.get(table, object_id)
    if row is None or row.workspace_id != workspace_id:
        raise NotFound(f"{label} {object_id!r} not found")
    return row
