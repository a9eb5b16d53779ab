"""Cursor pagination over time-ordered ids."""

from __future__ import annotations

import base64
from typing import Any, Generic, TypeVar

from fastapi import Query
from pydantic import BaseModel
from sqlalchemy import Select
from sqlalchemy.orm import InstrumentedAttribute, Session

from sluice.core.errors import InvalidInput

T = TypeVar("T")
MAX_LIMIT = 500
ID_LENGTH = 26


class Page(BaseModel, Generic[T]):
    """One page of results; pass ``next_cursor`` back as ``cursor`` for the next one."""

    items: list[T]
    next_cursor: str | None = None


class PageParams(BaseModel):
    cursor: str | None = None
    limit: int = 50


def page_params(
    cursor: str | None = Query(default=None, description="Opaque cursor from a previous page"),
    limit: int = Query(default=50, ge=1, le=MAX_LIMIT),
) -> PageParams:
    return PageParams(cursor=cursor, limit=limit)


def encode_cursor(last_id: str) -> str:
    return base64.urlsafe_b64encode(last_id.encode()).decode().rstrip("=")


def decode_cursor(cursor: str) -> str:
    try:
        padded = (cursor + "=" * (-len(cursor) % 4)).encode()
        value = base64.b64decode(padded, altchars=b"-_", validate=True).decode()
    except (ValueError, UnicodeDecodeError):
        value = ""
    if len(value) != ID_LENGTH or not value.isalnum():
        raise InvalidInput("cursor is not one this API handed out")
    return value


def paginate(
    session: Session,
    statement: Select[Any],
    id_column: InstrumentedAttribute[str],
    params: PageParams,
    *,
    newest_first: bool = False,
) -> tuple[list[Any], str | None]:
    """Rows after the cursor in id order (or reverse order), and the next page's cursor (None at the end)."""
    if params.cursor:
        last = decode_cursor(params.cursor)
        statement = statement.where(id_column < last if newest_first else id_column > last)
    order = id_column.desc() if newest_first else id_column
    rows = list(session.scalars(statement.order_by(order).limit(params.limit + 1)))
    if len(rows) > params.limit:
        rows = rows[: params.limit]
        return rows, encode_cursor(rows[-1].id)
    return rows, None
