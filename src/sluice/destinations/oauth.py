"""OAuth 2.0 for destinations whose vendor hands out short-lived access tokens.

A connector declares its vendor's :class:`OAuthApp` (``Connector.oauth_app``) and its config
subclasses :class:`OAuthConfig` (refresh-token grant: Google Ads, LinkedIn, Microsoft Ads,
Pinterest, Snapchat, Reddit, X…) or :class:`ClientCredentialsConfig` (client-credentials grant:
Criteo, Salesforce Marketing Cloud). :meth:`sluice.destinations.sdk.Connector.connect` then puts a
:class:`BearerAuth` on the connector's HTTP layer: every request carries
``Authorization: Bearer <access token>``; the token comes from a :class:`TokenSource`, which

- exchanges the refresh token (or the client credentials) at the token URL on first use,
- caches the access token until ``expiry_margin`` seconds before its ``expires_in``,
- refreshes it when expired and once when the vendor answers 401 (the call is then repeated once),
- keeps the new refresh token when the vendor rotates it and hands it to ``on_secrets_changed``
  so the destination's stored (encrypted) config is updated,
- turns ``invalid_grant`` into a :class:`ConfigError` that tells the user to reconnect.

Token requests go through the connector's own httpx client (same transport, same pacing and
retries): a 429 or 5xx of the token endpoint is retried like any other call. Access and refresh
tokens are registered for log redaction and never appear in error messages.

The user-facing authorization-code flow (authorize URL, ``state``, PKCE, code exchange) uses
:meth:`OAuthApp.authorize_url_for` and :func:`exchange_code` of this module.
"""

from __future__ import annotations

import asyncio
import base64
import hashlib
import secrets
import time
from collections.abc import AsyncGenerator, Awaitable, Callable, Generator, Mapping, Sequence
from dataclasses import dataclass, field, replace
from enum import StrEnum
from typing import Any, Literal
from urllib.parse import urlencode, urlsplit

import httpx
from pydantic import Field, SecretStr

from sluice.core import redaction
from sluice.core.logging import get_logger
from sluice.destinations.errors import ConfigError, RateLimited, Transient
from sluice.destinations.http import parse_retry_after
from sluice.destinations.sdk import DestinationConfig

log = get_logger(__name__)

#: called with the secret fields that changed (``{"refresh_token": "…"}``) so they are persisted
SecretsChanged = Callable[[dict[str, str]], Awaitable[None]]
Clock = Callable[[], float]


class ClientAuth(StrEnum):
    """How the client authenticates at the token endpoint (RFC 6749 §2.3.1)."""

    BASIC = "basic"  # Authorization: Basic base64(client_id:client_secret)
    BODY = "body"  # client_id and client_secret as form fields


class Grant(StrEnum):
    """How the connector obtains access tokens."""

    REFRESH_TOKEN = "refresh_token"  # noqa: S105 - a grant name, not a secret; a user authorized once (authorization code); refreshed since
    CLIENT_CREDENTIALS = "client_credentials"  # server-to-server, no user in the loop


