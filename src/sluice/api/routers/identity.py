"""Identity graphs: CRUD, runs (with history) and profile lookup."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Query, Request, status
from sqlalchemy import select

from sluice.api.deps import DbSession, get_database, require
from sluice.api.pagination import Page, PageParams, page_params, paginate
from sluice.auth.permissions import Permission
from sluice.auth.principal import Principal
from sluice.identity import graphs
from sluice.identity.lookup import lookup
from sluice.identity.runs import queue_run, run_graph
from sluice.identity.tables import GraphTables
from sluice.schemas.identity import (
    IdentityGraphCreate,
    IdentityGraphOut,
    IdentityGraphUpdate,
    IdentityRunOut,
    ProfileLookupOut,
)
from sluice.store.scoped import get_scoped
from sluice.store.tables.identity import IdentityGraph, IdentityRun
from sluice.store.tables.sources import Source
from sluice.warehouse.sources import open_source

router = APIRouter(prefix="/identity-graphs", tags=["identity"])
Reader = Annotated[Principal, Depends(require(Permission.MODELS_READ))]
Writer = Annotated[Principal, Depends(require(Permission.MODELS_WRITE))]


def _graph(session: DbSession, principal: Principal, graph_id: str) -> IdentityGraph:
    return get_scoped(session, IdentityGraph, graph_id, principal.workspace_id, "identity graph")


@router.get("", response_model=Page[IdentityGraphOut])
def list_graphs(
    session: DbSession, principal: Reader, params: Annotated[PageParams, Depends(page_params)]
) -> Page[IdentityGraphOut]:
    statement = select(IdentityGraph).where(IdentityGraph.workspace_id == principal.workspace_id)
    rows, cursor = paginate(session, statement, IdentityGraph.id, params)
    return Page(items=[IdentityGraphOut.model_validate(row) for row in rows], next_cursor=cursor)


@router.post("", response_model=IdentityGraphOut, status_code=status.HTTP_201_CREATED)
def create_graph(
    body: IdentityGraphCreate, request: Request, session: DbSession, principal: Writer
) -> IdentityGraph:
    """Save a graph over models of one source (checked against their fields); run it to get profiles."""
    return graphs.create_graph(session, principal.workspace_id, body, get_database(request).secrets)


@router.get("/{graph_id}", response_model=IdentityGraphOut)
def get_graph(graph_id: str, session: DbSession, principal: Reader) -> IdentityGraph:
    return _graph(session, principal, graph_id)


@router.patch("/{graph_id}", response_model=IdentityGraphOut)
def update_graph(
    graph_id: str, body: IdentityGraphUpdate, session: DbSession, principal: Writer
) -> IdentityGraph:
    """Rename a graph or change its rules (applied by the next run)."""
    return graphs.update_graph(session, _graph(session, principal, graph_id), body)


@router.delete("/{graph_id}", status_code=status.HTTP_204_NO_CONTENT)
def delete_graph(
    graph_id: str,
    request: Request,
    session: DbSession,
    principal: Writer,
    drop_tables: Annotated[bool, Query(description="Also drop the graph's tables in the warehouse.")] = False,
) -> None:
    graphs.delete_graph(
        session, _graph(session, principal, graph_id), get_database(request).secrets, drop_tables=drop_tables
    )


@router.post("/{graph_id}/runs", response_model=IdentityRunOut, status_code=status.HTTP_201_CREATED)
def start_run(
    graph_id: str,
    request: Request,
    session: DbSession,
    principal: Writer,
    background: Annotated[
        bool, Query(description="Queue the run for the workers instead of running it in this request.")
    ] = False,
    force: Annotated[
        bool, Query(description="Recompute even when spec and inputs are unchanged since the last run.")
    ] = False,
) -> IdentityRun:
    """Run the graph in the warehouse: now (the finished run is returned) or queued for a worker.

    A run whose inputs and spec did not change since the last successful run ends ``skipped``
    with that run's counts, unless ``force``.
    """
    graph = _graph(session, principal, graph_id)
    if background:
        return queue_run(session, graph, requested_by=principal.display_name, force=force)
    return run_graph(
        session, graph, get_database(request).secrets, requested_by=principal.display_name, force=force
    )


@router.get("/{graph_id}/runs", response_model=Page[IdentityRunOut])
def list_runs(
    graph_id: str,
    session: DbSession,
    principal: Reader,
    params: Annotated[PageParams, Depends(page_params)],
) -> Page[IdentityRunOut]:
    """Run history, newest first."""
    graph = _graph(session, principal, graph_id)
    statement = select(IdentityRun).where(
        IdentityRun.workspace_id == principal.workspace_id, IdentityRun.graph_id == graph.id
    )
    rows, cursor = paginate(session, statement, IdentityRun.id, params, newest_first=True)
    return Page(items=[IdentityRunOut.model_validate(row) for row in rows], next_cursor=cursor)


@router.get("/{graph_id}/profiles", response_model=ProfileLookupOut)
def lookup_profiles(
    graph_id: str,
    request: Request,
    session: DbSession,
    principal: Reader,
    profile_id: str | None = None,
    record_key: Annotated[str | None, Query(description="<model>:<key> of a source record.")] = None,
    identifier: Annotated[str | None, Query(description="Identifier name, with value.")] = None,
    value: str | None = None,
) -> ProfileLookupOut:
    """Find profiles by id, source record or identifier value: golden record, merged records and why."""
    graph = _graph(session, principal, graph_id)
    source = get_scoped(session, Source, graph.source_id, principal.workspace_id, "source")
    with open_source(source, get_database(request).secrets) as warehouse:
        tables = GraphTables(warehouse, graph.schema_name, graph.slug)
        found = lookup(
            tables,
            graphs.spec_of(graph),
            profile_id=profile_id,
            record_key=record_key,
            identifier=identifier,
            value=value,
        )
    return ProfileLookupOut(profiles=found)
