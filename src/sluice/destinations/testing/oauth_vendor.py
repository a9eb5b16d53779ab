"""A made-up ad vendor that authorizes with OAuth 2.0, for the tests of
:mod:`sluice.destinations.oauth` and of the "Connect with …" flow (imported by tests only).

:class:`AdsVendor` is its HTTP side (an :class:`~sluice.destinations.oauth_emulation.OAuthServer`
and one protected route, ``GET /v1/me``) on a virtual clock; :class:`AdsConnector` the smallest
connector using it (refresh-token grant, Basic client auth, PKCE) and
:class:`AdsClientConnector` the same with the client-credentials grant. They are not registered
as destination types; a test registers them where it needs one.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, ClassVar

import httpx
from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse, Response

from sluice.destinations.emulation import VirtualClock
from sluice.destinations.errors import ConfigError
from sluice.destinations.oauth import ClientAuth, ClientCredentialsConfig, Grant, OAuthApp, OAuthConfig
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
        self.oauth.add_routes(app, token_path="/oauth2/token", authorize_path="/oauth2/authorize")  # noqa: S106

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