@dataclass(frozen=True)
class OAuthApp:
    """What a connector declares about its vendor's OAuth server.

    URLs may name fields of the destination config in braces (``https://{subdomain}.auth.…``).
    ``vendor`` names the button ("Connect with Google"). ``authorize_params`` go on the authorize
    URL (``access_type=offline``), ``token_params`` on every token request. ``body_format`` and
    ``response_path`` cover vendors whose token endpoint takes JSON or nests its answer
    (``("data",)``).
    """

    vendor: str
    token_url: str
    authorize_url: str = ""
    scopes: tuple[str, ...] = ()
    scope_separator: str = " "
    authorize_params: Mapping[str, str] = field(default_factory=dict)
    token_params: Mapping[str, str] = field(default_factory=dict)
    client_auth: ClientAuth = ClientAuth.BODY
    grant: Grant = Grant.REFRESH_TOKEN
    pkce: bool = False
    body_format: Literal["form", "json"] = "form"
    response_path: tuple[str, ...] = ()
    #: seconds before ``expires_in`` at which a cached token counts as expired
    expiry_margin: float = 60.0
    #: lifetime assumed when the vendor does not say (``expires_in`` missing)
    default_expires_in: float = 3600.0

    def resolved(self, config: DestinationConfig) -> OAuthApp:
        """This app with the config's fields filled into its URLs, and the OAuth server's origin
        replaced by ``config.oauth_base_url`` when set (a local emulator)."""
        values = config.model_dump(mode="json")
        override: str | None = getattr(config, "oauth_base_url", None)

        def url(template: str) -> str:
            if not template:
                return template
            filled = str(template.format(**values))
            if override:
                parts = urlsplit(filled)
                return override.rstrip("/") + parts.path + (f"?{parts.query}" if parts.query else "")
            return filled

        return replace(self, token_url=url(self.token_url), authorize_url=url(self.authorize_url))

    def authorize_url_for(
        self, client_id: str, redirect_uri: str, state: str, code_challenge: str | None = None
    ) -> str:
        """The URL the user's browser is sent to (authorization-code grant, RFC 6749 §4.1.1)."""
        if not self.authorize_url:
            raise ConfigError(f"{self.vendor} has no authorization step (client-credentials grant)")
        params: dict[str, str] = {
            "response_type": "code",
            "client_id": client_id,
            "redirect_uri": redirect_uri,
            "state": state,
        }
        if self.scopes:
            params["scope"] = self.scope_separator.join(self.scopes)
        if self.pkce and code_challenge:
            params["code_challenge"] = code_challenge
            params["code_challenge_method"] = "S256"
        params.update(self.authorize_params)
        separator = "&" if "?" in self.authorize_url else "?"
        return f"{self.authorize_url}{separator}{urlencode(params)}"


def pkce_pair() -> tuple[str, str]:
    """A PKCE ``(code_verifier, code_challenge)`` with the S256 method (RFC 7636)."""
    verifier = secrets.token_urlsafe(48)
    challenge = base64.urlsafe_b64encode(hashlib.sha256(verifier.encode()).digest()).rstrip(b"=").decode()
    return verifier, challenge


# ---------------------------------------------------------------------------------------------
# Config fields


class ClientCredentialsConfig(DestinationConfig):
    """Config fields of an OAuth client (client-credentials grant); subclass and add the vendor's."""

    client_id: str = Field(description="OAuth client ID of your app at the vendor.")
    client_secret: SecretStr = Field(description="OAuth client secret of your app at the vendor.")
    oauth_base_url: str | None = Field(
        default=None, description="Override of the OAuth server's origin (local emulator)."
    )


class OAuthConfig(ClientCredentialsConfig):
    """Config fields of a destination a user connects with "Connect with <vendor>" (refresh-token
    grant). ``refresh_token`` is filled by the connection flow, or pasted for headless setups."""

    refresh_token: SecretStr | None = Field(
        default=None,
        description="Set by 'Connect with …' (stored encrypted); paste one only for headless setups.",
    )


# ---------------------------------------------------------------------------------------------
# Token endpoint


@dataclass(frozen=True)
class TokenResponse:
    """A successful answer of the token endpoint."""

    access_token: str
    expires_in: float | None
    refresh_token: str | None
    scope: str | None = None


def token_request(
    app: OAuthApp, client_id: str, client_secret: str, grant: Mapping[str, str]
) -> httpx.Request:
    """A token-endpoint request for ``grant`` (its form fields), authenticated as the app says."""
    body: dict[str, str] = {**grant, **app.token_params}
    headers = {"Accept": "application/json"}
    if app.client_auth is ClientAuth.BASIC:
        pair = f"{client_id}:{client_secret}".encode()
        headers["Authorization"] = "Basic " + base64.b64encode(pair).decode()
    else:
        body.update(client_id=client_id, client_secret=client_secret)
    if app.body_format == "json":
        return httpx.Request("POST", app.token_url, json=body, headers=headers)
    return httpx.Request("POST", app.token_url, data=body, headers=headers)


