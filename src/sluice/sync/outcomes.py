"""Per-row outcomes of a run, stored as Parquet next to the snapshots: read them page by page or as CSV."""

from __future__ import annotations

import csv
import io
from collections.abc import Iterator

import duckdb

from sluice.schemas.activations import OutcomeOut
from sluice.sync.audience import IDENTIFIER, KEY
from sluice.sync.snapshot import register_filesystem
from sluice.sync.sql import quote_literal

OUTCOME_STATUSES = ("delivered", "rejected", "failed", "invalid")
CSV_COLUMNS = ("key", "identifier", "operation", "status", "message")


def _select(uri: str, status: str | None) -> str:
    where = f" WHERE status = {quote_literal(status)}" if status else ""
    return (
        f"SELECT {KEY} AS key, {IDENTIFIER} AS identifier, operation, status, message "
        f"FROM read_parquet({quote_literal(uri)}){where} ORDER BY status, key"
    )


def read_outcomes(uri: str, *, status: str | None, offset: int, limit: int) -> list[OutcomeOut]:
    """One page of outcomes, optionally of one status."""
    with duckdb.connect() as con:
        register_filesystem(con, uri)
        rows = con.sql(f"{_select(uri, status)} LIMIT {int(limit)} OFFSET {int(offset)}").fetchall()
    return [OutcomeOut(**dict(zip(CSV_COLUMNS, row, strict=True))) for row in rows]


def outcomes_csv(uri: str, *, status: str | None, chunk_rows: int = 10_000) -> Iterator[str]:
    """The outcomes as CSV text chunks (header first), streamed without loading them all."""
    buffer = io.StringIO()
    writer = csv.writer(buffer)
    writer.writerow(CSV_COLUMNS)
    yield buffer.getvalue()
    with duckdb.connect() as con:
        register_filesystem(con, uri)
        reader = con.sql(_select(uri, status)).to_arrow_reader(chunk_rows)
        for batch in reader:
            buffer.seek(0)
            buffer.truncate()
            writer.writerows(
                zip(*(batch.column(i).to_pylist() for i in range(batch.num_columns)), strict=True)
            )
            yield buffer.getvalue()
