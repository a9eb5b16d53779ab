"""Every resource type: ids of workspace A are 404 from workspace B, generated from the route table.

For each workspace-scoped table a row is created in workspace A (columns filled from their
types, foreign keys followed), then every route with ``{…_id}`` path parameters is called from
workspace B with A's ids. A new table or route is covered without touching this test; an id
parameter that names no table fails it.
"""

from __future__ import annotations

import re
import secrets
from datetime import UTC, datetime
from typing import Any

from fastapi.testclient import TestClient
from sqlalchemy import JSON, Boolean, DateTime, Float, Integer, Numeric
from sqlalchemy.orm import Session

import sluice.store.tables  # noqa: F401 - registers every table
from sluice.api.deps import route_permissions
from sluice.auth.accounts import find_workspace
from sluice.auth.audit import target_type_of
from sluice.store.base import Base, WorkspaceScoped
from sluice.store.db import Database

ALIASES = {"member": "membership"}  # path parameter stem → table target type, where they differ


def _value(column: Any) -> Any:
    kind = column.type
    if isinstance(kind, Boolean):
        return False
    if isinstance(kind, Integer | Float | Numeric):
        return 0
    if isinstance(kind, DateTime) or getattr(kind, "impl", None).__class__ is DateTime:
        return datetime.now(UTC)
    if isinstance(kind, JSON) or "JSON" in type(kind).__name__:
        return {}
    return f"iso-{secrets.token_hex(6)}"


class RowFactory:
    """One row per mapped class in a workspace, its foreign keys pointing at rows it makes too."""

    def __init__(self, session: Session, workspace_id: str) -> None:
        self.session = session
        self.workspace_id = workspace_id
        self.rows: dict[str, Any] = {}

    def row(self, table_name: str) -> Any:
        if table_name == "workspaces":
            return find_workspace(self.session, self.workspace_id)
        if table_name in self.rows:
            return self.rows[table_name]
        mapper = next(m for m in Base.registry.mappers if m.class_.__tablename__ == table_name)
        values: dict[str, Any] = {}
        for column in mapper.class_.__table__.columns:
            if column.name == "workspace_id":
                values[column.name] = self.workspace_id
            elif column.foreign_keys:
                target = next(iter(column.foreign_keys)).column.table.name
                values[column.name] = self.row(target).id
            elif not column.nullable and column.default is None and column.server_default is None:
                values[column.name] = _value(column)
        row = mapper.class_(**values)
        self.session.add(row)
        self.session.flush()
        self.rows[table_name] = row
        return row


def _scoped_types() -> dict[str, str]:
    """Target type (``api_token``) → table name, for every workspace-scoped table."""
    return {
        target_type_of(m.class_()): m.class_.__tablename__
        for m in Base.registry.mappers
        if issubclass(m.class_, WorkspaceScoped)
    }


def _table_for(parameter: str, types: dict[str, str]) -> str | None:
    stem = ALIASES.get(parameter.removesuffix("_id"), parameter.removesuffix("_id"))
    for target, table in types.items():
        if target == stem or target.endswith("_" + stem):
            return table
    return None


def test_ids_of_another_workspace_are_not_found_on_every_route(
    client: TestClient, second_workspace: TestClient, sqlite_database: Database
) -> None:
    types = _scoped_types()
    with sqlite_database.session() as session:
        factory = RowFactory(session, find_workspace(session, "default").id)
        ids = {table: factory.row(table).id for table in types.values()}
    unmapped, leaks, checked = [], [], 0
    for method, path, _ in route_permissions(client.app):  # type: ignore[arg-type]
        parameters = re.findall(r"\{([^}]+)\}", path)
        id_parameters = [p for p in parameters if p.endswith("_id")]
        if not id_parameters:
            continue
        url = path
        for parameter in parameters:
            table = _table_for(parameter, types) if parameter in id_parameters else None
            if parameter in id_parameters and table is None:
                unmapped.append(f"{method} {path}: {parameter}")
            url = url.replace("{" + parameter + "}", ids.get(table or "", "x"))
        response = second_workspace.request(
            method, url, json={} if method in {"POST", "PUT", "PATCH"} else None
        )
        if response.status_code == 422 and "errors" in response.json():
            continue  # the request itself was refused (missing body/query field): no object was reached
        checked += 1
        if response.status_code != 404:
            leaks.append(f"{method} {path} → {response.status_code}: {response.text[:200]}")
    assert unmapped == []
    assert leaks == []
    assert checked > 20
