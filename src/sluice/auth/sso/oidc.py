"""OpenID Connect sign-in (authorization code flow with PKCE), the relying-party side.

``begin`` builds the provider's authorization URL and a sealed state (state, nonce, PKCE verifier,
provider, where to return) that travels in a short-lived HttpOnly cookie. ``complete`` checks the
state, exchanges the code (with the verifier) at the token endpoint, and verifies the id_token:
signature against the provider's JWKS, issuer, audience, expiry and nonce. Only then is the
email trusted, and only if its domain belongs to the provider.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from typing import Any

import httpx
from authlib.common.security import generate_token
from authlib.common.urls import add_params_to_uri
from authlib.oauth2.rfc7636 import create_s256_code_challenge
from joserfc import jwt
from joserfc.errors import JoseError
from joserfc.jwk import KeySet

from sluice.core.crypto import SecretBox
from sluice.core.errors import InvalidInput, NotAuthenticated, UpstreamError
from sluice.store.tables.auth import SsoProvider

STATE_COOKIE = "sluice_sso"
STATE_SECONDS = 600
HTTP_TIMEOUT = 10.0
ID_TOKEN_ALGORITHMS = ["RS256", "RS384", "RS512", "ES256", "ES384", "PS256"]


@dataclass(frozen=True)
class OidcIdentity:
    """What a verified id_token says about the person signing in."""

    provider_id: str
    subject: str
    email: str
    name: str
    return_to: str


def discover(discovery_url: str) -> dict[str, Any]:
    """The provider's metadata document (``/.well-known/openid-configuration``)."""
    try:
        response = httpx.get(discovery_url, timeout=HTTP_TIMEOUT)
        response.raise_for_status()
        metadata: dict[str, Any] = response.json()
    except (httpx.HTTPError, ValueError) as exc:
        raise UpstreamError(f"the identity provider's discovery document cannot be read: {exc}") from None
    for key in ("issuer", "authorization_endpoint", "token_endpoint", "jwks_uri"):
        if not metadata.get(key):
            raise UpstreamError(f"the identity provider's discovery document has no {key}")
    return metadata


def begin(
    provider: SsoProvider, box: SecretBox, redirect_uri: str, *, login_hint: str = "", return_to: str = "/"
) -> tuple[str, str]:
    """The authorization URL to send the browser to, and the sealed state for the cookie."""
    metadata = discover(provider.discovery_url)
    verifier, nonce, state = generate_token(64), generate_token(32), generate_token(32)
    params = [
        ("response_type", "code"),
        ("client_id", provider.client_id),
        ("redirect_uri", redirect_uri),
        ("scope", "openid email profile"),
        ("state", state),
        ("nonce", nonce),
        ("code_challenge", create_s256_code_challenge(verifier)),
        ("code_challenge_method", "S256"),
    ]
    if login_hint:
        params.append(("login_hint", login_hint))
    url = add_params_to_uri(metadata["authorization_endpoint"], params)
    sealed = box.encrypt(
        {
            "provider_id": provider.id,
            "state": state,
            "nonce": nonce,
            "verifier": verifier,
            "return_to": return_to,
            "expires": int(time.time()) + STATE_SECONDS,
        }
    )
    return str(url), sealed


def read_state(box: SecretBox, sealed: str | None) -> dict[str, Any]:
    """The state sealed by :func:`begin`, if the cookie is there and fresh."""
    if not sealed:
        raise NotAuthenticated("the sign-in took too long or cookies are blocked; start again")
    try:
        values = box.decrypt(sealed)
    except Exception:
        raise NotAuthenticated("the sign-in state is not valid; start again") from None
    if int(values.get("expires", 0)) < time.time():
        raise NotAuthenticated("the sign-in took too long; start again")
    return values


def complete(
    provider: SsoProvider, box: SecretBox, redirect_uri: str, state: dict[str, Any], code: str, returned: str
) -> OidcIdentity:
    """Exchange the code and verify the id_token; returns the verified identity."""
    if not returned or returned != state["state"]:
        raise NotAuthenticated("the sign-in response does not match the request (state); start again")
    metadata = discover(provider.discovery_url)
    token = _exchange_code(provider, box, metadata["token_endpoint"], redirect_uri, code, state["verifier"])
    id_token = token.get("id_token")
    if not id_token:
        raise UpstreamError("the identity provider returned no id_token")
    claims = _verify_id_token(str(id_token), metadata, provider.client_id, state["nonce"])
    email = str(claims.get("email") or "").strip().lower()
    if not email:
        raise NotAuthenticated("the identity provider did not share your email address")
    if claims.get("email_verified") is False:
        raise NotAuthenticated("your email address is not verified at the identity provider")
    domain = email.rsplit("@", 1)[-1]
    if domain not in {d.lower() for d in provider.domains}:
        raise NotAuthenticated(f"accounts of {domain!r} cannot sign in through {provider.name!r}")
    return OidcIdentity(
        provider_id=provider.id,
        subject=str(claims["sub"]),
        email=email,
        name=str(claims.get("name") or ""),
        return_to=str(state.get("return_to") or "/"),
    )


def _exchange_code(
    provider: SsoProvider, box: SecretBox, endpoint: str, redirect_uri: str, code: str, verifier: str
) -> dict[str, Any]:
    """The token endpoint's answer to the code (client_secret_basic authentication)."""
    secret = str(provider.read_secrets(box).get("client_secret", ""))
    form = {
        "grant_type": "authorization_code",
        "code": code,
        "redirect_uri": redirect_uri,
        "code_verifier": verifier,
    }
    try:
        response = httpx.post(endpoint, data=form, auth=(provider.client_id, secret), timeout=HTTP_TIMEOUT)
    except httpx.HTTPError as exc:
        raise UpstreamError(f"the identity provider's token endpoint does not answer: {exc}") from None
    try:
        body: dict[str, Any] = response.json()
    except ValueError:
        body = {}
    if response.status_code != 200:
        reason = body.get("error_description") or body.get("error") or f"HTTP {response.status_code}"
        raise NotAuthenticated(f"the identity provider refused the sign-in: {reason}")
    return body


def _verify_id_token(id_token: str, metadata: dict[str, Any], client_id: str, nonce: str) -> dict[str, Any]:
    try:
        keys = KeySet.import_key_set(httpx.get(metadata["jwks_uri"], timeout=HTTP_TIMEOUT).json())
    except (httpx.HTTPError, ValueError, JoseError) as exc:
        raise UpstreamError(f"the identity provider's signing keys cannot be read: {exc}") from None
    try:
        decoded = jwt.decode(id_token, keys, algorithms=ID_TOKEN_ALGORITHMS)
        jwt.JWTClaimsRegistry(
            leeway=60,
            iss={"essential": True, "value": metadata["issuer"]},
            aud={"essential": True, "value": client_id},
            sub={"essential": True},
            exp={"essential": True},
            nonce={"essential": True, "value": nonce},
        ).validate(decoded.claims)
    except JoseError as exc:
        raise NotAuthenticated(f"the id_token from the identity provider is not valid: {exc}") from None
    return dict(decoded.claims)


def validate_domains(domains: list[str]) -> list[str]:
    """Lower-cased email domains; refuses an empty list or something that is not a domain."""
    cleaned = sorted({d.strip().lower().lstrip("@") for d in domains if d.strip()})
    if not cleaned or any("." not in d or "@" in d or " " in d for d in cleaned):
        raise InvalidInput("domains: give the email domains of this provider, e.g. ['acme.com']")
    return cleaned
