"""Sources (warehouse connections): CRUD, connection test, introspection; source types at ``/source-types``."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Query, Request, status
from sqlalchemy import select
from sqlalchemy.exc import IntegrityError

from sluice.api.deps import DbSession, get_database, require
from sluice.api.pagination import Page, PageParams, page_params, paginate
from sluice.auth.permissions import Permission
from sluice.auth.principal import Principal
from sluice.core.errors import Conflict
from sluice.schemas.sources import (
    BookkeepingOut,
    ConnectionTestOut,
    IntrospectionOut,
    SchemaTablesOut,
    SourceColumnOut,
    SourceCreate,
    SourceOut,
    SourceTypeOut,
    SourceUpdate,
    TableColumnsOut,
)
from sluice.store.base import utcnow
from sluice.store.scoped import get_scoped
from sluice.store.tables.sources import Source
from sluice.warehouse.check import test_connection
from sluice.warehouse.configs import SOURCE_TYPES, build_config, public_config, source_type
from sluice.warehouse.introspection import list_schema_tables, table_columns
from sluice.warehouse.sources import open_source, source_config

router = APIRouter(tags=["sources"])
Reader = Annotated[Principal, Depends(require(Permission.SOURCES_READ))]
Writer = Annotated[Principal, Depends(require(Permission.SOURCES_WRITE))]


@router.get("/source-types", response_model=list[SourceTypeOut])
def list_source_types(principal: Reader) -> list[SourceTypeOut]:
    """Every source type with the JSON Schema of its config form."""
    return [
        SourceTypeOut(
            name=spec.name,
            label=spec.label,
            description=(spec.config.__doc__ or "").strip(),
            dialect=spec.dialect,
            json_schema=spec.json_schema(),
            secret_fields=spec.secret_fields,
        )
        for spec in SOURCE_TYPES.values()
    ]


@router.get("/sources", response_model=Page[SourceOut])
def list_sources(
    session: DbSession, principal: Reader, params: Annotated[PageParams, Depends(page_params)]
) -> Page[SourceOut]:
    statement = select(Source).where(Source.workspace_id == principal.workspace_id)
    rows, cursor = paginate(session, statement, Source.id, params)
    return Page(items=[SourceOut.model_validate(row) for row in rows], next_cursor=cursor)


@router.post("/sources", response_model=SourceOut, status_code=status.HTTP_201_CREATED)
def create_source(body: SourceCreate, request: Request, session: DbSession, principal: Writer) -> Source:
    """Create a source; ``config`` and ``secrets`` are checked against the type's config schema."""
    secrets = {k: v.get_secret_value() for k, v in body.secrets.items()}
    config = build_config(body.type, body.config, secrets)
    source = Source(
        workspace_id=principal.workspace_id,
        name=body.name,
        type=source_type(body.type).name,
        description=body.description,
        config=public_config(config),
    )
    source.write_secrets(get_database(request).secrets, secrets)
    session.add(source)
    _flush_unique(session, body.name)
    return source


@router.get("/sources/{source_id}", response_model=SourceOut)
def get_source(source_id: str, session: DbSession, principal: Reader) -> Source:
    return get_scoped(session, Source, source_id, principal.workspace_id, "source")


@router.patch("/sources/{source_id}", response_model=SourceOut)
def update_source(
    source_id: str, body: SourceUpdate, request: Request, session: DbSession, principal: Writer
) -> Source:
    """Change a source; secrets given replace stored ones, others are kept."""
    source = get_scoped(session, Source, source_id, principal.workspace_id, "source")
    box = get_database(request).secrets
    new_secrets = {k: v.get_secret_value() for k, v in (body.secrets or {}).items()}
    if body.config is not None or new_secrets:
        merged_secrets = {**(source.read_secrets(box) if source.secrets_encrypted else {}), **new_secrets}
        changes = body.config or {}
        kept = {key: value for key, value in source.config.items() if key not in changes}
        given = kept | {key: value for key, value in changes.items() if value is not None}  # null: default
        config = build_config(source.type, given, merged_secrets)
        source.config = public_config(config)
        source.introspection = None
    for name in ("name", "description"):
        value = getattr(body, name)
        if value is not None:
            setattr(source, name, value)
    if new_secrets:
        source.write_secrets(box, new_secrets)
    _flush_unique(session, source.name)
    return source


