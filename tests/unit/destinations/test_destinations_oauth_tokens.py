"""The token endpoint as ``sluice.destinations.oauth`` reads it: what each answer becomes for the
caller (tokens, ConfigError to show the user, RateLimited/Transient to retry), and the requests and
authorize URLs it builds for the vendors' variations."""

from __future__ import annotations

import base64
import hashlib
import json
from urllib.parse import parse_qs, urlsplit

import httpx
import pytest

from sluice.destinations.errors import ConfigError, RateLimited, Transient
from sluice.destinations.oauth import (
    ClientAuth,
    Grant,
    OAuthApp,
    parse_token_response,
    pkce_pair,
    token_request,
)

APP = OAuthApp(
    vendor="Acme", token_url="https://auth.acme.test/token", authorize_url="https://acme.test/authorize"
)


def answer(
    status: int, body: object = None, *, headers: dict[str, str] | None = None, raw: bytes | None = None
) -> httpx.Response:
    content = raw if raw is not None else json.dumps(body).encode()
    return httpx.Response(
        status, content=content, headers=headers, request=httpx.Request("POST", APP.token_url)
    )


def test_tokens_are_read_with_their_lifetime_and_rotation() -> None:
    tokens = parse_token_response(
        APP, answer(200, {"access_token": "at", "expires_in": "3599", "refresh_token": "rt2"}), 0
    )
    assert (tokens.access_token, tokens.expires_in, tokens.refresh_token) == ("at", 3599.0, "rt2")
    plain = parse_token_response(APP, answer(200, {"access_token": "at", "token_type": "bearer"}), 0)
    assert (plain.expires_in, plain.refresh_token) == (None, None)


def test_nested_answers_are_read_where_the_vendor_puts_them() -> None:
    nested = OAuthApp(vendor="Tok", token_url=APP.token_url, response_path=("data",))
    body = {"code": 0, "message": "OK", "data": {"access_token": "at", "expires_in": 86400}}
    assert parse_token_response(nested, answer(200, body), 0).access_token == "at"


@pytest.mark.parametrize(
    ("status", "body", "expected"),
    [
        (
            400,
            {"error": "invalid_grant", "error_description": "Token has been revoked."},
            "Reconnect the destination with 'Connect with Acme'",
        ),
        (401, {"error": "invalid_client"}, "refused the OAuth client ID or secret (invalid_client)"),
        (
            400,
            {"error": "invalid_scope", "error_description": "ads"},
            "refused the requested scopes (invalid_scope: ads)",
        ),
        (403, {"message": "forbidden"}, "refused the token request with HTTP 403"),
    ],
)
def test_refusals_tell_the_user_what_to_do(status: int, body: object, expected: str) -> None:
    with pytest.raises(ConfigError) as caught:
        parse_token_response(APP, answer(status, body), 0)
    assert expected in caught.value.message


def test_client_credentials_refusal_does_not_ask_to_reconnect() -> None:
    app = OAuthApp(vendor="Criteo", token_url=APP.token_url, grant=Grant.CLIENT_CREDENTIALS)
    with pytest.raises(ConfigError, match="refused the client credentials") as caught:
        parse_token_response(app, answer(400, {"error": "invalid_grant"}), 0)
    assert "Reconnect" not in caught.value.message


def test_throttling_outages_and_broken_answers_are_retried() -> None:
    with pytest.raises(RateLimited) as limited:
        parse_token_response(APP, answer(429, {}, headers={"Retry-After": "7"}), 0)
    assert limited.value.retry_after == 7
    with pytest.raises(Transient):
        parse_token_response(APP, answer(502, raw=b"<html>bad gateway"), 0)
    with pytest.raises(Transient, match="without an access_token"):
        parse_token_response(APP, answer(200, raw=b"<html>login page"), 0)


def test_client_authenticates_as_the_vendor_expects() -> None:
    basic = token_request(
        OAuthApp(vendor="X", token_url=APP.token_url, client_auth=ClientAuth.BASIC),
        "id",
        "s3cret",
        {"grant_type": "refresh_token", "refresh_token": "rt"},
    )
    assert basic.headers["Authorization"] == "Basic " + base64.b64encode(b"id:s3cret").decode()
    assert parse_qs(basic.content.decode()) == {"grant_type": ["refresh_token"], "refresh_token": ["rt"]}
    body = token_request(
        OAuthApp(vendor="G", token_url=APP.token_url, token_params={"account_id": "42"}),
        "id",
        "s3cret",
        {"grant_type": "client_credentials"},
    )
    assert "Authorization" not in body.headers
    assert parse_qs(body.content.decode()) == {
        "grant_type": ["client_credentials"],
        "account_id": ["42"],
        "client_id": ["id"],
        "client_secret": ["s3cret"],
    }
    as_json = token_request(
        OAuthApp(vendor="J", token_url=APP.token_url, body_format="json"), "id", "s", {"grant_type": "x"}
    )
    assert json.loads(as_json.content) == {"grant_type": "x", "client_id": "id", "client_secret": "s"}


def test_authorize_url_carries_state_scopes_pkce_and_vendor_params() -> None:
    app = OAuthApp(
        vendor="P",
        token_url=APP.token_url,
        authorize_url="https://www.pinterest.test/oauth/",
        scopes=("ads:read", "ads:write"),
        scope_separator=",",
        authorize_params={"access_type": "offline"},
        pkce=True,
    )
    verifier, challenge = pkce_pair()
    digest = hashlib.sha256(verifier.encode()).digest()
    assert challenge == base64.urlsafe_b64encode(digest).rstrip(b"=").decode()  # RFC 7636 S256
    url = app.authorize_url_for("cid", "https://sluice.test/cb", "st", challenge)
    query = {k: v[0] for k, v in parse_qs(urlsplit(url).query).items()}
    assert query == {
        "response_type": "code",
        "client_id": "cid",
        "redirect_uri": "https://sluice.test/cb",
        "state": "st",
        "scope": "ads:read,ads:write",
        "code_challenge": challenge,
        "code_challenge_method": "S256",
        "access_type": "offline",
    }
    with pytest.raises(ConfigError, match="no authorization step"):
        OAuthApp(vendor="C", token_url=APP.token_url).authorize_url_for("c", "r", "s")
