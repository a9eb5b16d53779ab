"""Models (a table or SQL query on a source), their fields and the relationships between models."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import Boolean, ForeignKey, Integer, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from sluice.store.base import Base, WorkspaceScoped


class Model(WorkspaceScoped, Base):
    """A table (``table_schema``/``table_name``) or a SQL query (``sql``) on a source."""

    __tablename__ = "models"
    __table_args__ = (UniqueConstraint("workspace_id", "name"),)

    source_id: Mapped[str] = mapped_column(
        String(26), ForeignKey("sources.id", ondelete="CASCADE"), index=True
    )
    name: Mapped[str] = mapped_column(String(200))
    description: Mapped[str] = mapped_column(Text, default="")
    type: Mapped[str] = mapped_column(String(20))
    table_schema: Mapped[str | None] = mapped_column(String(200), default=None)
    table_name: Mapped[str | None] = mapped_column(String(200), default=None)
    sql: Mapped[str | None] = mapped_column(Text, default=None)
    primary_key: Mapped[str] = mapped_column(String(200))
    timestamp_field: Mapped[str | None] = mapped_column(String(200), default=None)
    schema_checked_at: Mapped[datetime | None] = mapped_column(default=None)

    fields: Mapped[list[ModelField]] = relationship(
        back_populates="model",
        cascade="all, delete-orphan",
        order_by="ModelField.position",
        lazy="selectin",
    )


class ModelField(WorkspaceScoped, Base):
    """A model column (``column`` set) or a calculated field (``calculation`` set).

    ``broken_reason`` is set by the schema check when the source column is gone or retyped.
    """

    __tablename__ = "model_fields"
    __table_args__ = (UniqueConstraint("model_id", "name"),)

    model_id: Mapped[str] = mapped_column(String(26), ForeignKey("models.id", ondelete="CASCADE"), index=True)
    name: Mapped[str] = mapped_column(String(200))
    column: Mapped[str | None] = mapped_column(String(200), default=None)
    type: Mapped[str] = mapped_column(String(20))
    meaning: Mapped[str | None] = mapped_column(String(50), default=None)
    categorical: Mapped[bool] = mapped_column(Boolean, default=False)
    description: Mapped[str] = mapped_column(Text, default="")
    calculation: Mapped[dict[str, Any] | None] = mapped_column(default=None)
    position: Mapped[int] = mapped_column(Integer, default=0)
    broken_reason: Mapped[str | None] = mapped_column(Text, default=None)
    categorical_values: Mapped[list[Any] | None] = mapped_column(default=None)
    categorical_values_at: Mapped[datetime | None] = mapped_column(default=None)

    model: Mapped[Model] = relationship(back_populates="fields")


class ModelRelationship(WorkspaceScoped, Base):
    """``from_model.from_field`` relates to ``to_model.to_field`` (has_many, belongs_to, has_one)."""

    __tablename__ = "model_relationships"
    __table_args__ = (UniqueConstraint("from_model_id", "name"),)

    name: Mapped[str] = mapped_column(String(200))
    kind: Mapped[str] = mapped_column(String(20))
    from_model_id: Mapped[str] = mapped_column(
        String(26), ForeignKey("models.id", ondelete="CASCADE"), index=True
    )
    to_model_id: Mapped[str] = mapped_column(
        String(26), ForeignKey("models.id", ondelete="CASCADE"), index=True
    )
    from_field: Mapped[str] = mapped_column(String(200))
    to_field: Mapped[str] = mapped_column(String(200))
