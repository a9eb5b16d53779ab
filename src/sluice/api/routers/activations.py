"""Activations: create, list, read, update, delete, and start runs."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, status
from sqlalchemy import select

from sluice.api.deps import DbSession, require
from sluice.api.pagination import Page, PageParams, page_params, paginate
from sluice.auth.permissions import Permission
from sluice.auth.principal import Principal
from sluice.destinations import registry
from sluice.schemas.activations import (
    ActivationCreate,
    ActivationOut,
    ActivationUpdate,
    MappingSuggestionOut,
    RunOut,
    RunRequestIn,
    RunSummary,
)
from sluice.store.scoped import get_scoped
from sluice.store.tables.activations import Activation, Run
from sluice.store.tables.destinations import Destination
from sluice.store.tables.models import Model
from sluice.store.tables.segments import Segment
from sluice.sync.activations import create_activation, describe, update_activation
from sluice.sync.mapping_suggestions import suggest_mapping
from sluice.sync.runs import RunRequest, RunTrigger, request_run

router = APIRouter(prefix="/activations", tags=["activations"])
Reader = Annotated[Principal, Depends(require(Permission.ACTIVATIONS_READ))]
Writer = Annotated[Principal, Depends(require(Permission.ACTIVATIONS_WRITE))]
Runner = Annotated[Principal, Depends(require(Permission.ACTIVATIONS_RUN))]


@router.get("", response_model=Page[ActivationOut])
def list_activations(
    session: DbSession, principal: Reader, params: Annotated[PageParams, Depends(page_params)]
) -> Page[ActivationOut]:
    statement = select(Activation).where(Activation.workspace_id == principal.workspace_id)
    rows, cursor = paginate(session, statement, Activation.id, params)
    return Page(items=[describe(session, row) for row in rows], next_cursor=cursor)


@router.get("/suggested-mapping", response_model=MappingSuggestionOut)
def suggested_mapping(
    segment_id: str, destination_id: str, session: DbSession, principal: Reader
) -> MappingSuggestionOut:
    """The identifier and field mapping a new activation of this segment to this destination starts with."""
    segment = get_scoped(session, Segment, segment_id, principal.workspace_id, "segment")
    model = get_scoped(session, Model, segment.model_id, principal.workspace_id, "model")
    destination = get_scoped(session, Destination, destination_id, principal.workspace_id, "destination")
    suggestion = suggest_mapping(model, registry.get(destination.type))
    return MappingSuggestionOut(identifier=suggestion.identifier, mapping=suggestion.mapping)


@router.post("", response_model=ActivationOut, status_code=status.HTTP_201_CREATED)
def create(body: ActivationCreate, session: DbSession, principal: Writer) -> ActivationOut:
    return describe(session, create_activation(session, principal.workspace_id, body))


@router.get("/{activation_id}", response_model=ActivationOut)
def get(activation_id: str, session: DbSession, principal: Reader) -> ActivationOut:
    return describe(session, _activation(session, principal, activation_id))


@router.patch("/{activation_id}", response_model=ActivationOut)
def update(
    activation_id: str, body: ActivationUpdate, session: DbSession, principal: Writer
) -> ActivationOut:
    activation = update_activation(session, _activation(session, principal, activation_id), body)
    return describe(session, activation)


@router.delete("/{activation_id}", status_code=status.HTTP_204_NO_CONTENT)
def delete(activation_id: str, session: DbSession, principal: Writer) -> None:
    session.delete(_activation(session, principal, activation_id))


@router.post("/{activation_id}/runs", response_model=RunOut, status_code=status.HTTP_202_ACCEPTED)
def start_run(activation_id: str, body: RunRequestIn, session: DbSession, principal: Runner) -> Run:
    """Queue a run (409 when one is already queued or running)."""
    activation = _activation(session, principal, activation_id)
    request = RunRequest(
        trigger=RunTrigger.API,
        full_refresh=body.full_refresh,
        dry_run=body.dry_run,
        requested_by=principal.display_name,
    )
    return request_run(session, activation, request)


@router.get("/{activation_id}/runs", response_model=Page[RunSummary])
def list_runs(
    activation_id: str,
    session: DbSession,
    principal: Reader,
    params: Annotated[PageParams, Depends(page_params)],
) -> Page[RunSummary]:
    _activation(session, principal, activation_id)
    statement = select(Run).where(
        Run.activation_id == activation_id, Run.workspace_id == principal.workspace_id
    )
    rows, cursor = paginate(session, statement, Run.id, params, newest_first=True)
    return Page(items=[RunSummary.model_validate(row) for row in rows], next_cursor=cursor)


def _activation(session: DbSession, principal: Principal, activation_id: str) -> Activation:
    return get_scoped(session, Activation, activation_id, principal.workspace_id, "activation")
