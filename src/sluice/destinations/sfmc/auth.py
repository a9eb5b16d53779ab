"""Marketing Cloud OAuth 2.0 client credentials, as an httpx auth.

``POST https://{subdomain}.auth.marketingcloudapis.com/v2/token`` ``{"grant_type":
"client_credentials", "client_id", "client_secret", "account_id"}`` answers ``access_token``,
``expires_in`` (≈ 20 minutes) and ``rest_instance_url``. The token is fetched before the first call,
again a minute before it expires (on the connector's clock), and once more when the REST API
answers 401 anyway. Requests go to the ``rest_instance_url`` the token came with.

When the token request itself fails (bad credentials, 429, 5xx, malformed body), its answer is
handed back as the answer to the call, so the HTTP layer retries or the connector reports it.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Generator
from typing import Any

import httpx

#: refresh this many seconds before the token expires
MARGIN = 60.0


class ClientCredentialsAuth(httpx.Auth):
    """Bearer tokens for one API integration; ``clock`` returns Unix seconds."""

    requires_response_body = True

    def __init__(self, token_url: str, grant: dict[str, Any], default_rest: str) -> None:
        self.token_url = token_url
        self._grant = grant
        self.default_rest = default_rest.rstrip("/")
        self.clock: Callable[[], float] = time.time
        self.token: str | None = None
        self.expires_at = 0.0
        self.rest: str | None = None
        self.tokens_fetched = 0

    def _token_request(self) -> httpx.Request:
        return httpx.Request("POST", self.token_url, json=self._grant)

    def _accept(self, response: httpx.Response) -> bool:
        """Keep the token of a successful answer; False when the answer is not one."""
        if response.status_code != 200:
            return False
        try:
            body = response.json()
            token, lifetime = str(body["access_token"]), float(body.get("expires_in", 1079))
        except (ValueError, KeyError, TypeError):
            return False
        self.token, self.expires_at = token, self.clock() + lifetime
        self.rest = str(body.get("rest_instance_url") or self.default_rest).rstrip("/")
        self.tokens_fetched += 1
        return True

    def _sign(self, request: httpx.Request) -> None:
        url = str(request.url)
        if self.rest and url.startswith(self.default_rest) and self.rest != self.default_rest:
            request.url = httpx.URL(self.rest + url[len(self.default_rest) :])
            request.headers["Host"] = request.url.netloc.decode()
        request.headers["Authorization"] = f"Bearer {self.token}"

    def auth_flow(self, request: httpx.Request) -> Generator[httpx.Request, httpx.Response, None]:
        stale = self.token is None or self.clock() >= self.expires_at - MARGIN
        if stale and not self._accept((yield self._token_request())):
            return
        self._sign(request)
        response = yield request
        if response.status_code == 401:  # revoked or expired early: one new token, one retry
            if not self._accept((yield self._token_request())):
                return
            self._sign(request)
            yield request
