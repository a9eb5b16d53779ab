"""Overlap analysis of 2 to 5 segments of one model: every intersection (UpSet data) and pairwise overlaps.

One query flags each row of the model with its membership of every segment and counts the rows
per combination of flags; every figure below is derived from those at most 2^5 counts.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from sluice.core.errors import InvalidInput
from sluice.segments.compiler import SegmentCompiler
from sluice.segments.execution import to_arrow
from sluice.segments.predicates import as_expr
from sluice.segments.spec import SegmentSpec

MIN_SEGMENTS, MAX_SEGMENTS = 2, 5


@dataclass(frozen=True)
class Intersection:
    """Rows in exactly the segments ``segment_ids`` and in none of the others."""

    segment_ids: list[str]
    count: int


@dataclass(frozen=True)
class PairOverlap:
    """Rows in both ``a`` and ``b``; ``share_of_a`` = both / size of a."""

    a: str
    b: str
    count: int
    share_of_a: float
    share_of_b: float


@dataclass
class Overlap:
    sizes: dict[str, int]
    union: int
    model_count: int
    intersections: list[Intersection] = field(default_factory=list)
    pairs: list[PairOverlap] = field(default_factory=list)


def overlap(compiler: SegmentCompiler, segments: list[SegmentSpec]) -> Overlap:
    """Sizes, exclusive intersections and pairwise overlaps of ``segments`` (same parent model)."""
    if not MIN_SEGMENTS <= len(segments) <= MAX_SEGMENTS:
        raise InvalidInput(f"overlap compares {MIN_SEGMENTS} to {MAX_SEGMENTS} segments")
    ids = [segment.id for segment in segments]
    if len(set(ids)) != len(ids):
        raise InvalidInput("each segment can appear once in an overlap")
    models = {segment.model for segment in segments}
    if len(models) != 1:
        raise InvalidInput("overlap compares segments of the same model")
    needed: set[str] = set()
    for segment in segments:
        needed |= compiler.needed_fields(segment)
    table = compiler.table(segments[0].model, needed)
    flags = {f"__s{i}": as_expr(compiler.membership(segment, table)) for i, segment in enumerate(segments)}
    flagged = table.mutate(**flags)
    counts = flagged.group_by(list(flags)).aggregate(__n=flagged.count())
    combos = [
        ([bool(row[name]) for name in flags], int(row["__n"]))
        for row in to_arrow(compiler.catalog, counts).to_pylist()
    ]
    sizes = {sid: sum(n for member, n in combos if member[i]) for i, sid in enumerate(ids)}
    result = Overlap(
        sizes=sizes,
        union=sum(n for member, n in combos if any(member)),
        model_count=sum(n for _member, n in combos),
    )
    for member, n in sorted(combos, key=lambda combo: (-combo[1], combo[0])):
        if any(member):
            result.intersections.append(
                Intersection([sid for sid, inside in zip(ids, member, strict=True) if inside], n)
            )
    for i, a in enumerate(ids):
        for j in range(i + 1, len(ids)):
            b = ids[j]
            both = sum(n for member, n in combos if member[i] and member[j])
            result.pairs.append(
                PairOverlap(
                    a, b, both, both / sizes[a] if sizes[a] else 0.0, both / sizes[b] if sizes[b] else 0.0
                )
            )
    return result
