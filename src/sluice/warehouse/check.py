"""``test connection``: connect, find the default schema, read a table, probe the bookkeeping schema.

Every failure ends as a :class:`ConnectionReport` with a status a user can act on (unreachable
host, bad credentials, missing database/schema, missing permission) and the warehouse's message.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from sluice.core.errors import SluiceError
from sluice.warehouse.bookkeeping import BookkeepingStatus, check_bookkeeping
from sluice.warehouse.configs import SourceConfig
from sluice.warehouse.errors import ADVICE, ProblemKind, classify, driver_message
from sluice.warehouse.open import open_warehouse


@dataclass(frozen=True)
class ConnectionReport:
    """Outcome of a connection test."""

    ok: bool
    status: str
    message: str
    schemas: list[str] = field(default_factory=list)
    bookkeeping: BookkeepingStatus | None = None


def _failure(exc: BaseException, kind: ProblemKind | None = None) -> ConnectionReport:
    if isinstance(exc, SluiceError):
        status = str(exc.details.get("kind", kind or ProblemKind.ERROR))
        return ConnectionReport(False, status, exc.message)
    kind = kind or classify(exc)
    return ConnectionReport(False, kind.value, f"{ADVICE[kind]} ({driver_message(exc)})")


def test_connection(config: SourceConfig) -> ConnectionReport:
    """Test ``config`` end to end; never raises."""
    try:
        warehouse = open_warehouse(config)
    except Exception as exc:
        return _failure(exc)
    with warehouse:
        try:
            schemas = warehouse.list_schemas()
        except Exception as exc:
            return _failure(exc)
        default = warehouse.default_schema
        if default.lower() not in {name.lower() for name in schemas}:
            return ConnectionReport(
                False,
                ProblemKind.MISSING_SCHEMA.value,
                f"{ADVICE[ProblemKind.MISSING_SCHEMA]}: {default} (visible: {', '.join(schemas) or 'none'})",
                schemas,
            )
        try:
            hidden = warehouse.unreadable_tables(default)
            if hidden:
                return ConnectionReport(
                    False,
                    ProblemKind.MISSING_PERMISSION.value,
                    f"{ADVICE[ProblemKind.MISSING_PERMISSION]}: permission denied for {len(hidden)} tables of "
                    f"schema {default} (e.g. {hidden[0]}); grant SELECT on them",
                    schemas,
                )
            tables = warehouse.list_tables(default)
            if tables:
                warehouse.to_pyarrow(warehouse.table(default, tables[0]).limit(1))
        except SluiceError as exc:
            kind = str(exc.details.get("kind", ""))
            if kind in (ProblemKind.MISSING_TABLE.value, ProblemKind.ERROR.value):
                kind = ProblemKind.MISSING_PERMISSION.value
            return ConnectionReport(False, kind, f"{ADVICE[ProblemKind(kind)]}: {exc.message}", schemas)
        except Exception as exc:
            return _failure(exc, ProblemKind.MISSING_PERMISSION)
        bookkeeping = check_bookkeeping(warehouse, config.bookkeeping_schema)
    noun = "table" if len(tables) == 1 else "tables"
    return ConnectionReport(
        True, "ok", f"connected; schema {default} has {len(tables)} {noun}", schemas, bookkeeping
    )


test_connection.__test__ = False  # type: ignore[attr-defined]  # not a pytest test
