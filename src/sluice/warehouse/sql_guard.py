"""Model SQL must be one read-only query: checked with sqlglot before the warehouse sees it.

The warehouse then runs it wrapped as a subquery (``SELECT * FROM (<sql>) …``), so a statement
sqlglot could not read is refused by the warehouse's own parser, with its own message.
"""

from __future__ import annotations

import sqlglot
from sqlglot import expressions as sge
from sqlglot.errors import ParseError

from sluice.core.errors import InvalidInput

_WRITES = (
    sge.Insert,
    sge.Update,
    sge.Delete,
    sge.Merge,
    sge.Create,
    sge.Drop,
    sge.Alter,
    sge.Command,
    sge.Into,
    sge.TruncateTable,
)


def check_read_only(sql: str, dialect: str) -> None:
    """Raise :class:`InvalidInput` unless ``sql`` is a single read-only SELECT (or cannot be parsed)."""
    text = sql.strip().rstrip(";").strip()
    if not text:
        raise InvalidInput("the model SQL is empty")
    try:
        statements = [item for item in sqlglot.parse(text, dialect=_sqlglot_dialect(dialect)) if item]
    except ParseError:
        return  # the warehouse reports the syntax error in its own words
    if len(statements) != 1:
        raise InvalidInput("the model SQL must be a single SELECT statement, not several statements")
    tree = statements[0]
    if not isinstance(tree, sge.Query) or any(tree.find_all(*_WRITES)):
        raise InvalidInput("the model SQL must be a read-only SELECT query (no INSERT, UPDATE, DDL, …)")


def _sqlglot_dialect(dialect: str) -> str:
    return {"pyspark": "spark"}.get(dialect, dialect)
