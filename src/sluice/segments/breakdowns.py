"""Breakdowns: segment size by one or two categorical fields, beside the whole model's."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import ibis

from sluice.core.errors import InvalidInput
from sluice.models.catalog import FieldType
from sluice.segments.compiler import SegmentCompiler
from sluice.segments.execution import to_arrow
from sluice.segments.predicates import as_expr
from sluice.segments.spec import SegmentSpec

MAX_BUCKETS = 200
BREAKABLE = {FieldType.STRING, FieldType.BOOLEAN, FieldType.INTEGER}


@dataclass(frozen=True)
class Bucket:
    """One combination of values: rows in the segment and in the model, and their shares.

    ``share_of_segment`` = count / segment size; ``share_of_model`` = model_count / model size (the
    bucket's weight in the whole model, to compare with); ``penetration`` = count / model_count.
    """

    values: dict[str, Any]
    count: int
    model_count: int
    share_of_segment: float
    share_of_model: float
    penetration: float


@dataclass
class Breakdown:
    fields: list[str]
    segment_count: int
    model_count: int
    buckets: list[Bucket] = field(default_factory=list)


def breakdown(
    compiler: SegmentCompiler, segment: SegmentSpec, fields: list[str], *, limit: int = 50
) -> Breakdown:
    """Buckets of ``fields`` (one or two categorical fields), largest in the segment first."""
    if not 1 <= len(fields) <= 2 or len(set(fields)) != len(fields):
        raise InvalidInput("a breakdown is by one or two different fields")
    if not 1 <= limit <= MAX_BUCKETS:
        raise InvalidInput(f"a breakdown shows between 1 and {MAX_BUCKETS} buckets")
    info = compiler.catalog.model(segment.model)
    for name in fields:
        if name not in info.fields:
            raise InvalidInput(f"model {info.name!r} has no field {name!r}")
        column = info.fields[name]
        if not column.categorical and column.type not in BREAKABLE:
            raise InvalidInput(f"field {name!r} is not categorical; break down by a categorical field")
    table = compiler.parent_table(segment, fields=fields)
    member = as_expr(compiler.predicate(segment, table))
    totals = to_arrow(
        compiler.catalog, table.aggregate(model=table.count(), segment=table.count(where=member))
    ).to_pylist()[0]
    grouped = (
        table.group_by(fields)
        .aggregate(__count=table.count(where=member), __model=table.count())
        .order_by([ibis.desc("__count"), ibis.desc("__model"), *fields])
        .limit(limit)
    )
    segment_total, model_total = int(totals["segment"]), int(totals["model"])
    result = Breakdown(fields=list(fields), segment_count=segment_total, model_count=model_total)
    for row in to_arrow(compiler.catalog, grouped).to_pylist():
        count, model_count = int(row["__count"]), int(row["__model"])
        result.buckets.append(
            Bucket(
                values={name: row[name] for name in fields},
                count=count,
                model_count=model_count,
                share_of_segment=_ratio(count, segment_total),
                share_of_model=_ratio(model_count, model_total),
                penetration=_ratio(count, model_count),
            )
        )
    return result


def _ratio(part: int, whole: int) -> float:
    return part / whole if whole else 0.0
