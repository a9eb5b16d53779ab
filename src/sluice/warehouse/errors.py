"""Warehouse failures as a user meets them: a kind (what to fix) and the warehouse's own words.

Drivers raise many exception types; :func:`classify` reads them once, here, so every caller
(test connection, preview, sync) reports the same clear message and never a traceback.
"""

from __future__ import annotations

from enum import StrEnum
from typing import ClassVar

from sluice.core.errors import InvalidInput, UpstreamError


class ProblemKind(StrEnum):
    """What went wrong, from the user's side."""

    UNREACHABLE = "unreachable_host"
    BAD_CREDENTIALS = "bad_credentials"
    MISSING_DATABASE = "missing_database"
    MISSING_SCHEMA = "missing_schema"
    MISSING_TABLE = "missing_table"
    MISSING_PERMISSION = "missing_permission"
    IN_USE = "in_use"
    MISSING_DRIVER = "missing_driver"
    ERROR = "warehouse_error"


ADVICE: dict[ProblemKind, str] = {
    ProblemKind.UNREACHABLE: "cannot reach the warehouse host; check host, port and network access",
    ProblemKind.BAD_CREDENTIALS: "the warehouse rejected the credentials; check user and password or token",
    ProblemKind.MISSING_DATABASE: "the database does not exist or is not visible to this user",
    ProblemKind.MISSING_SCHEMA: "the schema does not exist or is not visible to this user",
    ProblemKind.MISSING_TABLE: "the table does not exist or is not visible to this user",
    ProblemKind.MISSING_PERMISSION: "the user lacks a permission it needs",
    ProblemKind.IN_USE: "the database file is locked by another process",
    ProblemKind.MISSING_DRIVER: "the driver for this warehouse is not installed",
    ProblemKind.ERROR: "the warehouse reported an error",
}

_PATTERNS: list[tuple[ProblemKind, tuple[str, ...]]] = [
    (ProblemKind.IN_USE, ("could not set lock", "conflicting lock")),
    (
        ProblemKind.BAD_CREDENTIALS,
        (
            "password authentication failed",
            "no password supplied",
            "incorrect username or password",
            "invalid access token",
            "invalid credentials",
            "authentication failed",
            "jwt token is invalid",
            "invalid_grant",
            'role "',
        ),
    ),
    (
        ProblemKind.UNREACHABLE,
        (
            "could not translate host name",
            "connection refused",
            "timeout expired",
            "timed out",
            "no route to host",
            "name or service not known",
            "temporary failure in name resolution",
            "could not connect to snowflake backend",
            "failed to connect",
            "network is unreachable",
        ),
    ),
    (ProblemKind.MISSING_SCHEMA, ("schema", "dataset")),
    (
        ProblemKind.MISSING_PERMISSION,
        ("permission denied", "insufficient privileges", "access denied", "not authorized", "forbidden"),
    ),
    (ProblemKind.MISSING_TABLE, ("table", "relation")),
    (ProblemKind.MISSING_DATABASE, ("database", "catalog", "no such file", "cannot open file")),
]
_MISSING_WORDS = ("does not exist", "not found", "doesn't exist", "no such", "cannot open", "not exist")


class WarehouseUnavailable(UpstreamError):
    """The warehouse could not be used; ``kind`` says what to fix."""

    code: ClassVar[str] = "warehouse_unavailable"
    title: ClassVar[str] = "Warehouse unavailable"


class WarehouseQueryError(InvalidInput):
    """The warehouse refused a query the user wrote (syntax error, unknown column…)."""

    code: ClassVar[str] = "warehouse_query_error"
    title: ClassVar[str] = "The warehouse rejected the query"


def driver_message(exc: BaseException) -> str:
    """The first meaningful line of a driver exception (no traceback)."""
    text = str(exc).strip() or type(exc).__name__
    lines = [line.strip() for line in text.splitlines() if line.strip()]
    return lines[0][:500] if lines else type(exc).__name__


def classify(exc: BaseException) -> ProblemKind:
    """The kind of problem a driver exception reports."""
    text = str(exc).lower()
    if isinstance(exc, ImportError | ModuleNotFoundError):
        return ProblemKind.MISSING_DRIVER
    for kind, needles in _PATTERNS:
        if kind in (ProblemKind.MISSING_SCHEMA, ProblemKind.MISSING_TABLE, ProblemKind.MISSING_DATABASE):
            if any(needle in text for needle in needles) and any(word in text for word in _MISSING_WORDS):
                return kind
        elif any(needle in text for needle in needles):
            return kind
    return ProblemKind.ERROR


def unavailable(exc: BaseException, *, kind: ProblemKind | None = None) -> WarehouseUnavailable:
    """A :class:`WarehouseUnavailable` for ``exc`` with the advice and the warehouse's message."""
    kind = kind or classify(exc)
    return WarehouseUnavailable(f"{ADVICE[kind]} ({driver_message(exc)})", kind=kind.value)


def query_error(exc: BaseException) -> WarehouseQueryError | WarehouseUnavailable:
    """A query failure: connection-level problems stay 'unavailable', the rest are the user's SQL."""
    kind = classify(exc)
    if kind in (ProblemKind.UNREACHABLE, ProblemKind.BAD_CREDENTIALS, ProblemKind.IN_USE):
        return unavailable(exc, kind=kind)
    return WarehouseQueryError(f"the warehouse rejected the query: {driver_message(exc)}", kind=kind.value)
