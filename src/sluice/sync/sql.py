"""Small helpers to quote identifiers and literals in the DuckDB statements of the sync engine.

Only names Sluice controls (table names, mapped field names already validated) go through here;
user data never becomes SQL text — it lives in Arrow/Parquet and DuckDB reads it as data.
"""

from __future__ import annotations

import duckdb


def quote_ident(name: str) -> str:
    """A DuckDB identifier, double-quoted with embedded quotes doubled."""
    return '"' + name.replace('"', '""') + '"'


def quote_literal(value: str) -> str:
    """A DuckDB string literal (used for file paths)."""
    return "'" + value.replace("'", "''") + "'"


def column_type(con: duckdb.DuckDBPyConnection, relation: str, column: str) -> str:
    """The DuckDB type name of ``column`` in ``relation`` (a quoted table or view name)."""
    rows = con.execute(
        f"SELECT column_type FROM (DESCRIBE {relation}) WHERE column_name = ?", [column]
    ).fetchall()
    return str(rows[0][0])