def parse_token_response(
    app: OAuthApp, response: httpx.Response, now: float, *, code_exchange: bool = False
) -> TokenResponse:
    """The tokens of a 2xx answer, or the error the caller acts on: ``ConfigError`` when the grant
    or the client is refused (the user must reconnect or fix the client), ``RateLimited`` /
    ``Transient`` when worth retrying. Messages never contain a token."""
    method = f"{app.vendor} token endpoint"
    if response.status_code == 429:
        retry_after = parse_retry_after(response.headers.get("Retry-After"), now)
        raise RateLimited(f"{method}: rate limited (HTTP 429)", retry_after)
    if response.status_code >= 500:
        raise Transient(f"{method}: HTTP {response.status_code}")
    try:
        body: Any = response.json()
    except ValueError:
        body = None
    for key in app.response_path:
        body = body.get(key) if isinstance(body, dict) else None
    if not response.is_success:
        raise _refusal(app, response.status_code, body, code_exchange=code_exchange)
    if not isinstance(body, dict) or not isinstance(body.get("access_token"), str):
        raise Transient(f"{method}: answer without an access_token (HTTP {response.status_code})")
    expires = body.get("expires_in")
    refresh = body.get("refresh_token")
    token = TokenResponse(
        access_token=body["access_token"],
        expires_in=float(expires)
        if isinstance(expires, int | float | str) and str(expires).strip()
        else None,
        refresh_token=refresh if isinstance(refresh, str) and refresh else None,
        scope=body.get("scope") if isinstance(body.get("scope"), str) else None,
    )
    redaction.register_secret(token.access_token)
    if token.refresh_token:
        redaction.register_secret(token.refresh_token)
    return token


def _refusal(app: OAuthApp, status: int, body: Any, *, code_exchange: bool) -> ConfigError:
    error = str(body.get("error", "")) if isinstance(body, dict) else ""
    description = str(body.get("error_description", "")) if isinstance(body, dict) else ""
    said = f" ({error}: {description})" if description else (f" ({error})" if error else "")
    if error == "invalid_grant" and code_exchange:
        return ConfigError(f"{app.vendor} refused the authorization code{said}; connect again.")
    if error == "invalid_grant":
        if app.grant is Grant.CLIENT_CREDENTIALS:
            return ConfigError(f"{app.vendor} refused the client credentials{said}; check them.")
        return ConfigError(
            f"{app.vendor} no longer accepts this destination's authorization{said}: it was revoked "
            f"or expired. Reconnect the destination with 'Connect with {app.vendor}'."
        )
    if error in {"invalid_client", "unauthorized_client"} or status == 401:
        return ConfigError(f"{app.vendor} refused the OAuth client ID or secret{said}; check them.")
    if error == "invalid_scope":
        return ConfigError(f"{app.vendor} refused the requested scopes{said}.")
    return ConfigError(f"{app.vendor} refused the token request with HTTP {status}{said}.")


async def exchange_code(
    app: OAuthApp,
    client: httpx.AsyncClient,
    *,
    client_id: str,
    client_secret: str,
    code: str,
    redirect_uri: str,
    code_verifier: str | None = None,
    now: float | None = None,
) -> TokenResponse:
    """Exchange an authorization code for tokens (RFC 6749 §4.1.3), PKCE verifier included."""
    grant = {"grant_type": "authorization_code", "code": code, "redirect_uri": redirect_uri}
    if app.pkce and code_verifier:
        grant["code_verifier"] = code_verifier
    try:
        response = await client.send(token_request(app, client_id, client_secret, grant))
    except httpx.TransportError as exc:
        raise Transient(f"{app.vendor} token endpoint unreachable: {type(exc).__name__}") from None
    return parse_token_response(app, response, time.time() if now is None else now, code_exchange=True)


# ---------------------------------------------------------------------------------------------
# Access tokens


@dataclass
class _Cached:
    value: str
    expires_at: float


