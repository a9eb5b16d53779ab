"""The golden profiles of a graph as a model of type ``users``, usable by segments and activations.

The first successful run creates the model over ``<schema>.idr_<graph>_profiles`` (primary key
``profile_id``; identifiers and well-known attributes get their standard meaning, so activations
pre-fill e-mail and phone mappings). Later runs add fields for columns a new spec introduced.
"""

from __future__ import annotations

import re

from sqlalchemy import select
from sqlalchemy.orm import Session

from sluice.identity.spec import IdentifierKind, IdentitySpec
from sluice.models import service
from sluice.models.catalog import ModelType
from sluice.models.meanings import STANDARD_MEANINGS
from sluice.schemas.models import FieldSpec, ModelCreate, TableRef
from sluice.store.tables.identity import IdentityGraph
from sluice.store.tables.models import Model
from sluice.warehouse.connection import Warehouse

KIND_MEANINGS = {IdentifierKind.EMAIL: "email", IdentifierKind.PHONE: "phone"}


def profiles_model_name(graph_name: str) -> str:
    """``<graph name>_profiles`` as a model name (letters, digits, underscores)."""
    base = re.sub(r"[^a-z0-9_]+", "_", graph_name.lower()).strip("_") or "identity"
    return f"{base if not base[0].isdigit() else 'g_' + base}_profiles"


def meanings(spec: IdentitySpec) -> dict[str, str]:
    """Standard meaning of each profiles column that has one."""
    found = {item.name: KIND_MEANINGS[item.kind] for item in spec.identifiers if item.kind in KIND_MEANINGS}
    found.update({name: name for name in spec.attribute_names() if name in STANDARD_MEANINGS})
    return found


def ensure_profiles_model(
    session: Session, graph: IdentityGraph, spec: IdentitySpec, warehouse: Warehouse
) -> Model:
    """The graph's profiles model, created on first use, new columns added as fields."""
    table_name = f"idr_{graph.slug}_profiles"
    columns = list(warehouse.columns(graph.schema_name, table_name))
    meaning = meanings(spec)
    model = session.get(Model, graph.model_id) if graph.model_id else None
    if model is None:
        model = session.scalar(
            select(Model).where(
                Model.workspace_id == graph.workspace_id,
                Model.table_schema == graph.schema_name,
                Model.table_name == table_name,
            )
        )
    if model is None:
        body = ModelCreate(
            name=profiles_model_name(graph.name),
            source_id=graph.source_id,
            type=ModelType.USERS,
            description=f"Golden profiles of identity graph {graph.name!r} (rebuilt by each run).",
            table=TableRef(schema=graph.schema_name, name=table_name),
            primary_key="profile_id",
            timestamp_field=None,
            fields=[FieldSpec(name=column, column=column, meaning=meaning.get(column)) for column in columns],
        )
        model = service.create_model(session, graph.workspace_id, body, warehouse)
    else:
        known = {item.column for item in model.fields}
        for column in (name for name in columns if name not in known):
            if any(item.name == column for item in model.fields):
                continue
            service.add_field(
                session, model, FieldSpec(name=column, column=column, meaning=meaning.get(column)), warehouse
            )
    graph.model_id = model.id
    session.flush()
    return model
