"""Creating, changing and deleting identity graphs, with the checks a user relies on.

The API, ``sluice.yaml`` and the demo all go through these functions. A spec is checked against
the stored models of the graph's source (models exist there, fields exist on them) before it is
saved, so a run only fails on what the warehouse itself says.
"""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from sluice.core.crypto import SecretBox
from sluice.core.errors import Conflict, InvalidInput
from sluice.core.ids import new_id
from sluice.identity.schedules import check_schedule
from sluice.identity.spec import IdentitySpec
from sluice.identity.tables import GraphTables, graph_slug
from sluice.schemas.identity import IdentityGraphCreate, IdentityGraphUpdate
from sluice.store.scoped import get_scoped
from sluice.store.tables.identity import IdentityGraph
from sluice.store.tables.models import Model
from sluice.store.tables.sources import Source
from sluice.warehouse.sources import open_source, source_config


def check_spec(session: Session, workspace_id: str, source_id: str, spec: IdentitySpec) -> None:
    """Every input model exists on the source and has the fields the spec names."""
    for item in spec.inputs:
        model = session.scalar(
            select(Model).where(Model.workspace_id == workspace_id, Model.name == item.model)
        )
        if model is None:
            raise InvalidInput(f"input model {item.model!r} not found", model=item.model)
        if model.source_id != source_id:
            raise InvalidInput(f"model {item.model!r} is on another source; a graph reads one source")
        fields = {row.name for row in model.fields}
        named = [item.key, item.timestamp, *item.attributes.values()]
        named += [field for group in item.identifiers.values() for field in group]
        for field in (name for name in named if name is not None):
            if field not in fields:
                raise InvalidInput(
                    f"model {item.model!r} has no field {field!r}", model=item.model, field=field
                )


def bookkeeping_schema(source: Source, box: SecretBox | None) -> str:
    """Where the graph's tables live: the source's bookkeeping schema (required)."""
    schema = source_config(source, box).bookkeeping_schema
    if not schema:
        raise InvalidInput(
            f"source {source.name!r} has no bookkeeping schema; identity resolution writes its tables there"
        )
    return schema


def create_graph(
    session: Session, workspace_id: str, body: IdentityGraphCreate, box: SecretBox | None
) -> IdentityGraph:
    """Save a new graph (nothing runs yet)."""
    source = get_scoped(session, Source, body.source_id, workspace_id, "source")
    check_spec(session, workspace_id, source.id, body.spec)
    schedule = check_schedule(session, workspace_id, body.schedule) if body.schedule is not None else None
    graph_id = new_id()
    row = IdentityGraph(
        id=graph_id,
        slug=graph_slug(graph_id),
        workspace_id=workspace_id,
        name=body.name,
        description=body.description,
        source_id=source.id,
        spec=body.spec.model_dump(mode="json"),
        schema_name=bookkeeping_schema(source, box),
        schedule=schedule,
    )
    session.add(row)
    _flush(session, f"an identity graph named {body.name!r} already exists in this workspace")
    return row


def update_graph(session: Session, row: IdentityGraph, body: IdentityGraphUpdate) -> IdentityGraph:
    """Rename or re-describe a graph, give it a new spec (applied by the next run) or schedule."""
    if body.schedule is not None:
        schedule = check_schedule(session, row.workspace_id, body.schedule)
        if schedule != row.schedule:
            row.schedule, row.next_run_at = schedule, None  # the scheduler computes the next due time
    if body.spec is not None:
        check_spec(session, row.workspace_id, row.source_id, body.spec)
        row.spec = body.spec.model_dump(mode="json")
    if body.name is not None:
        row.name = body.name
    if body.description is not None:
        row.description = body.description
    _flush(session, f"an identity graph named {row.name!r} already exists in this workspace")
    return row


def delete_graph(session: Session, row: IdentityGraph, box: SecretBox | None, *, drop_tables: bool) -> None:
    """Delete a graph; ``drop_tables`` also drops its warehouse tables.

    The profiles model stays (segments may be built on it); delete it like any model.
    """
    if drop_tables:
        source = session.get(Source, row.source_id)
        if source is not None:
            with open_source(source, box) as warehouse:
                GraphTables(warehouse, row.schema_name, row.slug).drop_all()
    session.delete(row)
    session.flush()


def spec_of(row: IdentityGraph) -> IdentitySpec:
    return IdentitySpec.model_validate(row.spec)


def _flush(session: Session, conflict: str) -> None:
    try:
        session.flush()
    except IntegrityError:
        raise Conflict(conflict) from None
