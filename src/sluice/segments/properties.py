"""Property conditions: a field compared with literal values, per field type.

Values are turned into typed Ibis literals (never spliced into SQL text). Dates are compared as
whole days: ``created_at before 2024-05-01`` means before that day starts, ``after`` means after it
ends, ``equals`` / ``between`` include whole days. Relative dates count from ``now`` (UTC).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from typing import Any

import ibis

from sluice.core.errors import InvalidInput
from sluice.models.catalog import FieldInfo, FieldType
from sluice.schemas.segments import (
    DATE_ONLY,
    STRING_ONLY,
    PropertyCondition,
    Scalar,
)
from sluice.schemas.segments import PropertyOperator as Op
from sluice.segments.json_values import json_scalar
from sluice.segments.predicates import Pred, known, negate

NUMERIC = {FieldType.INTEGER, FieldType.FLOAT, FieldType.DECIMAL}
TEMPORAL = {FieldType.DATE, FieldType.TIMESTAMP}
NEGATIONS = {
    Op.NOT_EQUALS: Op.EQUALS,
    Op.NOT_IN: Op.IN,
    Op.NOT_CONTAINS: Op.CONTAINS,
    Op.NOT_BETWEEN: Op.BETWEEN,
    Op.IS_NOT_NULL: Op.IS_NULL,
}


def utc_naive(moment: datetime) -> datetime:
    """``moment`` in UTC without tzinfo (naive values are taken as UTC)."""
    if moment.tzinfo is not None:
        moment = moment.astimezone(UTC).replace(tzinfo=None)
    return moment


def property_predicate(
    condition: PropertyCondition, column: Any, info: FieldInfo, now: datetime, dialect: str
) -> Pred:
    """The predicate of ``condition`` on ``column`` (the field ``info`` of the model in scope)."""
    operator = condition.operator
    if operator in NEGATIONS:
        positive = condition.model_copy(update={"operator": NEGATIONS[operator]})
        return negate(property_predicate(positive, column, info, now, dialect))
    field_type = info.type
    if condition.path:
        column, field_type = _json_value(column, info, condition, dialect)
    _check_operator(condition, info, field_type)
    if operator == Op.IS_NULL:
        return column.isnull()
    if field_type in TEMPORAL:
        return _temporal(condition, column, field_type, utc_naive(now))
    if operator == Op.IN:
        values = [_literal(v, field_type, condition.field) for v in condition.values or []]
        return known(column, column.isin(values))
    if operator == Op.BETWEEN:
        low, high = (_literal(v, field_type, condition.field) for v in condition.values or [])
        return known(column, (column >= low) & (column <= high))
    value = _literal(condition.value, field_type, condition.field)
    tests = {
        Op.EQUALS: lambda: column == value,
        Op.CONTAINS: lambda: column.contains(value),
        Op.STARTS_WITH: lambda: column.startswith(value),
        Op.ENDS_WITH: lambda: column.endswith(value),
        Op.GT: lambda: column > value,
        Op.GTE: lambda: column >= value,
        Op.LT: lambda: column < value,
        Op.LTE: lambda: column <= value,
    }
    return known(column, tests[operator]())


def _check_operator(condition: PropertyCondition, info: FieldInfo, field_type: FieldType) -> None:
    operator = condition.operator
    if operator in STRING_ONLY and field_type != FieldType.STRING:
        raise InvalidInput(f"{operator.value!r} works on text fields; {info.name!r} is {field_type.value}")
    if operator in DATE_ONLY and field_type not in TEMPORAL:
        raise InvalidInput(f"{operator.value!r} works on date fields; {info.name!r} is {field_type.value}")
    ordered = {Op.GT, Op.GTE, Op.LT, Op.LTE, Op.BETWEEN}
    if operator in ordered and field_type not in NUMERIC | TEMPORAL | {FieldType.STRING}:
        raise InvalidInput(f"{operator.value!r} does not apply to {field_type.value} field {info.name!r}")
    if field_type in {FieldType.JSON, FieldType.ARRAY} and operator != Op.IS_NULL:
        raise InvalidInput(f"field {info.name!r} holds {field_type.value}; give a path to compare a value")


def _json_value(
    column: Any, info: FieldInfo, condition: PropertyCondition, dialect: str
) -> tuple[Any, FieldType]:
    """The value at ``condition.path`` inside a JSON field, typed after the literal compared with."""
    if info.type != FieldType.JSON:
        raise InvalidInput(f"field {info.name!r} is not JSON; a path applies to JSON fields only")
    sample = condition.value if condition.value is not None else next(iter(condition.values or []), None)
    if sample is None and condition.operator == Op.IS_NULL:
        for key in condition.path or []:
            column = column[key]
        return column, FieldType.JSON
    kind = FieldType.STRING
    if isinstance(sample, bool):
        kind = FieldType.BOOLEAN
    elif isinstance(sample, int | float):
        kind = FieldType.FLOAT
    return json_scalar(column, condition.path or [], kind, dialect), kind


def _literal(value: Scalar | None, field_type: FieldType, field: str) -> Any:
    """``value`` as an Ibis literal of the field's type, or a clear error."""
    try:
        if field_type == FieldType.STRING:
            if isinstance(value, bool):
                raise ValueError
            return ibis.literal(str(value), type="string")
        if field_type == FieldType.BOOLEAN:
            return ibis.literal(_boolean(value), type="boolean")
        if field_type == FieldType.INTEGER:
            number = _number(value)
            if float(number).is_integer():
                return ibis.literal(int(number), type="int64")
            return ibis.literal(float(number), type="float64")
        if field_type in NUMERIC:
            return ibis.literal(float(_number(value)), type="float64")
    except (TypeError, ValueError):
        raise InvalidInput(f"{value!r} is not a valid {field_type.value} for field {field!r}") from None
    raise InvalidInput(f"field {field!r} of type {field_type.value} cannot be compared with {value!r}")


