"""The extension point for remote segments (membership read back from a destination).

A remote segment's members live in a bookkeeping table that a refresh job fills from the
destination (``read_members(remote_id)``). The compiler only needs that table as an Ibis expression
with one column, :data:`MEMBER_COLUMN`, holding the identifiers the destination knows; it then
matches them against the parent model's ``identifier_field``.

Stored segments use :class:`~sluice.segments.remote_members.StoredRemoteMembership` (the membership
the last successful refresh wrote, see :mod:`sluice.segments.remote_refresh`);
:data:`NO_REMOTE_MEMBERSHIP` is the default for callers without remote segments.
"""

from __future__ import annotations

from typing import Any, Protocol

from sluice.core.errors import InvalidInput
from sluice.models.catalog import ModelCatalog
from sluice.segments.spec import SegmentSpec

MEMBER_COLUMN = "identifier"


class RemoteMembership(Protocol):
    """Gives the current members of a remote segment as a table on the segment's source."""

    def members(self, segment: SegmentSpec, catalog: ModelCatalog) -> Any:
        """``ibis.Table`` with a string column :data:`MEMBER_COLUMN` (one row per member)."""
        ...


class NoRemoteMembership:
    """For callers that evaluate no remote segment: one asked for anyway gets a clear error."""

    def members(self, segment: SegmentSpec, catalog: ModelCatalog) -> Any:
        raise InvalidInput(
            f"remote segment {segment.name!r} has no members yet: its membership is read from the "
            "destination by a refresh, which has not run"
        )


NO_REMOTE_MEMBERSHIP = NoRemoteMembership()
