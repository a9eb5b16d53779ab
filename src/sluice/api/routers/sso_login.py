"""Single sign-on: start, OpenID Connect callback, SAML assertion consumer and SP metadata.

``GET /auth/sso/start?email=…`` picks the provider by email domain and sends the browser there
(OIDC: authorization code + PKCE; SAML: AuthnRequest by redirect). The provider comes back to
``/auth/sso/oidc/callback`` or POSTs to ``/auth/sso/saml/acs``; the identity is verified, the
account and membership are created just in time, the browser is signed in and sent to
``return_to`` (a local path).
"""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Form, Query, Request, status
from fastapi.responses import RedirectResponse, Response

from sluice.api.deps import DbSession, get_database
from sluice.api.urls import local_path, public_base_url
from sluice.auth.audit import AuditContext, bind_audit_context, record_audit
from sluice.auth.browser import client_ip, start_session
from sluice.auth.sso import oidc, saml
from sluice.auth.sso.jit import provider_for_email, provision
from sluice.core.errors import NotAuthenticated, NotFound
from sluice.core.settings import Settings
from sluice.store.tables.auth import SsoProvider, User

router = APIRouter(prefix="/auth/sso", tags=["sso"])
CALLBACK_PATH = "/api/v1/auth/sso/oidc/callback"
STATE_COOKIE_PATH = "/api/v1/auth/sso"


def _enabled(session: DbSession, provider_id: str, kind: str) -> SsoProvider:
    provider = session.get(SsoProvider, provider_id)
    if provider is None or not provider.enabled or provider.kind != kind:
        raise NotAuthenticated("this single sign-on provider is no longer enabled")
    return provider


def _finish(
    session: DbSession, request: Request, provider: SsoProvider, user: User, return_to: str
) -> RedirectResponse:
    redirect = RedirectResponse(local_path(return_to), status_code=status.HTTP_303_SEE_OTHER)
    settings: Settings = request.app.state.settings
    start_session(session, user, request, redirect, settings, provider.kind)
    record_audit(
        session, "auth.login", "user", user.id, {"method": provider.kind}, workspace_id=provider.workspace_id
    )
    redirect.delete_cookie(oidc.STATE_COOKIE, path=STATE_COOKIE_PATH)
    return redirect


@router.get("/start", response_class=RedirectResponse, status_code=status.HTTP_302_FOUND)
def sso_start(
    request: Request,
    session: DbSession,
    email: str = Query(default="", max_length=320, description="Picks the provider by email domain"),
    provider_id: str | None = Query(default=None, max_length=26),
    return_to: str = Query(default="/", max_length=2000),
) -> RedirectResponse:
    """Send the browser to the identity provider of ``email``'s domain (or ``provider_id``)."""
    if not email and not provider_id:
        raise NotFound("give the email you sign in with, or a provider_id")
    provider = provider_for_email(session, email or "@", provider_id)
    box = get_database(request).secrets
    if provider.kind == "saml":
        url = saml.begin(
            provider, box, public_base_url(request), login_hint=email, return_to=local_path(return_to)
        )
        return RedirectResponse(url, status_code=status.HTTP_302_FOUND)
    url, sealed = oidc.begin(
        provider,
        box,
        public_base_url(request) + CALLBACK_PATH,
        login_hint=email,
        return_to=local_path(return_to),
    )
    response = RedirectResponse(url, status_code=status.HTTP_302_FOUND)
    response.set_cookie(
        oidc.STATE_COOKIE,
        sealed,
        max_age=oidc.STATE_SECONDS,
        httponly=True,
        samesite="lax",
        secure=request.url.scheme == "https",
        path=STATE_COOKIE_PATH,
    )
    return response


@router.get("/oidc/callback", response_class=RedirectResponse, status_code=status.HTTP_303_SEE_OTHER)
def oidc_callback(
    request: Request,
    session: DbSession,
    code: str = Query(default="", max_length=2000),
    state: str = Query(default="", max_length=2000),
    error: str = Query(default="", max_length=200),
    error_description: str = Query(default="", max_length=1000),
) -> RedirectResponse:
    """Finish an OpenID Connect sign-in: verify, provision just in time, start the session, go back."""
    if error:
        raise NotAuthenticated(f"the identity provider refused the sign-in: {error_description or error}")
    box = get_database(request).secrets
    sealed = oidc.read_state(box, request.cookies.get(oidc.STATE_COOKIE))
    provider = _enabled(session, sealed["provider_id"], "oidc")
    identity = oidc.complete(provider, box, public_base_url(request) + CALLBACK_PATH, sealed, code, state)
    bind_audit_context(session, AuditContext(workspace_id=provider.workspace_id, ip=client_ip(request)))
    user = provision(session, provider, identity)
    return _finish(session, request, provider, user, identity.return_to)


@router.post("/saml/acs", response_class=RedirectResponse, status_code=status.HTTP_303_SEE_OTHER)
def saml_acs(
    request: Request,
    session: DbSession,
    saml_response: Annotated[str, Form(alias="SAMLResponse", max_length=200_000)],
    relay_state: Annotated[str, Form(alias="RelayState", max_length=4000)] = "",
) -> RedirectResponse:
    """Finish a SAML sign-in: verify the signed response, provision just in time, start the session."""
    state = saml.read_relay_state(get_database(request).secrets, relay_state)
    provider = _enabled(session, state["provider_id"], "saml")
    identity = saml.complete(provider, public_base_url(request), state, saml_response, relay_state)
    bind_audit_context(session, AuditContext(workspace_id=provider.workspace_id, ip=client_ip(request)))
    user = provision(session, provider, identity)
    return _finish(session, request, provider, user, identity.return_to)


@router.get("/saml/metadata", response_class=Response)
def saml_metadata(request: Request, session: DbSession, provider_id: str = Query(max_length=26)) -> Response:
    """Service-provider metadata to register at the identity provider."""
    provider = session.get(SsoProvider, provider_id)
    if provider is None or provider.kind != "saml":
        raise NotFound(f"SAML provider {provider_id!r} not found")
    return Response(
        saml.metadata(provider, public_base_url(request)), media_type="application/samlmetadata+xml"
    )
