"""In-warehouse diff mode: validate, hash and diff inside the source's bookkeeping schema.

For a source where Sluice may write (BRIEF §3), the snapshot of an activation is a table in the
bookkeeping schema and a run's audience never leaves the warehouse as a whole: one statement
materialises it with its change hash and per-row validity, a second computes the diff against the
snapshot table, and only the invalid, added and changed rows (plus the removed keys) are fetched.
The plan and load stages are the local ones (:class:`~sluice.sync.diff_session.DiffSession`).

Commit mirrors the local rule (rule 6, delivered ops only): Sluice uploads the keys whose ops did
*not* all arrive — usually none or few — and the warehouse writes the next snapshot table as old
snapshot + diff minus those keys. The activation's pointer (``warehouse://<schema>/<table>``) is
flipped by the runner in the control DB; a crash before the flip leaves the old table pointed at.
Work tables of a run and snapshot tables nobody points at are dropped by the next run.

SQL is written once in DuckDB's dialect and transpiled by sqlglot; identifiers are quoted so
Snowflake keeps their case. The change hash is ``md5`` over length-prefixed text of the mapped
fields: stable within one warehouse, never compared with local hashes (the mapping signature
carries :data:`WAREHOUSE_HASH_ALGORITHM`, so switching modes is a full refresh).
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import pyarrow as pa
import sqlglot

from sluice.core.errors import InvalidInput
from sluice.sync.audience import IDENTIFIER, KEY, ROW_HASH, AudienceSpec
from sluice.sync.diff import CHANGE, OLD_IDENTIFIER, DiffCounts
from sluice.sync.sql import quote_ident
from sluice.sync.validate import REASON, InvalidReason, row_reason_expression
from sluice.warehouse.connection import Warehouse
from sluice.warehouse.upload import UPLOAD_DIALECTS, upload_text_table

WAREHOUSE_HASH_ALGORITHM = "warehouse-md5/1"
URI_SCHEME = "warehouse://"
_AUDIENCE_PLACEHOLDER = "sluice_audience_placeholder"
_REASON_OF_ROW = "__row_reason"


def is_warehouse_snapshot(uri: str | None) -> bool:
    """Whether a snapshot pointer names a bookkeeping table (else a Parquet file)."""
    return bool(uri) and str(uri).startswith(URI_SCHEME)


@dataclass(frozen=True)
class SnapshotTable:
    """A snapshot table in the bookkeeping schema."""

    schema: str
    table: str

    @property
    def uri(self) -> str:
        return f"{URI_SCHEME}{self.schema}/{self.table}"

    @classmethod
    def parse(cls, uri: str) -> SnapshotTable:
        schema, _, table = uri.removeprefix(URI_SCHEME).partition("/")
        if not schema or not table:
            raise InvalidInput(f"not a warehouse snapshot: {uri!r}")
        return cls(schema, table)


@dataclass(frozen=True)
class WarehouseDiffResult:
    """Counts of one in-warehouse validate + diff."""

    audience: int
    invalid: int
    invalid_reasons: dict[str, int]
    counts: DiffCounts


def supports_warehouse_diff(dialect: str) -> bool:
    """Source types the in-warehouse mode is built and tested for."""
    return dialect in UPLOAD_DIALECTS


def _slug(value: str) -> str:
    return re.sub(r"[^a-z0-9_]", "_", value.lower())


class WarehouseDiff:
    """One run's diff inside the warehouse (see the module docstring)."""

    def __init__(
        self,
        warehouse: Warehouse,
        schema: str,
        *,
        activation_id: str,
        run_id: str,
        spec: AudienceSpec,
        audience: Any,
    ) -> None:
        self.warehouse = warehouse
        self.schema = schema
        self.spec = spec
        # Keys are text in the warehouse's bookkeeping tables whatever the model's key type.
        self.audience = audience.mutate(**{KEY: audience[KEY].cast("string")})
        self.activation = _slug(activation_id)
        self.run = _slug(run_id)
        self.full_refresh = False

    # --- names and SQL -------------------------------------------------------------------------

    def _work_name(self, part: str) -> str:
        return f"sluice_work_{self.activation}_{self.run}_{part}"

    def _table(self, name: str) -> str:
        """``schema.name`` in DuckDB's quoting (every statement goes through :meth:`_run`)."""
        return f"{quote_ident(self.schema)}.{quote_ident(name)}"

    def _run(self, duckdb_sql: str, audience_sql: str | None = None) -> None:
        dialect = {"pyspark": "spark"}.get(self.warehouse.dialect, self.warehouse.dialect)
        # identify=True quotes every name, so Snowflake keeps their lower case.
        statement = sqlglot.transpile(duckdb_sql, read="duckdb", write=dialect, identify=True)[0]
        if audience_sql is not None:
            quote = "`" if dialect == "spark" else '"'
            placeholder = f"{quote}{_AUDIENCE_PLACEHOLDER}{quote}"
            statement = statement.replace(placeholder, f"({audience_sql})")
        self.warehouse.execute_statement(statement)

    def _hash_sql(self) -> str:
        if not self.spec.fields:
            return "'0'"
        parts = []
        for name in sorted(self.spec.fields):
            text = f"CAST({quote_ident(name)} AS VARCHAR)"
            parts.append(f"coalesce(CAST(length({text}) AS VARCHAR) || ':' || {text}, '~')")
        return "md5(" + " || ',' || ".join(parts) + ")"

    # --- stages ----------------------------------------------------------------------------------

    def sweep(self, keep_uri: str | None) -> None:
        """Drop this activation's work tables and snapshot tables that nothing points at."""
        keep = SnapshotTable.parse(keep_uri).table if keep_uri and is_warehouse_snapshot(keep_uri) else None
        prefixes = (f"sluice_work_{self.activation}_", f"sluice_snap_{self.activation}_")
        try:
            existing = self.warehouse.list_tables(self.schema)
        except Exception:  # the schema may not exist yet
            return
        for name in existing:
            if name.lower().startswith(prefixes) and name != keep:
                self._run(f"DROP TABLE IF EXISTS {self._table(name)}")

    def compute(self, previous_uri: str | None, *, full_refresh: bool) -> WarehouseDiffResult:
        """Materialise the audience and the diff as work tables; return the counts."""
        self.full_refresh = full_refresh
        audience_sql = self.warehouse.compile(self.audience)
        inner_fields = "".join(f", a.{quote_ident(name)}" for name in self.spec.fields)
        outer_fields = "".join(f", b.{quote_ident(name)}" for name in self.spec.fields)
        audience = self._table(self._work_name("audience"))
        self._run(
            f"""CREATE TABLE {audience} AS
            SELECT b.{KEY}, b.{IDENTIFIER}{outer_fields}, b.{ROW_HASH},
                   CASE WHEN b.{_REASON_OF_ROW} IS NULL AND b.{KEY} IS NOT NULL
                             AND count(*) OVER (PARTITION BY b.{KEY}) > 1
                        THEN '{InvalidReason.DUPLICATE_KEY}' ELSE b.{_REASON_OF_ROW} END AS {REASON}
            FROM (
                SELECT a.{KEY}, a.{IDENTIFIER}{inner_fields}, {self._hash_sql()} AS {ROW_HASH},
                       {row_reason_expression(self.spec)} AS {_REASON_OF_ROW}
                FROM {_AUDIENCE_PLACEHOLDER} AS a
            ) AS b""",
            audience_sql,
        )
        snapshot = self._snapshot_source(previous_uri)
        held = f"NOT EXISTS (SELECT 1 FROM {audience} h WHERE h.{REASON} IS NOT NULL AND h.{KEY} = s.{KEY})"
        if full_refresh:
            change = f"CASE WHEN c.{KEY} IS NULL THEN 'removed' ELSE 'added' END"
            keep = f"c.{KEY} IS NOT NULL OR {held}"
        else:
            change = f"CASE WHEN s.{KEY} IS NULL THEN 'added' WHEN c.{KEY} IS NULL THEN 'removed' ELSE 'changed' END"
            keep = (
                f"s.{KEY} IS NULL OR (c.{KEY} IS NULL AND {held}) OR (c.{KEY} IS NOT NULL AND "
                f"(c.{ROW_HASH} <> s.{ROW_HASH} OR s.{ROW_HASH} IS NULL OR c.{IDENTIFIER} <> s.{IDENTIFIER}))"
            )
        self._run(
            f"""CREATE TABLE {self._table(self._work_name("diff"))} AS
            SELECT {change} AS {CHANGE},
                   coalesce(c.{KEY}, s.{KEY}) AS {KEY},
                   coalesce(c.{IDENTIFIER}, s.{IDENTIFIER}) AS {IDENTIFIER},
                   coalesce(c.{ROW_HASH}, s.{ROW_HASH}) AS {ROW_HASH},
                   s.{IDENTIFIER} AS {OLD_IDENTIFIER}
            FROM (SELECT {KEY}, {IDENTIFIER}, {ROW_HASH} FROM {audience} WHERE {REASON} IS NULL) c
            FULL OUTER JOIN {snapshot} s ON c.{KEY} = s.{KEY}
            WHERE {keep}"""
        )
        return self._counts()

    def _snapshot_source(self, previous_uri: str | None) -> str:
        if previous_uri is None:
            return (
                f"(SELECT CAST(NULL AS VARCHAR) AS {KEY}, CAST(NULL AS VARCHAR) AS {IDENTIFIER}, "
                f"CAST(NULL AS VARCHAR) AS {ROW_HASH} WHERE 1 = 0)"
            )
        if not is_warehouse_snapshot(previous_uri):
            raise InvalidInput(f"the previous snapshot {previous_uri!r} is not a warehouse table")
        table = SnapshotTable.parse(previous_uri)
        return f"(SELECT {KEY}, {IDENTIFIER}, {ROW_HASH} FROM {self._table(table.table)})"

    def _counts(self) -> WarehouseDiffResult:
        audience = self.warehouse.table(self.schema, self._work_name("audience"))
        reasons = self.warehouse.to_pyarrow(audience.group_by(REASON).aggregate(n=audience.count()))
        by_reason = {row[REASON]: int(row["n"]) for row in reasons.to_pylist()}
        total = sum(by_reason.values())
        invalid = {str(reason): n for reason, n in by_reason.items() if reason is not None}
        diff = self.warehouse.table(self.schema, self._work_name("diff"))
        changes = self.warehouse.to_pyarrow(diff.group_by(CHANGE).aggregate(n=diff.count()))
        by_change = {row[CHANGE]: int(row["n"]) for row in changes.to_pylist()}
        added, changed, removed = (by_change.get(k, 0) for k in ("added", "changed", "removed"))
        valid = total - sum(invalid.values())
        return WarehouseDiffResult(
            audience=total,
            invalid=sum(invalid.values()),
            invalid_reasons=invalid,
            counts=DiffCounts(
                added=added, changed=changed, removed=removed, unchanged=valid - added - changed
            ),
        )

    def rows_to_fetch(self) -> pa.RecordBatchReader:
        """The audience rows Sluice needs locally: invalid ones, and valid ones that are added or changed."""
        audience = self.warehouse.table(self.schema, self._work_name("audience"))
        diff = self.warehouse.table(self.schema, self._work_name("diff"))
        changed_keys = diff.filter(diff[CHANGE].isin(["added", "changed"])).select(KEY)
        wanted = audience.filter(audience[REASON].notnull() | audience[KEY].isin(changed_keys[KEY]))
        return stream(self.warehouse, wanted)

    def diff_rows(self) -> pa.RecordBatchReader:
        """The diff table (change, key, identifier, hash, old identifier)."""
        return stream(self.warehouse, self.warehouse.table(self.schema, self._work_name("diff")))

    def commit(self, previous_uri: str | None, undelivered: pa.Table) -> tuple[str, int]:
        """Write the next snapshot table: old + this run's diff, except keys not fully delivered."""
        upload_text_table(
            self.warehouse, self.schema, self._work_name("undelivered"), undelivered.select([KEY])
        )
        pending = self._table(self._work_name("undelivered"))
        diff = self._table(self._work_name("diff"))
        done = f"NOT EXISTS (SELECT 1 FROM {pending} u WHERE u.{KEY} = d.{KEY})"
        target = SnapshotTable(self.schema, f"sluice_snap_{self.activation}_{self.run}")
        self._run(
            f"""CREATE TABLE {self._table(target.table)} AS
            SELECT s.{KEY}, s.{IDENTIFIER}, s.{ROW_HASH} FROM {self._snapshot_source(previous_uri)} s
            WHERE NOT EXISTS (SELECT 1 FROM {diff} d WHERE d.{KEY} = s.{KEY} AND {done})
            UNION ALL
            SELECT d.{KEY}, d.{IDENTIFIER}, d.{ROW_HASH} FROM {diff} d
            WHERE d.{CHANGE} IN ('added', 'changed') AND {done}"""
        )
        written = self.warehouse.table(self.schema, target.table)
        rows = int(self.warehouse.to_pyarrow(written.aggregate(n=written.count()))["n"][0].as_py())
        return target.uri, rows

    def drop_work_tables(self) -> None:
        """Remove this run's work tables (best effort; the next run sweeps leftovers)."""
        for part in ("audience", "diff", "undelivered"):
            try:
                self._run(f"DROP TABLE IF EXISTS {self._table(self._work_name(part))}")
            except Exception:  # noqa: S112 - cleanup must not hide the run's outcome
                continue


