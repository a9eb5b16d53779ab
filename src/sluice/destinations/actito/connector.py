"""Actito Integration Framework: profiles of one profile table, their segmentations and subscriptions.

- Auth: ``GET /auth/token`` with the API key in ``Authorization`` answers an access token valid
  15 minutes, then ``Authorization: Bearer <token>``; the connector renews it after 14 minutes or
  on a 401.
- Upsert (target kind ``profiles``): ``POST /v4/entity/{entity}/table/{table}/profile?allowUpdate=true``
  ``{"attributes": [{"name", "value"}]}`` creates the profile or updates the one whose unique
  attribute (``emailAddress`` or ``customerId`` by default) has that value; one profile per call.
- Membership (target kinds ``segmentation``, default, and ``subscription``): the profile must exist
  (``GET /v4/entity/{entity}/table/{table}/profile/{attribute}={value}``, 404 otherwise), then the same
  POST carries ``"segmentations": [{"belongs": true|false, "segmentation": {"name", "category"}}]``
  or ``"subscriptions": [{"name", "subscribe": true|false}]``. Segmentations and subscriptions are
  defined in the table structure (``GET /profile-table-structure/v5/entities/{entity}/profile-tables``),
  created in Actito's interface.
"""

from __future__ import annotations

import asyncio
from collections.abc import Sequence
from datetime import date, datetime
from decimal import Decimal
from typing import Any
from urllib.parse import quote

import httpx

from sluice.destinations.actito.config import ActitoActivationDefaults, ActitoConfig
from sluice.destinations.errors import ConfigError, RowRejected
from sluice.destinations.http import VendorHttp
from sluice.destinations.key_tokens import KeyTokenSession
from sluice.destinations.sdk import (
    Capabilities,
    Connector,
    IdentifierKind,
    Op,
    OpKind,
    Outcome,
    OutcomeStatus,
    RateLimit,
    Service,
    StandardField,
    Target,
    TargetPage,
    TargetSpec,
)

PROFILES = "profiles"
SEGMENTATION = "segmentation"
SUBSCRIPTION = "subscription"
TOKEN_SECONDS = 14 * 60  # Actito tokens live 15 minutes


def actito_message(response: httpx.Response) -> str:
    """Actito's error text (``detail`` / ``message`` / ``title``), or the HTTP status."""
    try:
        body = response.json()
    except ValueError:
        return f"HTTP {response.status_code}"
    if isinstance(body, dict):
        for key in ("detail", "message", "title"):
            if body.get(key):
                return str(body[key])
    return f"HTTP {response.status_code}"


def segmentation_id(category: str, name: str) -> str:
    """A segmentation's target id: ``<category>:<name>`` (names repeat across categories)."""
    return f"{category}:{name}" if category else name


def split_segmentation_id(target_id: str) -> tuple[str, str]:
    """(category, name) of a segmentation target id (category empty when it has none)."""
    category, colon, name = target_id.partition(":")
    return (category, name) if colon else ("", target_id)


def _value(value: Any) -> Any:
    if isinstance(value, datetime):
        return value.strftime("%d/%m/%Y %H:%M:%S")
    if isinstance(value, date):
        return value.strftime("%d/%m/%Y")
    if isinstance(value, Decimal):
        return float(value)
    return value


