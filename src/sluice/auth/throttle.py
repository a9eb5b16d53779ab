"""Sign-in brute-force protection: failures are counted per (email, client IP).

After ``login_max_failures`` failures within ``login_lockout_minutes`` the pair is locked for
``login_lockout_minutes``, even for the right password; a success clears the count.
"""

from __future__ import annotations

import math
from datetime import UTC, datetime, timedelta

from sqlalchemy import delete, select
from sqlalchemy.orm import Session

from sluice.auth.credentials import digest
from sluice.core.errors import TooManyRequests
from sluice.core.settings import Settings
from sluice.store.tables.auth import LoginThrottle


def _key(email: str, ip: str) -> str:
    return digest(f"login:{email.strip().lower()}|{ip}")


def ensure_not_locked(session: Session, email: str, ip: str) -> None:
    """Raise :class:`TooManyRequests` (with Retry-After) while the pair is locked out."""
    row = session.scalar(select(LoginThrottle).where(LoginThrottle.key_hash == _key(email, ip)))
    now = datetime.now(UTC)
    if row is not None and row.locked_until is not None and row.locked_until > now:
        seconds = math.ceil((row.locked_until - now).total_seconds())
        raise TooManyRequests(
            f"too many failed sign-ins for this account from your address; try again in {seconds} seconds",
            retry_after=seconds,
        )


def record_failure(session: Session, email: str, ip: str, settings: Settings) -> bool:
    """Count a failed sign-in; returns whether the pair is now locked out."""
    key = _key(email, ip)
    now = datetime.now(UTC)
    window = timedelta(minutes=settings.login_lockout_minutes)
    row = session.scalar(select(LoginThrottle).where(LoginThrottle.key_hash == key))
    if row is None:
        row = LoginThrottle(key_hash=key, failures=0, window_started_at=now)
        session.add(row)
    if now - row.window_started_at > window:
        row.failures, row.window_started_at, row.locked_until = 0, now, None
    row.failures += 1
    if row.failures >= settings.login_max_failures:
        row.locked_until = now + window
    session.flush()
    return row.locked_until is not None


def clear_failures(session: Session, email: str, ip: str) -> None:
    """Forget the failures of the pair after a successful sign-in."""
    session.execute(delete(LoginThrottle).where(LoginThrottle.key_hash == _key(email, ip)))
