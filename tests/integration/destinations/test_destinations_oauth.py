"""OAuth 2.0 access tokens of destinations (``sluice.destinations.oauth``) against an emulated
vendor OAuth server: refresh, expiry, 401, rotation persisted to the store, revoked grants,
client-credentials grant, and the authorization-code exchange with PKCE."""

from __future__ import annotations

import asyncio
from collections.abc import Sequence
from typing import Any, ClassVar

import httpx
import pytest
from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse, Response

from sluice.destinations.emulation import VirtualClock
from sluice.destinations.errors import ConfigError
from sluice.destinations.oauth import (
    ClientAuth,
    ClientCredentialsConfig,
    Grant,
    OAuthApp,
    OAuthConfig,
    exchange_code,
    pkce_pair,
)
from sluice.destinations.oauth_emulation import OAuthServer
from sluice.destinations.sdk import (
    ActivationDefaults,
    Capabilities,
    Connector,
    IdentifierKind,
    Op,
    Outcome,
    Service,
    Target,
    TargetPage,
    TargetSpec,
)
from sluice.destinations.service import secrets_saver
from sluice.store.db import Database
from sluice.store.tables.destinations import Destination
from sluice.store.tables.workspaces import Workspace

VENDOR_URL = "https://api.adsvendor.test"
OAUTH_URL = "https://oauth.adsvendor.test"


class AdsConfig(OAuthConfig):
    base_url: str = VENDOR_URL


class AdsClientConfig(ClientCredentialsConfig):
    base_url: str = VENDOR_URL


class AdsDefaults(ActivationDefaults):
    target_kind: str = "audience"


class AdsConnector(Connector):
    """The smallest OAuth connector: one authenticated read (``GET /v1/me``)."""

    type_name = "oauth_test_ads"
    title = "Ads Vendor"
    config_model = AdsConfig
    activation_defaults = AdsDefaults
    capabilities = Capabilities(
        services=frozenset({Service.MEMBERSHIP}),
        target_kinds=frozenset({"audience"}),
        identifiers=frozenset({IdentifierKind.EMAIL}),
        batch_size=10,
        concurrency=8,
    )
    oauth_app: ClassVar[OAuthApp | None] = OAuthApp(
        vendor="Ads Vendor",
        authorize_url=f"{OAUTH_URL}/oauth2/authorize",
        token_url=f"{OAUTH_URL}/oauth2/token",
        scopes=("ads.read", "ads.write"),
        authorize_params={"access_type": "offline"},
        client_auth=ClientAuth.BASIC,
        pkce=True,
    )

    @classmethod
    def base_url(cls, config: Any) -> str:
        return str(config.base_url)

    async def check(self) -> str:
        response = await self.http.request("GET", "/v1/me")
        if response.status_code == 401:
            raise ConfigError(f"Ads Vendor refused the access token: {response.json()['error_description']}")
        return f"connected as {response.json()['account']}"

    async def list_targets(self, kind: str | None = None, cursor: str | None = None) -> TargetPage:
        return TargetPage([])

    async def ensure_target(self, spec: TargetSpec) -> Target:
        return Target(spec.kind, spec.id or "1", spec.name)

    async def apply(self, target: Target, ops: Sequence[Op]) -> list[Outcome]:
        return []


class AdsClientConnector(AdsConnector):
    type_name = "oauth_test_ads_cc"
    config_model = AdsClientConfig  # type: ignore[assignment]
    oauth_app = OAuthApp(
        vendor="Ads Vendor",
        token_url=f"{OAUTH_URL}/oauth2/token",
        client_auth=ClientAuth.BODY,
        grant=Grant.CLIENT_CREDENTIALS,
    )


class AdsVendor:
    """The vendor: its OAuth server and one protected API route, on a virtual clock."""

    def __init__(self, **server: Any) -> None:
        self.clock = VirtualClock()
        self.oauth = OAuthServer(**{"clock": self.clock, "access_ttl": 600, **server})
        self.client_id, self.client_secret = self.oauth.register_client()
        self.api_calls = 0
        self.server_errors = 0
        app = FastAPI()
        self.oauth.add_routes(app, token_path="/oauth2/token", authorize_path="/oauth2/authorize")

        @app.middleware("http")
        async def faults(request: Request, call_next: Any) -> Response:
            if request.url.path == "/oauth2/token" and self.server_errors:
                self.server_errors -= 1
                return JSONResponse({"error": "temporarily_unavailable"}, status_code=503)
            response: Response = await call_next(request)
            return response

        @app.get("/v1/me")
        async def me(request: Request) -> Response:
            self.api_calls += 1
            return self.oauth.bearer_refusal(request) or JSONResponse({"account": "acme"})

        self.app = app

    def config(self, **overrides: Any) -> dict[str, Any]:
        values = {
            "client_id": self.client_id,
            "client_secret": self.client_secret,
            "refresh_token": self.oauth.issue_refresh_token(self.client_id),
        }
        return {**values, **overrides}

    def connect(self, connector: type[Connector] = AdsConnector, **kwargs: Any) -> Connector:
        config = kwargs.pop("config", None) or self.config()
        client = httpx.AsyncClient(transport=httpx.ASGITransport(app=self.app))
        made = connector.connect(config, http_client=client, **kwargs)
        made.http.clock = self.clock
        made.http.sleep = self.clock.sleep
        made.http.owns_client = True
        return made


