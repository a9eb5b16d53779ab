"""Service-account OAuth for Google APIs: a signed JWT exchanged for an access token.

The flow of https://developers.google.com/identity/protocols/oauth2/service-account#httprest :
an RS256 JWT (``iss`` = the service account's ``client_email``, ``scope``, ``aud`` = its
``token_uri``, ``iat``/``exp`` at most one hour apart) is posted to ``token_uri`` as
``grant_type=urn:ietf:params:oauth:grant-type:jwt-bearer&assertion=<jwt>``; the answer
``{"access_token", "expires_in", "token_type": "Bearer"}`` goes in ``Authorization: Bearer``.
The token is cached until a minute before it expires, and refreshed once on a 401.
"""

from __future__ import annotations

import base64
import json
import time
from collections.abc import Callable, Generator, Mapping
from typing import Any

import httpx
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import padding, rsa

from sluice.destinations.errors import ConfigError, RateLimited, Transient
from sluice.destinations.http import parse_retry_after

GRANT_TYPE = "urn:ietf:params:oauth:grant-type:jwt-bearer"
DATASTORE_SCOPE = "https://www.googleapis.com/auth/datastore"
REQUIRED_KEYS = ("client_email", "private_key", "token_uri")


def b64url(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def parse_service_account(text: str) -> dict[str, str]:
    """The fields of a service-account key file; a clear error when it is not one."""
    try:
        info = json.loads(text)
    except ValueError:
        raise ValueError("the service account key is not JSON (paste the downloaded key file)") from None
    if not isinstance(info, dict) or info.get("type", "service_account") != "service_account":
        raise ValueError("the key file is not a service account key (type must be service_account)")
    missing = [key for key in REQUIRED_KEYS if not info.get(key)]
    if missing:
        raise ValueError(f"the service account key lacks {', '.join(missing)}")
    try:
        key = serialization.load_pem_private_key(str(info["private_key"]).encode(), password=None)
    except ValueError:
        raise ValueError("the service account's private_key is not a PEM private key") from None
    if not isinstance(key, rsa.RSAPrivateKey):
        raise ValueError("the service account's private_key must be an RSA key")
    return {str(k): str(v) for k, v in info.items() if isinstance(v, str)}


def signed_jwt(info: Mapping[str, str], scope: str, now: float) -> str:
    """The RS256 assertion for one token request."""
    header = {
        "alg": "RS256",
        "typ": "JWT",
        **({"kid": info["private_key_id"]} if "private_key_id" in info else {}),
    }
    claims = {
        "iss": info["client_email"],
        "scope": scope,
        "aud": info["token_uri"],
        "iat": int(now),
        "exp": int(now) + 3600,
    }
    signing_input = f"{b64url(json.dumps(header).encode())}.{b64url(json.dumps(claims).encode())}"
    key = serialization.load_pem_private_key(info["private_key"].encode(), password=None)
    assert isinstance(key, rsa.RSAPrivateKey)  # checked by parse_service_account
    signature = key.sign(signing_input.encode(), padding.PKCS1v15(), hashes.SHA256())
    return f"{signing_input}.{b64url(signature)}"


class ServiceAccountAuth(httpx.Auth):
    """httpx auth that puts a service account's access token on every request."""

    requires_response_body = True

    def __init__(
        self, info: Mapping[str, str], scope: str = DATASTORE_SCOPE, clock: Callable[[], float] = time.time
    ) -> None:
        self.info = dict(info)
        self.scope = scope
        self.clock = clock
        self.token: str | None = None
        self.expires_at = 0.0

    def auth_flow(self, request: httpx.Request) -> Generator[httpx.Request, httpx.Response, None]:
        fresh = False
        if self.token is None or self.clock() >= self.expires_at:
            self._store((yield self._token_request()))
            fresh = True
        request.headers["Authorization"] = f"Bearer {self.token}"
        response = yield request
        if response.status_code == 401 and not fresh:  # revoked or expired early: one new token
            self._store((yield self._token_request()))
            request.headers["Authorization"] = f"Bearer {self.token}"
            yield request

    def _token_request(self) -> httpx.Request:
        assertion = signed_jwt(self.info, self.scope, self.clock())
        return httpx.Request(
            "POST", self.info["token_uri"], data={"grant_type": GRANT_TYPE, "assertion": assertion}
        )

    def _store(self, response: httpx.Response) -> None:
        where = f"POST {self.info['token_uri']}"
        if response.status_code == 429:
            raise RateLimited(
                f"{where}: rate limited (HTTP 429)",
                parse_retry_after(response.headers.get("Retry-After"), self.clock()),
            )
        if response.status_code >= 500:
            raise Transient(f"{where}: HTTP {response.status_code}")
        try:
            body: Any = response.json()
        except ValueError:
            raise Transient(f"{where}: malformed token response") from None
        if response.status_code >= 400 or not isinstance(body, dict) or not body.get("access_token"):
            reason = body.get("error_description") or body.get("error") if isinstance(body, dict) else None
            raise ConfigError(
                f"Google refused the service account {self.info['client_email']}: {reason or response.status_code}"
            )
        self.token = str(body["access_token"])
        self.expires_at = self.clock() + float(body.get("expires_in", 3600)) - 60
