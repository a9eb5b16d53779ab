"""Configured destinations as the API and CLI use them: validate a config against its type,
split secrets from settings, connect a stored destination, test it, list its targets."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable
from dataclasses import dataclass
from typing import Any, TypeVar

import httpx
from pydantic import ValidationError
from sqlalchemy.orm import object_session

from sluice.core.crypto import SecretBox
from sluice.core.errors import InvalidInput
from sluice.destinations import registry
from sluice.destinations.errors import ConfigError, DestinationError
from sluice.destinations.oauth import Grant, SecretsChanged
from sluice.destinations.sdk import Connector, DestinationConfig, TargetPage
from sluice.store.db import Database
from sluice.store.tables.destinations import Destination

T = TypeVar("T")


def _readable(error: ValidationError) -> str:
    parts = []
    for item in error.errors():
        where = ".".join(str(p) for p in item.get("loc", ())) or "config"
        parts.append(f"{where}: {item.get('msg', 'invalid')}")
    return "; ".join(parts)


def validate_config(
    type_name: str, config: dict[str, Any], secrets: dict[str, Any]
) -> tuple[DestinationConfig, dict[str, Any], dict[str, Any]]:
    """Check settings + secrets against the type's config model.

    Returns the parsed config, the non-secret part (stored as JSON) and the secret part (stored
    encrypted). A secret sent among the settings is moved to the secrets, never stored in clear.
    """
    connector = registry.get(type_name)
    model = connector.config_model
    secret_names = set(model.secret_field_names())
    moved = {k: v for k, v in config.items() if k in secret_names}
    all_secrets = {**moved, **secrets}
    unknown = set(all_secrets) - secret_names
    if unknown:
        raise InvalidInput(f"{', '.join(sorted(unknown))} not secret fields of {connector.title}")
    try:
        parsed = model.model_validate({**config, **all_secrets})
    except ValidationError as exc:
        raise InvalidInput(f"invalid {connector.title} config: {_readable(exc)}") from None
    public = parsed.model_dump(mode="json", exclude=secret_names)
    return parsed, public, all_secrets


def validate_defaults(type_name: str, values: dict[str, Any] | None) -> dict[str, Any]:
    """Default activation settings, checked against the type's model (its defaults when None)."""
    model = registry.get(type_name).activation_defaults
    try:
        return model.model_validate(values or {}).model_dump(mode="json")
    except ValidationError as exc:
        raise InvalidInput(f"invalid default activation settings: {_readable(exc)}") from None


def connect(
    destination: Destination,
    box: SecretBox,
    http_client: httpx.AsyncClient | None = None,
    *,
    database: Database | None = None,
) -> Connector:
    """A connector for a stored destination (secrets decrypted in memory only).

    Secrets the vendor replaces while connected (a rotated OAuth refresh token) are saved back: in
    their own transaction with ``database``, else on the row itself when it belongs to an open
    session (committed with that session's transaction)."""
    connector = registry.get(destination.type)
    values = {**destination.config, **destination.read_secrets(box)}
    try:
        config = connector.config_model.model_validate(values)
    except ValidationError as exc:
        raise ConfigError(f"stored {connector.title} config is no longer valid: {_readable(exc)}") from None
    saver: SecretsChanged | None = None
    if database is not None:
        saver = secrets_saver(database, destination.id)
    elif object_session(destination) is not None:
        saver = _row_saver(destination, box)
    return connector.connect(config, http_client=http_client, on_secrets_changed=saver)


def save_secrets(database: Database, destination_id: str, values: dict[str, str]) -> None:
    """Merge ``values`` into a stored destination's encrypted secrets (own transaction)."""
    with database.session() as session:
        row = session.get(Destination, destination_id)
        if row is None:
            raise ConfigError("the destination was deleted while connected")
        row.write_secrets(database.secrets, values)


def _row_saver(destination: Destination, box: SecretBox) -> SecretsChanged:
    async def save(values: dict[str, str]) -> None:
        destination.write_secrets(box, values)

    return save


def secrets_saver(database: Database, destination_id: str) -> SecretsChanged:
    """A callback persisting secrets a connector's vendor rotated (see :mod:`sluice.destinations.oauth`)."""

    async def save(values: dict[str, str]) -> None:
        await asyncio.to_thread(save_secrets, database, destination_id, values)

    return save


def _run(awaitable: Awaitable[T]) -> T:
    async def wrapped() -> T:
        return await awaitable

    return asyncio.run(wrapped())


@dataclass(frozen=True)
class CheckReport:
    ok: bool
    status: str
    message: str


def check(destination: Destination, box: SecretBox, *, database: Database | None = None) -> CheckReport:
    """Test the connection: ``ok``, ``config_error`` (fix the config) or ``unreachable`` (retry later)."""

    async def attempt() -> CheckReport:
        async with connect(destination, box, database=database) as connector:
            connector.http.max_attempts = 2
            connector.http.timeout = 20
            return CheckReport(True, "ok", await connector.check())

    try:
        return _run(attempt())
    except ConfigError as exc:
        return CheckReport(False, "config_error", exc.message)
    except DestinationError as exc:
        return CheckReport(False, "unreachable", exc.message)


def list_targets(
    destination: Destination,
    box: SecretBox,
    kind: str | None,
    cursor: str | None,
    *,
    database: Database | None = None,
) -> TargetPage:
    """One page of the destination's targets (raises the connector's error for the API to map)."""

    async def attempt() -> TargetPage:
        async with connect(destination, box, database=database) as connector:
            connector.http.max_attempts = 3
            return await connector.list_targets(kind, cursor)

    return _run(attempt())


def type_info(connector: type[Connector]) -> dict[str, Any]:
    """Everything the UI needs to draw a destination type's form and pickers."""
    return {
        "name": connector.type_name,
        "title": connector.title,
        "description": connector.description,
        "docs_url": connector.docs_url,
        "json_schema": connector.config_model.model_json_schema(),
        "secret_fields": connector.config_model.secret_field_names(),
        "capabilities": connector.capabilities.as_dict(),
        "standard_fields": [item.as_dict() for item in connector.standard_fields],
        "activation_defaults": connector.activation_defaults.model_validate({}).model_dump(mode="json"),
        "activation_defaults_schema": connector.activation_defaults.model_json_schema(),
        "oauth": oauth_info(connector),
    }


def oauth_info(connector: type[Connector]) -> dict[str, Any] | None:
    """How the type authenticates with OAuth 2.0, for the form ("Connect with <vendor>"), or None."""
    app = connector.oauth_app
    if app is None:
        return None
    connects = app.grant is Grant.REFRESH_TOKEN and bool(app.authorize_url)
    return {
        "vendor": app.vendor,
        "grant": str(app.grant),
        "connect": connects,
        "connect_field": "refresh_token",
    }
