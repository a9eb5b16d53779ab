"""Copy the generated demo tables from DuckDB into PostgreSQL with ``COPY … FROM STDIN``."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import duckdb
import psycopg
from psycopg import sql
from sqlalchemy.engine import make_url

# DuckDB type name → PostgreSQL column type.
POSTGRES_TYPES = {
    "BIGINT": "bigint",
    "INTEGER": "integer",
    "DOUBLE": "double precision",
    "VARCHAR": "text",
    "BOOLEAN": "boolean",
    "DATE": "date",
    "TIMESTAMP": "timestamp",
    "JSON": "jsonb",
}
COPY_CHUNK_BYTES = 1 << 20


def copy_tables_to_postgres(
    con: duckdb.DuckDBPyConnection, url: str, tables: Sequence[str], *, scratch: Path
) -> None:
    """Replace ``tables`` in the PostgreSQL database at ``url`` with their DuckDB contents, in one transaction."""
    with psycopg.connect(libpq_url(url)) as pg, pg.cursor() as cursor:
        for table in tables:
            columns = con.sql(f"DESCRIBE {table}").fetchall()
            definition = sql.SQL(", ").join(
                sql.SQL("{} {}").format(sql.Identifier(str(name)), sql.SQL(postgres_type(str(kind))))
                for name, kind, *_ in columns
            )
            cursor.execute(sql.SQL("DROP TABLE IF EXISTS {} CASCADE").format(sql.Identifier(table)))
            cursor.execute(sql.SQL("CREATE TABLE {} ({})").format(sql.Identifier(table), definition))
            csv_file = scratch / f"{table}.csv"
            con.execute(f"COPY {table} TO '{csv_file}' (FORMAT csv, HEADER false)")
            copy = sql.SQL("COPY {} FROM STDIN (FORMAT csv)").format(sql.Identifier(table))
            with cursor.copy(copy) as stream, csv_file.open("rb") as source:
                while chunk := source.read(COPY_CHUNK_BYTES):
                    stream.write(chunk)
            csv_file.unlink()
            cursor.execute(sql.SQL("ANALYZE {}").format(sql.Identifier(table)))


def postgres_type(duckdb_type: str) -> str:
    """The PostgreSQL type for a DuckDB column type (text for anything unexpected)."""
    return POSTGRES_TYPES.get(duckdb_type.upper(), "text")


def libpq_url(url: str) -> str:
    """A libpq connection string from a SQLAlchemy-style or plain PostgreSQL URL."""
    parsed = make_url(url)
    if not parsed.drivername.startswith("postgres"):
        raise ValueError(f"--url must be a postgresql:// URL, got {parsed.drivername}://")
    return parsed.set(drivername="postgresql").render_as_string(hide_password=False)
