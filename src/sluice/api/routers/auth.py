"""Sign-in and sign-out: password, demo, first-start setup; who am I.

Sign-in sets the ``sluice_session`` cookie (HttpOnly) and the ``sluice_csrf`` cookie, whose value
the web app sends back as ``X-CSRF-Token`` on every unsafe request.
"""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Request, Response, status
from pydantic import BaseModel
from sqlalchemy import select

from sluice.api.deps import DbSession, get_database, require
from sluice.auth import throttle
from sluice.auth.audit import Actor, AuditContext, bind_audit_context, record_audit
from sluice.auth.bootstrap import claim_setup, demo_owner, has_users
from sluice.auth.browser import clear_session_cookies, client_ip, end_session, start_session
from sluice.auth.credentials import verify_password
from sluice.auth.permissions import Permission
from sluice.auth.principal import Principal
from sluice.auth.views import me_for_principal, me_for_user
from sluice.core.errors import NotAuthenticated, NotFound
from sluice.core.settings import Settings
from sluice.schemas.auth import LoginIn, MeOut, SetupIn
from sluice.store.tables.auth import User

router = APIRouter(prefix="/auth", tags=["auth"])
Member = Annotated[Principal, Depends(require(Permission.WORKSPACE_READ))]


class SetupStatus(BaseModel):
    needs_setup: bool
    demo: bool


def _signed_in(session: DbSession, request: Request, response: Response, user: User, method: str) -> MeOut:
    settings: Settings = request.app.state.settings
    start_session(session, user, request, response, settings, method)
    bind_audit_context(session, AuditContext(actor=Actor("user", user.id, user.email), ip=client_ip(request)))
    record_audit(session, "auth.login", "user", user.id, {"method": method})
    return me_for_user(session, user, "session")


@router.post("/login", response_model=MeOut)
def login(body: LoginIn, request: Request, response: Response, session: DbSession) -> MeOut:
    """Sign in with email and password (rate limited per email and address)."""
    settings: Settings = request.app.state.settings
    email, ip = body.email.strip().lower(), client_ip(request)
    throttle.ensure_not_locked(session, email, ip)
    user = session.scalar(select(User).where(User.email == email))
    matches = verify_password(user.password_hash if user else None, body.password.get_secret_value())
    if user is None or not matches or not user.is_active:
        with get_database(request).session() as own:
            locked = throttle.record_failure(own, email, ip, settings)
            bind_audit_context(own, AuditContext(actor=Actor("anonymous", None, email), ip=ip))
            record_audit(
                own,
                "auth.login_failed",
                "user",
                user.id if user else None,
                {"email": email, "locked": locked},
            )
        raise NotAuthenticated("wrong email or password")
    throttle.clear_failures(session, email, ip)
    return _signed_in(session, request, response, user, "password")


@router.post("/logout", status_code=status.HTTP_204_NO_CONTENT)
def logout(request: Request, response: Response, session: DbSession, principal: Member) -> None:
    """End the browser session (API tokens are revoked through /tokens instead)."""
    end_session(session, request)
    clear_session_cookies(response)
    record_audit(session, "auth.logout", "user", principal.user_id)


@router.get("/me", response_model=MeOut)
def me(session: DbSession, principal: Member) -> MeOut:
    """The signed-in user, their workspaces with roles, and the current workspace."""
    return me_for_principal(session, principal)


@router.post("/demo-login", response_model=MeOut)
def demo_login(request: Request, response: Response, session: DbSession) -> MeOut:
    """Demo mode only (``SLUICE_DEMO=true``): sign in as the demo owner without a password."""
    settings: Settings = request.app.state.settings
    if not settings.demo:
        raise NotFound("demo sign-in is available only when SLUICE_DEMO=true")
    return _signed_in(session, request, response, demo_owner(session), "demo")


@router.get("/setup", response_model=SetupStatus)
def setup_status(request: Request, session: DbSession) -> SetupStatus:
    """Whether the first owner still has to be created (the web app then shows the setup page)."""
    settings: Settings = request.app.state.settings
    return SetupStatus(needs_setup=not has_users(session), demo=settings.demo)


@router.post("/setup", response_model=MeOut, status_code=status.HTTP_201_CREATED)
def setup(body: SetupIn, request: Request, response: Response, session: DbSession) -> MeOut:
    """Claim the one-time setup link printed on first start: create the owner and sign in."""
    user = claim_setup(
        session,
        body.token.get_secret_value(),
        body.email,
        body.password.get_secret_value(),
        body.name,
    )
    return _signed_in(session, request, response, user, "setup")
