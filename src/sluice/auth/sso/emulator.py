"""A local OpenID Connect identity provider: a faithful fake of a third-party IdP (Okta, Entra, Google).

It serves discovery, ``/authorize`` (signs in the user named by ``login_hint`` at once, as if they
had typed their password), ``/token`` (authorization code grant with PKCE S256, client_secret_basic
or client_secret_post) and ``/jwks``; id_tokens are RS256-signed with a key generated at start.
Used by the tests and the demo; it never talks to the network.
"""

from __future__ import annotations

import base64
import hashlib
import secrets
import time
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import unquote, urlencode

from fastapi import FastAPI, Form, Request
from fastapi.responses import JSONResponse, RedirectResponse
from joserfc import jwt
from joserfc.jwk import RSAKey


@dataclass
class IdpUser:
    """A person known to the fake provider."""

    email: str
    name: str = ""
    email_verified: bool = True
    subject: str = field(default_factory=lambda: secrets.token_hex(8))


@dataclass
class _Grant:
    client_id: str
    redirect_uri: str
    user: IdpUser
    nonce: str | None
    challenge: str | None
    method: str | None


class FakeOidcProvider:
    """An OIDC provider at ``issuer`` with one registered client."""

    def __init__(self, issuer: str, client_id: str, client_secret: str) -> None:
        self.issuer = issuer.rstrip("/")
        self.client_id = client_id
        self.client_secret = client_secret
        self.users: dict[str, IdpUser] = {}
        self.key = RSAKey.generate_key(2048, parameters={"kid": secrets.token_hex(4), "use": "sig"})
        self.token_requests: list[dict[str, str]] = []
        self._grants: dict[str, _Grant] = {}
        self.app = self._build()

    def add_user(self, email: str, name: str = "", *, email_verified: bool = True) -> IdpUser:
        """Register a person who can sign in."""
        user = IdpUser(email=email, name=name, email_verified=email_verified)
        self.users[email.lower()] = user
        return user

    def _error(self, status: int, error: str, description: str) -> JSONResponse:
        return JSONResponse({"error": error, "error_description": description}, status_code=status)

    def _build(self) -> FastAPI:
        app = FastAPI(title="Fake OpenID Connect provider")

        @app.get("/.well-known/openid-configuration")
        def discovery() -> dict[str, Any]:
            return {
                "issuer": self.issuer,
                "authorization_endpoint": f"{self.issuer}/authorize",
                "token_endpoint": f"{self.issuer}/token",
                "jwks_uri": f"{self.issuer}/jwks",
                "response_types_supported": ["code"],
                "subject_types_supported": ["public"],
                "id_token_signing_alg_values_supported": ["RS256"],
                "code_challenge_methods_supported": ["S256"],
                "token_endpoint_auth_methods_supported": ["client_secret_basic", "client_secret_post"],
            }

        @app.get("/jwks")
        def jwks() -> dict[str, Any]:
            return {"keys": [self.key.as_dict(private=False)]}

        @app.get("/authorize", response_model=None)
        def authorize(request: Request) -> RedirectResponse | JSONResponse:
            query = request.query_params
            if query.get("client_id") != self.client_id:
                return self._error(400, "unauthorized_client", "unknown client_id")
            if query.get("response_type") != "code" or "openid" not in query.get("scope", "").split():
                return self._error(400, "invalid_request", "response_type=code and scope openid are required")
            user = self.users.get(query.get("login_hint", "").lower())
            redirect_uri = query.get("redirect_uri", "")
            if user is None:
                params = {"error": "access_denied", "state": query.get("state", "")}
                return RedirectResponse(f"{redirect_uri}?{urlencode(params)}", status_code=302)
            code = secrets.token_urlsafe(24)
            self._grants[code] = _Grant(
                client_id=self.client_id,
                redirect_uri=redirect_uri,
                user=user,
                nonce=query.get("nonce"),
                challenge=query.get("code_challenge"),
                method=query.get("code_challenge_method"),
            )
            params = {"code": code, "state": query.get("state", "")}
            return RedirectResponse(f"{redirect_uri}?{urlencode(params)}", status_code=302)

        @app.post("/token")
        def token(
            request: Request,
            grant_type: str = Form(...),
            code: str = Form(...),
            redirect_uri: str = Form(""),
            code_verifier: str = Form(""),
            client_id: str = Form(""),
            client_secret: str = Form(""),
        ) -> JSONResponse:
            self.token_requests.append({"code_verifier": code_verifier, "grant_type": grant_type})
            presented = self._client_credentials(request, client_id, client_secret)
            if presented != (self.client_id, self.client_secret):
                return self._error(401, "invalid_client", "client authentication failed")
            grant = self._grants.pop(code, None)
            if grant_type != "authorization_code" or grant is None:
                return self._error(400, "invalid_grant", "unknown or used authorization code")
            if redirect_uri != grant.redirect_uri:
                return self._error(400, "invalid_grant", "redirect_uri does not match")
            if grant.challenge is not None and not _pkce_matches(
                grant.challenge, grant.method, code_verifier
            ):
                return self._error(400, "invalid_grant", "PKCE verification failed")
            return JSONResponse(
                {
                    "access_token": secrets.token_urlsafe(24),
                    "token_type": "Bearer",
                    "expires_in": 3600,
                    "id_token": self.id_token(grant.user, nonce=grant.nonce),
                }
            )

        return app

    @staticmethod
    def _client_credentials(request: Request, client_id: str, client_secret: str) -> tuple[str, str]:
        header = request.headers.get("Authorization", "")
        if header.startswith("Basic "):
            decoded = base64.b64decode(header.removeprefix("Basic ")).decode()
            name, _, secret = decoded.partition(":")
            return unquote(name), unquote(secret)
        return client_id, client_secret

    def id_token(self, user: IdpUser, *, nonce: str | None, audience: str | None = None) -> str:
        """A signed id_token for ``user`` (tests may call it to forge variations)."""
        now = int(time.time())
        claims: dict[str, Any] = {
            "iss": self.issuer,
            "sub": user.subject,
            "aud": audience or self.client_id,
            "iat": now,
            "exp": now + 300,
            "email": user.email,
            "email_verified": user.email_verified,
            "name": user.name,
        }
        if nonce:
            claims["nonce"] = nonce
        return jwt.encode({"alg": "RS256", "kid": self.key.kid}, claims, self.key)


def _pkce_matches(challenge: str, method: str | None, verifier: str) -> bool:
    if method != "S256":
        return secrets.compare_digest(challenge, verifier)
    digest = hashlib.sha256(verifier.encode()).digest()
    expected = base64.urlsafe_b64encode(digest).decode().rstrip("=")
    return secrets.compare_digest(challenge, expected)
