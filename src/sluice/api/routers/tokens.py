"""API tokens: personal tokens (``/tokens``, yours) and service tokens (``/service-tokens``, admins).

A token is scoped to the current workspace and a role no higher than the creator's; its value is
returned once, by the request that creates it. Revoking is immediate.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Annotated

from fastapi import APIRouter, Depends, status
from sqlalchemy import select

from sluice.api.deps import DbSession, require
from sluice.api.pagination import Page, PageParams, page_params, paginate
from sluice.auth.permissions import Permission, Role, role_within
from sluice.auth.principal import Principal
from sluice.auth.tokens import issue_token
from sluice.core.errors import InvalidInput, NotFound, PermissionDenied
from sluice.schemas.auth import TokenCreate, TokenCreated, TokenOut
from sluice.store.scoped import get_scoped
from sluice.store.tables.auth import ApiToken

router = APIRouter(tags=["tokens"])
Personal = Annotated[Principal, Depends(require(Permission.TOKENS_PERSONAL))]
Service = Annotated[Principal, Depends(require(Permission.TOKENS_SERVICE))]


def _role_for(body: TokenCreate, principal: Principal) -> Role:
    role = body.role or principal.role
    if not role_within(role, principal.role):
        raise PermissionDenied(f"a token cannot have a higher role ({role}) than yours ({principal.role})")
    return role


def _created(session: DbSession, principal: Principal, body: TokenCreate, kind: str) -> TokenCreated:
    issued = issue_token(
        session,
        workspace_id=principal.workspace_id,
        name=body.name,
        kind=kind,
        role=_role_for(body, principal),
        user_id=principal.user_id,
        created_by=principal.user_id or principal.token_id,
        expires_in_days=body.expires_in_days,
    )
    return TokenCreated(**TokenOut.model_validate(issued.record).model_dump(), token=issued.plain)


@router.get("/tokens", response_model=Page[TokenOut])
def list_personal_tokens(
    session: DbSession, principal: Personal, params: Annotated[PageParams, Depends(page_params)]
) -> Page[TokenOut]:
    """Your personal tokens in this workspace."""
    statement = select(ApiToken).where(
        ApiToken.workspace_id == principal.workspace_id,
        ApiToken.kind == "personal",
        ApiToken.user_id == (principal.user_id or ""),
    )
    rows, cursor = paginate(session, statement, ApiToken.id, params)
    return Page(items=[TokenOut.model_validate(row) for row in rows], next_cursor=cursor)


@router.post("/tokens", response_model=TokenCreated, status_code=status.HTTP_201_CREATED)
def create_personal_token(body: TokenCreate, session: DbSession, principal: Personal) -> TokenCreated:
    """A personal token acting as you (never above your role). The value is shown only now."""
    if principal.user_id is None:
        raise InvalidInput("a service token cannot create personal tokens; use /service-tokens")
    return _created(session, principal, body, "personal")


@router.delete("/tokens/{token_id}", status_code=status.HTTP_204_NO_CONTENT)
def revoke_personal_token(token_id: str, session: DbSession, principal: Personal) -> None:
    """Revoke one of your personal tokens."""
    token = get_scoped(session, ApiToken, token_id, principal.workspace_id, "token")
    if token.kind != "personal" or token.user_id != principal.user_id:
        raise NotFound(f"token {token_id!r} not found")
    token.revoked_at = token.revoked_at or datetime.now(UTC)


@router.get("/service-tokens", response_model=Page[TokenOut])
def list_service_tokens(
    session: DbSession, principal: Service, params: Annotated[PageParams, Depends(page_params)]
) -> Page[TokenOut]:
    """Service tokens of this workspace."""
    statement = select(ApiToken).where(
        ApiToken.workspace_id == principal.workspace_id, ApiToken.kind == "service"
    )
    rows, cursor = paginate(session, statement, ApiToken.id, params)
    return Page(items=[TokenOut.model_validate(row) for row in rows], next_cursor=cursor)


@router.post("/service-tokens", response_model=TokenCreated, status_code=status.HTTP_201_CREATED)
def create_service_token(body: TokenCreate, session: DbSession, principal: Service) -> TokenCreated:
    """A token for automation that acts as itself. The value is shown only now."""
    return _created(session, principal, body, "service")


@router.delete("/service-tokens/{token_id}", status_code=status.HTTP_204_NO_CONTENT)
def revoke_service_token(token_id: str, session: DbSession, principal: Service) -> None:
    """Revoke a service token of this workspace."""
    token = get_scoped(session, ApiToken, token_id, principal.workspace_id, "token")
    if token.kind != "service":
        raise NotFound(f"token {token_id!r} not found")
    token.revoked_at = token.revoked_at or datetime.now(UTC)