class ActitoConnector(Connector):
    """Profiles of one Actito profile table, addressed by a unique attribute (email or customer id)."""

    type_name = "actito"
    title = "Actito"
    description = (
        "Synchronize user attributes into an Actito profile table and export segments as profile "
        "segmentations or subscriptions."
    )
    docs_url = "https://developers.actito.com/docs/use-cases/datasync/api/profile-tables"
    config_model = ActitoConfig
    activation_defaults = ActitoActivationDefaults
    standard_fields = (
        StandardField("firstName", "first_name", "First name"),
        StandardField("lastName", "last_name", "Last name"),
        StandardField("motherLanguage", "language", "Mother language (EN, FR, NL…)"),
        StandardField("gsmNumber", "phone", "Mobile number"),
        StandardField("birthDate", "birth_date", "Birth date"),
    )
    capabilities = Capabilities(
        services=frozenset({Service.MEMBERSHIP, Service.UPSERT}),
        target_kinds=frozenset({PROFILES, SEGMENTATION, SUBSCRIPTION}),
        identifiers=frozenset({IdentifierKind.EMAIL, IdentifierKind.EXTERNAL_ID}),
        batch_size=1,  # the one-by-one profile API takes one profile per call
        concurrency=4,  # Actito refuses a 6th concurrent request per licence with 429
        rate_limit=RateLimit(100 / 60, 1.0),  # 100 calls per minute, evenly
        can_create_targets=False,
        can_read_members=False,
        read_members_note="Actito exports the profiles of a segmentation only as asynchronous file exports.",
        full_refresh="not available: segmentation members cannot be read back, only the diff is applied",
    )
    config: ActitoConfig

    def __init__(self, config: Any, http: VendorHttp) -> None:
        super().__init__(config, http)
        self.session = KeyTokenSession(
            http, vendor="Actito", lifetime=TOKEN_SECONDS, fetch=self._fetch_token, describe=actito_message
        )
        self._call = self.session.request
        self._attributes: set[str] | None = None

    @classmethod
    def base_url(cls, config: ActitoConfig) -> str:
        return config.base_url.rstrip("/")

    @classmethod
    def rate_limit_for(cls, config: ActitoConfig) -> RateLimit:
        return RateLimit(config.requests_per_minute / 60, 1.0)

    @property
    def _table_path(self) -> str:
        return f"/v4/entity/{quote(self.config.entity, safe='')}/table/{quote(self.config.profile_table, safe='')}"

    # -- auth ------------------------------------------------------------------------------------

    async def _fetch_token(self, http: VendorHttp) -> str:
        """``GET /auth/token`` with the API key as ``Authorization`` → ``{"accessToken", …}``."""
        http.headers["Authorization"] = self.config.api_key.get_secret_value()
        response = await http.request("GET", "/auth/token")
        token = response.json().get("accessToken") if response.is_success else None
        if not isinstance(token, str) or not token:
            raise ConfigError(f"Actito refused the API key: {actito_message(response)}")
        return token

    # -- connection and targets ------------------------------------------------------------

    async def _attribute_names(self) -> set[str]:
        """Attributes of the profile table (read once per connector)."""
        if self._attributes is None:
            table = await self._structure()
            self._attributes = {
                str(a.get("name")) for a in table.get("attributes") or [] if isinstance(a, dict)
            }
        return self._attributes

    async def _structure(self) -> dict[str, Any]:
        path = f"/profile-table-structure/v5/entities/{quote(self.config.entity, safe='')}/profile-tables"
        response = await self._call("GET", path)
        if response.status_code == 404:
            raise ConfigError(f"Actito has no entity {self.config.entity!r}")
        if response.status_code >= 400:
            raise ConfigError(f"Actito answered {actito_message(response)}")
        for table in response.json().get("profileTables") or []:
            if isinstance(table, dict) and self.config.profile_table in (
                table.get("name"),
                str(table.get("id")),
            ):
                return table
        raise ConfigError(
            f"Actito entity {self.config.entity!r} has no profile table {self.config.profile_table!r}"
        )

    async def check(self) -> str:
        table = await self._structure()
        names = {str(a.get("name")) for a in table.get("attributes") or [] if a.get("unique")}
        missing = {self.config.email_attribute, self.config.id_attribute} - names
        if self.config.email_attribute in missing and self.config.id_attribute in missing:
            raise ConfigError(
                f"profile table {table.get('name')!r} has no unique attribute {' or '.join(sorted(missing))}"
            )
        return f"connected to Actito profile table {table.get('name')!r} ({self.config.entity})"

    async def list_targets(self, kind: str | None = None, cursor: str | None = None) -> TargetPage:
        if kind == PROFILES:
            return TargetPage([Target(PROFILES, self.config.profile_table, self.config.profile_table)])
        table = await self._structure()
        if kind == SUBSCRIPTION:
            names = [str(s["name"]) for s in table.get("subscriptions") or [] if isinstance(s, dict)]
            return TargetPage([Target(SUBSCRIPTION, n, n) for n in names])
        items = []
        for segmentation in table.get("segmentations") or []:
            if isinstance(segmentation, dict):
                category, name = str(segmentation.get("category") or ""), str(segmentation["name"])
                target_id = segmentation_id(category, name)
                items.append(Target(SEGMENTATION, target_id, name, parent_id=category or None))
        return TargetPage(items)

    async def ensure_target(self, spec: TargetSpec) -> Target:
        if spec.kind == PROFILES:
            await self._structure()
            return Target(PROFILES, self.config.profile_table, self.config.profile_table)
        if spec.kind not in (SEGMENTATION, SUBSCRIPTION):
            raise ConfigError(f"Actito has no target kind {spec.kind!r}")
        wanted = spec.id or spec.name
        for target in (await self.list_targets(spec.kind)).items:
            named = target.id == wanted or (not spec.id and target.name == wanted)
            if named and (spec.parent_id is None or target.parent_id == spec.parent_id):
                return target
        raise ConfigError(
            f"profile table {self.config.profile_table!r} has no {spec.kind} {wanted!r} "
            f"({spec.kind}s are created in Actito's 'Manage DB structure')"
        )

    # -- delivery ------------------------------------------------------------------------------

    def _key(self, target: Target) -> str:
        return (
            self.config.email_attribute
            if target.identifier_kind is IdentifierKind.EMAIL
            else self.config.id_attribute
        )

    async def apply(self, target: Target, ops: Sequence[Op]) -> list[Outcome]:
        if target.kind == PROFILES:
            unknown = sorted({name for op in ops for name in op.fields} - await self._attribute_names())
            if unknown:  # every row would fail: the mapping is wrong, not the data
                raise ConfigError(
                    f"profile table {self.config.profile_table!r} has no attribute {', '.join(map(repr, unknown))}"
                )
        allowed = (OpKind.UPSERT, OpKind.CLEAR) if target.kind == PROFILES else (OpKind.ADD, OpKind.REMOVE)
        return list(await asyncio.gather(*(self._one(target, op, allowed) for op in ops)))

    async def _one(self, target: Target, op: Op, allowed: tuple[OpKind, ...]) -> Outcome:
        if op.kind not in allowed:
            return Outcome.of(
                op, OutcomeStatus.REJECTED, f"Actito {target.kind} targets do not support {op.kind}"
            )
        key = self._key(target)
        body: dict[str, Any] = {"attributes": [{"name": key, "value": op.identifier}]}
        if target.kind == PROFILES:
            body["attributes"] += [
                {"name": name, "value": None if op.kind is OpKind.CLEAR else _value(value)}
                for name, value in op.fields.items()
                if name != key
            ]
        else:
            found = await self._call(
                "GET", f"{self._table_path}/profile/{quote(f'{key}={op.identifier}', safe='=@')}"
            )
            if found.status_code == 404:
                if op.kind is OpKind.REMOVE:  # an unknown profile is in no segmentation
                    return Outcome.of(
                        op, OutcomeStatus.DELIVERED, f"nothing to remove: {actito_message(found)}"
                    )
                return Outcome.of(op, OutcomeStatus.REJECTED, actito_message(found))
            if found.status_code >= 400:
                raise RowRejected(actito_message(found))
            member = op.kind is OpKind.ADD
            if target.kind == SEGMENTATION:
                category, name = split_segmentation_id(target.id)
                segmentation = {"name": name, **({"category": category} if category else {})}
                body["segmentations"] = [{"belongs": member, "segmentation": segmentation}]
            else:
                body["subscriptions"] = [{"name": target.id, "subscribe": member}]
        response = await self._call(
            "POST", f"{self._table_path}/profile", params={"allowUpdate": "true"}, json=body
        )
        if response.status_code == 404:
            raise ConfigError(
                f"Actito has no profile table {self.config.profile_table!r} in {self.config.entity!r}"
            )
        if response.status_code >= 400:
            return Outcome.of(op, OutcomeStatus.REJECTED, actito_message(response))
        return Outcome.of(op, OutcomeStatus.DELIVERED)
