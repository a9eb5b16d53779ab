"""Segments: CRUD, preview (saved or draft), show SQL, estimate, breakdowns and overlap."""

from __future__ import annotations

from dataclasses import asdict
from datetime import UTC, datetime
from typing import Annotated

from fastapi import APIRouter, Depends, Query, Request, status
from sqlalchemy import select
from sqlalchemy.exc import IntegrityError

from sluice.api.deps import DbSession, get_database, require
from sluice.api.pagination import Page, PageParams, page_params, paginate
from sluice.auth.permissions import Permission
from sluice.auth.principal import Principal
from sluice.core.errors import Conflict, InvalidInput
from sluice.schemas.segments import (
    BreakdownOut,
    ConditionCountOut,
    DraftPreviewRequest,
    EstimateOut,
    MaterializeOut,
    OverlapOut,
    OverlapRequest,
    RemotePlatformOut,
    RemoteRefreshOut,
    SegmentCreate,
    SegmentDefinition,
    SegmentOut,
    SegmentPreviewOut,
    SegmentSqlOut,
    SegmentUpdate,
)
from sluice.segments import service
from sluice.segments.breakdowns import breakdown
from sluice.segments.inflight import INFLIGHT_PREVIEWS
from sluice.segments.materialize import materialize
from sluice.segments.overlap import overlap
from sluice.segments.preview import Preview, count, preview
from sluice.segments.remote_refresh import RefreshTrigger, remote_source, request_refresh
from sluice.segments.remote_sources import check_refresh_schedule, check_remote_source, platforms
from sluice.segments.spec import SegmentSpec
from sluice.segments.sql import segment_sql
from sluice.store.scoped import get_scoped
from sluice.store.tables.models import Model
from sluice.store.tables.segments import RemoteRefresh, Segment
from sluice.store.tables.sources import Source
from sluice.warehouse.sources import source_config

router = APIRouter(prefix="/segments", tags=["segments"])
Reader = Annotated[Principal, Depends(require(Permission.SEGMENTS_READ))]
Writer = Annotated[Principal, Depends(require(Permission.SEGMENTS_WRITE))]
Runner = Annotated[Principal, Depends(require(Permission.ACTIVATIONS_RUN))]
Columns = Annotated[list[str] | None, Query(description="Fields to show (default: every field).")]
Now = Annotated[datetime | None, Query(description="Evaluation time for relative dates (default: now).")]


def _segment(session: DbSession, principal: Principal, segment_id: str) -> tuple[Segment, Model]:
    row = get_scoped(session, Segment, segment_id, principal.workspace_id, "segment")
    return row, get_scoped(session, Model, row.model_id, principal.workspace_id, "model")


def _spec(row: Segment, model: Model) -> SegmentSpec:
    return service.spec_of(row, model.name)


@router.get("", response_model=Page[SegmentOut])
def list_segments(
    session: DbSession,
    principal: Reader,
    params: Annotated[PageParams, Depends(page_params)],
    model_id: str | None = None,
) -> Page[SegmentOut]:
    statement = select(Segment).where(Segment.workspace_id == principal.workspace_id)
    if model_id is not None:
        statement = statement.where(Segment.model_id == model_id)
    rows, cursor = paginate(session, statement, Segment.id, params)
    return Page(items=[SegmentOut.model_validate(row) for row in rows], next_cursor=cursor)


@router.get("/remote-platforms", response_model=list[RemotePlatformOut])
def remote_platforms(principal: Reader) -> list[dict[str, object]]:
    """Destination types remote segments can read from, and why the others cannot."""
    return platforms()


@router.post("", response_model=SegmentOut, status_code=status.HTTP_201_CREATED)
def create_segment(body: SegmentCreate, request: Request, session: DbSession, principal: Writer) -> Segment:
    model = get_scoped(session, Model, body.model_id, principal.workspace_id, "model")
    row = Segment(
        workspace_id=principal.workspace_id,
        name=body.name,
        description=body.description,
        model_id=model.id,
        type=body.type,
        definition=(body.definition or SegmentDefinition()).model_dump(mode="json")
        if body.type == "conditions"
        else None,
        remote=body.remote.model_dump() if body.remote else None,
        refresh_schedule=(
            check_refresh_schedule(session, principal.workspace_id, body.refresh_schedule)
            if body.type == "remote"
            else None
        ),
    )
    session.add(row)
    _flush_unique(session, body.name)
    _check(session, request, principal, row, model, reach_destination=True)
    return row


@router.get("/{segment_id}", response_model=SegmentOut)
def get_segment(segment_id: str, session: DbSession, principal: Reader) -> Segment:
    return _segment(session, principal, segment_id)[0]


