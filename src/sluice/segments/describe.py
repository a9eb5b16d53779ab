"""Short human descriptions of conditions, for per-condition counts and the CLI."""

from __future__ import annotations

from typing import Any

from sluice.schemas.segments import (
    BetweenWindow,
    Condition,
    EventCondition,
    GroupCondition,
    PropertyCondition,
    RelationCondition,
)

MAX_VALUE_TEXT = 40


def describe(node: Condition) -> str:
    """``country equals 'FR'``, ``not orders: sum(total) gt 500``, ``event purchase at least 1 in last 7 days``."""
    text = _describe(node)
    return f"not ({text})" if node.negate else text


def _describe(node: Condition) -> str:
    if isinstance(node, GroupCondition):
        return f"{node.op} of {len(node.conditions)} conditions" if node.conditions else "every row"
    if isinstance(node, PropertyCondition):
        field = ".".join([node.field, *(node.path or [])])
        operand = _operand(node)
        return f"{field} {node.operator.value.replace('_', ' ')}{operand}"
    if isinstance(node, RelationCondition):
        path = " → ".join(node.path)
        filters = f" where {len(node.where.conditions)} conditions" if node.where.conditions else ""
        if node.aggregate is None:
            return f"{path}: exists{filters}"
        agg = node.aggregate
        target = f"{agg.function}({agg.field or '*'})"
        value = agg.values if agg.values is not None else agg.value
        return f"{path}: {target} {agg.operator.value} {value}{filters}"
    if isinstance(node, EventCondition):
        name = node.event_name or "any event"
        window = ""
        if isinstance(node.window, BetweenWindow):
            window = f" between {node.window.start} and {node.window.end}"
        elif node.window is not None:
            window = f" in the last {node.window.days} days"
        frequency = f"{node.frequency.operator.replace('_', ' ')} {node.frequency.count}"
        return f"event {name} {frequency}{window}"
    return f"in segment {node.segment_id}"


def _operand(node: PropertyCondition) -> str:
    if node.days is not None:
        return f" {node.days} days"
    if node.values is not None:
        return " " + ", ".join(_short(v) for v in node.values)
    if node.value is not None:
        return " " + _short(node.value)
    return ""


def _short(value: Any) -> str:
    text = repr(value)
    return text if len(text) <= MAX_VALUE_TEXT else text[: MAX_VALUE_TEXT - 1] + "…'"