def _boolean(value: Scalar | None) -> bool:
    if isinstance(value, bool):
        return value
    if isinstance(value, str) and value.lower() in {"true", "false"}:
        return value.lower() == "true"
    raise ValueError


def _number(value: Scalar | None) -> float | int:
    if isinstance(value, bool) or value is None:
        raise ValueError
    if isinstance(value, int | float):
        return value
    return float(value) if any(c in value for c in ".eE") else int(value)


def parse_moment(value: Scalar | None, field: str) -> date | datetime:
    """An ISO date (``2024-05-01``) or timestamp (UTC unless it carries an offset)."""
    if isinstance(value, str):
        try:
            if len(value) <= 10:
                return date.fromisoformat(value)
            return utc_naive(datetime.fromisoformat(value))
        except ValueError:
            pass
    raise InvalidInput(f"{value!r} is not a date or timestamp (YYYY-MM-DD[THH:MM:SS]) for field {field!r}")


def _temporal(condition: PropertyCondition, column: Any, field_type: FieldType, now: datetime) -> Pred:
    operator = condition.operator
    as_days = field_type == FieldType.DATE
    if operator == Op.ANNIVERSARY:
        return known(column, _anniversary(column, now.date()))
    if operator in {Op.WITHIN_LAST_DAYS, Op.MORE_THAN_DAYS_AGO, Op.WITHIN_NEXT_DAYS}:
        days = timedelta(days=condition.days or 0)
        anchor: date | datetime = now.date() if as_days else now
        bounds = {
            Op.WITHIN_LAST_DAYS: (anchor - days, anchor),
            Op.WITHIN_NEXT_DAYS: (anchor, anchor + days),
        }
        if operator == Op.MORE_THAN_DAYS_AGO:
            return known(column, column < _moment_literal(anchor - days, column))
        low, high = bounds[operator]
        return known(
            column, (column >= _moment_literal(low, column)) & (column <= _moment_literal(high, column))
        )
    if operator == Op.IN:
        spans = [_span(parse_moment(v, condition.field), as_days) for v in condition.values or []]
        return known(column, _any_of([span.equals(column) for span in spans]))
    if operator == Op.BETWEEN:
        first, last = (_span(parse_moment(v, condition.field), as_days) for v in condition.values or [])
        return known(column, first.at_or_after_start(column) & last.not_after(column))
    span = _span(parse_moment(condition.value, condition.field), as_days)
    tests = {
        Op.EQUALS: span.equals,
        Op.BEFORE: span.before,
        Op.LT: span.before,
        Op.LTE: span.not_after,
        Op.AFTER: span.after,
        Op.GT: span.after,
        Op.GTE: span.at_or_after_start,
    }
    if operator not in tests:
        raise InvalidInput(f"{operator.value!r} does not apply to date field {condition.field!r}")
    return known(column, tests[operator](column))


@dataclass(frozen=True)
class _Span:
    """What a date value covers: a whole day ``[start, end)``, or one instant (``start == end``)."""

    start: date | datetime
    end: date | datetime
    instant: bool

    def equals(self, column: Any) -> Any:
        if self.instant:
            return column == _moment_literal(self.start, column)
        return self.at_or_after_start(column) & self.not_after(column)

    def before(self, column: Any) -> Any:
        return column < _moment_literal(self.start, column)

    def at_or_after_start(self, column: Any) -> Any:
        return column >= _moment_literal(self.start, column)

    def not_after(self, column: Any) -> Any:
        end = _moment_literal(self.end, column)
        return column <= end if self.instant else column < end

    def after(self, column: Any) -> Any:
        end = _moment_literal(self.end, column)
        return column > end if self.instant else column >= end


def _span(moment: date | datetime, as_days: bool) -> _Span:
    if isinstance(moment, datetime):
        if as_days:
            return _Span(moment.date(), moment.date() + timedelta(days=1), instant=False)
        return _Span(moment, moment, instant=True)
    start = moment if as_days else datetime(moment.year, moment.month, moment.day)
    return _Span(start, start + timedelta(days=1), instant=False)


def _any_of(tests: list[Any]) -> Any:
    combined = tests[0]
    for test in tests[1:]:
        combined = combined | test
    return combined


def _moment_literal(moment: date | datetime, column: Any) -> Any:
    """A date or timestamp literal matching the column's type (and time zone, if it has one)."""
    dtype = column.type()
    if dtype.is_date():
        value = moment.date() if isinstance(moment, datetime) else moment
        return ibis.literal(value, type="date")
    if not isinstance(moment, datetime):
        moment = datetime(moment.year, moment.month, moment.day)
    if getattr(dtype, "timezone", None):
        return ibis.literal(moment.replace(tzinfo=UTC), type=dtype)
    return ibis.literal(moment, type="timestamp")


def _anniversary(column: Any, today: date) -> Any:
    """Same month and day as ``today``; 29 February counts on 28 February in other years."""
    same_day = (column.month() == today.month) & (column.day() == today.day)
    if today.month == 2 and today.day == 28 and not _is_leap(today.year):
        return same_day | ((column.month() == 2) & (column.day() == 29))
    return same_day


def _is_leap(year: int) -> bool:
    return year % 4 == 0 and (year % 100 != 0 or year % 400 == 0)
