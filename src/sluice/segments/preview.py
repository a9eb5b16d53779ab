"""Preview of a segment: its size, sample rows, and how many rows each condition matches.

Counts come from one aggregate query over the parent model (segment size, model size and one
``COUNT(*) FILTER (WHERE …)`` per condition), sample rows from a second, limited query.
"""

from __future__ import annotations

from collections.abc import Collection, Iterator
from dataclasses import dataclass, field
from typing import Any

from sluice.core.errors import InvalidInput
from sluice.schemas.segments import Condition, GroupCondition
from sluice.segments.compiler import SegmentCompiler
from sluice.segments.describe import describe
from sluice.segments.execution import to_arrow
from sluice.segments.predicates import apply, as_expr
from sluice.segments.spec import SegmentSpec, SegmentType

MAX_SAMPLE_ROWS = 500
MAX_EXPLAINED = 60


@dataclass(frozen=True)
class ConditionCount:
    """Rows of the model matching one condition on its own (``path`` locates it in the tree)."""

    path: str
    description: str
    count: int


@dataclass
class Preview:
    """What the builder shows while a segment is edited."""

    count: int
    model_count: int
    columns: list[str]
    rows: list[dict[str, Any]]
    conditions: list[ConditionCount] = field(default_factory=list)


def preview(
    compiler: SegmentCompiler,
    segment: SegmentSpec,
    *,
    columns: Collection[str] | None = None,
    limit: int = 20,
    explain: bool = True,
) -> Preview:
    """Size, sample rows (``columns``, default every field) and per-condition counts of ``segment``."""
    if not 0 <= limit <= MAX_SAMPLE_ROWS:
        raise InvalidInput(f"a preview shows at most {MAX_SAMPLE_ROWS} rows")
    info = compiler.catalog.model(segment.model)
    wanted = list(columns) if columns else list(info.fields)
    unknown = [name for name in wanted if name not in info.fields]
    if unknown:
        raise InvalidInput(f"model {info.name!r} has no field {unknown[0]!r}")
    table = compiler.parent_table(segment, fields=wanted)
    pred = compiler.predicate(segment, table)
    nodes = list(_nodes(segment))[:MAX_EXPLAINED] if explain else []
    metrics = {"__model": table.count(), "__segment": table.count(where=as_expr(pred))}
    for index, (_path, node) in enumerate(nodes):
        node_pred = compiler.condition_predicate(node, segment.model, table)
        metrics[f"__c{index}"] = table.count(where=as_expr(node_pred))
    counts = to_arrow(compiler.catalog, table.aggregate(**metrics)).to_pylist()[0]
    rows: list[dict[str, Any]] = []
    if limit:
        sample = apply(table, pred).select(*wanted).order_by(info.primary_key).limit(limit)
        rows = to_arrow(compiler.catalog, sample).to_pylist()
    return Preview(
        count=int(counts["__segment"]),
        model_count=int(counts["__model"]),
        columns=wanted,
        rows=rows,
        conditions=[
            ConditionCount(path, describe(node), int(counts[f"__c{index}"]))
            for index, (path, node) in enumerate(nodes)
        ],
    )


def count_expression(compiler: SegmentCompiler, segment: SegmentSpec) -> Any:
    """One-row expression counting the rows in ``segment`` (column ``n``)."""
    rows = compiler.rows(segment, fields=())
    return rows.aggregate(n=rows.count())


def count(compiler: SegmentCompiler, segment: SegmentSpec) -> int:
    """Number of rows in ``segment`` (the estimate shown next to a segment's name)."""
    return int(to_arrow(compiler.catalog, count_expression(compiler, segment)).to_pylist()[0]["n"])


def _nodes(segment: SegmentSpec) -> Iterator[tuple[str, Condition]]:
    """Every condition on the parent model, with its path (``conditions.1.0``, ``exclusions.0``)."""
    if segment.type == SegmentType.REMOTE or segment.definition is None:
        return
    yield from _walk(segment.definition.conditions, "conditions")
    for index, node in enumerate(segment.definition.exclusions):
        yield f"exclusions.{index}", node
        if isinstance(node, GroupCondition):
            yield from _walk(node, f"exclusions.{index}")


def _walk(group: GroupCondition, prefix: str) -> Iterator[tuple[str, Condition]]:
    for index, child in enumerate(group.conditions):
        path = f"{prefix}.{index}"
        yield path, child
        if isinstance(child, GroupCondition):
            yield from _walk(child, path)
