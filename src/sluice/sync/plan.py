"""Plan: turn the diff into destination operations per service (BRIEF §4 rule 4).

The plan is a DuckDB table ``plan`` with one row per operation:

- ``__op``: what the connector is asked to do (``add``, ``remove``, ``upsert``, ``delete``, ``clear``,
  ``event``, ``consent_set``, ``consent_revert``) or ``skip`` (nothing to send, but the snapshot
  moves on: e.g. a removed contact whose removal behaviour is *ignore*);
- ``__change``: the diff class of the key (``added`` / ``changed`` / ``removed``) — what the
  snapshot records for this key once *all* of its ops are delivered;
- ``__key``, ``__identifier`` and the mapped fields.

A contact whose identifier changed on a membership (or consent) target gets two ops: remove of
the old identifier (``__seq`` 0), then add of the new one (``__seq`` 1). Upserts do not delete
the record of an old identifier: the destination keeps it, as Hightouch and Census do. Events never send changes or removals: a sent event stays
in the snapshot so it is never sent twice (rows that leave the audience are not planned at all).
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum

import duckdb

from sluice.destinations.sdk import Service
from sluice.sync.audience import IDENTIFIER, KEY
from sluice.sync.diff import CHANGE, DIFF_TABLE, OLD_IDENTIFIER
from sluice.sync.sql import quote_ident

PLAN_TABLE = "plan"
OP = "__op"
SEQUENCE = "__seq"


class RemovalBehaviour(StrEnum):
    """What an upsert activation does with rows that left the audience."""

    IGNORE = "ignore"
    CLEAR = "clear"
    DELETE = "delete"


@dataclass(frozen=True)
class PlanCounts:
    """Operations planned, by op name."""

    by_op: dict[str, int]

    @property
    def to_send(self) -> int:
        return sum(count for op, count in self.by_op.items() if op != "skip")


def build_plan(
    con: duckdb.DuckDBPyConnection,
    service: Service,
    fields: tuple[str, ...],
    *,
    removal: RemovalBehaviour = RemovalBehaviour.IGNORE,
) -> PlanCounts:
    """Create the ``plan`` table from this run's diff (``diff`` table and ``diff_*`` views)."""
    columns = "".join(f", {quote_ident(name)}" for name in fields)
    nulls = "".join(f", NULL AS {quote_ident(name)}" for name in fields)
    old_row = f"{KEY}, {OLD_IDENTIFIER} AS {IDENTIFIER}{nulls}"
    removed_row = f"{KEY}, {IDENTIFIER}{nulls}"
    new_row = f"{KEY}, {IDENTIFIER}{columns}"
    moved = f"{OLD_IDENTIFIER} IS DISTINCT FROM {IDENTIFIER}"
    parts: list[str] = []

    def part(op: str, change: str, source: str, row: str, where: str = "true", order: int = 1) -> None:
        parts.append(
            f"SELECT '{op}' AS {OP}, '{change}' AS {CHANGE}, {order} AS {SEQUENCE}, {row} FROM {source} WHERE {where}"
        )

    if service is Service.MEMBERSHIP:
        part("add", "added", "diff_added", new_row)
        part("remove", "changed", "diff_changed", old_row, moved, order=0)
        part("add", "changed", "diff_changed", new_row)
        part("remove", "removed", "diff_removed", removed_row)
    elif service is Service.UPSERT:
        part("upsert", "added", "diff_added", new_row)
        part("upsert", "changed", "diff_changed", new_row)
        removal_op = {RemovalBehaviour.IGNORE: "skip", RemovalBehaviour.CLEAR: "clear"}.get(removal, "delete")
        part(removal_op, "removed", "diff_removed", removed_row)
    elif service is Service.EVENTS:
        part("event", "added", "diff_added", new_row)
        part("skip", "changed", "diff_changed", new_row)
    elif service is Service.CONSENT:
        part("consent_set", "added", "diff_added", new_row)
        part("consent_revert", "changed", "diff_changed", old_row, moved, order=0)
        part("consent_set", "changed", "diff_changed", new_row)
        part("consent_revert", "removed", "diff_removed", removed_row)
    else:  # pragma: no cover - exhaustive over Service
        raise ValueError(service)
    # A regular (not TEMP) table: the load stage streams it through a second cursor while outcomes
    # are written on the first one.
    con.execute(f"CREATE OR REPLACE TABLE {PLAN_TABLE} AS " + " UNION ALL ".join(parts))
    counts = dict(con.execute(f"SELECT {OP}, count(*) FROM {PLAN_TABLE} GROUP BY ALL").fetchall())
    return PlanCounts({str(op): int(n) for op, n in counts.items()})


def _delivery_state_sql(outcomes_table: str) -> str:
    outcomes = quote_ident(outcomes_table)
    return f"""
        WITH planned AS (
            SELECT {KEY}, any_value({CHANGE}) AS change, count(*) FILTER (WHERE {OP} <> 'skip') AS to_send
            FROM {PLAN_TABLE} GROUP BY {KEY}
        ),
        done AS (
            SELECT {KEY}, count(*) FILTER (WHERE status = 'delivered') AS ok,
                   count(*) FILTER (WHERE status <> 'delivered') AS not_ok
            FROM {outcomes} GROUP BY {KEY}
        ),
        state AS (
            SELECT {KEY}, change, coalesce(not_ok, 0) = 0 AND coalesce(ok, 0) >= to_send AS committed
            FROM planned LEFT JOIN done USING ({KEY})
        )
    """


def committed_changes_sql(outcomes_table: str) -> str:
    """SELECT of ``(op, __key)`` for the snapshot: keys whose every planned op was delivered.

    ``outcomes_table`` has ``__key``, ``__op``, ``status``; skipped ops count as delivered.
    ``op`` is the snapshot's vocabulary: 'add' | 'change' | 'remove'.
    """
    return (
        _delivery_state_sql(outcomes_table)
        + f"""SELECT CASE change WHEN 'added' THEN 'add' WHEN 'changed' THEN 'change' ELSE 'remove' END AS op, {KEY}
        FROM state WHERE committed"""
    )


def undelivered_keys_sql(outcomes_table: str) -> str:
    """SELECT of ``__key`` for the planned keys that must *not* move in the snapshot (the complement
    of :func:`committed_changes_sql`: some op failed, was rejected or was never attempted)."""
    return _delivery_state_sql(outcomes_table) + f"SELECT {KEY} FROM state WHERE NOT committed"


__all__ = [
    "DIFF_TABLE",
    "OP",
    "PLAN_TABLE",
    "SEQUENCE",
    "PlanCounts",
    "RemovalBehaviour",
    "Service",
    "build_plan",
]
