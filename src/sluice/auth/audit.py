"""The audit trail, written in one place.

Every insert, update and delete of a workspace-scoped ORM object (and of users) is recorded by a
SQLAlchemy ``after_flush`` listener: who acted, the object's type and id, the action, when, the
request id and IP, and the before/after of each changed field with secrets and hashes left out.
Other code does nothing to be audited. Events that are not ORM changes (sign-in, a refused token,
a run started) go through :func:`record_audit`.

Who acts comes from the session (``session.info``, set by the API's auth dependency with
:func:`bind_audit_context`), else from the :data:`audit_context_var` context variable (set by the
CLI or a worker with :func:`acting_as`), else ``system``.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass, replace
from datetime import date, datetime
from decimal import Decimal
from enum import Enum
from typing import Any

from sqlalchemy import Table, event, insert, inspect, select
from sqlalchemy.orm import ORMExecuteState, Session, UOWTransaction

from sluice.core.errors import PermissionDenied
from sluice.core.logging import request_id_var
from sluice.core.redaction import is_secret_key, redact
from sluice.store.base import WorkspaceScoped
from sluice.store.tables.audit import AuditLog

_SESSION_KEY = "sluice_audit_context"
# Never copied into the trail: hashes, encrypted blobs, and time stamps every row carries anyway.
_OMITTED = frozenset(
    {"created_at", "updated_at", "password_hash", "token_hash", "key_hash", "secrets_encrypted"}
)
# An update that touches only these is bookkeeping (heartbeats, last-used times), not a change.
_BOOKKEEPING = frozenset({"updated_at", "last_used_at", "last_seen_at", "last_login_at", "heartbeat_at"})


@dataclass(frozen=True)
class Actor:
    """Who acts: a user, an API token, or the system (CLI, worker, scheduler)."""

    type: str
    id: str | None
    name: str


SYSTEM = Actor("system", None, "system")


@dataclass(frozen=True)
class AuditContext:
    """The actor and request an ORM change happens in."""

    actor: Actor = SYSTEM
    workspace_id: str | None = None
    request_id: str | None = None
    ip: str | None = None


audit_context_var: ContextVar[AuditContext | None] = ContextVar("sluice_audit_context", default=None)


def bind_audit_context(session: Session, context: AuditContext) -> None:
    """Record the changes made through ``session`` as done by ``context.actor``."""
    session.info[_SESSION_KEY] = context
    audit_context_var.set(context)


@contextmanager
def acting_as(actor: Actor, workspace_id: str | None = None) -> Iterator[AuditContext]:
    """Within the block, changes not made through an API request are recorded as ``actor``'s."""
    context = AuditContext(actor=actor, workspace_id=workspace_id)
    token = audit_context_var.set(context)
    try:
        yield context
    finally:
        audit_context_var.reset(token)


def current_audit_context(session: Session | None = None) -> AuditContext:
    """The context changes through ``session`` are recorded in."""
    bound = session.info.get(_SESSION_KEY) if session is not None else None
    context: AuditContext = bound or audit_context_var.get() or AuditContext()
    if context.request_id is None and request_id_var.get():
        context = replace(context, request_id=request_id_var.get())
    return context


def record_audit(
    session: Session,
    action: str,
    target_type: str,
    target_id: str | None,
    detail: dict[str, Any] | None = None,
    *,
    workspace_id: str | None = None,
    actor: Actor | None = None,
) -> None:
    """Append an audit row for an event that is not an ORM change (sign-in, refused token, run started)."""
    context = current_audit_context(session)
    session.add(
        AuditLog(
            **_who(context, actor),
            workspace_id=workspace_id or context.workspace_id,
            action=action,
            target_type=target_type,
            target_id=target_id,
            changes={},
            detail=redact(_jsonable(detail or {})),
        )
    )


def _who(context: AuditContext, actor: Actor | None) -> dict[str, Any]:
    chosen = actor or context.actor
    return {
        "actor_type": chosen.type,
        "actor_id": chosen.id,
        "actor_name": chosen.name,
        "request_id": context.request_id,
        "ip": context.ip,
    }


def is_audited(obj: object) -> bool:
    """Workspace-scoped objects are audited unless their class says ``__audit__ = False``."""
    return is_audited_class(type(obj))


def is_audited_class(cls: type) -> bool:
    """Whether changes to rows of ``cls`` are recorded."""
    return bool(getattr(cls, "__audit__", issubclass(cls, WorkspaceScoped)))


def target_type_of(obj: object) -> str:
    """``ApiToken`` → ``api_token``."""
    return target_type_of_class(type(obj))


def target_type_of_class(cls: type) -> str:
    """The audit ``target_type`` of rows of ``cls``."""
    return re.sub(r"(?<!^)(?=[A-Z])", "_", cls.__name__).lower()


def _shown(key: str) -> bool:
    return key not in _OMITTED and not (is_secret_key(key) and key != "secret_fields_set")


def _jsonable(value: Any) -> Any:
    if isinstance(value, datetime | date):
        return value.isoformat()
    if isinstance(value, Enum):
        return value.value
    if isinstance(value, Decimal):
        return str(value)
    if isinstance(value, dict):
        return {str(k): _jsonable(v) for k, v in value.items()}
    if isinstance(value, list | tuple | set):
        return [_jsonable(v) for v in value]
    if value is None or isinstance(value, str | int | float | bool):
        return value
    return str(value)


