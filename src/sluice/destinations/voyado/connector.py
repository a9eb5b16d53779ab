"""Voyado Engage: synchronize user segments to a label or a consent status.

- Identifier: ``contactId`` (recommended) or email, looked up with the documented
  ``GET /api/v3/contacts/id?email=…`` (200 = a quoted contact id, 404 ``ContactNotFound``,
  409 ``MultipleMatches``, 400 ``InvalidEmailAddress`` — each a row outcome).
- Label targets go through :class:`LabelApi`, whose paths are settings: Voyado does not publish
  label assignment in its API reference.
- Consent targets (``acceptsEmail`` / ``acceptsSms``) use the documented contact update
  ``PATCH /api/v3/contacts/{contactId}`` with only the changed preference (an empty value would
  erase data, so nothing else is sent).
- Never creates contacts; cannot read members of a label (no documented API).
"""

from __future__ import annotations

import asyncio
import re
from collections.abc import Sequence
from typing import Any

import httpx

from sluice.destinations.errors import ConfigError
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
    Target,
    TargetPage,
    TargetSpec,
)
from sluice.destinations.voyado.config import VoyadoActivationDefaults, VoyadoConfig, VoyadoLabelApi

LABEL = "label"
CONSENT = "consent"
CONSENT_TARGETS = {"acceptsEmail": "Email contactability", "acceptsSms": "SMS contactability"}
CONTACT_ID = re.compile(r"^[0-9a-fA-F]{8}-?([0-9a-fA-F]{4}-?){3}[0-9a-fA-F]{12}$")
SETS = (OpKind.ADD, OpKind.CONSENT_SET)
UNSETS = (OpKind.REMOVE, OpKind.CONSENT_REVERT)


def error_code(response: httpx.Response) -> str:
    """Voyado's symbolic error code (``ContactNotFound``, ``MultipleMatches``, …) and message."""
    try:
        body = response.json()
    except ValueError:
        return f"HTTP {response.status_code}"
    if isinstance(body, dict):
        code = body.get("errorCode") or body.get("code") or f"HTTP {response.status_code}"
        message = body.get("message") or ""
        matches = (body.get("messageDetails") or {}).get("multipleMatchesFound")
        extra = f" ({len(matches)} contacts match)" if matches else ""
        return f"{code}: {message}{extra}" if message else f"{code}{extra}"
    return str(body)


class RowProblem(Exception):
    """A per-contact failure that becomes a rejected outcome."""


class LabelApi:
    """Label assignment behind configurable paths (not in Voyado's public reference)."""

    def __init__(self, connector: VoyadoConnector, paths: VoyadoLabelApi) -> None:
        self.connector = connector
        self.paths = paths

    async def labels(self) -> list[Target]:
        response = await self.connector._call("GET", self.paths.list_labels)
        if response.status_code == 404:
            raise ConfigError(
                f"label endpoint {self.paths.list_labels} not found on this tenant: set the label paths "
                "from your tenant's Swagger page"
            )
        body = response.json()
        items = body.get("items", body) if isinstance(body, dict) else body
        return [Target(LABEL, str(label["id"]), str(label["name"])) for label in items]

    async def assign(self, contact_id: str, label_id: str) -> None:
        path = self.paths.assign.format(contactId=contact_id, labelId=label_id)
        await self.connector._row_call("POST", path, json={"labelId": label_id})

    async def unassign(self, contact_id: str, label_id: str) -> None:
        path = self.paths.unassign.format(contactId=contact_id, labelId=label_id)
        await self.connector._row_call("DELETE", path, tolerate_not_found=True)


