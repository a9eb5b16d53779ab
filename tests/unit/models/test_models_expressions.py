"""Row expressions of calculated fields: translated to Ibis, evaluated by DuckDB, unsafe input refused."""

from __future__ import annotations

import ibis
import pytest

from sluice.core.errors import InvalidInput
from sluice.models.expressions import referenced_fields, to_ibis

TABLE = ibis.memtable(
    {"qty": [2, 3, None], "price": [1.5, 2.0, 4.0], "name": ["Ann", "bob", "Cy"], "vip": [True, False, None]}
)


@pytest.mark.parametrize(
    ("expression", "expected"),
    [
        ("qty * price", [3.0, 6.0, None]),
        ("coalesce(qty, 0) + 1", [3, 4, 1]),
        ("name || '!'", ["Ann!", "bob!", "Cy!"]),
        ("upper(name)", ["ANN", "BOB", "CY"]),
        ("CASE WHEN price >= 2 THEN 'high' ELSE 'low' END", ["low", "high", "high"]),
        ("qty IS NULL", [False, False, True]),
        ("lower(name) IN ('ann', 'cy')", [True, False, True]),
        ("price BETWEEN 1 AND 2 AND NOT vip", [False, True, False]),
        ("round(price / 3, 1)", [0.5, 0.7, 1.3]),
        ("name LIKE 'A%'", [True, False, False]),
    ],
)
def test_expression_values(expression: str, expected: list[object]) -> None:
    result = TABLE.select(value=to_ibis(expression, TABLE)).to_pyarrow()["value"].to_pylist()
    assert result == expected


@pytest.mark.parametrize(
    ("expression", "message"),
    [
        ("nope + 1", "unknown field 'nope'"),
        ("(SELECT max(qty) FROM other)", "subqueries"),
        ("read_csv('/etc/passwd')", "not supported"),
        ("qty +", "cannot read the expression"),
    ],
)
def test_unsafe_or_wrong_expressions_are_refused(expression: str, message: str) -> None:
    with pytest.raises(InvalidInput, match=message):
        to_ibis(expression, TABLE)


def test_referenced_fields() -> None:
    assert referenced_fields("first_name || ' ' || last_name") == {"first_name", "last_name"}
