"""Snapshots: what Sluice believes a destination holds for one activation (BRIEF §4 rule 6).

A snapshot is a set of ``(__key, __identifier, __hash)`` rows under a root that is a local directory
or any fsspec URI (``s3://…``), in one of two immutable forms:

- a **full** snapshot: one Parquet file of every row (``<run>.parquet``);
- a **delta** snapshot: a small JSON manifest (``<run>.json``) naming a full *base* file and the
  *delta* files of the runs since, each holding only that run's delivered ops
  (``op, __key, __identifier, __hash``; the latest op of a key wins, ``remove`` drops it).

A run never edits a file: it writes a delta of its *delivered* ops only (or, once the deltas hold
more than :data:`COMPACT_RATIO` of the base's rows or :data:`MAX_DELTAS` files, a new full
snapshot), and the caller flips the activation's pointer to the new URI in one control-DB
transaction. A run that delivered nothing keeps the previous URI. A crash before the flip leaves the
old pointer, so the next run re-does the undelivered work; every op is idempotent at the
destination. Files are immutable; the files no pointer needs any more are deleted by the next run
of the activation before it writes anything (:meth:`SnapshotStore.sweep`).
"""

from __future__ import annotations

import json
import posixpath
import uuid
from dataclasses import asdict, dataclass

import duckdb
import fsspec

from sluice.sync.audience import IDENTIFIER, KEY, ROW_HASH, TEXT_KEY
from sluice.sync.sql import quote_ident, quote_literal

MANIFEST_SUFFIX = ".json"
#: a new full snapshot is written once the deltas would hold more than this share of the base's rows
COMPACT_RATIO = 0.1
#: … or this many delta files
MAX_DELTAS = 16


@dataclass(frozen=True)
class Manifest:
    """A delta snapshot: ``base`` (full Parquet) plus ``deltas`` (oldest first)."""

    base: str
    base_rows: int
    deltas: tuple[str, ...]
    delta_rows: int
    rows: int

    def dumps(self) -> str:
        return json.dumps({"version": 1, **asdict(self), "deltas": list(self.deltas)}, indent=1)

    @classmethod
    def loads(cls, text: str) -> Manifest:
        data = json.loads(text)
        return cls(
            base=data["base"],
            base_rows=int(data["base_rows"]),
            deltas=tuple(data["deltas"]),
            delta_rows=int(data["delta_rows"]),
            rows=int(data["rows"]),
        )