def _snapshot(obj: object) -> dict[str, Any]:
    state = inspect(obj)
    values = {
        attr.key: state.dict[attr.key]
        for attr in state.mapper.column_attrs
        if attr.key in state.dict and _shown(attr.key) and attr.key != "secret_fields_set"
    }
    if "secret_fields_set" in state.dict:
        values["encrypted_fields"] = _secret_names(state.dict["secret_fields_set"])
    return values


def _secret_names(value: Any) -> list[str]:
    return [name for name in str(value or "").split(",") if name]


def _changes(obj: object) -> dict[str, Any]:
    state = inspect(obj)
    changed: dict[str, Any] = {}
    touched: set[str] = set()
    for attr in state.mapper.column_attrs:
        history = state.attrs[attr.key].history
        if not history.has_changes():
            continue
        touched.add(attr.key)
        before = history.deleted[0] if history.deleted else None
        after = history.added[0] if history.added else None
        if _shown(attr.key) and attr.key != "secret_fields_set" and before != after:
            changed[attr.key] = {"before": before, "after": after}
    if touched & {"secrets_encrypted", "secret_fields_set"}:
        names = state.attrs["secret_fields_set"].history
        before = names.deleted[0] if names.deleted else state.dict.get("secret_fields_set")
        after = names.added[0] if names.added else state.dict.get("secret_fields_set")
        changed["encrypted_fields"] = {
            "changed": True,
            "before": _secret_names(before),
            "after": _secret_names(after),
        }
    if touched <= _BOOKKEEPING:
        return {}
    return changed


def _row(obj: object, action: str, changes: dict[str, Any], context: AuditContext) -> dict[str, Any]:
    return {
        **_who(context, None),
        "workspace_id": getattr(obj, "workspace_id", None) or context.workspace_id,
        "action": action,
        "target_type": target_type_of(obj),
        "target_id": str(getattr(obj, "id", "") or "") or None,
        "changes": redact(_jsonable(changes)),
        "detail": {},
    }


@event.listens_for(Session, "before_flush")
def _keep_audit_log_append_only(session: Session, _: UOWTransaction, __: Any) -> None:
    for obj in list(session.dirty) + list(session.deleted):
        if isinstance(obj, AuditLog) and (obj in session.deleted or session.is_modified(obj)):
            raise PermissionDenied("the audit log is append-only: its rows cannot be changed or deleted")


@event.listens_for(Session, "after_flush")
def _record_orm_changes(session: Session, _: UOWTransaction) -> None:
    context = current_audit_context(session)
    rows: list[dict[str, Any]] = []
    for obj in session.new:
        if is_audited(obj):
            rows.append(_row(obj, "create", {k: {"after": v} for k, v in _snapshot(obj).items()}, context))
    for obj in session.dirty:
        if is_audited(obj) and obj not in session.deleted:
            changes = _changes(obj)
            if changes:
                rows.append(_row(obj, "update", changes, context))
    for obj in session.deleted:
        if is_audited(obj):
            rows.append(_row(obj, "delete", {k: {"before": v} for k, v in _snapshot(obj).items()}, context))
    if rows:
        session.connection().execute(insert(AuditLog.metadata.tables[AuditLog.__tablename__]), rows)


def _assigned(statement: Any) -> dict[str, Any]:
    """Column name → value assigned by an ``update(...).values(...)`` statement."""
    values = getattr(statement, "_values", None) or {}
    pairs = list(values.items()) + list(getattr(statement, "_ordered_values", None) or [])
    return {str(getattr(key, "key", key)): getattr(value, "value", value) for key, value in pairs}


@event.listens_for(Session, "do_orm_execute")
def _record_bulk_changes(state: ORMExecuteState) -> None:
    """Bulk ``update(Model)`` / ``delete(Model)`` statements: one row per affected object, with before/after."""
    if not (state.is_update or state.is_delete) or state.bind_mapper is None:
        return
    cls = state.bind_mapper.class_
    if not is_audited_class(cls):
        return
    assigned = _assigned(state.statement) if state.is_update else {}
    if state.is_update and set(assigned) <= _BOOKKEEPING:
        return
    table: Table = cls.__table__
    names = [c.name for c in table.columns if _shown(c.name) and (state.is_delete or c.name in assigned)]
    scope = [table.c.workspace_id] if "workspace_id" in table.c else []
    query = select(table.c.id, *scope, *[table.c[name] for name in names])
    where = getattr(state.statement, "whereclause", None)
    if where is not None:
        query = query.where(where)
    context = current_audit_context(state.session)
    rows: list[dict[str, Any]] = []
    for found in state.session.connection().execute(query).mappings():
        if state.is_delete:
            changes = {name: {"before": found[name]} for name in names}
        else:
            changes = {
                name: {"before": found[name], "after": assigned[name]}
                for name in names
                if found[name] != assigned[name]
            }
            if not changes:
                continue
        rows.append(
            {
                **_who(context, None),
                "workspace_id": found.get("workspace_id") or context.workspace_id,
                "action": "delete" if state.is_delete else "update",
                "target_type": target_type_of_class(cls),
                "target_id": found["id"],
                "changes": redact(_jsonable(changes)),
                "detail": {"bulk": True},
            }
        )
    if rows:
        state.session.connection().execute(insert(AuditLog.metadata.tables[AuditLog.__tablename__]), rows)
