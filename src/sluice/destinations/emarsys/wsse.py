"""Emarsys' legacy X-WSSE UsernameToken authentication, as an httpx auth.

Each request (and each retry) carries a fresh header::

    X-WSSE: UsernameToken Username="<user>", PasswordDigest="<digest>", Nonce="<nonce>", Created="<time>"

with ``digest = base64(hex(sha1(nonce + created + secret)))`` and ``created`` an ISO-8601 UTC time
taken from the connector's clock (virtual in tests). The secret itself is never sent.
"""

from __future__ import annotations

import base64
import hashlib
import secrets
import time
from collections.abc import Callable, Generator
from datetime import UTC, datetime

import httpx


def password_digest(nonce: str, created: str, secret: str) -> str:
    """Emarsys' PasswordDigest: Base64 of the hexadecimal SHA-1 of nonce + created + secret."""
    hexdigest = hashlib.sha1((nonce + created + secret).encode(), usedforsecurity=False).hexdigest()
    return base64.b64encode(hexdigest.encode()).decode()


def created_at(seconds: float) -> str:
    """A Unix time as the ``Created`` value (ISO-8601, UTC, seconds)."""
    return datetime.fromtimestamp(seconds, UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


class WsseAuth(httpx.Auth):
    """Signs every request with a new nonce and the current time; ``clock`` returns Unix seconds."""

    def __init__(self, username: str, secret: str, clock: Callable[[], float] = time.time) -> None:
        self.username = username
        self._secret = secret
        self.clock = clock

    def header(self) -> str:
        nonce = secrets.token_hex(16)
        created = created_at(self.clock())
        digest = password_digest(nonce, created, self._secret)
        return (
            f'UsernameToken Username="{self.username}", PasswordDigest="{digest}", '
            f'Nonce="{nonce}", Created="{created}"'
        )

    def auth_flow(self, request: httpx.Request) -> Generator[httpx.Request, httpx.Response, None]:
        request.headers["X-WSSE"] = self.header()
        yield request
