"""A reference evaluator of condition trees: plain Python over small in-memory tables.

Written independently of the compiler (it shares only the condition schema and the catalog's
metadata) so that property tests can compare the two: for any dataset and tree, the rows the
compiled query returns must be exactly the rows this evaluator keeps. It states the semantics in
the simplest code possible and is far too slow for real data.

Semantics, as documented in :mod:`sluice.schemas.segments`: conditions are two-valued (a missing
value fails a comparison, and ``negate`` is the exact complement); dates on timestamp fields cover
whole days; relative dates count from ``now`` (UTC); related rows are followed hop by hop, joining on
equal non-null keys; aggregates over no rows give ``count = sum = 0`` and no ``avg/min/max``.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from typing import Any

from sluice.core.errors import InvalidInput
from sluice.models.catalog import FieldType, ModelInfo, RelationshipInfo
from sluice.schemas.segments import (
    Aggregate,
    BetweenWindow,
    EventCondition,
    GroupCondition,
    PropertyCondition,
    PropertyOperator,
    RelationCondition,
    SegmentCondition,
)
from sluice.segments.spec import SegmentSpec, SegmentType

Row = Mapping[str, Any]


@dataclass
class ReferenceEvaluator:
    """Evaluates segments row by row over ``data`` (model name → list of rows as dicts)."""

    models: Mapping[str, ModelInfo]
    links: list[RelationshipInfo]
    data: Mapping[str, list[Row]]
    now: datetime
    segments: Mapping[str, SegmentSpec] = field(default_factory=dict)
    remote_members: Mapping[str, set[str]] = field(default_factory=dict)

    def rows(self, segment: SegmentSpec) -> list[Row]:
        """Rows of the segment's model that are in the segment, in table order."""
        return [row for row in self.data[segment.model] if self.in_segment(segment, row, [])]

    def in_segment(self, segment: SegmentSpec, row: Row, visiting: list[str]) -> bool:
        if segment.id in visiting:
            raise InvalidInput("segment membership loops back on itself")
        visiting = [*visiting, segment.id]
        if segment.type == SegmentType.REMOTE:
            assert segment.remote is not None
            value = row.get(segment.remote.identifier_field)
            if value is None:
                return False
            text = str(value).strip().lower() if segment.remote.case_insensitive else str(value)
            return text in self.remote_members.get(segment.id, set())
        assert segment.definition is not None
        if not self.matches(segment.definition.conditions, segment.model, row, visiting):
            return False
        return not any(
            self.matches(node, segment.model, row, visiting) for node in segment.definition.exclusions
        )

    def matches(self, node: Any, model: str, row: Row, visiting: list[str]) -> bool:
        result = self._matches(node, model, row, visiting)
        return (not result) if node.negate else result

    def _matches(self, node: Any, model: str, row: Row, visiting: list[str]) -> bool:
        if isinstance(node, GroupCondition):
            if not node.conditions:
                return True
            results = [self.matches(child, model, row, visiting) for child in node.conditions]
            return all(results) if node.op == "and" else any(results)
        if isinstance(node, PropertyCondition):
            info = self.models[model].fields[node.field]
            return self._property(node, row.get(node.field), info.type)
        if isinstance(node, RelationCondition):
            related = self._follow(model, row, node.path)
            target = self._target(model, node.path)
            hits = [r for r in related if self.matches(node.where, target, r, visiting)]
            if node.aggregate is None:
                return bool(hits)
            return self._aggregate(node.aggregate, hits)
        if isinstance(node, EventCondition):
            return self._event(node, model, row, visiting)
        assert isinstance(node, SegmentCondition)
        return self.in_segment(self.segments[node.segment_id], row, visiting)

    # -- related rows ---------------------------------------------------------------------------

    def _link(self, model: str, name: str) -> RelationshipInfo:
        return next(link for link in self.links if link.from_model == model and link.name == name)

    def _target(self, model: str, path: list[str]) -> str:
        for name in path:
            model = self._link(model, name).to_model
        return model

    def _follow(self, model: str, row: Row, path: list[str]) -> list[Row]:
        """Every row at the end of ``path`` from ``row``, once per path leading to it."""
        frontier = [row]
        for name in path:
            link = self._link(model, name)
            frontier = [
                other
                for current in frontier
                if current.get(link.from_field) is not None
                for other in self.data[link.to_model]
                if other.get(link.to_field) == current.get(link.from_field)
            ]
            model = link.to_model
        return frontier

    def _aggregate(self, aggregate: Aggregate, rows: list[Row]) -> bool:
        if aggregate.function == "count":
            value: float | None = len(rows)
        else:
            assert aggregate.field is not None
            numbers = [r[aggregate.field] for r in rows if r.get(aggregate.field) is not None]
            if aggregate.function == "sum":
                value = sum(numbers)
            elif not numbers:
                value = None
            elif aggregate.function == "avg":
                value = sum(numbers) / len(numbers)
            else:
                value = min(numbers) if aggregate.function == "min" else max(numbers)
        if value is None:
            return False
        return _compare(aggregate.operator.value, value, aggregate.value, aggregate.values)

    def _event(self, node: EventCondition, model: str, row: Row, visiting: list[str]) -> bool:
        link = self._link(model, node.relationship)
        info = self.models[link.to_model]
        events = self._follow(model, row, [node.relationship])
        name_field = next(
            (f.name for f in info.fields.values() if f.meaning == "event_name"),
            "event_name",
        )
        now = _utc_naive(self.now)
        kept = []
        for event in events:
            if node.event_name is not None and event.get(name_field) != node.event_name:
                continue
            if node.window is not None:
                assert info.timestamp_field is not None
                moment = event.get(info.timestamp_field)
                if moment is None:
                    continue
                if isinstance(node.window, BetweenWindow):
                    start = _start_of(node.window.start)
                    end = _end_of(node.window.end)
                    inside = start <= moment and (moment < end if _is_day(node.window.end) else moment <= end)
                else:
                    inside = now - timedelta(days=node.window.days) <= moment <= now
                if not inside:
                    continue
            if node.where.conditions and not self.matches(node.where, link.to_model, event, visiting):
                continue
            kept.append(event)
        count = len(kept)
        wanted = node.frequency.count
        return {
            "at_least": count >= wanted,
            "at_most": count <= wanted,
            "exactly": count == wanted,
        }[node.frequency.operator]

    # -- properties -----------------------------------------------------------------------------

    def _property(self, node: PropertyCondition, value: Any, field_type: FieldType) -> bool:
        op = node.operator.value
        if node.path:
            value, field_type = _json_lookup(value, node)
        if op.startswith("not_") or op == "is_not_null":
            positive = {"not_equals": "equals", "not_in": "in", "not_contains": "contains"}
            positive |= {"not_between": "between", "is_not_null": "is_null"}
            return not self._property(
                node.model_copy(update={"operator": PropertyOperator(positive[op]), "path": None}),
                value,
                field_type,
            )
        if op == "is_null":
            return value is None
        if value is None:
            return False
        if field_type in (FieldType.DATE, FieldType.TIMESTAMP):
            return self._temporal(node, value, field_type == FieldType.DATE)
        convert = _converter(field_type)
        if op == "in":
            return value in [convert(v) for v in node.values or []]
        if op == "between":
            low, high = (convert(v) for v in node.values or [])
            return bool(low <= value <= high)
        target = convert(node.value)
        tests: dict[str, Callable[[], bool]] = {
            "equals": lambda: bool(value == target),
            "contains": lambda: target in value,
            "starts_with": lambda: value.startswith(target),
            "ends_with": lambda: value.endswith(target),
            "gt": lambda: bool(value > target),
            "gte": lambda: bool(value >= target),
            "lt": lambda: bool(value < target),
            "lte": lambda: bool(value <= target),
        }
        return tests[op]()

    def _temporal(self, node: PropertyCondition, value: Any, is_date: bool) -> bool:
        op = node.operator.value
        now = _utc_naive(self.now)
        today = now.date()
        if op == "anniversary":
            if (value.month, value.day) == (today.month, today.day):
                return True
            leap = today.year % 4 == 0 and (today.year % 100 != 0 or today.year % 400 == 0)
            return (today.month, today.day) == (2, 28) and not leap and (value.month, value.day) == (2, 29)
        anchor: Any = today if is_date else now
        days = timedelta(days=node.days or 0)
        if op == "within_last_days":
            return bool(anchor - days <= value <= anchor)
        if op == "within_next_days":
            return bool(anchor <= value <= anchor + days)
        if op == "more_than_days_ago":
            return bool(value < anchor - days)

        def bounds(raw: Any) -> tuple[Any, Any, bool]:
            """(start, end, end_is_inclusive) of what a value covers."""
            moment = _parse(raw)
            if isinstance(moment, datetime) and not is_date:
                return moment, moment, True
            day = moment.date() if isinstance(moment, datetime) else moment
            if is_date:
                return day, day + timedelta(days=1), False
            start = datetime(day.year, day.month, day.day)
            return start, start + timedelta(days=1), False

        def on(raw: Any) -> bool:
            start, end, inclusive = bounds(raw)
            return bool(start <= value <= end) if inclusive else bool(start <= value < end)

        if op == "in":
            return any(on(v) for v in node.values or [])
        if op == "between":
            low = bounds((node.values or [])[0])
            high = bounds((node.values or [])[1])
            return bool(low[0] <= value) and (value <= high[1] if high[2] else value < high[1])
        start, end, inclusive = bounds(node.value)
        if op == "equals":
            return on(node.value)
        if op in ("before", "lt"):
            return bool(value < start)
        if op == "gte":
            return bool(value >= start)
        if op == "lte":
            return bool(value <= end) if inclusive else bool(value < end)
        if op in ("after", "gt"):
            return bool(value > end) if inclusive else bool(value >= end)
        raise AssertionError(op)


