"""Where a run diffs: locally (DuckDB over Parquet) or inside the source's bookkeeping schema.

``auto`` keeps the mode of the activation's current snapshot; with no snapshot yet it picks the
warehouse when Sluice may write there and the audience has at least
``SLUICE_WAREHOUSE_DIFF_MIN_ROWS`` rows (moving a million rows out of the warehouse costs more
than two statements inside it). An explicit mode the source cannot honour is a clear error.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from sluice.core.errors import InvalidInput
from sluice.schemas.activations import DiffMode
from sluice.sync.warehouse_diff import is_warehouse_snapshot, supports_warehouse_diff
from sluice.warehouse.bookkeeping import check_bookkeeping
from sluice.warehouse.connection import Warehouse


@dataclass(frozen=True)
class DiffModeChoice:
    """The mode a run uses, and why (logged and shown with the run)."""

    mode: DiffMode
    reason: str


def warehouse_diff_blocker(warehouse: Warehouse, schema: str | None) -> str | None:
    """Why the diff cannot run in this warehouse, or None when it can."""
    if not supports_warehouse_diff(warehouse.dialect):
        return f"in-warehouse diff is not available for {warehouse.dialect} sources"
    status = check_bookkeeping(warehouse, schema)
    return None if status.writable else status.message


def choose_diff_mode(
    requested: DiffMode,
    *,
    previous_snapshot: str | None,
    warehouse: Warehouse,
    bookkeeping_schema: str | None,
    audience_rows: Callable[[], int],
    min_rows: int,
) -> DiffModeChoice:
    """Decide the run's diff mode (see the module docstring)."""
    if requested is DiffMode.LOCAL:
        return DiffModeChoice(DiffMode.LOCAL, "the activation asks for a local diff")
    blocker = warehouse_diff_blocker(warehouse, bookkeeping_schema)
    if requested is DiffMode.WAREHOUSE:
        if blocker:
            raise InvalidInput(f"the activation asks for an in-warehouse diff, but {blocker}")
        return DiffModeChoice(DiffMode.WAREHOUSE, "the activation asks for an in-warehouse diff")
    if blocker:
        return DiffModeChoice(DiffMode.LOCAL, blocker)
    if previous_snapshot:
        if is_warehouse_snapshot(previous_snapshot):
            return DiffModeChoice(DiffMode.WAREHOUSE, "the current snapshot lives in the warehouse")
        return DiffModeChoice(DiffMode.LOCAL, "the current snapshot is a local Parquet file")
    rows = audience_rows()
    if rows >= min_rows:
        return DiffModeChoice(DiffMode.WAREHOUSE, f"the audience has {rows:,} rows (≥ {min_rows:,})")
    return DiffModeChoice(DiffMode.LOCAL, f"the audience has {rows:,} rows (< {min_rows:,})")
