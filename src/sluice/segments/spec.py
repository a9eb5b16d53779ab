"""What the engine needs to know about a segment, independent of how it is stored."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta
from enum import StrEnum
from typing import Protocol

from sluice.core.errors import NotFound
from sluice.schemas.segments import SegmentDefinition


class SegmentType(StrEnum):
    """``conditions``: a condition tree; ``remote``: membership read back from a destination."""

    CONDITIONS = "conditions"
    REMOTE = "remote"


@dataclass(frozen=True)
class RemoteSource:
    """Where a remote segment's members come from and how they join the parent model.

    ``identifier_field`` is the parent model's field holding the identifier the destination knows
    (``email``, ``crm_id``, …).
    """

    destination_id: str
    remote_id: str
    identifier_field: str
    remote_kind: str | None = None
    remote_identifier: str = "email"

    @property
    def case_insensitive(self) -> bool:
        """Emails match whatever their case (members are stored lower-cased)."""
        return self.remote_identifier == "email"


#: How long a materialised segment stands in for its conditions in other segments' membership conditions.
MATERIALIZED_MAX_AGE = timedelta(hours=24)


@dataclass(frozen=True)
class Materialization:
    """Where a segment's keys were last written in the bookkeeping schema, and for which definition.

    The table has one column, the model's primary key. ``signature`` covers the segment's model,
    primary key and conditions (and those of every segment
    it includes), so an edited segment never reads keys computed for its old definition.
    """

    schema: str
    table: str
    signature: str
    materialized_at: datetime
    rows: int

    def usable(self, signature: str, now: datetime) -> bool:
        """True when the keys were computed for ``signature`` within :data:`MATERIALIZED_MAX_AGE` of ``now``."""
        return self.signature == signature and abs(now - self.materialized_at) <= MATERIALIZED_MAX_AGE


@dataclass(frozen=True)
class SegmentSpec:
    """A segment as the engine sees it: parent model and either a condition tree or a remote source."""

    id: str
    name: str
    model: str
    type: SegmentType = SegmentType.CONDITIONS
    definition: SegmentDefinition | None = None
    remote: RemoteSource | None = None
    materialized: Materialization | None = None

    @classmethod
    def of(cls, model: str, definition: SegmentDefinition, *, name: str = "draft") -> SegmentSpec:
        """An unsaved segment (previews of the builder's current state)."""
        return cls(id=f"draft:{name}", name=name, model=model, definition=definition)


class SegmentResolver(Protocol):
    """Looks up the segments that membership conditions refer to."""

    def get(self, segment_id: str) -> SegmentSpec:
        """The segment ``segment_id`` (raises ``NotFound``)."""
        ...


@dataclass(frozen=True)
class StaticSegments:
    """A resolver over segments given directly (tests, benchmarks, the demo)."""

    segments: Mapping[str, SegmentSpec]

    def get(self, segment_id: str) -> SegmentSpec:
        if segment_id not in self.segments:
            raise NotFound(f"segment {segment_id!r} not found")
        return self.segments[segment_id]


NO_SEGMENTS = StaticSegments({})