def _converter(field_type: FieldType) -> Callable[[Any], Any]:
    if field_type == FieldType.STRING:
        return str
    if field_type == FieldType.BOOLEAN:
        return lambda v: v if isinstance(v, bool) else str(v).lower() == "true"
    return float


def _json_lookup(value: Any, node: PropertyCondition) -> tuple[Any, FieldType]:
    document = json.loads(value) if isinstance(value, str) else value
    for key in node.path or []:
        document = document.get(key) if isinstance(document, dict) else None
    sample = node.value if node.value is not None else next(iter(node.values or []), None)
    if isinstance(sample, bool):
        return (document if isinstance(document, bool) else None), FieldType.BOOLEAN
    if isinstance(sample, int | float):
        number = isinstance(document, int | float) and not isinstance(document, bool)
        return (float(document) if number else None), FieldType.FLOAT
    return (document if isinstance(document, str) else None), FieldType.STRING


def _compare(op: str, value: float, target: float | None, targets: list[float] | None) -> bool:
    if op == "between":
        low, high = targets or [0.0, 0.0]
        return low <= value <= high
    assert target is not None
    return {
        "equals": value == target,
        "not_equals": value != target,
        "gt": value > target,
        "gte": value >= target,
        "lt": value < target,
        "lte": value <= target,
    }[op]


def _utc_naive(moment: datetime) -> datetime:
    return moment.astimezone(UTC).replace(tzinfo=None) if moment.tzinfo else moment


def _parse(raw: Any) -> date | datetime:
    text = str(raw)
    if len(text) <= 10:
        return date.fromisoformat(text)
    return _utc_naive(datetime.fromisoformat(text))


def _is_day(value: date | datetime) -> bool:
    return not isinstance(value, datetime)


def _start_of(value: date | datetime) -> datetime:
    if isinstance(value, datetime):
        return _utc_naive(value)
    return datetime(value.year, value.month, value.day)


def _end_of(value: date | datetime) -> datetime:
    if isinstance(value, datetime):
        return _utc_naive(value)
    return datetime(value.year, value.month, value.day) + timedelta(days=1)
