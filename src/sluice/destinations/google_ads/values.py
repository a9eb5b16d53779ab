"""Checks of the values a conversion row carries, shared by Google's conversion destinations
(Google Ads conversions, Search Ads 360): refused before sending with a clear reason."""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any

from sluice.destinations.events import BadEventTime, event_time, stale_reason

CURRENCY = re.compile(r"[A-Z]{3}")


def blank(value: Any) -> bool:
    """Whether a mapped value is absent (None or an empty string)."""
    return value is None or value == ""


def time_reason(
    fields: Mapping[str, Any], name: str, *, now: float, max_age: float | None = None, vendor: str = ""
) -> str | None:
    """Why field ``name`` is not a usable event time: missing, unreadable, or outside the window."""
    if blank(fields.get(name)):
        return f"{name} is missing"
    try:
        moment = event_time(fields[name])
    except BadEventTime as exc:
        return f"{name}: {exc}"
    return stale_reason(moment, max_age, now, vendor)


def amount_reason(fields: Mapping[str, Any], *numbers: str) -> str | None:
    """Why the numeric fields ``numbers`` or the ``currency`` field cannot be sent."""
    for name in numbers:
        if not blank(fields.get(name)):
            try:
                float(fields[name])
            except (TypeError, ValueError):
                return f"{name} is not a number"
    currency = fields.get("currency")
    if not blank(currency) and not CURRENCY.fullmatch(str(currency).upper()):
        return "currency is not an ISO 4217 code"
    return None