def run(coroutine: Any) -> Any:
    return asyncio.run(coroutine)


def test_access_token_is_fetched_once_and_reused_until_it_expires() -> None:
    vendor = AdsVendor()

    async def scenario() -> list[int]:
        counts = []
        async with vendor.connect() as connector:
            for _ in range(3):
                assert await connector.check() == "connected as acme"
            counts.append(vendor.oauth.token_requests)
            vendor.clock.now += 600 - 30  # within the expiry margin: refreshed before the vendor refuses
            assert await connector.check() == "connected as acme"
            counts.append(vendor.oauth.token_requests)
        return counts

    assert run(scenario()) == [1, 2]
    assert vendor.api_calls == 4  # never a refused call


def test_requests_in_flight_share_one_token_request() -> None:
    vendor = AdsVendor()

    async def scenario() -> None:
        async with vendor.connect() as connector:
            results = await asyncio.gather(*(connector.check() for _ in range(8)))
            assert set(results) == {"connected as acme"}

    run(scenario())
    assert vendor.oauth.token_requests == 1


def test_a_401_refreshes_once_and_repeats_the_call() -> None:
    vendor = AdsVendor()

    async def scenario() -> None:
        async with vendor.connect() as connector:
            await connector.check()
            vendor.oauth.expire_access_tokens()  # revoked early at the vendor, still cached here
            assert await connector.check() == "connected as acme"

    run(scenario())
    assert vendor.oauth.token_requests == 2
    assert vendor.api_calls == 3  # ok, 401, repeated ok


def test_a_second_401_reaches_the_connector() -> None:
    vendor = AdsVendor(access_ttl=0)  # every token is dead on arrival

    async def scenario() -> None:
        async with vendor.connect() as connector:
            await connector.check()

    with pytest.raises(ConfigError, match="refused the access token"):
        run(scenario())
    assert vendor.api_calls == 2  # tried, refreshed, tried once more: no loop
    assert vendor.oauth.token_requests == 2


def test_rotated_refresh_token_is_saved_encrypted_in_the_destination(sqlite_database: Database) -> None:
    vendor = AdsVendor(rotate_refresh_tokens=True)
    config = vendor.config()
    with sqlite_database.session() as session:
        workspace = session.query(Workspace).first()
        assert workspace is not None
        row = Destination(workspace_id=workspace.id, name="ads", type="oauth_test_ads", config={})
        row.write_secrets(sqlite_database.secrets, {k: config[k] for k in ("client_secret", "refresh_token")})
        session.add(row)
        session.flush()
        destination_id = row.id

    async def scenario() -> None:
        saver = secrets_saver(sqlite_database, destination_id)
        async with vendor.connect(config=config, on_secrets_changed=saver) as connector:
            await connector.check()
            vendor.clock.now += 3600
            await connector.check()  # second refresh uses the first rotated token

    run(scenario())
    with sqlite_database.session() as session:
        stored = session.get(Destination, destination_id)
        assert stored is not None
        secrets_now = stored.read_secrets(sqlite_database.secrets)
        assert stored.secrets_encrypted is not None
        assert secrets_now["refresh_token"] not in stored.secrets_encrypted
    assert vendor.oauth.live_refresh_tokens() == [secrets_now["refresh_token"]]
    assert secrets_now["refresh_token"] != config["refresh_token"]
    assert vendor.oauth.token_requests == 2

    # a new connection from the stored secrets keeps working after the rotations
    async def reconnect() -> str:
        async with vendor.connect(config={**config, **secrets_now}) as connector:
            return await connector.check()

    assert run(reconnect()) == "connected as acme"


def test_revoked_authorization_asks_the_user_to_reconnect() -> None:
    vendor = AdsVendor()
    config = vendor.config()
    vendor.oauth.revoke(config["refresh_token"])

    async def scenario() -> None:
        async with vendor.connect(config=config) as connector:
            await connector.check()

    with pytest.raises(ConfigError) as caught:
        run(scenario())
    message = caught.value.message
    assert "Reconnect the destination with 'Connect with Ads Vendor'" in message
    assert "invalid_grant" in message
    assert config["refresh_token"] not in message
    assert config["client_secret"] not in message


