"""Organizations and workspaces: every other object lives in exactly one workspace."""

from __future__ import annotations

from sqlalchemy import ForeignKey, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from sluice.store.base import Base, IdMixin

DEFAULT_ORGANIZATION_SLUG = "default"
DEFAULT_WORKSPACE_SLUG = "default"


class Organization(IdMixin, Base):
    """A company using Sluice; owns workspaces and its SSO settings."""

    __tablename__ = "organizations"

    name: Mapped[str] = mapped_column(String(200))
    slug: Mapped[str] = mapped_column(String(100), unique=True)


class Workspace(IdMixin, Base):
    """An isolated space of sources, models, segments, destinations and activations."""

    __tablename__ = "workspaces"
    __table_args__ = (UniqueConstraint("organization_id", "slug"),)

    organization_id: Mapped[str] = mapped_column(
        String(26), ForeignKey("organizations.id", ondelete="CASCADE"), index=True
    )
    name: Mapped[str] = mapped_column(String(200))
    slug: Mapped[str] = mapped_column(String(100))
