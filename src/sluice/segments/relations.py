"""Relation and event conditions: related rows along relationships, compiled to semi-joins.

"Some related row matches" becomes ``key IN (SELECT link FROM related WHERE …)`` (one subquery per
hop for multi-hop paths). Aggregates group the matching related rows by the link key and keep the
keys whose aggregate passes; when zero related rows would pass too (``count < 3``, ``sum <= 0``), the
condition is compiled as "not among the keys whose aggregate fails", so rows without related rows
match. Aggregates over multi-hop paths count every path to a related row (join semantics).
Event conditions are counts of matching events, with the event name and time window as filters.
"""

from __future__ import annotations

import operator
from collections.abc import Callable, Sequence
from datetime import date, datetime, timedelta
from typing import TYPE_CHECKING, Any

import ibis

from sluice.core.errors import InvalidInput
from sluice.models.catalog import ModelCatalog, ModelType, RelationshipInfo
from sluice.schemas.segments import (
    Aggregate,
    BetweenWindow,
    Comparison,
    EventCondition,
    GroupCondition,
    PropertyCondition,
    PropertyOperator,
    RelationCondition,
)
from sluice.segments.predicates import Pred, apply, known, negate
from sluice.segments.properties import NUMERIC, utc_naive

if TYPE_CHECKING:
    from sluice.segments.compiler import SegmentCompiler

LINK = "__link"
VALUE = "__value"
METRIC = "__metric"
EVENT_NAME_MEANING = "event_name"


def resolve_path(catalog: ModelCatalog, model: str, path: Sequence[str]) -> list[RelationshipInfo]:
    """The relationships named by ``path``, hop by hop from ``model``."""
    hops: list[RelationshipInfo] = []
    current = model
    for name in path:
        found = [link for link in catalog.relationships(current) if link.name == name]
        if not found:
            known_names = ", ".join(sorted(link.name for link in catalog.relationships(current))) or "none"
            raise InvalidInput(
                f"model {current!r} has no relationship {name!r} (its relationships: {known_names})"
            )
        hops.append(found[0])
        current = found[0].to_model
    return hops


def relation_predicate(
    compiler: SegmentCompiler, node: RelationCondition, model: str, table: Any, stack: tuple[Any, ...]
) -> Pred:
    hops = resolve_path(compiler.catalog, model, node.path)
    if node.aggregate is None:
        return _exists(compiler, hops, node.where, table, stack)
    return _aggregate(compiler, hops, node.where, node.aggregate, table, stack)


def event_predicate(
    compiler: SegmentCompiler, node: EventCondition, model: str, table: Any, stack: tuple[Any, ...]
) -> Pred:
    hops = resolve_path(compiler.catalog, model, [node.relationship])
    events = compiler.catalog.model(hops[0].to_model)
    if events.type != ModelType.EVENTS:
        raise InvalidInput(
            f"relationship {node.relationship!r} leads to {events.name!r}, not an events model"
        )
    filters: list[Any] = []
    if node.event_name is not None:
        name_field = _event_name_field(events)
        filters.append(
            PropertyCondition(field=name_field, operator=PropertyOperator.EQUALS, value=node.event_name)
        )
    if node.window is not None:
        if events.timestamp_field is None:
            raise InvalidInput(f"events model {events.name!r} has no timestamp field for a time window")
        filters.extend(_window(node.window, events.timestamp_field, compiler.now))
    where = GroupCondition(conditions=[*filters, *([node.where] if node.where.conditions else [])])
    frequency = node.frequency
    comparison = {"at_least": Comparison.GTE, "at_most": Comparison.LTE, "exactly": Comparison.EQUALS}
    count = Aggregate(function="count", operator=comparison[frequency.operator], value=frequency.count)
    return _aggregate(compiler, hops, where, count, table, stack)


def _event_name_field(events: Any) -> str:
    for info in events.fields.values():
        if info.meaning == EVENT_NAME_MEANING:
            return str(info.name)
    if EVENT_NAME_MEANING in events.fields:
        return EVENT_NAME_MEANING
    raise InvalidInput(f"events model {events.name!r} has no field with the meaning 'event_name'")


def _window(window: Any, field: str, now: datetime) -> list[PropertyCondition]:
    """Time-window filters as property conditions on the events' timestamp field."""
    if isinstance(window, BetweenWindow):
        return [
            PropertyCondition(field=field, operator=PropertyOperator.GTE, value=window.start.isoformat()),
            PropertyCondition(field=field, operator=PropertyOperator.LTE, value=window.end.isoformat()),
        ]
    now = utc_naive(now)
    start = now - timedelta(days=window.days)
    return [
        PropertyCondition(field=field, operator=PropertyOperator.GTE, value=_iso(start)),
        PropertyCondition(field=field, operator=PropertyOperator.LTE, value=_iso(now)),
    ]


def _iso(moment: date | datetime) -> str:
    text = moment.isoformat()
    return text if len(text) > 10 else text + "T00:00:00"


