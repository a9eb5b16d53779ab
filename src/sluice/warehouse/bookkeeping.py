"""The optional bookkeeping schema (``sluice`` by default) where Sluice may write in the warehouse.

Remote-segment memberships, materialised segments and in-warehouse diffs live there. Sluice creates
the schema when it is allowed to, and checks write access by creating and dropping a probe table.
Without write access, callers fall back to local DuckDB (BRIEF §3).
"""

from __future__ import annotations

from dataclasses import dataclass

from sqlglot import expressions as sge

from sluice.core.errors import SluiceError
from sluice.core.ids import new_id
from sluice.warehouse.connection import Warehouse
from sluice.warehouse.errors import driver_message


@dataclass(frozen=True)
class BookkeepingStatus:
    """Whether Sluice can write in the bookkeeping schema, and why not."""

    schema: str | None
    writable: bool
    created: bool = False
    message: str = ""


def quoted(name: str, dialect: str) -> str:
    """An identifier quoted for ``dialect``."""
    return str(sge.to_identifier(name, quoted=True).sql(dialect=_sqlglot(dialect)))


def _sqlglot(dialect: str) -> str:
    return {"pyspark": "spark"}.get(dialect, dialect)


def check_bookkeeping(warehouse: Warehouse, schema: str | None, *, create: bool = True) -> BookkeepingStatus:
    """Create the schema if allowed (``create``) and probe write access; never raises."""
    if not schema:
        return BookkeepingStatus(None, False, message="no bookkeeping schema configured (read-only use)")
    created = False
    try:
        existing = {name.lower() for name in warehouse.list_schemas()}
        if schema.lower() not in existing:
            if not create:
                return BookkeepingStatus(schema, False, message=f"schema {schema} does not exist")
            warehouse.execute_statement(f"CREATE SCHEMA IF NOT EXISTS {quoted(schema, warehouse.dialect)}")
            created = True
        probe = f"{quoted(schema, warehouse.dialect)}.{quoted('sluice_probe_' + new_id().lower(), warehouse.dialect)}"
        warehouse.execute_statement(f"CREATE TABLE {probe} (id INTEGER)")
        warehouse.execute_statement(f"DROP TABLE {probe}")
    except SluiceError as exc:
        return BookkeepingStatus(
            schema, False, created, f"Sluice cannot write in schema {schema}: {exc.message}"
        )
    except Exception as exc:
        return BookkeepingStatus(
            schema, False, created, f"Sluice cannot write in schema {schema}: {driver_message(exc)}"
        )
    verb = "created" if created else "found"
    return BookkeepingStatus(schema, True, created, f"schema {schema} {verb}; Sluice can write there")


def ensure_bookkeeping_schema(warehouse: Warehouse, schema: str) -> None:
    """Make sure Sluice can write in ``schema`` (raises a clear error otherwise)."""
    status = check_bookkeeping(warehouse, schema)
    if not status.writable:
        from sluice.warehouse.errors import ProblemKind, WarehouseUnavailable

        raise WarehouseUnavailable(status.message, kind=ProblemKind.MISSING_PERMISSION.value)
