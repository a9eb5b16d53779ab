"""Single sign-on providers of a workspace (OpenID Connect or SAML 2.0); the sign-in flow is in ``sso_login``."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Request, status
from sqlalchemy import select
from sqlalchemy.exc import IntegrityError

from sluice.api.deps import DbSession, get_database, require
from sluice.api.pagination import Page, PageParams, page_params, paginate
from sluice.auth.permissions import Permission
from sluice.auth.principal import Principal
from sluice.auth.sso import oidc, saml
from sluice.core.errors import Conflict, InvalidInput
from sluice.schemas.auth import SsoProviderCreate, SsoProviderOut, SsoProviderUpdate
from sluice.store.scoped import get_scoped
from sluice.store.tables.auth import SsoProvider

router = APIRouter(tags=["sso"])
Manager = Annotated[Principal, Depends(require(Permission.WORKSPACE_MANAGE))]


@router.get("/sso-providers", response_model=Page[SsoProviderOut])
def list_providers(
    session: DbSession, principal: Manager, params: Annotated[PageParams, Depends(page_params)]
) -> Page[SsoProviderOut]:
    """Identity providers of this workspace."""
    statement = select(SsoProvider).where(SsoProvider.workspace_id == principal.workspace_id)
    rows, cursor = paginate(session, statement, SsoProvider.id, params)
    return Page(items=[SsoProviderOut.model_validate(row) for row in rows], next_cursor=cursor)


@router.post("/sso-providers", response_model=SsoProviderOut, status_code=status.HTTP_201_CREATED)
def create_provider(
    body: SsoProviderCreate, request: Request, session: DbSession, principal: Manager
) -> SsoProvider:
    """Add an identity provider (an OIDC client secret is stored encrypted, never returned)."""
    provider = SsoProvider(
        workspace_id=principal.workspace_id,
        name=body.name,
        kind=body.kind,
        discovery_url=body.discovery_url or "",
        client_id=body.client_id or "",
        domains=oidc.validate_domains(body.domains),
        default_role=body.default_role.value,
        enabled=body.enabled,
    )
    if body.kind == "saml":
        if body.saml is None:
            raise InvalidInput("saml: give idp_entity_id, idp_sso_url and idp_x509_cert for a SAML provider")
        provider.saml = saml.validate_saml_settings(body.saml.model_dump())
    else:
        if not (body.discovery_url and body.client_id and body.client_secret):
            raise InvalidInput("discovery_url, client_id and client_secret are required for an OIDC provider")
        secret = body.client_secret.get_secret_value()
        provider.write_secrets(get_database(request).secrets, {"client_secret": secret})
    session.add(provider)
    _flush_unique(session, body.name)
    return provider


@router.patch("/sso-providers/{provider_id}", response_model=SsoProviderOut)
def update_provider(
    provider_id: str, body: SsoProviderUpdate, request: Request, session: DbSession, principal: Manager
) -> SsoProvider:
    """Change a provider; fields left out keep their value."""
    provider = get_scoped(session, SsoProvider, provider_id, principal.workspace_id, "SSO provider")
    for name in ("name", "discovery_url", "client_id", "enabled"):
        value = getattr(body, name)
        if value is not None:
            setattr(provider, name, value)
    if body.domains is not None:
        provider.domains = oidc.validate_domains(body.domains)
    if body.default_role is not None:
        provider.default_role = body.default_role.value
    if body.saml is not None:
        provider.saml = saml.validate_saml_settings(body.saml.model_dump())
    if body.client_secret is not None:
        secret = body.client_secret.get_secret_value()
        provider.write_secrets(get_database(request).secrets, {"client_secret": secret})
    _flush_unique(session, provider.name)
    return provider


@router.delete("/sso-providers/{provider_id}", status_code=status.HTTP_204_NO_CONTENT)
def delete_provider(provider_id: str, session: DbSession, principal: Manager) -> None:
    """Remove a provider (its users keep their accounts)."""
    session.delete(get_scoped(session, SsoProvider, provider_id, principal.workspace_id, "SSO provider"))


def _flush_unique(session: DbSession, name: str) -> None:
    try:
        session.flush()
    except IntegrityError:
        raise Conflict(f"an SSO provider named {name!r} already exists in this workspace") from None