@router.patch("/{segment_id}", response_model=SegmentOut)
def update_segment(
    segment_id: str, body: SegmentUpdate, request: Request, session: DbSession, principal: Writer
) -> Segment:
    row, model = _segment(session, principal, segment_id)
    if body.name is not None:
        row.name = body.name
    if body.description is not None:
        row.description = body.description
    if body.definition is not None:
        row.definition = body.definition.model_dump(mode="json")
    remote_changed = body.remote is not None and body.remote.model_dump() != row.remote
    if body.remote is not None:
        row.remote = body.remote.model_dump()
    if body.refresh_schedule is not None:
        if row.type != "remote":
            raise InvalidInput("refresh_schedule is only for segments of type 'remote'")
        row.refresh_schedule = check_refresh_schedule(session, principal.workspace_id, body.refresh_schedule)
    _check(session, request, principal, row, model, reach_destination=remote_changed)
    _flush_unique(session, row.name)
    return row


def _check(
    session: DbSession,
    request: Request,
    principal: Principal,
    row: Segment,
    model: Model,
    *,
    reach_destination: bool,
) -> None:
    spec = _spec(row, model)
    if spec.remote is not None:
        check_remote_source(
            session,
            principal.workspace_id,
            model,
            spec.remote,
            get_database(request).secrets,
            reach_destination=reach_destination,
        )
    service.check_segment(session, principal.workspace_id, model, spec)


@router.post("/{segment_id}/refresh", response_model=RemoteRefreshOut, status_code=status.HTTP_202_ACCEPTED)
def refresh_segment(segment_id: str, session: DbSession, principal: Runner) -> RemoteRefresh:
    """Queue a refresh of a remote segment's members (409 while one is queued or running)."""
    row = _segment(session, principal, segment_id)[0]
    who = principal.user_id or principal.token_id or "api"
    return request_refresh(session, row, trigger=RefreshTrigger.MANUAL, requested_by=who)


@router.get("/{segment_id}/refreshes", response_model=Page[RemoteRefreshOut])
def list_refreshes(
    segment_id: str,
    session: DbSession,
    principal: Reader,
    params: Annotated[PageParams, Depends(page_params)],
) -> Page[RemoteRefreshOut]:
    """The refresh history of a remote segment, newest first."""
    row = _segment(session, principal, segment_id)[0]
    remote_source(row)
    statement = select(RemoteRefresh).where(
        RemoteRefresh.workspace_id == principal.workspace_id, RemoteRefresh.segment_id == row.id
    )
    rows, cursor = paginate(session, statement, RemoteRefresh.id, params, newest_first=True)
    return Page(items=[RemoteRefreshOut.model_validate(r) for r in rows], next_cursor=cursor)


@router.delete("/{segment_id}", status_code=status.HTTP_204_NO_CONTENT)
def delete_segment(segment_id: str, session: DbSession, principal: Writer) -> None:
    session.delete(_segment(session, principal, segment_id)[0])


@router.post("/preview", response_model=SegmentPreviewOut)
def preview_draft(
    body: DraftPreviewRequest, request: Request, session: DbSession, principal: Reader
) -> SegmentPreviewOut:
    """Preview the builder's unsaved tree (debounce calls from the UI)."""
    model = get_scoped(session, Model, body.model_id, principal.workspace_id, "model")
    spec = SegmentSpec.of(model.name, body.definition)
    now = body.now or datetime.now(UTC)
    secrets = get_database(request).secrets
    who = principal.user_id or principal.token_id or "system"
    key = (principal.workspace_id, who, body.preview_key) if body.preview_key else None
    with (
        service.open_compiler(session, principal.workspace_id, model, secrets=secrets, now=now) as compiler,
        INFLIGHT_PREVIEWS.track(key, getattr(compiler.catalog, "warehouse", None)),
    ):
        result = preview(compiler, spec, columns=body.columns, limit=body.limit, explain=body.explain)
    return _preview_out(result, now)


@router.get("/{segment_id}/preview", response_model=SegmentPreviewOut)
def preview_segment(
    segment_id: str,
    request: Request,
    session: DbSession,
    principal: Reader,
    columns: Columns = None,
    limit: Annotated[int, Query(ge=0, le=500)] = 20,
    now: Now = None,
) -> SegmentPreviewOut:
    row, model = _segment(session, principal, segment_id)
    moment = now or datetime.now(UTC)
    secrets = get_database(request).secrets
    with service.open_compiler(
        session, principal.workspace_id, model, secrets=secrets, now=moment
    ) as compiler:
        result = preview(compiler, _spec(row, model), columns=columns, limit=limit)
    return _preview_out(result, moment)


