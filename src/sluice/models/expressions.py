"""Small SQL expressions written by users (calculated fields, aggregate filters) as Ibis expressions.

The text is parsed with sqlglot and rebuilt node by node with Ibis, so it compiles to every source
dialect and can only read the model's own fields: no subqueries, no functions outside the list below.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import ibis
import sqlglot
from sqlglot import expressions as sge
from sqlglot.errors import ParseError

from sluice.core.errors import InvalidInput

_BINARY: dict[type[sge.Expr], Callable[[Any, Any], Any]] = {
    sge.Add: lambda a, b: a + b,
    sge.Sub: lambda a, b: a - b,
    sge.Mul: lambda a, b: a * b,
    sge.Div: lambda a, b: a / b,
    sge.Mod: lambda a, b: a % b,
    sge.EQ: lambda a, b: a == b,
    sge.NEQ: lambda a, b: a != b,
    sge.GT: lambda a, b: a > b,
    sge.GTE: lambda a, b: a >= b,
    sge.LT: lambda a, b: a < b,
    sge.LTE: lambda a, b: a <= b,
    sge.And: lambda a, b: a & b,
    sge.Or: lambda a, b: a | b,
    sge.DPipe: lambda a, b: a.cast("string").concat(b.cast("string")),
}

_FUNCTIONS: dict[type[sge.Expr], Callable[..., Any]] = {
    sge.Lower: lambda x: x.lower(),
    sge.Upper: lambda x: x.upper(),
    sge.Length: lambda x: x.length(),
    sge.Trim: lambda x: x.strip(),
    sge.Abs: lambda x: x.abs(),
    sge.Floor: lambda x: x.floor(),
    sge.Ceil: lambda x: x.ceil(),
}

SUPPORTED = (
    "columns, literals, + - * / %, ||, comparisons, AND/OR/NOT, IS [NOT] NULL, IN (...), LIKE, "
    "BETWEEN, CASE WHEN, COALESCE, LOWER, UPPER, LENGTH, TRIM, ABS, ROUND, FLOOR, CEIL, CONCAT"
)


def parse_expression(text: str) -> sge.Expr:
    """Parse ``text`` as one SQL scalar expression (clear error otherwise)."""
    try:
        tree = sqlglot.parse_one(text)
    except ParseError as exc:
        raise InvalidInput(f"cannot read the expression {text!r}: {str(exc).splitlines()[0]}") from None
    if tree.find(sge.Select, sge.Subquery):
        raise InvalidInput("expressions cannot contain subqueries")
    return tree


def referenced_fields(text: str) -> set[str]:
    """Names of the fields an expression reads."""
    return {column.name for column in parse_expression(text).find_all(sge.Column)}


def to_ibis(text: str, table: ibis.Table) -> ibis.Value:
    """The expression ``text`` evaluated over the columns of ``table``."""
    return _build(parse_expression(text), table)


def _build(node: sge.Expr, table: ibis.Table) -> Any:
    build: Callable[[sge.Expr], Any] = lambda child: _build(child, table)  # noqa: E731
    if isinstance(node, sge.Paren):
        return build(node.this)
    if isinstance(node, sge.Column):
        if node.name not in table.columns:
            raise InvalidInput(f"unknown field {node.name!r} in expression")
        return table[node.name]
    if isinstance(node, sge.Literal):
        if node.is_string:
            return ibis.literal(node.this)
        number = float(node.this)
        return ibis.literal(int(number) if number.is_integer() and "." not in node.this else number)
    if isinstance(node, sge.Boolean):
        return ibis.literal(bool(node.this))
    if isinstance(node, sge.Null):
        return ibis.null()
    if type(node) in _BINARY:
        return _BINARY[type(node)](build(node.this), build(node.expression))
    if isinstance(node, sge.Neg):
        return -build(node.this)
    if isinstance(node, sge.Not):
        inner = node.this
        if isinstance(inner, sge.Is):
            return build(inner.this).notnull()
        return ~build(inner)
    if isinstance(node, sge.Is) and isinstance(node.expression, sge.Null):
        return build(node.this).isnull()
    if isinstance(node, sge.In):
        return build(node.this).isin([build(item) for item in node.expressions])
    if isinstance(node, sge.Like | sge.ILike):
        value = build(node.this)
        pattern = build(node.expression)
        return value.ilike(pattern) if isinstance(node, sge.ILike) else value.like(pattern)
    if isinstance(node, sge.Between):
        return build(node.this).between(build(node.args["low"]), build(node.args["high"]))
    if isinstance(node, sge.Case):
        case = [(build(branch.this), build(branch.args["true"])) for branch in node.args.get("ifs", [])]
        default = node.args.get("default")
        return ibis.cases(*case, else_=build(default) if default is not None else None)
    if isinstance(node, sge.If):
        false = node.args.get("false")
        return ibis.ifelse(build(node.this), build(node.args["true"]), build(false) if false else ibis.null())
    if isinstance(node, sge.Coalesce):
        return ibis.coalesce(build(node.this), *[build(item) for item in node.expressions])
    if isinstance(node, sge.Round):
        digits = node.args.get("decimals")
        return build(node.this).round(int(digits.this) if digits is not None else 0)
    if isinstance(node, sge.Concat):
        parts = [build(item).cast("string") for item in node.expressions]
        result = parts[0]
        for part in parts[1:]:
            result = result.concat(part)
        return result
    if type(node) in _FUNCTIONS:
        return _FUNCTIONS[type(node)](build(node.this))
    name = node.sql() if not isinstance(node, sge.Anonymous) else f"{node.name}()"
    raise InvalidInput(f"{name} is not supported in calculated fields; supported: {SUPPORTED}")
