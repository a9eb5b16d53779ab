"""SAML 2.0 sign-in end to end against a local identity provider (signed assertions, real HTTP).

Flow: /auth/sso/start → IdP /sso (AuthnRequest by redirect) → auto-posting form → /auth/sso/saml/acs
→ signed in, created just in time with the provider's default role.
"""

from __future__ import annotations

import base64
import re
import socket
import threading
import time
from collections.abc import Iterator
from html import unescape

import httpx
import pytest
import uvicorn
from fastapi.testclient import TestClient

from sluice.auth.sso.saml_emulator import FakeSamlIdp


@pytest.fixture
def saml_idp() -> Iterator[FakeSamlIdp]:
    """A fake SAML identity provider listening on 127.0.0.1, stopped afterwards."""
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.bind(("127.0.0.1", 0))
    idp = FakeSamlIdp(f"http://127.0.0.1:{sock.getsockname()[1]}")
    server = uvicorn.Server(uvicorn.Config(idp.app, log_level="warning", lifespan="off"))
    thread = threading.Thread(target=server.run, kwargs={"sockets": [sock]}, daemon=True)
    thread.start()
    deadline = time.monotonic() + 10
    while not server.started and time.monotonic() < deadline:
        time.sleep(0.02)
    yield idp
    server.should_exit = True
    thread.join(timeout=10)
    sock.close()


def configure(client: TestClient, idp: FakeSamlIdp) -> dict[str, object]:
    body = {
        "name": "Acme SAML",
        "kind": "saml",
        "saml": {
            "idp_entity_id": idp.entity_id,
            "idp_sso_url": idp.sso_url,
            "idp_x509_cert": idp.certificate_pem,
        },
        "domains": ["acme.test"],
        "default_role": "operator",
    }
    response = client.post("/api/v1/sso-providers", json=body)
    assert response.status_code == 201, response.text
    created: dict[str, object] = response.json()
    return created


def form_fields(page: str) -> tuple[str, dict[str, str]]:
    action = unescape(re.search(r'action="([^"]+)"', page).group(1))  # type: ignore[union-attr]
    fields = {unescape(n): unescape(v) for n, v in re.findall(r'name="([^"]+)" value="([^"]*)"', page)}
    return action, fields


def at_idp(browser: TestClient, email: str) -> tuple[str, dict[str, str]]:
    start = browser.get(
        "/api/v1/auth/sso/start", params={"email": email, "return_to": "/activations"}, follow_redirects=False
    )
    assert start.status_code == 302, start.text
    page = httpx.get(start.headers["location"])
    assert page.status_code == 200, page.text
    return form_fields(page.text)


def test_saml_sign_in_creates_the_user_just_in_time(
    client: TestClient, anonymous_client: TestClient, saml_idp: FakeSamlIdp
) -> None:
    configure(client, saml_idp)
    saml_idp.add_user("sam@acme.test", "Sam")
    action, fields = at_idp(anonymous_client, "sam@acme.test")
    assert action == "http://testserver/api/v1/auth/sso/saml/acs"
    done = anonymous_client.post(action, data=fields, follow_redirects=False)
    assert done.status_code == 303, done.text
    assert done.headers["location"] == "/activations"
    me = anonymous_client.get("/api/v1/auth/me").json()
    assert me["user"]["email"] == "sam@acme.test"
    assert me["user"]["name"] == "Sam"
    assert me["role"] == "operator"


def test_replayed_response_is_refused(
    client: TestClient, anonymous_client: TestClient, saml_idp: FakeSamlIdp
) -> None:
    configure(client, saml_idp)
    saml_idp.add_user("rex@acme.test")
    action, fields = at_idp(anonymous_client, "rex@acme.test")
    assert anonymous_client.post(action, data=fields, follow_redirects=False).status_code == 303
    # The same response with a RelayState of another sign-in (another request id) does not pass.
    _, second = at_idp(TestClient(client.app), "rex@acme.test")
    replay = anonymous_client.post(
        action, data={**fields, "RelayState": second["RelayState"]}, follow_redirects=False
    )
    assert replay.status_code == 401


def test_tampered_assertion_is_refused(
    client: TestClient, anonymous_client: TestClient, saml_idp: FakeSamlIdp
) -> None:
    configure(client, saml_idp)
    saml_idp.add_user("tom@acme.test")
    action, fields = at_idp(anonymous_client, "tom@acme.test")
    xml = base64.b64decode(fields["SAMLResponse"]).decode()
    forged = xml.replace("tom@acme.test", "boss@acme.test")
    fields["SAMLResponse"] = base64.b64encode(forged.encode()).decode()
    response = anonymous_client.post(action, data=fields, follow_redirects=False)
    assert response.status_code == 401
    assert "SAML response is not valid" in response.json()["detail"]
    assert anonymous_client.get("/api/v1/auth/me").status_code == 401


def test_assertion_for_another_audience_is_refused(
    client: TestClient, anonymous_client: TestClient, saml_idp: FakeSamlIdp
) -> None:
    configure(client, saml_idp)
    saml_idp.add_user("ann@acme.test")
    saml_idp.audience_override = "https://another-app.example/saml"
    action, fields = at_idp(anonymous_client, "ann@acme.test")
    assert anonymous_client.post(action, data=fields, follow_redirects=False).status_code == 401


def test_forged_relay_state_is_refused(anonymous_client: TestClient) -> None:
    response = anonymous_client.post(
        "/api/v1/auth/sso/saml/acs",
        data={"SAMLResponse": "eA==", "RelayState": "not-ours"},
        follow_redirects=False,
    )
    assert response.status_code == 401


def test_service_provider_metadata(
    client: TestClient, anonymous_client: TestClient, saml_idp: FakeSamlIdp
) -> None:
    provider = configure(client, saml_idp)
    response = anonymous_client.get("/api/v1/auth/sso/saml/metadata", params={"provider_id": provider["id"]})
    assert response.status_code == 200
    assert "AssertionConsumerService" in response.text
    assert "http://testserver/api/v1/auth/sso/saml/acs" in response.text