def _matching(
    compiler: SegmentCompiler,
    hops: list[RelationshipInfo],
    where: GroupCondition,
    extra: set[str],
    stack: Any,
) -> Any:
    """Rows of the last model on the path that match ``where``."""
    last = hops[-1]
    needed: set[str] = {last.to_field, *extra}
    compiler.collect_fields(where, last.to_model, needed, stack)
    related = compiler.table(last.to_model, needed)
    return apply(related, compiler.condition_predicate(where, last.to_model, related, stack))


def _exists(
    compiler: SegmentCompiler, hops: list[RelationshipInfo], where: GroupCondition, table: Any, stack: Any
) -> Pred:
    matched = _matching(compiler, hops, where, set(), stack)
    link = matched[hops[-1].to_field]
    keys = matched.filter(link.notnull()).select(**{LINK: link})
    for inner, outer in zip(reversed(hops[1:]), reversed(hops[:-1]), strict=True):
        middle = compiler.table(inner.from_model, {inner.from_field, outer.to_field})
        step = middle[inner.from_field].isin(keys[LINK]) & middle[outer.to_field].notnull()
        keys = middle.filter(step).select(**{LINK: middle[outer.to_field]})
    column = table[hops[0].from_field]
    return known(column, column.isin(keys[LINK]))


def _aggregate(
    compiler: SegmentCompiler,
    hops: list[RelationshipInfo],
    where: GroupCondition,
    aggregate: Aggregate,
    table: Any,
    stack: Any,
) -> Pred:
    shortcut = _count_as_exists(aggregate)
    if shortcut is not None:
        found = _exists(compiler, hops, where, table, stack)
        return found if shortcut else negate(found)
    target = compiler.catalog.model(hops[-1].to_model)
    if aggregate.field is not None:
        if aggregate.field not in target.fields:
            raise InvalidInput(f"model {target.name!r} has no field {aggregate.field!r}")
        if aggregate.function != "count" and target.fields[aggregate.field].type not in NUMERIC:
            raise InvalidInput(f"{aggregate.function} needs a numeric field; {aggregate.field!r} is not")
    extra = {aggregate.field} if aggregate.field else set()
    matched = _matching(compiler, hops, where, extra, stack)
    value = matched[aggregate.field] if aggregate.field else ibis.literal(1)
    rows = matched.select(**{LINK: matched[hops[-1].to_field], VALUE: value})
    for inner, outer in zip(reversed(hops[1:]), reversed(hops[:-1]), strict=True):
        middle = compiler.table(inner.from_model, {inner.from_field, outer.to_field})
        joined = middle.join(rows, middle[inner.from_field] == rows[LINK])
        rows = joined.select(**{LINK: joined[outer.to_field], VALUE: joined[VALUE]})
    rows = rows.filter(rows[LINK].notnull())
    grouped = rows.group_by(LINK).aggregate(**{METRIC: _metric(aggregate.function, rows)})
    compare = _comparison(aggregate)
    column = table[hops[0].from_field]
    if aggregate.function in {"count", "sum"} and compare(0):
        failing = grouped.filter(~compare(grouped[METRIC]))[LINK]
        return negate(known(column, column.isin(failing)))
    passing = grouped.filter(compare(grouped[METRIC]))[LINK]
    return known(column, column.isin(passing))


def _count_as_exists(aggregate: Aggregate) -> bool | None:
    """``count >= 1`` is "exists" and ``count = 0`` is "not exists": cheaper as semi-joins."""
    if aggregate.function != "count" or aggregate.value is None:
        return None
    op, value = aggregate.operator, aggregate.value
    if (op == Comparison.GTE and value == 1) or (op == Comparison.GT and value == 0):
        return True
    if (op in {Comparison.EQUALS, Comparison.LTE} and value == 0) or (op == Comparison.LT and value == 1):
        return False
    return None


def _metric(function: str, rows: Any) -> Any:
    if function == "count":
        return rows.count()
    column = rows[VALUE]
    if function == "sum":
        return column.sum().fill_null(0)
    if function == "avg":
        return column.mean()
    return column.min() if function == "min" else column.max()


def _comparison(aggregate: Aggregate) -> Callable[[Any], Any]:
    """The aggregate's comparison, usable on Ibis values and on Python numbers alike."""
    if aggregate.operator == Comparison.BETWEEN:
        low, high = aggregate.values or [0.0, 0.0]
        return lambda x: (x >= low) & (x <= high)
    ops: dict[Comparison, Callable[[Any, Any], Any]] = {
        Comparison.EQUALS: operator.eq,
        Comparison.NOT_EQUALS: operator.ne,
        Comparison.GT: operator.gt,
        Comparison.GTE: operator.ge,
        Comparison.LT: operator.lt,
        Comparison.LTE: operator.le,
    }
    compare, value = ops[aggregate.operator], aggregate.value
    return lambda x: compare(x, value)
