"""The rows of an activation's segment: compiled against its source's models into one Ibis query."""

from __future__ import annotations

from collections.abc import Callable, Collection
from dataclasses import dataclass
from typing import Any

from sqlalchemy.orm import Session

from sluice.models.drift import check_model_schema
from sluice.models.stored import load_catalog
from sluice.segments.compiler import SegmentCompiler
from sluice.segments.remote_members import StoredRemoteMembership
from sluice.segments.service import StoredSegments, spec_of
from sluice.store.base import utcnow
from sluice.store.db import Database
from sluice.store.scoped import get_scoped
from sluice.store.tables.models import Model
from sluice.store.tables.segments import Segment
from sluice.store.tables.sources import Source
from sluice.sync.extract import SchemaDrift
from sluice.warehouse.configs import SourceConfig
from sluice.warehouse.connection import Warehouse


@dataclass(frozen=True)
class SegmentRows:
    """A segment's rows on its open source, and what a run needs to know about that source."""

    rows: Any
    primary_key: str
    model: Model
    warehouse: Warehouse
    bookkeeping_schema: str | None
    close: Callable[[], None]


def check_drift(session: Session, model: Model, warehouse: Warehouse, *, used: set[str]) -> None:
    """Compare the model with its source before a run: never send from a model that drifted.

    Broken fields are recorded on the model (its page offers a repair); when the run uses one, it
    stops with :class:`SchemaDrift`, which pauses the activation until a probe finds it repaired.
    """
    report = check_model_schema(session, model, warehouse)
    broken = [item for item in report.broken if item.field in used]
    if broken:
        session.commit()  # keep the marks on the model although the run stops here
        details = "; ".join(f"{item.field}: {item.reason}" for item in broken)
        raise SchemaDrift(
            f"model '{model.name}' no longer matches its source ({details}); "
            "repair the model's fields, then resume the activation"
        )


def open_segment_rows(
    session: Session, database: Database, workspace_id: str, segment_id: str, *, fields: Collection[str]
) -> SegmentRows:
    """The segment's rows (``fields`` plus the primary key) on an open warehouse connection.

    The connection stays open until :attr:`SegmentRows.close` is called (after the run).
    """
    segment = get_scoped(session, Segment, segment_id, workspace_id, "segment")
    model = get_scoped(session, Model, segment.model_id, workspace_id, "model")
    source = get_scoped(session, Source, model.source_id, workspace_id, "source")
    catalog = load_catalog(session, workspace_id, model.source_id, secrets=database.secrets)
    try:
        primary_key = catalog.model(model.name).primary_key
        check_drift(session, model, catalog.warehouse, used={*fields, primary_key})
        compiler = SegmentCompiler(
            catalog,
            now=utcnow(),
            segments=StoredSegments(session, workspace_id),
            remote=StoredRemoteMembership(session),
        )
        rows = compiler.rows(spec_of(segment, model.name), fields=fields)
    except BaseException:
        catalog.close()
        raise
    schema = (source.config or {}).get(
        "bookkeeping_schema", SourceConfig.model_fields["bookkeeping_schema"].default
    )
    read_only = bool((source.config or {}).get("read_only", False))
    return SegmentRows(
        rows=rows,
        primary_key=primary_key,
        model=model,
        warehouse=catalog.warehouse,
        bookkeeping_schema=None if read_only else (schema or None),
        close=catalog.close,
    )