@router.get("/{segment_id}/estimate", response_model=EstimateOut)
def estimate_segment(
    segment_id: str, request: Request, session: DbSession, principal: Reader, now: Now = None
) -> EstimateOut:
    """The segment's current size."""
    row, model = _segment(session, principal, segment_id)
    moment = now or datetime.now(UTC)
    secrets = get_database(request).secrets
    with service.open_compiler(
        session, principal.workspace_id, model, secrets=secrets, now=moment
    ) as compiler:
        return EstimateOut(count=count(compiler, _spec(row, model)), evaluated_at=moment)


@router.get("/{segment_id}/sql", response_model=SegmentSqlOut)
def show_sql(
    segment_id: str,
    request: Request,
    session: DbSession,
    principal: Reader,
    dialect: Annotated[str | None, Query(description="SQL dialect (default: the source's).")] = None,
    now: Now = None,
) -> SegmentSqlOut:
    """The query the segment runs, in its source's dialect or in ``dialect``."""
    row, model = _segment(session, principal, segment_id)
    secrets = get_database(request).secrets
    with service.open_compiler(session, principal.workspace_id, model, secrets=secrets, now=now) as compiler:
        target = dialect or compiler.catalog.dialect
        return SegmentSqlOut(dialect=target, sql=segment_sql(compiler, _spec(row, model), dialect=target))


@router.get("/{segment_id}/breakdown", response_model=BreakdownOut)
def breakdown_segment(
    segment_id: str,
    request: Request,
    session: DbSession,
    principal: Reader,
    fields: Annotated[list[str], Query(description="One or two categorical fields.")],
    limit: Annotated[int, Query(ge=1, le=200)] = 50,
    now: Now = None,
) -> BreakdownOut:
    row, model = _segment(session, principal, segment_id)
    secrets = get_database(request).secrets
    with service.open_compiler(session, principal.workspace_id, model, secrets=secrets, now=now) as compiler:
        result = breakdown(compiler, _spec(row, model), fields, limit=limit)
    return BreakdownOut.model_validate(asdict(result))


@router.post("/overlap", response_model=OverlapOut)
def overlap_segments(
    body: OverlapRequest, request: Request, session: DbSession, principal: Reader
) -> OverlapOut:
    """Every intersection of 2 to 5 segments of one model (UpSet data) and their pairwise overlaps."""
    found = [_segment(session, principal, segment_id) for segment_id in body.segment_ids]
    model = found[0][1]
    specs = [_spec(row, row_model) for row, row_model in found]
    secrets = get_database(request).secrets
    with service.open_compiler(
        session, principal.workspace_id, model, secrets=secrets, now=body.now
    ) as compiler:
        result = overlap(compiler, specs)
    return OverlapOut.model_validate(asdict(result))


@router.post("/{segment_id}/materialize", response_model=MaterializeOut)
def materialize_segment(
    segment_id: str, request: Request, session: DbSession, principal: Writer, now: Now = None
) -> MaterializeOut:
    """Write the segment's keys to the source's bookkeeping schema (``<schema>.segment_<id>``)."""
    row, model = _segment(session, principal, segment_id)
    secrets = get_database(request).secrets
    source = get_scoped(session, Source, model.source_id, principal.workspace_id, "source")
    schema = source_config(source, secrets).bookkeeping_schema
    if not schema:
        raise InvalidInput("this source has no bookkeeping schema, so Sluice may not write in its warehouse")
    with service.open_compiler(session, principal.workspace_id, model, secrets=secrets, now=now) as compiler:
        warehouse = getattr(compiler.catalog, "warehouse")  # noqa: B009 - stored catalogs only
        result = materialize(compiler, _spec(row, model), warehouse, schema=schema)
        materialized_at = compiler.now
    row.materialized_table = f"{result.schema}.{result.table}"
    row.materialized_signature = result.signature
    row.materialized_at = materialized_at
    row.materialized_rows = result.rows
    return MaterializeOut.model_validate({**asdict(result), "materialized_at": materialized_at})


def _preview_out(result: Preview, now: datetime) -> SegmentPreviewOut:
    return SegmentPreviewOut(
        count=result.count,
        model_count=result.model_count,
        columns=result.columns,
        rows=service.jsonable_rows(result.rows),
        conditions=[ConditionCountOut.model_validate(asdict(item)) for item in result.conditions],
        evaluated_at=now,
    )


def _flush_unique(session: DbSession, name: str) -> None:
    try:
        session.flush()
    except IntegrityError:
        raise Conflict(f"a segment named {name!r} already exists in this workspace") from None