@router.delete("/sources/{source_id}", status_code=status.HTTP_204_NO_CONTENT)
def delete_source(source_id: str, session: DbSession, principal: Writer) -> None:
    """Delete a source and its models."""
    session.delete(get_scoped(session, Source, source_id, principal.workspace_id, "source"))


@router.post("/sources/{source_id}/test", response_model=ConnectionTestOut)
def test_source(source_id: str, request: Request, session: DbSession, principal: Writer) -> ConnectionTestOut:
    """Connect, read a table and probe the bookkeeping schema; the outcome is kept on the source."""
    source = get_scoped(session, Source, source_id, principal.workspace_id, "source")
    report = test_connection(source_config(source, get_database(request).secrets))
    source.last_test_status, source.last_test_message = report.status, report.message
    source.last_tested_at = utcnow()
    bookkeeping = report.bookkeeping
    return ConnectionTestOut(
        ok=report.ok,
        status=report.status,
        message=report.message,
        schemas=report.schemas,
        bookkeeping=BookkeepingOut(
            schema_name=bookkeeping.schema,
            writable=bookkeeping.writable,
            created=bookkeeping.created,
            message=bookkeeping.message,
        )
        if bookkeeping
        else None,
        tested_at=source.last_tested_at,
    )


@router.get("/sources/{source_id}/schemas", response_model=IntrospectionOut)
def list_source_schemas(
    source_id: str,
    request: Request,
    session: DbSession,
    principal: Reader,
    refresh: Annotated[bool, Query(description="Read the warehouse again instead of the cache.")] = False,
) -> IntrospectionOut:
    """Schemas and their tables (cached; ``refresh=true`` reads the warehouse again)."""
    source = get_scoped(session, Source, source_id, principal.workspace_id, "source")
    if refresh or not (source.introspection or {}).get("schemas"):
        with open_source(source, get_database(request).secrets) as warehouse:
            schemas = list_schema_tables(source, warehouse, refresh=True)
    else:
        schemas = {name: sorted(tables) for name, tables in source.introspection["schemas"].items()}  # type: ignore[index]
    return IntrospectionOut(
        schemas=[SchemaTablesOut(name=name, tables=tables) for name, tables in sorted(schemas.items())],
        refreshed_at=source.introspected_at,
    )


@router.get("/sources/{source_id}/schemas/{schema_name}/tables/{table}", response_model=TableColumnsOut)
def get_source_table(
    source_id: str,
    schema_name: str,
    table: str,
    request: Request,
    session: DbSession,
    principal: Reader,
    refresh: Annotated[bool, Query(description="Read the warehouse again instead of the cache.")] = False,
) -> TableColumnsOut:
    """Columns of a table with logical and warehouse types (cached)."""
    source = get_scoped(session, Source, source_id, principal.workspace_id, "source")
    cached = ((source.introspection or {}).get("schemas", {}).get(schema_name) or {}).get(table)
    if refresh or cached is None:
        with open_source(source, get_database(request).secrets) as warehouse:
            columns = table_columns(source, warehouse, schema_name, table, refresh=True)
    else:
        columns = cached
    return TableColumnsOut(
        schema_name=schema_name,
        table=table,
        columns=[SourceColumnOut(**column) for column in columns],
        refreshed_at=source.introspected_at,
    )


def _flush_unique(session: DbSession, name: str) -> None:
    try:
        session.flush()
    except IntegrityError:
        raise Conflict(f"a source named {name!r} already exists in this workspace") from None