class TokenSource:
    """Access tokens of one destination account: cached, refreshed, rotated (see module docs).

    Use it through :class:`BearerAuth` (what ``Connector.connect`` does), or call
    :meth:`access_token` with any httpx client. ``clock`` gives Unix seconds (tests pass the
    virtual clock of their emulator).
    """

    def __init__(
        self,
        app: OAuthApp,
        config: ClientCredentialsConfig,
        *,
        on_secrets_changed: SecretsChanged | None = None,
        clock: Clock = time.time,
    ) -> None:
        self.app = app.resolved(config)
        self.client_id = config.client_id
        self._client_secret = config.client_secret.get_secret_value()
        refresh = getattr(config, "refresh_token", None)
        self._refresh_token: str | None = refresh.get_secret_value() if refresh is not None else None
        self.on_secrets_changed = on_secrets_changed
        self.clock = clock
        self.lock = asyncio.Lock()
        self._cached: _Cached | None = None
        #: how many token requests were answered (for tests and diagnostics)
        self.refreshes = 0

    def cached(self) -> str | None:
        """The cached access token while it is still fresh enough, else None."""
        if self._cached is not None and self.clock() < self._cached.expires_at:
            return self._cached.value
        return None

    def invalidate(self, token: str) -> None:
        """Forget ``token`` (the vendor refused it) unless a newer one replaced it already."""
        if self._cached is not None and self._cached.value == token:
            self._cached = None

    def token_request(self) -> httpx.Request:
        """The request that obtains a new access token for this account."""
        if self.app.grant is Grant.CLIENT_CREDENTIALS:
            grant = {"grant_type": "client_credentials"}
            if self.app.scopes:
                grant["scope"] = self.app.scope_separator.join(self.app.scopes)
        else:
            if not self._refresh_token:
                raise ConfigError(
                    f"this destination is not connected to {self.app.vendor} yet: "
                    f"use 'Connect with {self.app.vendor}' in its settings."
                )
            grant = {"grant_type": "refresh_token", "refresh_token": self._refresh_token}
        return token_request(self.app, self.client_id, self._client_secret, grant)

    async def accept(self, response: httpx.Response) -> str:
        """Read a token-endpoint answer: cache the access token, persist a rotated refresh token."""
        token = parse_token_response(self.app, response, self.clock())
        self.refreshes += 1
        lifetime = token.expires_in if token.expires_in is not None else self.app.default_expires_in
        margin = min(self.app.expiry_margin, lifetime / 2)
        self._cached = _Cached(token.access_token, self.clock() + lifetime - margin)
        if token.refresh_token and token.refresh_token != self._refresh_token:
            self._refresh_token = token.refresh_token
            await self._persist({"refresh_token": token.refresh_token})
        return token.access_token

    async def access_token(self, client: httpx.AsyncClient) -> str:
        """A valid access token, obtained with ``client`` when none is cached."""
        async with self.lock:
            cached = self.cached()
            if cached is not None:
                return cached
            try:
                response = await client.send(self.token_request())
            except httpx.TransportError as exc:
                raise Transient(
                    f"{self.app.vendor} token endpoint unreachable: {type(exc).__name__}"
                ) from None
            return await self.accept(response)

    async def _persist(self, changed: dict[str, str]) -> None:
        if self.on_secrets_changed is None:
            if self.app.grant is Grant.REFRESH_TOKEN:
                log.warning("rotated refresh token not persisted (no store callback)", vendor=self.app.vendor)
            return
        try:
            await self.on_secrets_changed(changed)
        except Exception as exc:  # the new token still works in memory; the user may need to reconnect
            log.error(
                "rotated refresh token could not be saved",
                vendor=self.app.vendor,
                error=type(exc).__name__,
            )


class BearerAuth(httpx.Auth):
    """httpx auth that puts the :class:`TokenSource`'s access token on every request, obtains it
    through the same client when needed, and on a 401 refreshes once and repeats the request."""

    def __init__(self, source: TokenSource) -> None:
        self.source = source

    def sync_auth_flow(self, request: httpx.Request) -> Generator[httpx.Request, httpx.Response, None]:
        raise RuntimeError("BearerAuth needs an httpx.AsyncClient")
        yield request  # pragma: no cover - makes this a generator

    async def async_auth_flow(self, request: httpx.Request) -> AsyncGenerator[httpx.Request, httpx.Response]:
        for attempt in range(2):
            token = self.source.cached()
            if token is None:
                async with self.source.lock:  # one refresh for all requests in flight
                    token = self.source.cached()
                    if token is None:
                        answer = yield self.source.token_request()
                        await answer.aread()
                        token = await self.source.accept(answer)
            request.headers["Authorization"] = f"Bearer {token}"
            response = yield request
            if response.status_code != 401 or attempt == 1:
                return
            self.source.invalidate(token)


__all__: Sequence[str] = (
    "BearerAuth",
    "ClientAuth",
    "ClientCredentialsConfig",
    "Grant",
    "OAuthApp",
    "OAuthConfig",
    "SecretsChanged",
    "TokenResponse",
    "TokenSource",
    "exchange_code",
    "pkce_pair",
    "token_request",
)
