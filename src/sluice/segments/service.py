"""Stored segments meet the engine: specs from rows, a resolver over the store, checks and compilers.

Saving a segment compiles it against a *metadata catalog* (unbound Ibis tables built from the saved
models), so a bad field, an impossible operator or a membership cycle is refused at once without
connecting to the warehouse. Previews and counts open the source through
:func:`sluice.models.stored.load_catalog`.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import ibis
from sqlalchemy.orm import Session

from sluice.core.crypto import SecretBox
from sluice.core.errors import InvalidInput
from sluice.models.catalog import FieldType, StaticCatalog
from sluice.models.stored import load_catalog, load_definitions
from sluice.schemas.segments import SegmentDefinition
from sluice.segments.compiler import SegmentCompiler
from sluice.segments.remote import RemoteMembership
from sluice.segments.remote_members import StoredRemoteMembership
from sluice.segments.spec import Materialization, RemoteSource, SegmentSpec, SegmentType
from sluice.store.scoped import get_scoped
from sluice.store.tables.models import Model
from sluice.store.tables.segments import Segment

IBIS_TYPES = {
    FieldType.STRING: "string",
    FieldType.INTEGER: "int64",
    FieldType.FLOAT: "float64",
    FieldType.DECIMAL: "decimal(38, 9)",
    FieldType.BOOLEAN: "boolean",
    FieldType.DATE: "date",
    FieldType.TIMESTAMP: "timestamp",
    FieldType.JSON: "json",
    FieldType.ARRAY: "array<string>",
}


def spec_of(row: Segment, model_name: str) -> SegmentSpec:
    """The engine's view of a stored segment."""
    remote = RemoteSource(**row.remote) if row.remote else None
    definition = SegmentDefinition.model_validate(row.definition) if row.definition is not None else None
    return SegmentSpec(
        id=row.id,
        name=row.name,
        model=model_name,
        type=SegmentType(row.type),
        definition=definition,
        remote=remote,
        materialized=_materialization(row),
    )


def _materialization(row: Segment) -> Materialization | None:
    if not row.materialized_table or row.materialized_at is None:
        return None
    schema, _, table = row.materialized_table.partition(".")
    return Materialization(
        schema=schema,
        table=table,
        signature=row.materialized_signature,
        materialized_at=row.materialized_at,
        rows=row.materialized_rows or 0,
    )


@dataclass
class StoredSegments:
    """Resolves membership conditions to the workspace's saved segments."""

    session: Session
    workspace_id: str

    def get(self, segment_id: str) -> SegmentSpec:
        row = get_scoped(self.session, Segment, segment_id, self.workspace_id, "segment")
        model = get_scoped(self.session, Model, row.model_id, self.workspace_id, "model")
        return spec_of(row, model.name)


def metadata_catalog(
    session: Session, workspace_id: str, source_id: str, dialect: str = "duckdb"
) -> StaticCatalog:
    """A catalog of the source's saved models over unbound tables: compiles, never runs."""
    stored = load_definitions(session, workspace_id, source_id)
    models = {name: definition.info() for name, definition in stored.definitions.items()}
    tables = {
        name: ibis.table({f: IBIS_TYPES[info.type] for f, info in model.fields.items()}, name=name)
        for name, model in models.items()
    }
    return StaticCatalog(dialect=dialect, models=models, tables=tables, links=stored.links)


def check_segment(session: Session, workspace_id: str, model: Model, spec: SegmentSpec) -> None:
    """Refuse a segment that cannot compile: unknown fields, wrong operators, membership cycles."""
    if spec.type == SegmentType.REMOTE:
        assert spec.remote is not None
        fields = {f.name for f in model.fields}
        if spec.remote.identifier_field not in fields:
            raise InvalidInput(f"model {model.name!r} has no field {spec.remote.identifier_field!r}")
        return
    catalog = metadata_catalog(session, workspace_id, model.source_id)
    compiler = SegmentCompiler(
        catalog,
        now=datetime.now(UTC),
        segments=StoredSegments(session, workspace_id),
        remote=StoredRemoteMembership(session),
    )
    compiler.rows(spec)


@contextmanager
def open_compiler(
    session: Session,
    workspace_id: str,
    model: Model,
    *,
    secrets: SecretBox | None,
    now: datetime | None = None,
    remote: RemoteMembership | None = None,
) -> Iterator[SegmentCompiler]:
    """A compiler over the model's source, open for the ``with`` block, evaluated at ``now``.

    Remote segments read the membership their last successful refresh stored (``remote``
    overrides it)."""
    catalog = load_catalog(session, workspace_id, model.source_id, secrets=secrets)
    try:
        yield SegmentCompiler(
            catalog,
            now=now or datetime.now(UTC),
            segments=StoredSegments(session, workspace_id),
            remote=remote or StoredRemoteMembership(session),
        )
    finally:
        catalog.close()


def jsonable_rows(rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Sample rows as JSON-friendly values (timestamps as ISO text, bytes as hex)."""
    return [{key: _jsonable(value) for key, value in row.items()} for row in rows]


def _jsonable(value: Any) -> Any:
    if isinstance(value, datetime):
        return value.isoformat()
    if isinstance(value, bytes):
        return value.hex()
    if isinstance(value, str | int | float | bool) or value is None:
        return value
    if isinstance(value, list):
        return [_jsonable(item) for item in value]
    if isinstance(value, dict):
        return {str(k): _jsonable(v) for k, v in value.items()}
    return str(value)