def stream(warehouse: Warehouse, expr: Any) -> pa.RecordBatchReader:
    """The rows of ``expr`` as a record-batch reader with the expression's Arrow schema."""
    schema = expr.schema().to_pyarrow()

    def batches() -> Iterator[pa.RecordBatch]:
        for batch in warehouse.to_pyarrow_batches(expr):
            yield from pa.Table.from_batches([batch]).cast(schema).to_batches()

    return pa.RecordBatchReader.from_batches(schema, batches())


def read_snapshot(warehouse: Warehouse, uri: str) -> pa.RecordBatchReader:
    """Stream a warehouse snapshot (to move it to a local Parquet file when the mode changes)."""
    table = SnapshotTable.parse(uri)
    return stream(warehouse, warehouse.table(table.schema, table.table))


def upload_snapshot(warehouse: Warehouse, schema: str, activation_id: str, snapshot: pa.Table) -> str:
    """Copy a local snapshot's keys and identifiers into the warehouse (hashes are not comparable)."""
    table = SnapshotTable(schema, f"sluice_snap_{_slug(activation_id)}_imported")
    rows = pa.table(
        {
            KEY: snapshot.column(KEY),
            IDENTIFIER: snapshot.column(IDENTIFIER),
            ROW_HASH: pa.nulls(snapshot.num_rows, pa.string()),
        }
    )
    upload_text_table(warehouse, schema, table.table, rows)
    return table.uri
