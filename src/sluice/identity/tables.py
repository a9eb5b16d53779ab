"""The bookkeeping tables of one identity graph: ``<schema>.idr_<graph>_<what>``.

Every intermediate result is written with one ``CREATE TABLE … AS SELECT`` compiled from an Ibis
expression, so the warehouse does the work; only counts are read back. The published tables
(records, profiles, matches) are built under a scratch name and swapped in at the end, so readers
see either the previous run or the new one.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any

import ibis.expr.types as ir

from sluice.warehouse.bookkeeping import quoted
from sluice.warehouse.connection import Warehouse

PUBLISHED = ("records", "profiles", "matches")


def graph_slug(graph_id: str) -> str:
    """Lower case letters, digits and underscores of a graph id or name."""
    return re.sub(r"[^a-z0-9_]", "_", graph_id.lower())


@dataclass
class GraphTables:
    """Creates, reads and drops the tables of one graph in the bookkeeping schema."""

    warehouse: Warehouse
    schema: str
    slug: str
    _scratch: list[str] = field(default_factory=list)

    def name(self, what: str) -> str:
        return f"idr_{self.slug}_{what}"

    def qualified(self, name: str) -> str:
        dialect = self.warehouse.dialect
        return f"{quoted(self.schema, dialect)}.{quoted(name, dialect)}"

    def create(self, what: str, expr: ir.Table) -> ir.Table:
        """Write ``expr`` as scratch table ``what`` (replacing it) and return it as a table."""
        return self.create_sql(what, self.warehouse.compile(expr))

    def create_sql(self, what: str, sql: str) -> ir.Table:
        """Write the result of the SELECT ``sql`` as scratch table ``what`` and return it as a table."""
        name = self.name(f"tmp_{what}")
        self.drop(name)
        self.warehouse.execute_statement(f"CREATE TABLE {self.qualified(name)} AS {sql}")
        if name not in self._scratch:
            self._scratch.append(name)
        return self.warehouse.table(self.schema, name)

    def remember(self, name: str) -> None:
        """Drop table ``name`` with the scratch tables when the run ends."""
        if name not in self._scratch:
            self._scratch.append(name)

    def count(self, expr: ir.Table) -> int:
        return int(self.scalar(expr.count()) or 0)

    def scalar(self, expr: ir.Scalar) -> Any:
        """One value computed in the warehouse."""
        result = self.warehouse.to_pyarrow(expr.as_table())
        return result.column(0)[0].as_py()

    def rows(self, expr: ir.Table, limit: int = 100) -> list[dict[str, Any]]:
        """At most ``limit`` rows (samples for warnings and lookups, never whole tables)."""
        return list(self.warehouse.to_pyarrow(expr.limit(limit)).to_pylist())

    def drop(self, name: str) -> None:
        self.warehouse.execute_statement(f"DROP TABLE IF EXISTS {self.qualified(name)}")

    def publish(self, what: str) -> None:
        """Replace published table ``what`` by its scratch version."""
        scratch, final = self.name(f"tmp_{what}"), self.name(what)
        self.drop(final)
        rename = f"ALTER TABLE {self.qualified(scratch)} RENAME TO {quoted(final, self.warehouse.dialect)}"
        self.warehouse.execute_statement(rename)
        self._scratch.remove(scratch)

    def published(self, what: str) -> ir.Table:
        return self.warehouse.table(self.schema, self.name(what))

    def exists(self, what: str) -> bool:
        return self.name(what) in set(self.warehouse.list_tables(self.schema))

    def cleanup(self) -> None:
        """Drop every scratch table this run created."""
        for name in list(self._scratch):
            self.drop(name)
        self._scratch.clear()

    def drop_all(self) -> None:
        """Drop the published tables of the graph (the graph is deleted)."""
        for what in PUBLISHED:
            self.drop(self.name(what))
