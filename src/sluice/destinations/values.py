"""Field values as vendors' JSON APIs take them (one place for the conversion)."""

from __future__ import annotations

from decimal import Decimal
from typing import Any


def jsonable(value: Any) -> Any:
    """Dates and times as ISO-8601 strings, decimals as floats; anything else unchanged."""
    if hasattr(value, "isoformat"):
        return value.isoformat()
    if isinstance(value, Decimal):
        return float(value)
    return value
