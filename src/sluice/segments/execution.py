"""Running compiled expressions: through the catalog when it knows how, else on the tables' backend."""

from __future__ import annotations

from typing import Any

import pyarrow as pa

from sluice.models.catalog import ModelCatalog


def to_arrow(catalog: ModelCatalog, expr: Any) -> pa.Table:
    """Run ``expr`` and return Arrow: ``catalog.to_pyarrow`` when it has one (stored sources,
    DB-API warehouses), else the backend of the Ibis tables the expression is built on."""
    runner = getattr(catalog, "to_pyarrow", None)
    if runner is not None:
        result: pa.Table = runner(expr)
        return result
    return expr.to_pyarrow()


def scalar(catalog: ModelCatalog, expr: Any) -> Any:
    """Run a one-row, one-column expression and return its value."""
    table = to_arrow(catalog, expr.as_table() if hasattr(expr, "as_table") else expr)
    return table.column(0)[0].as_py()
