"""Browser sessions: the ``sluice_session`` cookie and its CSRF companion ``sluice_csrf``.

The session cookie is HttpOnly, SameSite=Lax and Secure over https; only its digest is stored.
The CSRF token is an HMAC of the session token under the installation's secret key, sent in a
cookie the web app can read; every unsafe request authenticated by cookie must echo it in the
``X-CSRF-Token`` header (double submit, bound to the session so a planted cookie does not help).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from fastapi import Request, Response
from sqlalchemy import select, update
from sqlalchemy.orm import Session

from sluice.auth.credentials import digest, keyed_digest, new_secret, same
from sluice.core.errors import NotAuthenticated, PermissionDenied
from sluice.core.settings import Settings
from sluice.store.tables.auth import User, UserSession

SESSION_COOKIE = "sluice_session"
CSRF_COOKIE = "sluice_csrf"
CSRF_HEADER = "X-CSRF-Token"
SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS", "TRACE"})
LAST_SEEN_RESOLUTION = timedelta(seconds=60)


def client_ip(request: Request) -> str:
    """The peer address of the request (a proxy in front should be configured to pass the real one)."""
    return request.client.host if request.client else ""


def csrf_token_for(secret_key: str, session_token: str) -> str:
    """The CSRF token that belongs to a session token."""
    return keyed_digest(secret_key, f"csrf:{session_token}")


def start_session(
    session: Session, user: User, request: Request, response: Response, settings: Settings, method: str
) -> UserSession:
    """Create a browser session for ``user`` and set both cookies on ``response``."""
    plain = new_secret()
    now = datetime.now(UTC)
    record = UserSession(
        user_id=user.id,
        token_hash=digest(plain),
        expires_at=now + timedelta(hours=settings.session_hours),
        last_seen_at=now,
        ip=client_ip(request),
        user_agent=request.headers.get("user-agent", "")[:300],
        method=method,
    )
    session.add(record)
    user.last_login_at = now
    session.flush()
    set_session_cookies(response, request, settings, plain)
    return record


def set_session_cookies(response: Response, request: Request, settings: Settings, plain: str) -> None:
    """Set the session cookie and its CSRF cookie."""
    secure = request.url.scheme == "https" or (settings.public_url or "").startswith("https://")
    max_age = settings.session_hours * 3600
    response.set_cookie(
        SESSION_COOKIE, plain, max_age=max_age, httponly=True, samesite="lax", secure=secure, path="/"
    )
    response.set_cookie(
        CSRF_COOKIE,
        csrf_token_for(settings.resolved_secret_key, plain),
        max_age=max_age,
        httponly=False,
        samesite="lax",
        secure=secure,
        path="/",
    )


def clear_session_cookies(response: Response) -> None:
    """Remove both cookies from the browser."""
    response.delete_cookie(SESSION_COOKIE, path="/")
    response.delete_cookie(CSRF_COOKIE, path="/")


@dataclass(frozen=True)
class BrowserIdentity:
    """The user behind a valid session cookie."""

    record: UserSession
    user: User


def authenticate_cookie(session: Session, request: Request, settings: Settings) -> BrowserIdentity:
    """The user of the request's session cookie; enforces CSRF on unsafe methods."""
    plain = request.cookies.get(SESSION_COOKIE, "")
    record = session.scalar(select(UserSession).where(UserSession.token_hash == digest(plain)))
    now = datetime.now(UTC)
    if record is None or record.revoked_at is not None or record.expires_at <= now:
        raise NotAuthenticated("your session has ended; sign in again")
    user = session.get(User, record.user_id)
    if user is None or not user.is_active:
        raise NotAuthenticated("this account is disabled")
    if request.method not in SAFE_METHODS:
        expected = csrf_token_for(settings.resolved_secret_key, plain)
        sent = request.headers.get(CSRF_HEADER, "")
        cookie = request.cookies.get(CSRF_COOKIE, "")
        if not (sent and same(sent, cookie) and same(sent, expected)):
            raise PermissionDenied(
                f"missing or wrong {CSRF_HEADER} header: send the value of the {CSRF_COOKIE} cookie"
            )
    if record.last_seen_at is None or now - record.last_seen_at >= LAST_SEEN_RESOLUTION:
        session.execute(update(UserSession).where(UserSession.id == record.id).values(last_seen_at=now))
    return BrowserIdentity(record=record, user=user)


def end_session(session: Session, request: Request) -> None:
    """Revoke the request's browser session, if any."""
    plain = request.cookies.get(SESSION_COOKIE)
    if plain:
        session.execute(
            update(UserSession)
            .where(UserSession.token_hash == digest(plain), UserSession.revoked_at.is_(None))
            .values(revoked_at=datetime.now(UTC))
        )
