"""A vendor's OAuth 2.0 server, for the emulators of OAuth destinations.

An emulator composes one :class:`OAuthServer` and mounts its routes at the vendor's paths
(``server.add_routes(app, authorize_path="/o/oauth2/auth", token_path="/token")``); its API
routes call :meth:`OAuthServer.bearer_refusal` first. Behaviour follows RFC 6749 and RFC 7636:

- ``GET authorize`` auto-approves (there is no user to ask) and redirects to ``redirect_uri``
  with ``code`` and ``state``; an unknown client or a redirect URI the client did not register
  gets a 400 page, as real servers do (never a redirect);
- ``POST token`` accepts the ``authorization_code`` (PKCE S256 checked when a challenge was
  sent), ``refresh_token`` and ``client_credentials`` grants, with the client authenticated by
  HTTP Basic or by body fields (``client_auth`` restricts it to one, like most vendors);
  access tokens live ``access_ttl`` seconds on the emulator's clock; with ``rotate_refresh_tokens``
  every refresh returns a new refresh token and revokes the old one; errors are the RFC 6749 §5.2
  JSON (``invalid_grant``, ``invalid_client``, ``unsupported_grant_type``…);
- a bearer token that is unknown, expired or revoked gets ``401`` with
  ``WWW-Authenticate: Bearer error="invalid_token"`` (RFC 6750 §3).
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import json
import secrets
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import parse_qsl, urlencode

from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse, PlainTextResponse, RedirectResponse, Response

from sluice.destinations.oauth import ClientAuth


@dataclass
class _Code:
    client_id: str
    redirect_uri: str
    scope: str
    challenge: str | None


@dataclass
class _Grant:
    client_id: str
    scope: str
    revoked: bool = False


@dataclass
class OAuthServer:
    """Clients, codes, refresh and access tokens of one fake vendor account (see module docs)."""

    clock: Callable[[], float] = time.time
    access_ttl: float = 3600.0
    rotate_refresh_tokens: bool = False
    #: the only client authentication accepted (None: Basic or body)
    client_auth: ClientAuth | None = None
    #: the client's registered redirect URIs must start with one of these (empty: any)
    redirect_prefixes: tuple[str, ...] = ()
    clients: dict[str, str] = field(default_factory=dict)
    codes: dict[str, _Code] = field(default_factory=dict)
    refresh_tokens: dict[str, _Grant] = field(default_factory=dict)
    access_tokens: dict[str, tuple[str, float]] = field(default_factory=dict)
    token_requests: int = 0

    # -- seeding and faults (tests) -------------------------------------------------------

    def register_client(self, client_id: str = "", secret: str = "") -> tuple[str, str]:
        """A client the server knows: ``(client_id, client_secret)``."""
        client_id = client_id or "client-" + secrets.token_hex(4)
        secret = secret or "secret-" + secrets.token_hex(8)
        self.clients[client_id] = secret
        return client_id, secret

    def issue_refresh_token(self, client_id: str, scope: str = "") -> str:
        """A refresh token as if the user had authorized ``client_id`` earlier."""
        token = "rt-" + secrets.token_urlsafe(16)
        self.refresh_tokens[token] = _Grant(client_id, scope)
        return token

    def revoke(self, refresh_token: str) -> None:
        """The user disconnected the app at the vendor: the refresh token stops working."""
        self.refresh_tokens[refresh_token].revoked = True

    def expire_access_tokens(self) -> None:
        """Every access token handed out stops working (the vendor revoked them early)."""
        self.access_tokens.clear()

    def live_refresh_tokens(self) -> list[str]:
        return [token for token, grant in self.refresh_tokens.items() if not grant.revoked]

    def state(self) -> dict[str, Any]:
        """Counts for ``GET /_emulator/state`` (never the tokens)."""
        return {
            "oauth_token_requests": self.token_requests,
            "oauth_live_refresh_tokens": len(self.live_refresh_tokens()),
            "oauth_access_tokens": len(self.access_tokens),
        }

    # -- the vendor side ------------------------------------------------------------------

    def bearer_refusal(self, request: Request) -> Response | None:
        """A 401 when the request's bearer token is missing, unknown or expired; else None."""
        header = request.headers.get("authorization", "")
        token = header[7:] if header.lower().startswith("bearer ") else ""
        known = self.access_tokens.get(token)
        if known is not None and known[1] > self.clock():
            return None
        reason = "missing" if not token else ("expired" if known else "invalid")
        return JSONResponse(
            {"error": "invalid_token", "error_description": f"The access token is {reason}."},
            status_code=401,
            headers={"WWW-Authenticate": 'Bearer error="invalid_token"'},
        )

    def add_routes(self, app: FastAPI, *, token_path: str, authorize_path: str | None = None) -> None:
        """Mount the token endpoint (and the authorize endpoint) at the vendor's paths."""
        app.add_api_route(token_path, self._token, methods=["POST"])
        if authorize_path:
            app.add_api_route(authorize_path, self._authorize, methods=["GET"])

    async def _authorize(self, request: Request) -> Response:
        query = request.query_params
        client_id, redirect_uri = query.get("client_id", ""), query.get("redirect_uri", "")
        if client_id not in self.clients:
            return PlainTextResponse("Error 401: invalid_client (unknown OAuth client)", status_code=400)
        if not redirect_uri or (
            self.redirect_prefixes and not redirect_uri.startswith(self.redirect_prefixes)
        ):
            return PlainTextResponse("Error 400: redirect_uri_mismatch", status_code=400)
        if query.get("response_type") != "code":
            return _redirect(redirect_uri, error="unsupported_response_type", state=query.get("state"))
        challenge = query.get("code_challenge")
        if challenge and query.get("code_challenge_method", "plain") != "S256":
            return _redirect(redirect_uri, error="invalid_request", state=query.get("state"))
        code = "code-" + secrets.token_urlsafe(12)
        self.codes[code] = _Code(client_id, redirect_uri, query.get("scope", ""), challenge)
        return _redirect(redirect_uri, code=code, state=query.get("state"))

    async def _token(self, request: Request) -> Response:
        self.token_requests += 1
        form = await _form(request)
        client_id = self._authenticate(request, form)
        if client_id is None:
            return _error("invalid_client", "Client authentication failed.", 401)
        grant_type = form.get("grant_type", "")
        if grant_type == "authorization_code":
            return self._code_grant(client_id, form)
        if grant_type == "refresh_token":
            return self._refresh_grant(client_id, form)
        if grant_type == "client_credentials":
            return self._tokens(client_id, form.get("scope", ""), refresh=None)
        return _error("unsupported_grant_type", f"Grant type {grant_type!r} is not supported.")

    def _authenticate(self, request: Request, form: dict[str, str]) -> str | None:
        header = request.headers.get("authorization", "")
        if header.lower().startswith("basic ") and self.client_auth in (None, ClientAuth.BASIC):
            try:
                client_id, _, secret = base64.b64decode(header[6:]).decode().partition(":")
            except (binascii.Error, UnicodeDecodeError):
                return None
        elif "client_id" in form and self.client_auth in (None, ClientAuth.BODY):
            client_id, secret = form["client_id"], form.get("client_secret", "")
        else:
            return None
        expected = self.clients.get(client_id)
        return client_id if expected is not None and secrets.compare_digest(expected, secret) else None

    def _code_grant(self, client_id: str, form: dict[str, str]) -> Response:
        code = self.codes.pop(form.get("code", ""), None)  # single use
        if code is None or code.client_id != client_id:
            return _error("invalid_grant", "The authorization code is invalid or was already used.")
        if form.get("redirect_uri") != code.redirect_uri:
            return _error("invalid_grant", "redirect_uri does not match the authorization request.")
        if code.challenge is not None:
            verifier = form.get("code_verifier", "")
            digest = hashlib.sha256(verifier.encode()).digest()
            if base64.urlsafe_b64encode(digest).rstrip(b"=").decode() != code.challenge:
                return _error("invalid_grant", "PKCE verification failed.")
        return self._tokens(client_id, code.scope, refresh=self.issue_refresh_token(client_id, code.scope))

    def _refresh_grant(self, client_id: str, form: dict[str, str]) -> Response:
        token = form.get("refresh_token", "")
        grant = self.refresh_tokens.get(token)
        if grant is None or grant.revoked or grant.client_id != client_id:
            return _error("invalid_grant", "Token has been expired or revoked.")
        refresh = None
        if self.rotate_refresh_tokens:
            grant.revoked = True
            refresh = self.issue_refresh_token(client_id, grant.scope)
        return self._tokens(client_id, grant.scope, refresh=refresh)

    def _tokens(self, client_id: str, scope: str, *, refresh: str | None) -> Response:
        access = "at-" + secrets.token_urlsafe(16)
        self.access_tokens[access] = (client_id, self.clock() + self.access_ttl)
        body: dict[str, Any] = {
            "access_token": access,
            "token_type": "Bearer",
            "expires_in": int(self.access_ttl),
        }
        if refresh:
            body["refresh_token"] = refresh
        if scope:
            body["scope"] = scope
        return JSONResponse(body, headers={"Cache-Control": "no-store"})


async def _form(request: Request) -> dict[str, str]:
    raw = await request.body()
    if request.headers.get("content-type", "").startswith("application/json"):
        try:
            parsed = json.loads(raw)
        except ValueError:
            return {}
        return {str(k): str(v) for k, v in parsed.items()} if isinstance(parsed, dict) else {}
    return dict(parse_qsl(raw.decode(errors="replace")))


def _error(error: str, description: str, status: int = 400) -> JSONResponse:
    return JSONResponse({"error": error, "error_description": description}, status_code=status)


def _redirect(redirect_uri: str, **params: str | None) -> RedirectResponse:
    query = urlencode({k: v for k, v in params.items() if v is not None})
    separator = "&" if "?" in redirect_uri else "?"
    return RedirectResponse(f"{redirect_uri}{separator}{query}", status_code=302)
