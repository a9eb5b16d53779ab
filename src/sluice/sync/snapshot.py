"""Snapshots: what Sluice believes a destination holds for one activation (BRIEF §4 rule 6).

A snapshot is an immutable Parquet file of ``(__key, __identifier, __hash)`` under a root that is
a local directory or any fsspec URI (``s3://…``). A run never edits a snapshot: it writes a new
file = old snapshot + *delivered* ops only, and the caller flips the activation's pointer to it
in one control-DB transaction. A crash before the flip leaves the old pointer, so the next run
re-does the undelivered work; every op is idempotent at the destination.
"""

from __future__ import annotations

import posixpath
import uuid
from dataclasses import dataclass

import duckdb
import fsspec

from sluice.sync.audience import IDENTIFIER, KEY, ROW_HASH
from sluice.sync.sql import quote_ident, quote_literal

EMPTY_SNAPSHOT_SQL = (
    f"SELECT NULL::VARCHAR AS {KEY}, NULL::VARCHAR AS {IDENTIFIER}, NULL::UBIGINT AS {ROW_HASH} WHERE false"
)


@dataclass(frozen=True)
class SnapshotStore:
    """Snapshot files of every activation under ``root`` (local path or fsspec URI)."""

    root: str

    def new_uri(self, activation_id: str, run_id: str) -> str:
        """Where the snapshot produced by ``run_id`` goes (unique per attempt)."""
        return posixpath.join(
            self.root.rstrip("/"), activation_id, f"{run_id}-{uuid.uuid4().hex[:8]}.parquet"
        )

    def attach(self, con: duckdb.DuckDBPyConnection, uri: str | None, view: str) -> None:
        """Expose the snapshot at ``uri`` (or an empty one) as the view ``view``."""
        if uri is None:
            con.execute(f"CREATE OR REPLACE TEMP VIEW {quote_ident(view)} AS {EMPTY_SNAPSHOT_SQL}")
            return
        register_filesystem(con, uri)
        con.execute(
            f"CREATE OR REPLACE TEMP VIEW {quote_ident(view)} AS "
            f"SELECT {KEY}, {IDENTIFIER}, {ROW_HASH} FROM read_parquet({quote_literal(uri)})"
        )

    def write(self, con: duckdb.DuckDBPyConnection, select_sql: str, uri: str) -> int:
        """Write the rows of ``select_sql`` to ``uri`` as Parquet; returns the row count."""
        register_filesystem(con, uri)
        fs, path = fsspec.core.url_to_fs(uri)
        fs.makedirs(posixpath.dirname(path), exist_ok=True)
        written = con.execute(
            f"COPY ({select_sql}) TO {quote_literal(uri)} (FORMAT parquet, COMPRESSION snappy)"
        )
        return int(written.fetchall()[0][0])

    def delete(self, uri: str) -> None:
        """Remove a snapshot that is no longer pointed at (best effort)."""
        fs, path = fsspec.core.url_to_fs(uri)
        if fs.exists(path):
            fs.rm(path)


def next_snapshot_sql(snapshot_view: str, delivered_view: str) -> str:
    """SELECT of the new snapshot: old rows minus delivered ops, plus delivered adds/changes.

    ``delivered_view`` has ``op`` ('add' | 'change' | 'remove') and the snapshot columns, for
    delivered ops only.
    """
    snap = quote_ident(snapshot_view)
    done = quote_ident(delivered_view)
    return f"""
        SELECT s.{KEY}, s.{IDENTIFIER}, s.{ROW_HASH} FROM {snap} s ANTI JOIN {done} d ON s.{KEY} = d.{KEY}
        UNION ALL
        SELECT {KEY}, {IDENTIFIER}, {ROW_HASH} FROM {done} WHERE op IN ('add', 'change')
    """


def register_filesystem(con: duckdb.DuckDBPyConnection, uri: str) -> None:
    """Let DuckDB read and write ``uri`` when it is on an fsspec filesystem (s3://, gcs://, memory://, …)."""
    protocol = uri.split("://", 1)[0] if "://" in uri else "file"
    if protocol not in ("file", "local") and not con.filesystem_is_registered(protocol):
        con.register_filesystem(fsspec.filesystem(protocol))
