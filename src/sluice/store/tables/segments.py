"""Segments: a named audience over one parent model, by a condition tree or read from a destination."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import ForeignKey, Index, Integer, String, Text, UniqueConstraint, text
from sqlalchemy.orm import Mapped, mapped_column

from sluice.store.base import Base, WorkspaceScoped


class Segment(WorkspaceScoped, Base):
    """A segment of ``model_id``'s rows.

    ``type`` is ``conditions`` (``definition`` holds the versioned condition tree of
    :class:`sluice.schemas.segments.SegmentDefinition`) or ``remote`` (``remote`` holds
    ``{"destination_id", "remote_id", "identifier_field", …}``; members are refreshed from the
    destination). A remote segment's current membership is the table or file ``members_uri``
    names; a refresh writes a new one and flips the pointer, so a failed refresh keeps the last.
    """

    __tablename__ = "segments"
    __table_args__ = (UniqueConstraint("workspace_id", "name"),)

    name: Mapped[str] = mapped_column(String(200))
    description: Mapped[str] = mapped_column(Text, default="")
    model_id: Mapped[str] = mapped_column(String(26), ForeignKey("models.id", ondelete="CASCADE"), index=True)
    type: Mapped[str] = mapped_column(String(20), default="conditions")
    definition: Mapped[dict[str, Any] | None] = mapped_column(default=None)
    remote: Mapped[dict[str, Any] | None] = mapped_column(default=None)
    # Remote segments only: how often the membership is refreshed, and where the current one is.
    refresh_schedule: Mapped[dict[str, Any] | None] = mapped_column(default=None)
    refresh_schedule_signature: Mapped[str] = mapped_column(String(64), default="")
    next_refresh_at: Mapped[datetime | None] = mapped_column(default=None, index=True)
    members_uri: Mapped[str | None] = mapped_column(Text, default=None)
    members_refreshed_at: Mapped[datetime | None] = mapped_column(default=None)
    # Condition segments: the keys last written to ``<schema>.<table>`` of the bookkeeping schema,
    # for the definition whose signature is ``materialized_signature`` (membership conditions read them).
    materialized_table: Mapped[str | None] = mapped_column(Text, default=None)
    materialized_signature: Mapped[str] = mapped_column(String(64), default="")
    materialized_at: Mapped[datetime | None] = mapped_column(default=None)
    materialized_rows: Mapped[int | None] = mapped_column(Integer, default=None)


_ACTIVE_REFRESH_WHERE = text("state IN ('queued', 'running')")


class RemoteRefresh(WorkspaceScoped, Base):
    """One refresh of a remote segment: members read from the destination, matched to the model.

    ``state`` goes queued → running → succeeded | failed. Counts: ``ids_read`` distinct member ids
    read, ``ids_matched`` of them found in the model, ``ids_unmatched`` not found (a sample kept),
    ``rows`` model rows in the segment afterwards. A failed refresh keeps the previous membership.
    """

    __tablename__ = "remote_refreshes"
    # At most one queued or running refresh per segment.
    __table_args__ = (
        Index(
            "uq_remote_refreshes_active",
            "segment_id",
            unique=True,
            sqlite_where=_ACTIVE_REFRESH_WHERE,
            postgresql_where=_ACTIVE_REFRESH_WHERE,
        ),
    )

    segment_id: Mapped[str] = mapped_column(
        String(26), ForeignKey("segments.id", ondelete="CASCADE"), index=True
    )
    state: Mapped[str] = mapped_column(String(20), default="queued", index=True)
    trigger: Mapped[str] = mapped_column(String(20), default="manual")
    requested_by: Mapped[str] = mapped_column(String(200), default="system")
    dispatched_at: Mapped[datetime | None] = mapped_column(default=None)
    started_at: Mapped[datetime | None] = mapped_column(default=None)
    finished_at: Mapped[datetime | None] = mapped_column(default=None)
    worker: Mapped[str | None] = mapped_column(String(200), default=None)
    ids_read: Mapped[int | None] = mapped_column(Integer, default=None)
    ids_matched: Mapped[int | None] = mapped_column(Integer, default=None)
    ids_unmatched: Mapped[int | None] = mapped_column(Integer, default=None)
    rows: Mapped[int | None] = mapped_column(Integer, default=None)
    unmatched_sample: Mapped[list[Any]] = mapped_column(default=list)
    storage: Mapped[str | None] = mapped_column(String(20), default=None)
    members_uri: Mapped[str | None] = mapped_column(Text, default=None)
    error: Mapped[str | None] = mapped_column(Text, default=None)
