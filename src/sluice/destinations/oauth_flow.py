"""The authorization-code flow that connects a destination to a vendor account ("Connect with …").

1. :func:`begin` — for a stored destination whose type declares an :class:`OAuthApp`: the
   vendor's authorize URL (client id from the destination's config, ``state``, PKCE challenge
   where the vendor supports it) and a *sealed flow*: the state nonce, PKCE verifier, destination,
   workspace, user and browser session, expiry and where to send the browser back, encrypted and
   authenticated with the installation's key. The API puts it in an HttpOnly cookie.
2. The vendor sends the browser back with ``code`` and ``state``; :func:`open_flow` checks the
   cookie is fresh and was issued for this ``state`` (CSRF: a code from someone else's flow is
   refused), and the API checks the signed-in user and session are the ones that started it.
3. :func:`complete` exchanges the code at the token URL and stores the refresh token in the
   destination's encrypted secrets. No token is ever returned, logged or audited.
"""

from __future__ import annotations

import asyncio
import hmac
import secrets
import time
from dataclasses import asdict, dataclass

import httpx
from pydantic import ValidationError

from sluice.core.crypto import SecretBox, SecretDecryptionError
from sluice.core.errors import InvalidInput, NotAuthenticated
from sluice.destinations import registry
from sluice.destinations.errors import ConfigError
from sluice.destinations.oauth import ClientCredentialsConfig, Grant, OAuthApp, exchange_code, pkce_pair
from sluice.destinations.sdk import Connector
from sluice.store.tables.destinations import Destination

#: the cookie carrying the sealed flow, and how long a user has to approve at the vendor
FLOW_COOKIE = "sluice_destination_oauth"
FLOW_SECONDS = 600


@dataclass(frozen=True)
class Flow:
    """What the callback must find again (sealed in the flow cookie, never sent to the vendor)."""

    state: str
    destination_id: str
    workspace_id: str
    user_id: str
    session_id: str
    code_verifier: str | None
    redirect_uri: str
    return_to: str
    expires: int


def oauth_app_of(type_name: str) -> tuple[type[Connector], OAuthApp]:
    """The connector and OAuth app of a type users connect with "Connect with …"."""
    connector = registry.get(type_name)
    app = connector.oauth_app
    if app is None or app.grant is not Grant.REFRESH_TOKEN or not app.authorize_url:
        raise InvalidInput(f"{connector.title} is not connected with an OAuth authorization")
    return connector, app


def _client_config(destination: Destination, box: SecretBox) -> tuple[OAuthApp, ClientCredentialsConfig]:
    connector, app = oauth_app_of(destination.type)
    values = {**destination.config, **destination.read_secrets(box)}
    try:
        config = connector.config_model.model_validate(values)
    except ValidationError:
        raise InvalidInput(
            f"save the {connector.title} settings (OAuth client ID and secret included) before connecting"
        ) from None
    assert isinstance(config, ClientCredentialsConfig)
    return app.resolved(config), config


def begin(
    destination: Destination,
    box: SecretBox,
    *,
    user_id: str,
    session_id: str,
    redirect_uri: str,
    return_to: str,
) -> tuple[str, str]:
    """The vendor's authorize URL and the sealed flow for the cookie."""
    app, config = _client_config(destination, box)
    verifier, challenge = pkce_pair() if app.pkce else (None, None)
    flow = Flow(
        state=secrets.token_urlsafe(24),
        destination_id=destination.id,
        workspace_id=destination.workspace_id,
        user_id=user_id,
        session_id=session_id,
        code_verifier=verifier,
        redirect_uri=redirect_uri,
        return_to=return_to,
        expires=int(time.time()) + FLOW_SECONDS,
    )
    url = app.authorize_url_for(config.client_id, redirect_uri, flow.state, challenge)
    return url, box.encrypt(asdict(flow))


def open_flow(box: SecretBox, sealed: str | None, state: str) -> Flow:
    """The flow of the cookie, if it is fresh and was started for ``state``."""
    if not sealed:
        raise NotAuthenticated("this connection attempt was not started in this browser (or took too long)")
    try:
        flow = Flow(**box.decrypt(sealed))
    except (SecretDecryptionError, TypeError):
        raise NotAuthenticated("this connection attempt cannot be read; start it again") from None
    if flow.expires < time.time():
        raise NotAuthenticated("this connection attempt expired; start it again")
    if not state or not hmac.compare_digest(flow.state, state):
        raise NotAuthenticated("the vendor answered for another connection attempt (state mismatch)")
    return flow


def complete(
    destination: Destination,
    box: SecretBox,
    flow: Flow,
    code: str,
    http_client: httpx.AsyncClient | None = None,
) -> str | None:
    """Exchange ``code`` and store the refresh token encrypted; returns the scopes granted."""
    app, config = _client_config(destination, box)

    async def exchange() -> tuple[str, str | None, str | None]:
        async with http_client or httpx.AsyncClient(timeout=30) as client:
            tokens = await exchange_code(
                app,
                client,
                client_id=config.client_id,
                client_secret=config.client_secret.get_secret_value(),
                code=code,
                redirect_uri=flow.redirect_uri,
                code_verifier=flow.code_verifier,
            )
            return tokens.access_token, tokens.refresh_token, tokens.scope

    _, refresh_token, scope = asyncio.run(exchange())
    if not refresh_token:
        raise ConfigError(
            f"{app.vendor} granted access without a refresh token, so Sluice could not stay connected; "
            "check that your app may request offline access and connect again"
        )
    destination.write_secrets(box, {"refresh_token": refresh_token})
    return scope
