"""Open a source as a :class:`Warehouse`: Ibis expressions in, Arrow out, one interface for every type.

Two implementations share :class:`Warehouse`:

- :class:`IbisWarehouse` drives an Ibis backend (DuckDB, PostgreSQL, BigQuery, Databricks, or a local
  Spark session standing in for Databricks in tests).
- :class:`DbapiWarehouse` compiles Ibis expressions to the source's dialect and runs them through the
  vendor's DB-API driver (Snowflake, Redshift). Tables are unbound Ibis tables built from
  ``information_schema``; SQL models are spliced in as subqueries at compile time (sqlglot AST).
"""

from __future__ import annotations

import contextlib
from abc import ABC, abstractmethod
from collections.abc import Iterator
from types import TracebackType
from typing import Any

import ibis
import pyarrow as pa
import sqlglot
from sqlglot import expressions as sge

from sluice.warehouse.errors import query_error

SQL_MODEL_PREFIX = "__sluice_sql_"


def wrap_select(sql: str) -> str:
    """The user's query as a subquery, so the warehouse itself refuses anything but a query."""
    return f"SELECT * FROM ({sql.strip().rstrip(';')}\n) AS sluice_model"


class Warehouse(ABC):
    """One open connection to a source."""

    dialect: str
    default_schema: str

    @abstractmethod
    def list_schemas(self) -> list[str]:
        """Schema names visible to the user."""

    @abstractmethod
    def list_tables(self, schema: str) -> list[str]:
        """Table and view names of ``schema``."""

    @abstractmethod
    def columns(self, schema: str, table: str) -> ibis.Schema:
        """Column names and Ibis types of a table."""

    @abstractmethod
    def table(self, schema: str | None, name: str) -> ibis.Table:
        """A table as an Ibis expression (raises a warehouse error if it does not exist)."""

    @abstractmethod
    def query(self, sql: str) -> ibis.Table:
        """A read-only SQL query as an Ibis expression; the warehouse's own message on a bad query."""

    @abstractmethod
    def compile(self, expr: ibis.Expr) -> str:
        """The SQL the warehouse runs for ``expr``."""

    @abstractmethod
    def to_pyarrow(self, expr: ibis.Expr) -> pa.Table:
        """Run ``expr`` and return the result as Arrow."""

    @abstractmethod
    def execute_statement(self, sql: str) -> None:
        """Run a statement Sluice wrote itself (bookkeeping DDL)."""

    def to_pyarrow_batches(self, expr: ibis.Expr, chunk_size: int = 100_000) -> Iterator[pa.RecordBatch]:
        """Run ``expr`` and stream record batches (default: one batch per chunk of the result)."""
        yield from self.to_pyarrow(expr).to_batches(max_chunksize=chunk_size)

    def unreadable_tables(self, schema: str) -> list[str]:
        """Tables of ``schema`` that exist but the user may not read (where the warehouse can tell)."""
        return []

    cancelled: bool = False

    def interrupt(self) -> bool:
        """Ask the warehouse to stop the query running on this connection; False where it cannot."""
        return False

    def cancel(self) -> bool:
        """Refuse every further query on this connection and stop the running one (where possible)."""
        self.cancelled = True
        return self.interrupt()

    def close(self) -> None:  # noqa: B027 - optional hook
        """Release the connection."""

    def __enter__(self) -> Warehouse:
        return self

    def __exit__(
        self, kind: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.close()


class IbisWarehouse(Warehouse):
    """A warehouse reached through an Ibis backend."""

    def __init__(self, backend: Any, *, dialect: str, default_schema: str) -> None:
        self.backend = backend
        self.dialect = dialect
        self.default_schema = default_schema

    def list_schemas(self) -> list[str]:
        return sorted(self._guard(self.backend.list_databases))

    def list_tables(self, schema: str) -> list[str]:
        return sorted(self._guard(lambda: self.backend.list_tables(database=schema)))

    def columns(self, schema: str, table: str) -> ibis.Schema:
        return self._guard(lambda: self.backend.get_schema(table, database=schema))

    def table(self, schema: str | None, name: str) -> ibis.Table:
        return self._guard(lambda: self.backend.table(name, database=schema or self.default_schema))

    def query(self, sql: str) -> ibis.Table:
        return self._guard(lambda: self.backend.sql(wrap_select(sql)))

    def compile(self, expr: ibis.Expr) -> str:
        return str(self.backend.compile(expr))

    def to_pyarrow(self, expr: ibis.Expr) -> pa.Table:
        return self._guard(lambda: self.backend.to_pyarrow(expr))

    def to_pyarrow_batches(self, expr: ibis.Expr, chunk_size: int = 100_000) -> Iterator[pa.RecordBatch]:
        reader = self._guard(lambda: self.backend.to_pyarrow_batches(expr, chunk_size=chunk_size))
        yield from reader

    def unreadable_tables(self, schema: str) -> list[str]:
        if self.dialect != "postgres":
            return []
        query = (
            "SELECT tablename FROM pg_catalog.pg_tables WHERE schemaname = %s"
            " AND NOT has_table_privilege(quote_ident(schemaname) || '.' || quote_ident(tablename), 'SELECT')"
        )

        def run() -> list[str]:
            with self.backend.con.cursor() as cursor:
                cursor.execute(query, (schema,))
                return sorted(str(row[0]) for row in cursor.fetchall())

        result: list[str] = self._guard(run)
        return result

    def interrupt(self) -> bool:
        connection = getattr(self.backend, "con", None)
        try:
            if self.dialect == "duckdb" and connection is not None:
                connection.interrupt()
                return True
            if self.dialect == "postgres" and connection is not None:
                getattr(connection, "cancel_safe", connection.cancel)()
                return True
        except Exception:  # a connection already closed has nothing to stop
            return False
        return False

    def execute_statement(self, sql: str) -> None:
        def run() -> None:
            result = self.backend.raw_sql(sql)
            close = getattr(result, "close", None)  # a cursor on DB-API backends, a DataFrame on Spark
            if close is not None:
                close()

        if self.dialect == "duckdb":
            self._guard(lambda: self.backend.con.execute(sql))
        else:
            self._guard(run)

    def close(self) -> None:
        disconnect = getattr(self.backend, "disconnect", None)
        if disconnect is not None:
            with contextlib.suppress(Exception):  # a broken connection must not hide the real error
                disconnect()

    def _guard(self, call: Any) -> Any:
        if self.cancelled:
            raise query_error(RuntimeError("the query was cancelled"))
        try:
            return call()
        except Exception as exc:
            raise query_error(exc) from None


class DbapiWarehouse(Warehouse):
    """A warehouse reached through a DB-API driver; Ibis only compiles."""

    def __init__(self, connection: Any, *, dialect: str, default_schema: str, compiler_dialect: str) -> None:
        self.connection = connection
        self.dialect = dialect
        self.default_schema = default_schema
        self.compiler_dialect = compiler_dialect
        self._queries: dict[str, str] = {}

    def _fetch(self, sql: str, params: tuple[Any, ...] = ()) -> list[tuple[Any, ...]]:
        cursor = self.connection.cursor()
        try:
            cursor.execute(sql, params) if params else cursor.execute(sql)
            return list(cursor.fetchall())
        except Exception as exc:
            raise query_error(exc) from None
        finally:
            cursor.close()

    def list_schemas(self) -> list[str]:
        rows = self._fetch("SELECT schema_name FROM information_schema.schemata")
        return sorted({str(row[0]) for row in rows if str(row[0]).lower() != "information_schema"})

    def list_tables(self, schema: str) -> list[str]:
        rows = self._fetch(
            "SELECT table_name FROM information_schema.tables WHERE table_schema = %s", (schema,)
        )
        return sorted(str(row[0]) for row in rows)

    def columns(self, schema: str, table: str) -> ibis.Schema:
        from sluice.warehouse.type_names import ibis_type

        rows = self._fetch(
            "SELECT column_name, data_type, numeric_precision, numeric_scale FROM information_schema.columns"
            " WHERE table_schema = %s AND table_name = %s ORDER BY ordinal_position",
            (schema, table),
        )
        if not rows:
            raise query_error(LookupError(f"table {schema}.{table} does not exist"))
        return ibis.schema({str(name): ibis_type(self.dialect, kind, p, s) for name, kind, p, s in rows})

    def table(self, schema: str | None, name: str) -> ibis.Table:
        schema = schema or self.default_schema
        return ibis.table(self.columns(schema, name), name=name, database=schema)

    def query(self, sql: str) -> ibis.Table:
        from sluice.warehouse.type_names import description_schema

        cursor = self.connection.cursor()
        try:
            cursor.execute(f"{wrap_select(sql)} LIMIT 0")
            schema = description_schema(self.dialect, cursor.description, self.connection)
        except Exception as exc:
            raise query_error(exc) from None
        finally:
            cursor.close()
        placeholder = f"{SQL_MODEL_PREFIX}{len(self._queries)}"
        self._queries[placeholder] = sql.strip().rstrip(";")
        return ibis.table(schema, name=placeholder)

    def compile(self, expr: ibis.Expr) -> str:
        from ibis.backends.sql.compilers import postgres, snowflake

        compiler = {"snowflake": snowflake.compiler, "postgres": postgres.compiler}[self.compiler_dialect]
        tree = compiler.to_sqlglot(expr)
        if self._queries:
            tree = tree.transform(self._splice_queries)
        return str(tree.sql(dialect=self.dialect))

    def _splice_queries(self, node: sge.Expression) -> sge.Expression:
        if isinstance(node, sge.Table) and node.name in self._queries and not node.args.get("db"):
            inner = sqlglot.parse_one(self._queries[node.name], dialect=self.dialect)
            return sge.Subquery(this=inner, alias=sge.TableAlias(this=sge.to_identifier(node.alias_or_name)))
        return node

    def to_pyarrow(self, expr: ibis.Expr) -> pa.Table:
        from sluice.warehouse.type_names import rows_to_arrow

        target = expr.as_table() if isinstance(expr, ibis.Column | ibis.Scalar) else expr
        sql = self.compile(target)
        cursor = self.connection.cursor()
        try:
            cursor.execute(sql)
            fetch_arrow = getattr(cursor, "fetch_arrow_all", None)
            if fetch_arrow is not None:
                result = fetch_arrow()
                if result is not None:
                    return rows_to_arrow(target.schema(), result)
                return target.schema().to_pyarrow().empty_table()
            return rows_to_arrow(target.schema(), cursor.fetchall())
        except Exception as exc:
            raise query_error(exc) from None
        finally:
            cursor.close()

    def execute_statement(self, sql: str) -> None:
        cursor = self.connection.cursor()
        try:
            cursor.execute(sql)
            commit = getattr(self.connection, "commit", None)
            if commit is not None:
                commit()
        except Exception as exc:
            raise query_error(exc) from None
        finally:
            cursor.close()

    def close(self) -> None:
        with contextlib.suppress(Exception):  # a broken connection must not hide the real error
            self.connection.close()


class OfflineWarehouse(Warehouse):
    """Compile-only: tables from known column types, SQL for any dialect, nothing executed.

    Used for golden SQL per dialect and to show the SQL a model would run without credentials.
    """

    def __init__(self, dialect: str, tables: dict[tuple[str, str], ibis.Schema], default_schema: str) -> None:
        self.dialect = dialect
        self.default_schema = default_schema
        self.tables = tables

    def list_schemas(self) -> list[str]:
        return sorted({schema for schema, _ in self.tables})

    def list_tables(self, schema: str) -> list[str]:
        return sorted(name for owner, name in self.tables if owner == schema)

    def columns(self, schema: str, table: str) -> ibis.Schema:
        if (schema, table) not in self.tables:
            raise query_error(LookupError(f"table {schema}.{table} does not exist"))
        return self.tables[(schema, table)]

    def table(self, schema: str | None, name: str) -> ibis.Table:
        schema = schema or self.default_schema
        return ibis.table(self.columns(schema, name), name=name, database=schema)

    def query(self, sql: str) -> ibis.Table:
        raise NotImplementedError("an offline warehouse cannot describe SQL queries")

    def compile(self, expr: ibis.Expr) -> str:
        if self.dialect == "redshift":
            from ibis.backends.sql.compilers import postgres

            return str(postgres.compiler.to_sqlglot(expr).sql(dialect="redshift", pretty=True))
        return str(ibis.to_sql(expr, dialect=self.dialect))

    def to_pyarrow(self, expr: ibis.Expr) -> pa.Table:
        raise NotImplementedError("an offline warehouse runs nothing")

    def execute_statement(self, sql: str) -> None:
        raise NotImplementedError("an offline warehouse runs nothing")
