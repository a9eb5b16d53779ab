"""Write small tables of text that Sluice computed into the warehouse's bookkeeping schema.

Used for bookkeeping only (keys whose delivery failed, a snapshot moved between diff modes): the
data is Sluice's own, every column is text, and the table is replaced as a whole. DuckDB scans the
Arrow table directly; DB-API warehouses get ``CREATE TABLE`` and batched parameterised inserts.
"""

from __future__ import annotations

from typing import Any

import pyarrow as pa

from sluice.core.errors import InvalidInput
from sluice.warehouse.bookkeeping import quoted
from sluice.warehouse.connection import DbapiWarehouse, IbisWarehouse, Warehouse
from sluice.warehouse.errors import query_error

INSERT_BATCH_ROWS = 10_000
UPLOAD_DIALECTS = frozenset({"duckdb", "postgres", "snowflake"})


def upload_text_table(warehouse: Warehouse, schema: str, name: str, table: pa.Table) -> None:
    """Create or replace ``schema.name`` with ``table``'s rows (every column stored as text)."""
    if warehouse.dialect not in UPLOAD_DIALECTS:
        raise InvalidInput(f"Sluice cannot write tables in a {warehouse.dialect} source yet")
    target = f"{quoted(schema, warehouse.dialect)}.{quoted(name, warehouse.dialect)}"
    text = pa.table({column: table.column(column).cast(pa.string()) for column in table.column_names})
    warehouse.execute_statement(f"DROP TABLE IF EXISTS {target}")
    if isinstance(warehouse, IbisWarehouse) and warehouse.dialect == "duckdb":
        _upload_duckdb(warehouse, target, text)
        return
    columns = ", ".join(f"{quoted(column, warehouse.dialect)} VARCHAR" for column in text.column_names)
    warehouse.execute_statement(f"CREATE TABLE {target} ({columns})")
    if text.num_rows:
        _insert_rows(_dbapi_connection(warehouse), target, text)


def _upload_duckdb(warehouse: IbisWarehouse, target: str, table: pa.Table) -> None:
    con = warehouse.backend.con
    view = "sluice_upload_arrow"
    con.register(view, table)
    try:
        con.execute(f"CREATE TABLE {target} AS SELECT * FROM {view}")
    except Exception as exc:
        raise query_error(exc) from None
    finally:
        con.unregister(view)


def _dbapi_connection(warehouse: Warehouse) -> Any:
    if isinstance(warehouse, DbapiWarehouse):
        return warehouse.connection
    if isinstance(warehouse, IbisWarehouse):
        return warehouse.backend.con
    raise InvalidInput(f"Sluice cannot write tables in a {warehouse.dialect} source yet")


def _insert_rows(connection: Any, target: str, table: pa.Table) -> None:
    placeholders = ", ".join(["%s"] * table.num_columns)
    statement = f"INSERT INTO {target} VALUES ({placeholders})"
    cursor = connection.cursor()
    try:
        for batch in table.to_batches(max_chunksize=INSERT_BATCH_ROWS):
            columns = [batch.column(i).to_pylist() for i in range(batch.num_columns)]
            cursor.executemany(statement, list(zip(*columns, strict=True)))
        commit = getattr(connection, "commit", None)
        if commit is not None:
            commit()
    except Exception as exc:
        raise query_error(exc) from None
    finally:
        cursor.close()
