"""Where a remote segment's members are kept, and how segments read them.

A refresh writes the member ids it read as a one-column table (:data:`MEMBER_COLUMN`, text):

- in the source's **bookkeeping schema** when Sluice may write there (``warehouse://schema/table``),
  so a segment over the remote segment joins it inside the warehouse;
- otherwise in a **local Parquet file** in the data dir (``file:///…/members.parquet``), which
  segments read as an in-memory table on DuckDB and PostgreSQL sources (BRIEF §3's local fallback).

Each refresh writes a *new* table or file; the segment's ``members_uri`` is flipped to it only when
the refresh succeeded, so a failed or interrupted refresh leaves the previous membership in use.
The previous table or file is dropped after the flip.
"""

from __future__ import annotations

import contextlib
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import unquote, urlparse

import ibis
import pyarrow as pa
import pyarrow.parquet as pq
from sqlalchemy.orm import Session

from sluice.core.errors import InvalidInput
from sluice.models.catalog import ModelCatalog
from sluice.segments.remote import MEMBER_COLUMN
from sluice.segments.spec import SegmentSpec
from sluice.store.tables.segments import Segment
from sluice.warehouse.bookkeeping import check_bookkeeping, quoted
from sluice.warehouse.connection import IbisWarehouse, Warehouse
from sluice.warehouse.upload import UPLOAD_DIALECTS, upload_text_table

WAREHOUSE_SCHEME = "warehouse://"
FILE_SCHEME = "file://"
#: Source types whose connections can read a local member file as an in-memory table.
LOCAL_FALLBACK_DIALECTS = frozenset({"duckdb", "postgres"})


def normalise_member(value: str, remote_identifier: str) -> str | None:
    """A member id as stored: trimmed, e-mails lower-cased; None for an empty value."""
    text = value.strip()
    if not text:
        return None
    return text.lower() if remote_identifier == "email" else text


def members_arrow(ids: set[str]) -> pa.Table:
    """The member ids as the one-column table every storage holds (sorted, for stable files)."""
    return pa.table({MEMBER_COLUMN: pa.array(sorted(ids), type=pa.string())})


@dataclass(frozen=True)
class StoredMembers:
    """Where one refresh put its members: ``bookkeeping`` (warehouse table) or ``local`` (file)."""

    uri: str
    storage: str


def table_name(segment_id: str, refresh_id: str) -> str:
    """Name of a refresh's member table in the bookkeeping schema."""
    return f"sluice_remote_{segment_id.lower()}_{refresh_id.lower()}"


def write_members(
    warehouse: Warehouse,
    bookkeeping_schema: str | None,
    members: pa.Table,
    *,
    segment_id: str,
    refresh_id: str,
    local_dir: Path,
) -> StoredMembers:
    """Store a refresh's members where the source's segments can read them: the bookkeeping
    schema when Sluice can write there (created if missing), else a local file."""
    if (
        bookkeeping_schema
        and warehouse.dialect in UPLOAD_DIALECTS
        and check_bookkeeping(warehouse, bookkeeping_schema).writable
    ):
        name = table_name(segment_id, refresh_id)
        upload_text_table(warehouse, bookkeeping_schema, name, members)
        return StoredMembers(f"{WAREHOUSE_SCHEME}{bookkeeping_schema}/{name}", "bookkeeping")
    if not _reads_local_files(warehouse):
        raise InvalidInput(
            f"remote segments on a {warehouse.dialect} source need a bookkeeping schema Sluice can "
            "write in (set bookkeeping_schema on the source and grant write access to it)"
        )
    folder = local_dir / segment_id
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / f"{refresh_id}.parquet"
    partial = path.with_suffix(".parquet.partial")
    pq.write_table(members, partial)
    partial.replace(path)  # a crash mid-write never leaves a truncated member file behind
    return StoredMembers(path.resolve().as_uri(), "local")


def _reads_local_files(warehouse: Warehouse) -> bool:
    return isinstance(warehouse, IbisWarehouse) and warehouse.dialect in LOCAL_FALLBACK_DIALECTS


def _local_path(uri: str) -> Path:
    return Path(unquote(urlparse(uri).path))


def members_table(uri: str, warehouse: Warehouse) -> Any:
    """The members behind ``uri`` as an Ibis table on ``warehouse``'s connection."""
    if uri.startswith(WAREHOUSE_SCHEME):
        schema, _, name = uri.removeprefix(WAREHOUSE_SCHEME).partition("/")
        return warehouse.table(schema, name)
    if uri.startswith(FILE_SCHEME):
        path = _local_path(uri)
        if not path.exists():
            raise InvalidInput(
                "the members of this remote segment are missing from the data dir "
                f"({path.name}); refresh the segment"
            )
        if not _reads_local_files(warehouse):
            raise InvalidInput(f"a {warehouse.dialect} source cannot read remote members kept locally")
        return ibis.memtable(pq.read_table(path))
    raise InvalidInput(f"unknown remote member storage {uri!r}")


def drop_members(uri: str | None, warehouse: Warehouse | None) -> None:
    """Remove a membership nobody points at any more (best effort: leftovers are harmless)."""
    if not uri:
        return
    if uri.startswith(FILE_SCHEME):
        with contextlib.suppress(OSError):
            _local_path(uri).unlink()
        return
    if uri.startswith(WAREHOUSE_SCHEME) and warehouse is not None:
        schema, _, name = uri.removeprefix(WAREHOUSE_SCHEME).partition("/")
        target = f"{quoted(schema, warehouse.dialect)}.{quoted(name, warehouse.dialect)}"
        with contextlib.suppress(Exception):
            warehouse.execute_statement(f"DROP TABLE IF EXISTS {target}")


class StoredRemoteMembership:
    """Remote members as the compiler needs them: the membership the segment points at.

    Over a metadata catalog (no warehouse: saving a segment) it answers an unbound table, so a
    segment using a remote segment compiles before that segment was ever refreshed.
    """

    def __init__(self, session: Session) -> None:
        self.session = session

    def members(self, segment: SegmentSpec, catalog: ModelCatalog) -> Any:
        warehouse: Warehouse | None = getattr(catalog, "warehouse", None)
        if warehouse is None:
            return ibis.table({MEMBER_COLUMN: "string"}, name=f"remote_members_{segment.id.lower()}")
        row = self.session.get(Segment, segment.id)
        uri = row.members_uri if row is not None else None
        if not uri:
            raise InvalidInput(
                f"remote segment {segment.name!r} has no members yet: refresh it to read its members "
                "from the destination"
            )
        return members_table(uri, warehouse)


__all__ = [
    "MEMBER_COLUMN",
    "StoredMembers",
    "StoredRemoteMembership",
    "drop_members",
    "members_arrow",
    "members_table",
    "normalise_member",
    "write_members",
]
