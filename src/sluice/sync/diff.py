"""Diff of the valid audience against the activation's snapshot (BRIEF §4 rule 3).

One FULL OUTER JOIN by key in DuckDB classifies every row that differs:

- ``added``: key not in the snapshot;
- ``changed``: key in both, change hash or identifier differs (``__old_identifier`` keeps the value
  the destination holds, so membership services can move a contact whose identifier changed);
- ``removed``: key in the snapshot, not in the audience, and not *held*: a key present in this run
  but invalid (duplicate copies, malformed identifier) is neither added nor removed — the
  destination keeps what it has until the data is fixed.

The change hash covers the mapped fields only (BRIEF §4 rule 1). It is DuckDB's 64-bit ``hash()``
of the field values in name order, ten times cheaper than MD5 of JSON; its algorithm tag is kept
with each snapshot so a DuckDB upgrade that changed it is noticed (ADR 0002).
"""

from __future__ import annotations

from dataclasses import dataclass

import duckdb

from sluice.sync.audience import IDENTIFIER, KEY, ROW_HASH, TEXT_KEY
from sluice.sync.sql import quote_ident

CHANGE = "__change"
OLD_IDENTIFIER = "__old_identifier"
DIFF_TABLE = "diff"
HASH_ALGORITHM = f"duckdb-hash/{duckdb.__version__}"


@dataclass(frozen=True)
class DiffCounts:
    added: int
    changed: int
    removed: int
    unchanged: int

    @property
    def total_changes(self) -> int:
        return self.added + self.changed + self.removed


def row_hash_expression(fields: tuple[str, ...]) -> str:
    """SQL for the change hash of a row: stable across runs and independent of mapping order."""
    if not fields:
        return "0::UBIGINT"
    return "hash(" + ", ".join(quote_ident(name) for name in sorted(fields)) + ")"


def compute_diff(
    con: duckdb.DuckDBPyConnection,
    current_view: str,
    snapshot_view: str,
    held_keys_view: str | None = None,
    *,
    fields_view: str | None = None,
    fields_key_type: str = TEXT_KEY,
) -> None:
    """Create the ``diff`` table (and views ``diff_added|changed|removed``); :func:`diff_counts` counts it.

    The join carries only key, identifier and hash, with keys of the type both sides share; the
    ``diff`` table holds keys as text. Mapped field values are joined back for the (few) added and
    changed rows by the views.
    """
    cur, snap = quote_ident(current_view), quote_ident(snapshot_view)
    # Held keys leave the snapshot side: absent from the valid audience, they are neither removed nor changed.
    if held_keys_view:
        snap = f"(SELECT * FROM {snap} ANTI JOIN {quote_ident(held_keys_view)} h USING ({KEY}))"
    con.execute(
        f"""CREATE OR REPLACE TEMP TABLE {DIFF_TABLE} AS
        SELECT CASE WHEN s.{KEY} IS NULL THEN 'added' WHEN c.{KEY} IS NULL THEN 'removed' ELSE 'changed' END
                   AS {CHANGE},
               CAST(coalesce(c.{KEY}, s.{KEY}) AS VARCHAR) AS {KEY},
               coalesce(c.{IDENTIFIER}, s.{IDENTIFIER}) AS {IDENTIFIER},
               coalesce(c.{ROW_HASH}, s.{ROW_HASH}) AS {ROW_HASH},
               s.{IDENTIFIER} AS {OLD_IDENTIFIER}
        FROM (SELECT {KEY}, {IDENTIFIER}, {ROW_HASH} FROM {cur}) c FULL OUTER JOIN {snap} s ON c.{KEY} = s.{KEY}
        WHERE s.{KEY} IS NULL
           OR c.{KEY} IS NULL
           OR (c.{KEY} IS NOT NULL AND (c.{ROW_HASH} IS DISTINCT FROM s.{ROW_HASH} OR c.{IDENTIFIER} <> s.{IDENTIFIER}))"""
    )
    create_diff_views(con, current_view, fields_view=fields_view, fields_key_type=fields_key_type)


def create_diff_views(
    con: duckdb.DuckDBPyConnection,
    current_view: str,
    *,
    fields_view: str | None = None,
    fields_key_type: str = TEXT_KEY,
) -> None:
    """Views ``diff_added|changed|removed`` over the ``diff`` table.

    Mapped field values are joined by key from ``fields_view`` (key of ``fields_key_type`` +
    fields) when given, else from ``current_view`` (text keys, which then carries them).
    """
    fields = (
        f"(SELECT * FROM {quote_ident(fields_view)})"
        if fields_view
        else f"(SELECT * EXCLUDE ({IDENTIFIER}, {ROW_HASH}) FROM {quote_ident(current_view)})"
    )
    for kind in ("added", "changed"):
        con.execute(
            f"CREATE OR REPLACE TEMP VIEW diff_{kind} AS "
            f"SELECT d.* EXCLUDE ({CHANGE}), f.* EXCLUDE ({KEY}) FROM {DIFF_TABLE} d JOIN {fields} f "
            f"ON f.{KEY} = TRY_CAST(d.{KEY} AS {fields_key_type}) WHERE d.{CHANGE} = '{kind}'"
        )
    con.execute(
        f"CREATE OR REPLACE TEMP VIEW diff_removed AS SELECT * EXCLUDE ({CHANGE}) FROM {DIFF_TABLE} "
        f"WHERE {CHANGE} = 'removed'"
    )


def diff_counts(
    con: duckdb.DuckDBPyConnection, current_view: str, current_count: int | None = None
) -> DiffCounts:
    """Count the rows of the ``diff`` table by class (``current_count``: rows of ``current_view``, when known)."""
    counts = dict(con.execute(f"SELECT {CHANGE}, count(*) FROM {DIFF_TABLE} GROUP BY ALL").fetchall())
    current = current_count
    if current is None:
        current = con.execute(f"SELECT count(*) FROM {quote_ident(current_view)}").fetchall()[0][0]
    added, changed, removed = (int(counts.get(k, 0)) for k in ("added", "changed", "removed"))
    return DiffCounts(added=added, changed=changed, removed=removed, unchanged=int(current) - added - changed)
