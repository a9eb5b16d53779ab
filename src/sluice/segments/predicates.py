"""Boolean predicates with constant folding, and the two-valued logic of conditions.

A :data:`Pred` is either a Python ``bool`` (known at compile time: an empty group matches every row)
or an Ibis boolean expression. Leaves are made two-valued (never SQL NULL) so that negation is an
exact complement: ``known(column, test)`` is false when the column is null.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

import ibis
import ibis.expr.operations as ops

Pred = Any
"""``bool`` or an Ibis ``BooleanValue``."""


def known(column: Any, test: Any) -> Any:
    """``test`` where ``column`` has a value, false where it is null (never NULL).

    On a plain column this is ``column IS NOT NULL AND test`` (filters still push down); on a computed
    value (a JSON lookup) ``COALESCE(test, FALSE)``, so the value is computed once.
    """
    if isinstance(column.op(), ops.Field):
        return column.notnull() & test
    return test.fill_null(False)


def negate(pred: Pred) -> Pred:
    if isinstance(pred, bool):
        return not pred
    return ~pred


def all_of(preds: Iterable[Pred]) -> Pred:
    parts: list[Any] = []
    for pred in preds:
        if pred is False:
            return False
        if pred is not True:
            parts.append(pred)
    if not parts:
        return True
    combined = parts[0]
    for part in parts[1:]:
        combined = combined & part
    return combined


def any_of(preds: Iterable[Pred]) -> Pred:
    parts: list[Any] = []
    for pred in preds:
        if pred is True:
            return True
        if pred is not False:
            parts.append(pred)
    if not parts:
        return False
    combined = parts[0]
    for part in parts[1:]:
        combined = combined | part
    return combined


def as_expr(pred: Pred) -> Any:
    """An Ibis boolean expression for ``pred`` (constants become literals)."""
    if isinstance(pred, bool):
        return ibis.literal(pred)
    return pred


def apply(table: Any, pred: Pred) -> Any:
    """``table`` filtered by ``pred`` (no filter at all for a constant true)."""
    if pred is True:
        return table
    return table.filter(as_expr(pred))