def test_wrong_client_secret_is_a_config_error() -> None:
    vendor = AdsVendor()

    async def scenario() -> None:
        async with vendor.connect(config=vendor.config(client_secret="nope")) as connector:
            await connector.check()

    with pytest.raises(ConfigError, match="refused the OAuth client ID or secret"):
        run(scenario())


def test_destination_not_yet_connected_says_how_to_connect() -> None:
    vendor = AdsVendor()

    async def scenario() -> None:
        async with vendor.connect(config=vendor.config(refresh_token=None)) as connector:
            await connector.check()

    with pytest.raises(ConfigError, match="not connected to Ads Vendor yet"):
        run(scenario())
    assert vendor.oauth.token_requests == 0


def test_token_endpoint_outage_is_retried() -> None:
    vendor = AdsVendor()
    vendor.server_errors = 2

    async def scenario() -> str:
        async with vendor.connect() as connector:
            return await connector.check()

    assert run(scenario()) == "connected as acme"
    assert vendor.oauth.token_requests == 1  # the two 503s never reached the server logic


def test_client_credentials_grant() -> None:
    vendor = AdsVendor(client_auth=ClientAuth.BODY)

    async def scenario() -> str:
        config = {"client_id": vendor.client_id, "client_secret": vendor.client_secret}
        async with vendor.connect(AdsClientConnector, config=config) as connector:
            first = await connector.check()
            vendor.clock.now += 3600
            await connector.check()
            return first

    assert run(scenario()) == "connected as acme"
    assert vendor.oauth.token_requests == 2
    assert vendor.oauth.live_refresh_tokens() == []


def test_basic_client_auth_is_what_the_app_declares() -> None:
    vendor = AdsVendor(client_auth=ClientAuth.BASIC)  # refuses client secrets in the body

    async def scenario() -> None:
        config = {"client_id": vendor.client_id, "client_secret": vendor.client_secret}
        async with vendor.connect(AdsClientConnector, config=config) as connector:
            await connector.check()

    with pytest.raises(ConfigError, match="client ID or secret"):
        run(scenario())


def test_oauth_base_url_points_token_requests_at_an_emulator() -> None:
    app = AdsConnector.oauth_app
    assert app is not None
    config = AdsConfig(client_id="c", client_secret="s", oauth_base_url="http://127.0.0.1:9000/emulators/x")
    resolved = app.resolved(config)
    assert resolved.token_url == "http://127.0.0.1:9000/emulators/x/oauth2/token"
    assert resolved.authorize_url == "http://127.0.0.1:9000/emulators/x/oauth2/authorize"
    templated = OAuthApp(vendor="V", token_url="https://{base_url}/token")
    assert templated.resolved(
        AdsClientConfig(client_id="c", client_secret="s", base_url="t.example")
    ).token_url == ("https://t.example/token")


def test_authorization_code_exchange_with_pkce() -> None:
    vendor = AdsVendor()
    app = AdsConnector.oauth_app
    assert app is not None
    verifier, challenge = pkce_pair()
    redirect = "http://sluice.test/api/v1/destinations/oauth/callback"
    url = app.authorize_url_for(vendor.client_id, redirect, "state-1", challenge)
    assert "access_type=offline" in url
    assert "scope=ads.read+ads.write" in url

    async def scenario() -> tuple[str, str]:
        async with httpx.AsyncClient(transport=httpx.ASGITransport(app=vendor.app)) as client:
            answer = await client.get(url)
            assert answer.status_code == 302
            params = httpx.URL(answer.headers["location"]).params
            assert params["state"] == "state-1"
            kwargs: dict[str, Any] = {
                "client_id": vendor.client_id,
                "client_secret": vendor.client_secret,
                "code": params["code"],
                "redirect_uri": redirect,
            }
            with pytest.raises(ConfigError, match="invalid_grant"):
                await exchange_code(app, client, **kwargs, code_verifier="wrong-verifier")
            answer = await client.get(url)  # the failed attempt used the code up: authorize again
            kwargs["code"] = httpx.URL(answer.headers["location"]).params["code"]
            tokens = await exchange_code(app, client, **kwargs, code_verifier=verifier)
            assert tokens.refresh_token is not None
            return tokens.access_token, tokens.refresh_token

    access, refresh = run(scenario())
    assert refresh in vendor.oauth.live_refresh_tokens()
    assert access in vendor.oauth.access_tokens
