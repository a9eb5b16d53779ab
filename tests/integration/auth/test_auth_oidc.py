"""OpenID Connect sign-in end to end against a local identity provider over real HTTP.

Flow: /auth/sso/start → provider /authorize → /auth/sso/oidc/callback → signed in, created just
in time with the provider's default role, PKCE checked by the provider, id_token verified by us.
"""

from __future__ import annotations

from urllib.parse import parse_qs, urlparse

import httpx
import pytest
from fastapi.testclient import TestClient

from sluice.auth.sso.emulator import FakeOidcProvider


def configure(client: TestClient, provider: FakeOidcProvider, **overrides: object) -> dict[str, object]:
    body = {
        "name": "Acme IdP",
        "discovery_url": f"{provider.issuer}/.well-known/openid-configuration",
        "client_id": provider.client_id,
        "client_secret": provider.client_secret,
        "domains": ["acme.test"],
        "default_role": "editor",
    } | overrides
    response = client.post("/api/v1/sso-providers", json=body)
    assert response.status_code == 201, response.text
    created: dict[str, object] = response.json()
    return created


def sign_in(browser: TestClient, email: str, return_to: str = "/") -> httpx.Response:
    """Walk the browser through the redirects; returns the callback's response."""
    start = browser.get(
        "/api/v1/auth/sso/start", params={"email": email, "return_to": return_to}, follow_redirects=False
    )
    assert start.status_code == 302, start.text
    authorize = urlparse(start.headers["location"])
    query = parse_qs(authorize.query)
    assert query["code_challenge_method"] == ["S256"]
    assert query["code_challenge"][0]
    at_idp = httpx.get(start.headers["location"], follow_redirects=False)
    assert at_idp.status_code == 302
    return browser.get(at_idp.headers["location"], follow_redirects=False)


def test_sign_in_creates_the_user_just_in_time(
    client: TestClient, anonymous_client: TestClient, oidc_provider: FakeOidcProvider
) -> None:
    configure(client, oidc_provider)
    oidc_provider.add_user("carol@acme.test", "Carol")
    done = sign_in(anonymous_client, "Carol@Acme.test", return_to="/segments")
    assert done.status_code == 303, done.text
    assert done.headers["location"] == "/segments"
    me = anonymous_client.get("/api/v1/auth/me").json()
    assert me["user"]["email"] == "carol@acme.test"
    assert me["user"]["name"] == "Carol"
    assert me["role"] == "editor"
    assert oidc_provider.token_requests[-1]["code_verifier"]  # PKCE verifier sent with the code
    members = client.get("/api/v1/members").json()["items"]
    assert "carol@acme.test" in [m["email"] for m in members]
    logins = client.get("/api/v1/audit-logs", params={"action": "auth.*"}).json()["items"]
    assert {"auth.sso_login", "auth.login"} <= {e["action"] for e in logins}


def test_second_sign_in_reuses_the_account(
    client: TestClient, anonymous_client: TestClient, oidc_provider: FakeOidcProvider
) -> None:
    configure(client, oidc_provider)
    oidc_provider.add_user("dan@acme.test")
    assert sign_in(anonymous_client, "dan@acme.test").status_code == 303
    anonymous_client.cookies.clear()
    assert sign_in(anonymous_client, "dan@acme.test").status_code == 303
    emails = [m["email"] for m in client.get("/api/v1/members").json()["items"]]
    assert emails.count("dan@acme.test") == 1


def test_client_secret_is_write_only(client: TestClient, oidc_provider: FakeOidcProvider) -> None:
    created = configure(client, oidc_provider)
    assert created["secret_names"] == ["client_secret"]
    listed = client.get("/api/v1/sso-providers")
    for text in (str(created), listed.text):
        assert oidc_provider.client_secret not in text
    audit = client.get("/api/v1/audit-logs", params={"target_type": "sso_provider"}).text
    assert oidc_provider.client_secret not in audit


def test_unknown_domain_is_refused(
    anonymous_client: TestClient, client: TestClient, oidc_provider: FakeOidcProvider
) -> None:
    configure(client, oidc_provider)
    response = anonymous_client.get("/api/v1/auth/sso/start", params={"email": "eve@other.test"})
    assert response.status_code == 404
    assert "not set up" in response.json()["detail"]


def test_tampered_state_is_refused(
    client: TestClient, anonymous_client: TestClient, oidc_provider: FakeOidcProvider
) -> None:
    configure(client, oidc_provider)
    oidc_provider.add_user("frank@acme.test")
    start = anonymous_client.get(
        "/api/v1/auth/sso/start", params={"email": "frank@acme.test"}, follow_redirects=False
    )
    at_idp = httpx.get(start.headers["location"], follow_redirects=False)
    callback = urlparse(at_idp.headers["location"])
    code = parse_qs(callback.query)["code"][0]
    forged = anonymous_client.get(
        "/api/v1/auth/sso/oidc/callback", params={"code": code, "state": "forged"}, follow_redirects=False
    )
    assert forged.status_code == 401
    assert anonymous_client.get("/api/v1/auth/me").status_code == 401


def test_wrong_client_secret_is_refused(
    client: TestClient, anonymous_client: TestClient, oidc_provider: FakeOidcProvider
) -> None:
    configure(client, oidc_provider, client_secret="not-the-secret")
    oidc_provider.add_user("gina@acme.test")
    done = sign_in(anonymous_client, "gina@acme.test")
    assert done.status_code == 401
    assert "client authentication failed" in done.json()["detail"]


@pytest.mark.parametrize("verified", [False])
def test_unverified_email_is_refused(
    client: TestClient, anonymous_client: TestClient, oidc_provider: FakeOidcProvider, verified: bool
) -> None:
    configure(client, oidc_provider)
    oidc_provider.add_user("hank@acme.test", email_verified=verified)
    done = sign_in(anonymous_client, "hank@acme.test")
    assert done.status_code == 401
    assert "not verified" in done.json()["detail"]


def test_id_token_for_another_client_is_refused(
    client: TestClient, anonymous_client: TestClient, oidc_provider: FakeOidcProvider
) -> None:
    configure(client, oidc_provider)
    user = oidc_provider.add_user("ivy@acme.test")
    original = oidc_provider.id_token

    def for_someone_else(person: object, *, nonce: str | None, audience: str | None = None) -> str:
        return original(user, nonce=nonce, audience="another-client")

    oidc_provider.id_token = for_someone_else  # type: ignore[method-assign]
    done = sign_in(anonymous_client, "ivy@acme.test")
    assert done.status_code == 401
    assert "id_token" in done.json()["detail"]


def test_open_redirects_are_neutralised(
    client: TestClient, anonymous_client: TestClient, oidc_provider: FakeOidcProvider
) -> None:
    configure(client, oidc_provider)
    oidc_provider.add_user("jo@acme.test")
    done = sign_in(anonymous_client, "jo@acme.test", return_to="//evil.example/steal")
    assert done.headers["location"] == "/"
