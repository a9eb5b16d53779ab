"""Tiny builders for the demo generator's SQL text (constants we own, never user input)."""

from __future__ import annotations

from collections.abc import Iterable, Sequence


def sql_list(values: Iterable[str]) -> str:
    """A DuckDB list literal of strings: ``['a', 'b']``."""
    quoted = ("'" + value.replace("'", "''") + "'" for value in values)
    return "[" + ", ".join(quoted) + "]"


def weighted_case(uniform: str, choices: Sequence[tuple[object, int]]) -> str:
    """``CASE`` picking one choice with probability proportional to its weight.

    ``uniform`` is an SQL expression uniform in [0, 1); each choice is (SQL value, weight).
    """
    total = sum(weight for _value, weight in choices)
    branches = []
    cumulative = 0
    for value, weight in choices[:-1]:
        cumulative += weight
        branches.append(f"WHEN {uniform} < {cumulative / total!r} THEN {value}")
    return f"(CASE {' '.join(branches)} ELSE {choices[-1][0]} END)"
