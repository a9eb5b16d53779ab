"""Segments: a named audience over one parent model, by a condition tree or read from a destination."""

from __future__ import annotations

from typing import Any

from sqlalchemy import ForeignKey, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from sluice.store.base import Base, WorkspaceScoped


class Segment(WorkspaceScoped, Base):
    """A segment of ``model_id``'s rows.

    ``type`` is ``conditions`` (``definition`` holds the versioned condition tree of
    :class:`sluice.schemas.segments.SegmentDefinition`) or ``remote`` (``remote`` holds
    ``{"destination_id", "remote_id", "identifier_field"}``; members are refreshed from the destination).
    """

    __tablename__ = "segments"
    __table_args__ = (UniqueConstraint("workspace_id", "name"),)

    name: Mapped[str] = mapped_column(String(200))
    description: Mapped[str] = mapped_column(Text, default="")
    model_id: Mapped[str] = mapped_column(String(26), ForeignKey("models.id", ondelete="CASCADE"), index=True)
    type: Mapped[str] = mapped_column(String(20), default="conditions")
    definition: Mapped[dict[str, Any] | None] = mapped_column(default=None)
    remote: Mapped[dict[str, Any] | None] = mapped_column(default=None)
