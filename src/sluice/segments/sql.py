"""Show SQL: the query a segment runs, in its source's dialect or any other Ibis knows."""

from __future__ import annotations

import ibis

from sluice.core.errors import InvalidInput
from sluice.segments.compiler import SegmentCompiler
from sluice.segments.spec import SegmentSpec

DIALECTS = ("duckdb", "postgres", "snowflake", "bigquery", "databricks", "redshift", "trino", "mysql")


def segment_sql(compiler: SegmentCompiler, segment: SegmentSpec, *, dialect: str | None = None) -> str:
    """``SELECT`` of the segment's rows (every field) in ``dialect`` (default: the source's).

    In the source's own dialect the source compiles it (SQL models spliced in, as it will run).
    """
    source = compiler.catalog.dialect
    target = dialect or source
    if target not in DIALECTS:
        raise InvalidInput(f"unknown SQL dialect {target!r}; choose one of {', '.join(DIALECTS)}")
    expr = compiler.rows(segment)
    compile_on_source = getattr(compiler.catalog, "compile", None)
    if target == source and compile_on_source is not None:
        return str(compile_on_source(expr))
    return str(ibis.to_sql(expr, dialect=target))
