"""The audience of a segment as the sync engine extracts it."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sluice.models.catalog import ModelCatalog
from sluice.segments.compiler import SegmentCompiler
from sluice.segments.remote import NO_REMOTE_MEMBERSHIP, RemoteMembership
from sluice.segments.spec import NO_SEGMENTS, SegmentResolver, SegmentSpec


def segment_rows(
    segment: SegmentSpec,
    catalog: ModelCatalog,
    now: datetime,
    *,
    segments: SegmentResolver = NO_SEGMENTS,
    remote: RemoteMembership = NO_REMOTE_MEMBERSHIP,
) -> Any:
    """``ibis.Table`` of the parent model's rows in ``segment``: primary key and every field.

    One expression, pushed down entirely; ``now`` anchors relative dates and event windows.
    ``segments`` resolves membership conditions, ``remote`` gives remote segments' members.
    Rows with null or duplicate keys are returned as they are (validation reports them).
    """
    compiler = SegmentCompiler(catalog, now=now, segments=segments, remote=remote)
    return compiler.rows(segment)
