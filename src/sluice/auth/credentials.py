"""Credentials Sluice hands out and checks: passwords (argon2) and random tokens (SHA-256 at rest).

Passwords are low-entropy, so they get a slow, salted hash. Session cookies, API tokens,
invitation and setup tokens are 256-bit random values, so a SHA-256 digest is enough to store
them safely and lets a token be looked up by its digest.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError

from sluice.core.errors import InvalidInput

MIN_PASSWORD_LENGTH = 10
_hasher = PasswordHasher()
# Verified when the user does not exist, so that the answer takes as long either way.
_DUMMY_HASH = _hasher.hash("not-a-real-password")


def hash_password(password: str) -> str:
    """An argon2id hash of ``password`` (rejects passwords that are too short)."""
    if len(password) < MIN_PASSWORD_LENGTH:
        raise InvalidInput(f"password: use at least {MIN_PASSWORD_LENGTH} characters")
    return str(_hasher.hash(password))


def verify_password(password_hash: str | None, password: str) -> bool:
    """Whether ``password`` matches; ``password_hash=None`` (SSO-only user) never matches."""
    try:
        return bool(_hasher.verify(password_hash or _DUMMY_HASH, password)) and password_hash is not None
    except (VerificationError, InvalidHashError):
        return False


def new_secret(prefix: str = "") -> str:
    """A new random token (256 bits), optionally with a recognisable prefix such as ``slu_svc_``."""
    return prefix + secrets.token_urlsafe(32)


def digest(value: str) -> str:
    """The SHA-256 hex digest under which a token is stored."""
    return hashlib.sha256(value.encode()).hexdigest()


def keyed_digest(key: str, value: str) -> str:
    """An HMAC-SHA-256 of ``value`` under the installation's secret key."""
    return hmac.new(key.encode(), value.encode(), hashlib.sha256).hexdigest()


def same(first: str, second: str) -> bool:
    """Constant-time comparison of two strings."""
    return hmac.compare_digest(first.encode(), second.encode())