class VoyadoConnector(Connector):
    """Labels and email/SMS contactability of existing Voyado contacts."""

    type_name = "voyado"
    title = "Voyado Engage"
    description = (
        "Synchronize user segments to a label or an email/SMS consent status (existing contacts only)."
    )
    docs_url = "https://developer.voyado.com/en/api/api-authentication.html"
    config_model = VoyadoConfig
    activation_defaults = VoyadoActivationDefaults
    capabilities = Capabilities(
        services=frozenset({Service.MEMBERSHIP, Service.CONSENT}),
        target_kinds=frozenset({LABEL, CONSENT}),
        identifiers=frozenset({IdentifierKind.PLATFORM_ID, IdentifierKind.EMAIL}),
        batch_size=50,
        concurrency=10,
        rate_limit=RateLimit(50, 1.0),
        can_create_targets=False,
        can_read_members=False,
        read_members_note="Voyado documents no API to list the contacts of a label or segment "
        "(only BI file exports), so Voyado labels cannot be imported as remote segments.",
        full_refresh="not available: members of a label cannot be read, only the diff is applied",
    )
    config: VoyadoConfig

    def __init__(self, config: VoyadoConfig, http: Any) -> None:
        super().__init__(config, http)
        self.labels = LabelApi(self, config.label_api)
        self._contact_ids: dict[str, str] = {}

    @classmethod
    def base_url(cls, config: VoyadoConfig) -> str:
        if config.base_url:
            return config.base_url
        return f"https://{config.tenant}{'.staging' if config.staging else ''}.voyado.com"

    @classmethod
    def auth_headers(cls, config: VoyadoConfig) -> dict[str, str]:
        return {
            "apikey": config.api_key.get_secret_value(),
            "User-Agent": config.user_agent,
            "Content-Type": "application/json",  # Voyado answers 500 without it
        }

    @classmethod
    def rate_limit_for(cls, config: VoyadoConfig) -> RateLimit:
        return RateLimit(config.requests_per_second, 1.0)

    async def _call(self, method: str, path: str, **kwargs: Any) -> httpx.Response:
        response = await self.http.request(method, path, **kwargs)
        if response.status_code in (401, 403):
            raise ConfigError(f"Voyado refused the API key: {error_code(response)}")
        return response

    async def _row_call(
        self, method: str, path: str, *, tolerate_not_found: bool = False, **kwargs: Any
    ) -> None:
        response = await self._call(method, path, **kwargs)
        if response.status_code == 404 and tolerate_not_found:
            return
        if response.status_code >= 400:
            raise RowProblem(error_code(response))

    # -- connection and targets ------------------------------------------------------------

    def invalid_reason(self, op: Op, kind: IdentifierKind) -> str | None:
        reason = super().invalid_reason(op, kind)
        if reason is None and kind is IdentifierKind.PLATFORM_ID and not CONTACT_ID.fullmatch(op.identifier):
            return "a Voyado contactId is a GUID"
        return reason

    async def check(self) -> str:
        response = await self._call("GET", "/api/v2/contacts/count")
        return f"connected to tenant {self.config.tenant!r} ({response.json()} contacts)"

    async def list_targets(self, kind: str | None = None, cursor: str | None = None) -> TargetPage:
        if kind == CONSENT:
            return TargetPage([Target(CONSENT, key, name) for key, name in CONSENT_TARGETS.items()])
        return TargetPage(await self.labels.labels())

    async def ensure_target(self, spec: TargetSpec) -> Target:
        if spec.kind == CONSENT:
            key = spec.id or spec.name
            if key not in CONSENT_TARGETS:
                raise ConfigError(f"Voyado consent target must be one of {', '.join(CONSENT_TARGETS)}")
            return Target(CONSENT, key, CONSENT_TARGETS[key])
        for label in await self.labels.labels():
            if (spec.id and label.id == spec.id) or (not spec.id and label.name == spec.name):
                return label
        wanted = spec.id or spec.name
        raise ConfigError(
            f"Voyado has no label {wanted!r}: create it in Engage first (Sluice cannot create labels)"
        )

    # -- members -----------------------------------------------------------------------------

    async def _contact_id(self, op: Op, kind: IdentifierKind) -> str:
        if kind is IdentifierKind.PLATFORM_ID:
            return op.identifier
        email = op.identifier.strip().lower()
        if email not in self._contact_ids:
            response = await self._call("GET", "/api/v3/contacts/id", params={"email": email})
            if response.status_code >= 400:
                raise RowProblem(error_code(response))
            self._contact_ids[email] = str(response.json()).strip('"')
        return self._contact_ids[email]

    async def _apply_one(self, target: Target, op: Op) -> Outcome:
        try:
            contact_id = await self._contact_id(op, target.identifier_kind)
            if target.kind == CONSENT:
                value = op.kind in SETS
                path = f"/api/v3/contacts/{contact_id}"
                await self._row_call("PATCH", path, json={"preferences": {target.id: value}})
            elif op.kind in SETS:
                await self.labels.assign(contact_id, target.id)
            else:
                await self.labels.unassign(contact_id, target.id)
        except RowProblem as problem:
            message = str(problem)
            if op.kind in UNSETS and message.startswith("ContactNotFound"):
                return Outcome.of(op, OutcomeStatus.DELIVERED, f"nothing to remove: {message}")
            return Outcome.of(op, OutcomeStatus.REJECTED, message)
        return Outcome.of(op, OutcomeStatus.DELIVERED)

    async def apply(self, target: Target, ops: Sequence[Op]) -> list[Outcome]:
        if ops[0].kind not in SETS + UNSETS:
            return [
                Outcome.of(
                    op, OutcomeStatus.REJECTED, f"Voyado {target.kind} targets do not support {op.kind}"
                )
                for op in ops
            ]
        return list(await asyncio.gather(*(self._apply_one(target, op) for op in ops)))
