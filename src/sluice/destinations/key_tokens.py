"""Vendors that trade a long-lived API key for a short-lived bearer token (Actito, Splio).

Not OAuth (see :mod:`sluice.destinations.oauth` for that): the vendor has its own token call
(``GET /auth/token`` with the key in a header, ``POST /authenticate`` with the key in the body…).
A :class:`KeyTokenSession` buys a token on first use with the connector's ``fetch`` function, puts
``Authorization: Bearer <token>`` on the connector's HTTP layer, renews it before ``lifetime``
runs out and once when the vendor answers 401 (the call is then repeated once), and turns a
refusal that survives the renewal into a :class:`ConfigError`. One renewal serves every request
in flight. The token call goes through a copy of the HTTP layer (same client, pacing, retries and
clock) with its own headers, so the API key is never sent anywhere else.
"""

from __future__ import annotations

import asyncio
import copy
from collections.abc import Awaitable, Callable
from typing import Any

import httpx

from sluice.core import redaction
from sluice.destinations.errors import ConfigError
from sluice.destinations.http import VendorHttp

#: buys a token with the HTTP layer it is given (no vendor auth headers on it); raises
#: ``ConfigError`` when the vendor refuses the key
FetchToken = Callable[[VendorHttp], Awaitable[str]]


class KeyTokenSession:
    """The bearer token of one connector (see module docs)."""

    def __init__(
        self,
        http: VendorHttp,
        *,
        vendor: str,
        lifetime: float,
        fetch: FetchToken,
        describe: Callable[[httpx.Response], str],
    ) -> None:
        self.http = http
        self.vendor = vendor
        self.lifetime = lifetime
        self.fetch = fetch
        self.describe = describe
        self.lock = asyncio.Lock()
        self._valid_until = 0.0
        #: tokens bought so far (tests and diagnostics)
        self.tokens_bought = 0

    async def renew(self, *, force: bool = False) -> None:
        """Buy a token unless a fresh one is held (``force`` after the vendor refused it)."""
        async with self.lock:
            if not force and self.http.clock() < self._valid_until:
                return
            started = self.http.clock()
            token_http = copy.copy(self.http)
            token_http.headers = {}
            token = await self.fetch(token_http)
            redaction.register_secret(token)
            self.http.headers["Authorization"] = f"Bearer {token}"
            self._valid_until = started + self.lifetime
            self.tokens_bought += 1

    async def request(self, method: str, path: str, **kwargs: Any) -> httpx.Response:
        """``VendorHttp.request`` with a valid token; 401/403 after one renewal → ``ConfigError``."""
        await self.renew()
        sent_with = self.http.headers.get("Authorization")
        response = await self.http.request(method, path, **kwargs)
        if response.status_code == 401:  # expired early or revoked: renew once (unless another call did)
            if self.http.headers.get("Authorization") == sent_with:
                await self.renew(force=True)
            response = await self.http.request(method, path, **kwargs)
        if response.status_code in (401, 403):
            raise ConfigError(f"{self.vendor} refused the call {method} {path}: {self.describe(response)}")
        return response
