""" "Connect with <vendor>": the OAuth authorization-code flow of destinations.

``GET /destinations/oauth/{type}/authorize?destination_id=…`` (signed-in user, destinations:write)
answers the vendor's authorize URL and sets an HttpOnly cookie with the sealed flow; the web app
sends the browser there. The vendor sends it back to ``GET /destinations/oauth/callback``, which
checks the flow (state, expiry, same user and browser session, destinations:write in the flow's
workspace), exchanges the code, stores the refresh token encrypted in the destination and
redirects to the destination's page with ``?oauth=connected`` or ``?oauth_error=<message>``.
See :mod:`sluice.destinations.oauth_flow`.
"""

from __future__ import annotations

from typing import Annotated
from urllib.parse import urlencode

from fastapi import APIRouter, Depends, Query, Request, status
from fastapi.responses import JSONResponse, RedirectResponse
from pydantic import BaseModel, Field

from sluice.api.deps import DbSession, get_database, require
from sluice.api.urls import local_path, public_base_url
from sluice.auth.audit import record_audit
from sluice.auth.browser import SESSION_COOKIE, authenticate_cookie
from sluice.auth.permissions import Permission
from sluice.auth.principal import Principal
from sluice.auth.resolve import WORKSPACE_HEADER
from sluice.core.crypto import SecretDecryptionError
from sluice.core.errors import InvalidInput, NotAuthenticated, SluiceError
from sluice.destinations import oauth_flow
from sluice.store.scoped import get_scoped
from sluice.store.tables.destinations import Destination

router = APIRouter(tags=["destinations"])
CALLBACK_PATH = "/api/v1/destinations/oauth/callback"
COOKIE_PATH = "/api/v1/destinations/oauth"
Writer = Annotated[Principal, Depends(require(Permission.DESTINATIONS_WRITE))]
_require_writer = require(Permission.DESTINATIONS_WRITE)


class OAuthAuthorizeOut(BaseModel):
    """Where to send the browser to approve Sluice at the vendor."""

    authorize_url: str = Field(description="The vendor's authorization page (state and PKCE included).")


def _browser_session_id(request: Request, session: DbSession) -> str:
    if not request.cookies.get(SESSION_COOKIE):
        raise InvalidInput("connect a destination from the web app while signed in (not with an API token)")
    return authenticate_cookie(session, request, request.app.state.settings).record.id


@router.get("/destinations/oauth/{type_name}/authorize", response_model=OAuthAuthorizeOut)
def authorize_destination(
    type_name: str,
    request: Request,
    session: DbSession,
    principal: Writer,
    destination_id: Annotated[str, Query(max_length=26, description="The destination to connect")],
    return_to: Annotated[str, Query(max_length=2000, description="Web app path to come back to")] = "",
) -> JSONResponse:
    """Start connecting a saved destination to the vendor account the user approves."""
    destination = get_scoped(session, Destination, destination_id, principal.workspace_id, "destination")
    if destination.type != type_name:
        raise InvalidInput(
            f"destination {destination.name!r} is of type {destination.type!r}, not {type_name!r}"
        )
    if principal.user_id is None or principal.token_id is not None:
        raise InvalidInput("connect a destination from the web app while signed in (not with an API token)")
    url, sealed = oauth_flow.begin(
        destination,
        get_database(request).secrets,
        user_id=principal.user_id,
        session_id=_browser_session_id(request, session),
        redirect_uri=public_base_url(request) + CALLBACK_PATH,
        return_to=local_path(return_to, f"/destinations/{destination.id}"),
    )
    record_audit(
        session, "destination.oauth_started", "destination", destination.id, {"type": destination.type}
    )
    response = JSONResponse(OAuthAuthorizeOut(authorize_url=url).model_dump())
    response.set_cookie(
        oauth_flow.FLOW_COOKIE,
        sealed,
        max_age=oauth_flow.FLOW_SECONDS,
        httponly=True,
        samesite="lax",
        secure=request.url.scheme == "https",
        path=COOKIE_PATH,
    )
    return response


def require_writer_in_flow_workspace(request: Request, session: DbSession) -> Principal:
    """destinations:write, checked in the workspace the flow was started in (the vendor's redirect
    carries no workspace header); without a readable flow cookie, the user's default workspace."""
    sealed = request.cookies.get(oauth_flow.FLOW_COOKIE)
    workspace_id = None
    if sealed:
        try:
            workspace_id = get_database(request).secrets.decrypt(sealed).get("workspace_id")
        except SecretDecryptionError:
            workspace_id = None
    if isinstance(workspace_id, str):
        headers = [
            (k, v) for k, v in request.scope["headers"] if k.lower() != WORKSPACE_HEADER.lower().encode()
        ]
        scope = {
            **request.scope,
            "headers": [*headers, (WORKSPACE_HEADER.lower().encode(), workspace_id.encode())],
        }
        request = Request(scope, request.receive)
    return _require_writer(request, session)


require_writer_in_flow_workspace.required_permission = Permission.DESTINATIONS_WRITE  # type: ignore[attr-defined]
FlowWriter = Annotated[Principal, Depends(require_writer_in_flow_workspace)]


@router.get(
    "/destinations/oauth/callback", response_class=RedirectResponse, status_code=status.HTTP_303_SEE_OTHER
)
def destination_oauth_callback(
    request: Request,
    session: DbSession,
    principal: FlowWriter,
    code: Annotated[str, Query(max_length=4000)] = "",
    state: Annotated[str, Query(max_length=2000)] = "",
    error: Annotated[str, Query(max_length=200)] = "",
    error_description: Annotated[str, Query(max_length=1000)] = "",
) -> RedirectResponse:
    """Finish connecting: check the flow, exchange the code, store the refresh token, go back."""
    box = get_database(request).secrets
    flow = oauth_flow.open_flow(box, request.cookies.get(oauth_flow.FLOW_COOKIE), state)
    if principal.user_id != flow.user_id or _browser_session_id(request, session) != flow.session_id:
        raise NotAuthenticated("this connection attempt was started by another user or browser session")
    destination = get_scoped(session, Destination, flow.destination_id, principal.workspace_id, "destination")
    outcome: dict[str, str]
    if error:
        outcome = {"oauth_error": f"the platform did not grant access: {error_description or error}"}
    elif not code:
        outcome = {"oauth_error": "the platform sent no authorization code"}
    else:
        try:
            scope = oauth_flow.complete(destination, box, flow, code)
        except SluiceError as exc:
            outcome = {"oauth_error": exc.message}
        else:
            outcome = {"oauth": "connected"}
            record_audit(
                session,
                "destination.oauth_connected",
                "destination",
                destination.id,
                {"type": destination.type, "scope": scope or ""},
            )
    if "oauth_error" in outcome:
        record_audit(
            session,
            "destination.oauth_failed",
            "destination",
            destination.id,
            {"type": destination.type, "reason": outcome["oauth_error"]},
        )
    separator = "&" if "?" in flow.return_to else "?"
    response = RedirectResponse(
        f"{flow.return_to}{separator}{urlencode(outcome)}", status_code=status.HTTP_303_SEE_OTHER
    )
    response.delete_cookie(oauth_flow.FLOW_COOKIE, path=COOKIE_PATH)
    return response