@dataclass(frozen=True)
class SnapshotStore:
    """Snapshot files of every activation under ``root`` (local path or fsspec URI)."""

    root: str
    compact_ratio: float = COMPACT_RATIO
    max_deltas: int = MAX_DELTAS

    def new_uri(self, activation_id: str, run_id: str) -> str:
        """Where the snapshot produced by ``run_id`` goes (unique per attempt)."""
        return posixpath.join(
            self.root.rstrip("/"), activation_id, f"{run_id}-{uuid.uuid4().hex[:8]}.parquet"
        )

    def attach(
        self, con: duckdb.DuckDBPyConnection, uri: str | None, view: str, *, key_type: str | None = None
    ) -> None:
        """Expose the snapshot at ``uri`` (or an empty one) as the view ``view``.

        With ``key_type``, keys are cast to it (an empty snapshot's keys have it; default text).
        """
        if uri is None:
            select = empty_snapshot_sql(key_type or TEXT_KEY)
        else:
            register_filesystem(con, uri)
            select = self.select_sql(uri)
            if key_type is not None:
                select = (
                    f"SELECT CAST({KEY} AS {key_type}) AS {KEY}, {IDENTIFIER}, {ROW_HASH} FROM ({select})"
                )
        con.execute(f"CREATE OR REPLACE TEMP VIEW {quote_ident(view)} AS {select}")

    def select_sql(self, uri: str) -> str:
        """SELECT of the rows of the snapshot at ``uri`` (full or delta)."""
        if not is_manifest(uri):
            return f"SELECT {KEY}, {IDENTIFIER}, {ROW_HASH} FROM read_parquet({quote_literal(uri)})"
        manifest = self.manifest(uri)
        base = f"SELECT {KEY}, {IDENTIFIER}, {ROW_HASH} FROM read_parquet({quote_literal(manifest.base)})"
        if not manifest.deltas:
            return base
        ops = " UNION ALL ".join(
            f"SELECT {number} AS __seq, op, {KEY}, {IDENTIFIER}, {ROW_HASH} FROM read_parquet({quote_literal(delta)})"
            for number, delta in enumerate(manifest.deltas)
        )
        latest = (
            f"(SELECT * FROM ({ops}) QUALIFY row_number() OVER (PARTITION BY {KEY} ORDER BY __seq DESC) = 1)"
        )
        return (
            f"SELECT b.* FROM ({base}) b ANTI JOIN {latest} l ON b.{KEY} = l.{KEY} "
            f"UNION ALL SELECT {KEY}, {IDENTIFIER}, {ROW_HASH} FROM {latest} WHERE op <> 'remove'"
        )

    def manifest(self, uri: str, con: duckdb.DuckDBPyConnection | None = None) -> Manifest:
        """The manifest of a delta snapshot, or a full snapshot described as one (no deltas).

        A full snapshot's row count comes from its Parquet metadata, through ``con`` when given.
        """
        if is_manifest(uri):
            with fsspec.open(uri, "r") as handle:
                return Manifest.loads(handle.read())
        if con is None:
            with duckdb.connect() as own:
                return self.manifest(uri, own)
        register_filesystem(con, uri)
        rows = int(con.execute(f"SELECT count(*) FROM read_parquet({quote_literal(uri)})").fetchall()[0][0])
        return Manifest(base=uri, base_rows=rows, deltas=(), delta_rows=0, rows=rows)

    def commit(
        self,
        con: duckdb.DuckDBPyConnection,
        previous: str | None,
        previous_view: str,
        delivered_view: str,
        uri: str,
        *,
        rewrite: bool = False,
    ) -> tuple[str, int]:
        """Write the snapshot that follows ``previous`` once ``delivered_view``'s ops are applied.

        ``previous_view`` exposes ``previous`` (see :meth:`attach`); ``delivered_view`` has ``op``
        ('add' | 'change' | 'remove') and the snapshot columns, for delivered ops only, with adds
        for keys not in ``previous`` and changes/removals of keys in it (what a diff yields).
        Returns the URI to point at (``uri``, its manifest, or ``previous`` when nothing was
        delivered) and the snapshot's row count. ``rewrite`` asks for a full snapshot whatever
        was delivered (``previous_view`` reads ``previous`` with another key type).
        """
        full_sql = next_snapshot_sql(previous_view, delivered_view)
        if previous is None or rewrite:
            return uri, self.write(con, full_sql, uri)
        manifest = self.manifest(previous, con)
        done = quote_ident(delivered_view)
        ops, adds, removes = con.execute(
            f"SELECT count(*), count(*) FILTER (op = 'add'), count(*) FILTER (op = 'remove') FROM {done}"
        ).fetchall()[0]
        if not ops:
            return previous, manifest.rows
        too_big = manifest.delta_rows + ops > self.compact_ratio * manifest.base_rows
        if too_big or len(manifest.deltas) >= self.max_deltas:
            return uri, self.write(con, full_sql, uri)
        stem = uri.removesuffix(".parquet")
        delta = f"{stem}.delta.parquet"
        self.write(con, f"SELECT op, {KEY}, {IDENTIFIER}, {ROW_HASH} FROM {done}", delta)
        following = Manifest(
            base=manifest.base,
            base_rows=manifest.base_rows,
            deltas=(*manifest.deltas, delta),
            delta_rows=manifest.delta_rows + int(ops),
            rows=manifest.rows + int(adds) - int(removes),
        )
        manifest_uri = f"{stem}{MANIFEST_SUFFIX}"
        with fsspec.open(manifest_uri, "w") as handle:
            handle.write(following.dumps())
        return manifest_uri, following.rows

    def write(self, con: duckdb.DuckDBPyConnection, select_sql: str, uri: str) -> int:
        """Write the rows of ``select_sql`` to ``uri`` as Parquet; returns the row count."""
        register_filesystem(con, uri)
        fs, path = fsspec.core.url_to_fs(uri)
        fs.makedirs(posixpath.dirname(path), exist_ok=True)
        written = con.execute(
            f"COPY ({select_sql}) TO {quote_literal(uri)} (FORMAT parquet, COMPRESSION snappy)"
        )
        return int(written.fetchall()[0][0])

    def sweep(self, activation_id: str, keep_uri: str | None) -> int:
        """Delete ``activation_id``'s snapshot files that the snapshot at ``keep_uri`` does not need.

        Only safe while no other run of the activation can write, which the store guarantees once
        a run is claimed (one active run per activation): every other file is then left over from
        earlier runs (replaced snapshots, compacted deltas, attempts that crashed before their
        pointer flip). Outcome files (``outcomes/``) are not touched. Returns the files deleted.
        """
        fs, directory = fsspec.core.url_to_fs(posixpath.join(self.root.rstrip("/"), activation_id))
        if not fs.isdir(directory):
            return 0
        keep = {fs._strip_protocol(uri) for uri in self.files_of(keep_uri)} if keep_uri else set()
        deleted = 0
        for entry in fs.ls(directory, detail=True):
            name = fs._strip_protocol(entry["name"])
            if entry["type"] == "file" and name not in keep:
                fs.rm(name)
                deleted += 1
        return deleted

    def files_of(self, uri: str) -> set[str]:
        """The files the snapshot at ``uri`` reads: itself, and for a manifest its base and deltas."""
        if not uri.startswith(self.root.rstrip("/")):
            return set()  # elsewhere (another root, or a warehouse table): nothing here is needed
        if not is_manifest(uri):
            return {uri}
        manifest = self.manifest(uri)
        return {uri, manifest.base, *manifest.deltas}


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


def empty_snapshot_sql(key_type: str) -> str:
    """SELECT of a snapshot with no rows whose keys have ``key_type``."""
    return f"SELECT NULL::{key_type} AS {KEY}, NULL::VARCHAR AS {IDENTIFIER}, NULL::UBIGINT AS {ROW_HASH} WHERE false"


def is_manifest(uri: str) -> bool:
    """True when ``uri`` names a delta snapshot's manifest (not a full Parquet snapshot)."""
    return uri.endswith(MANIFEST_SUFFIX)


def register_filesystem(con: duckdb.DuckDBPyConnection, uri: str) -> None:
    """Let DuckDB read and write ``uri`` when it is on an fsspec filesystem (s3://, gcs://, memory://, …)."""
    protocol = uri.split("://", 1)[0] if "://" in uri else "file"
    if protocol not in ("file", "local") and not con.filesystem_is_registered(protocol):
        con.register_filesystem(fsspec.filesystem(protocol))
