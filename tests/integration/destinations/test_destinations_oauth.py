"""OAuth 2.0 access tokens of destinations (``sluice.destinations.oauth``) against an emulated
vendor OAuth server: refresh, expiry, 401, rotation persisted to the store, revoked grants,
client-credentials grant, and the authorization-code exchange with PKCE."""

from __future__ import annotations

import asyncio
from typing import Any

import httpx
import pytest

from sluice.destinations import registry, service
from sluice.destinations.errors import ConfigError
from sluice.destinations.oauth import ClientAuth, OAuthApp, exchange_code, pkce_pair
from sluice.destinations.service import secrets_saver
from sluice.destinations.testing.oauth_vendor import (
    AdsClientConfig,
    AdsClientConnector,
    AdsConfig,
    AdsConnector,
    AdsVendor,
)
from sluice.store.db import Database
from sluice.store.tables.destinations import Destination
from sluice.store.tables.workspaces import Workspace


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


@pytest.mark.parametrize("how", ["own transaction", "caller's session"])
def test_stored_destination_keeps_the_rotated_refresh_token(
    how: str, sqlite_database: Database, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setitem(registry._discover(), AdsConnector.type_name, AdsConnector)
    vendor = AdsVendor(rotate_refresh_tokens=True)
    config = vendor.config()
    box = sqlite_database.secrets
    with sqlite_database.session() as session:
        workspace = session.query(Workspace).first()
        assert workspace is not None
        row = Destination(
            workspace_id=workspace.id,
            name="ads",
            type=AdsConnector.type_name,
            config={"client_id": config["client_id"]},
        )
        row.write_secrets(box, {k: config[k] for k in ("client_secret", "refresh_token")})
        session.add(row)
        session.flush()

        async def scenario() -> str:
            client = httpx.AsyncClient(transport=httpx.ASGITransport(app=vendor.app))
            database = sqlite_database if how == "own transaction" else None
            async with service.connect(row, box, client, database=database) as connector:
                return await connector.check()

        if how == "own transaction":
            session.commit()  # the row must exist for the saver's own transaction
        assert asyncio.run(scenario()) == "connected as acme"
        destination_id = row.id
    with sqlite_database.session() as session:
        stored = session.get(Destination, destination_id)
        assert stored is not None
        assert vendor.oauth.live_refresh_tokens() == [stored.read_secrets(box)["refresh_token"]]
