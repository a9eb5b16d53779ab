"""Klaviyo API (JSON:API, revision header): lists, profiles and subscriptions.

- Membership (target ``list``): profiles must exist. A batch is looked up with one
  ``GET /api/profiles?filter=any(email,[…])`` (≤ 100 per page), then ``POST`` / ``DELETE
  /api/lists/{id}/relationships/profiles`` (≤ 1000 ids, 204). Removal never changes consent.
- Upsert (target ``profiles``): ``POST /api/profile-bulk-import-jobs`` (≤ 10,000 profiles, 202),
  polled at ``GET /api/profile-bulk-import-jobs/{id}`` until ``complete``; rows named by
  ``/import-errors`` (``source.pointer`` = the profile's index) are rejected with Klaviyo's detail.
- Consent (target ``subscription``, id = list id): ``POST /api/profile-subscription-bulk-create-jobs``
  (consent ``SUBSCRIBED``, ≤ 1000) and ``…-bulk-delete-jobs`` (``UNSUBSCRIBED``, ≤ 100), both 202.
- 429 carries ``Retry-After``; other answers carry ``RateLimit-Limit/Remaining/Reset`` (seconds).
"""

from __future__ import annotations

import json
from collections.abc import AsyncIterator, Sequence
from typing import Any
from urllib.parse import parse_qs, urlparse

import httpx

from sluice.destinations.errors import ConfigError, RowRejected, Transient
from sluice.destinations.http import RateHeaders, parse_retry_after
from sluice.destinations.jobs import JobPolling, poll_job
from sluice.destinations.klaviyo.config import KlaviyoActivationDefaults, KlaviyoConfig
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

LIST = "list"
PROFILES = "profiles"
SUBSCRIPTION = "subscription"
JSON_API = "application/vnd.api+json"
PROFILE_PAGE = 100
NOT_FOUND = "Profile not found"
PROFILE_FIELD = {
    IdentifierKind.EMAIL: "email",
    IdentifierKind.EXTERNAL_ID: "external_id",
    IdentifierKind.PHONE: "phone_number",
}
CHANNEL = {IdentifierKind.EMAIL: "email", IdentifierKind.PHONE: "sms"}
#: profile attributes Klaviyo knows; every other mapped field goes to ``properties``
STANDARD = {"first_name", "last_name", "organization", "title", "locale", "image", "phone_number", "email"}
LOCATION = {"address1", "address2", "city", "country", "region", "zip", "timezone", "latitude", "longitude"}


def klaviyo_errors(response: httpx.Response) -> str:
    """Klaviyo's ``errors[].detail`` (or title), joined."""
    try:
        errors = response.json().get("errors") or []
        if errors:
            return "; ".join(str(e.get("detail") or e.get("title") or e.get("code")) for e in errors)
    except (ValueError, AttributeError):
        pass
    return f"HTTP {response.status_code}"


def _cursor(link: str | None) -> str | None:
    if not link:
        return None
    values = parse_qs(urlparse(link).query).get("page[cursor]")
    return values[0] if values else None


class KlaviyoConnector(Connector):
    """Klaviyo lists, profiles and list subscriptions."""

    type_name = "klaviyo"
    title = "Klaviyo"
    description = (
        "Export segments to Klaviyo lists, synchronize profiles, and subscribe or unsubscribe "
        "profiles to a list with consent."
    )
    docs_url = "https://developers.klaviyo.com/en/reference/api_overview"
    config_model = KlaviyoConfig
    activation_defaults = KlaviyoActivationDefaults
    standard_fields = (
        StandardField("first_name", "first_name", "First name"),
        StandardField("last_name", "last_name", "Last name"),
        StandardField("phone_number", "phone", "Phone number (E.164)"),
        StandardField("city", "city", "City (location)"),
        StandardField("country", "country", "Country (location)"),
    )
    capabilities = Capabilities(
        services=frozenset({Service.MEMBERSHIP, Service.UPSERT, Service.CONSENT}),
        target_kinds=frozenset({LIST, PROFILES, SUBSCRIPTION}),
        identifiers=frozenset(PROFILE_FIELD),
        batch_size=PROFILE_PAGE,
        concurrency=4,
        rate_limit=RateLimit(10, 1.0),
        can_create_targets=True,
        can_read_members=True,
        full_refresh="read the list's profiles and remove those not in the audience",
    )
    config: KlaviyoConfig
    polling = JobPolling(interval=1.0, backoff=1.5, max_interval=10.0, timeout=900.0)

    @classmethod
    def base_url(cls, config: KlaviyoConfig) -> str:
        return config.base_url or "https://a.klaviyo.com"

    @classmethod
    def auth_headers(cls, config: KlaviyoConfig) -> dict[str, str]:
        return {
            "Authorization": f"Klaviyo-API-Key {config.api_key.get_secret_value()}",
            "revision": config.revision,
            "Accept": JSON_API,
            "Content-Type": JSON_API,
        }

    @classmethod
    def rate_limit_for(cls, config: KlaviyoConfig) -> RateLimit:
        return RateLimit(config.requests_per_second, 1.0)

    @staticmethod
    def rate_headers(response: httpx.Response, now: float) -> RateHeaders:
        def number(name: str) -> float | None:
            try:
                return float(response.headers[name])
            except (KeyError, ValueError):
                return None

        remaining = number("RateLimit-Remaining")
        return RateHeaders(
            retry_after=parse_retry_after(response.headers.get("Retry-After"), now),
            remaining=int(remaining) if remaining is not None else None,
            reset_in=number("RateLimit-Reset"),
        )

    async def _call(self, method: str, path: str, **kwargs: Any) -> httpx.Response:
        response = await self.http.request(method, path, **kwargs)
        _refuse_credentials(response)
        return response

    # -- connection and targets ------------------------------------------------------------

    async def check(self) -> str:
        response = await self._call("GET", "/api/accounts")
        accounts = response.json().get("data") or []
        name = (
            ((accounts[0].get("attributes") or {}).get("contact_information") or {}).get("organization_name")
            if accounts
            else None
        )
        return f"connected to Klaviyo account {name or '?'!r}"

    async def list_targets(self, kind: str | None = None, cursor: str | None = None) -> TargetPage:
        if kind == PROFILES:
            return TargetPage([Target(PROFILES, PROFILES, "Klaviyo profiles")])
        params = {"page[cursor]": cursor} if cursor else None
        response = await self._call("GET", "/api/lists", params=params)
        body = response.json()
        target_kind = SUBSCRIPTION if kind == SUBSCRIPTION else LIST
        items = [self._list(target_kind, item) for item in body.get("data") or []]
        return TargetPage(items, _cursor((body.get("links") or {}).get("next")))

    @staticmethod
    def _list(kind: str, item: dict[str, Any]) -> Target:
        return Target(kind, str(item["id"]), str((item.get("attributes") or {}).get("name", "")))

    async def ensure_target(self, spec: TargetSpec) -> Target:
        if spec.kind == PROFILES:
            return Target(PROFILES, PROFILES, "Klaviyo profiles")
        kind = SUBSCRIPTION if spec.kind == SUBSCRIPTION else LIST
        if spec.id:
            response = await self._call("GET", f"/api/lists/{spec.id}")
            if response.status_code == 404:
                raise ConfigError(f"Klaviyo list {spec.id} does not exist")
            return self._list(kind, response.json()["data"])
        found = await self._call(
            "GET", "/api/lists", params={"filter": f"equals(name,{json.dumps(spec.name)})"}
        )
        for item in found.json().get("data") or []:
            return self._list(kind, item)
        if not spec.create_if_missing:
            raise ConfigError(f"Klaviyo has no list named {spec.name!r}")
        body = {"data": {"type": "list", "attributes": {"name": spec.name}}}
        response = await self._call("POST", "/api/lists", json=body)
        if response.status_code >= 400:
            raise ConfigError(f"Klaviyo could not create list {spec.name!r}: {klaviyo_errors(response)}")
        return self._list(kind, response.json()["data"])

    # -- delivery ------------------------------------------------------------------------------

    async def apply(self, target: Target, ops: Sequence[Op]) -> list[Outcome]:
        kind = ops[0].kind
        allowed = {
            LIST: (OpKind.ADD, OpKind.REMOVE),
            PROFILES: (OpKind.UPSERT, OpKind.CLEAR),
            SUBSCRIPTION: (OpKind.CONSENT_SET, OpKind.CONSENT_REVERT),
        }.get(target.kind, ())
        if kind not in allowed:
            reason = f"Klaviyo {target.kind} targets do not support {kind}"
            if kind is OpKind.DELETE:
                reason = (
                    "Klaviyo deletes profiles only through data privacy requests: use 'clear' or 'ignore'"
                )
            return [Outcome.of(op, OutcomeStatus.REJECTED, reason) for op in ops]
        if target.kind == LIST:
            return await self._membership(target, ops)
        if target.kind == SUBSCRIPTION:
            return await self._consent(target, ops)
        return await self._import(target, ops)

    async def _lookup(self, identifiers: list[str], kind: IdentifierKind) -> dict[str, str]:
        """Identifier (emails lowercased) → profile id."""
        field = PROFILE_FIELD[kind]
        params: dict[str, Any] = {
            "filter": f"any({field},{json.dumps(identifiers)})",
            "page[size]": PROFILE_PAGE,
            "fields[profile]": field,
        }
        found: dict[str, str] = {}
        while True:
            response = await self._call("GET", "/api/profiles", params=params)
            if response.status_code >= 400:
                raise RowRejected(f"Klaviyo profile lookup failed: {klaviyo_errors(response)}")
            body = response.json()
            for profile in body.get("data") or []:
                value = (profile.get("attributes") or {}).get(field)
                if value:
                    found[_normal(str(value), kind)] = str(profile["id"])
            cursor = _cursor((body.get("links") or {}).get("next"))
            if not cursor:
                return found
            params = {**params, "page[cursor]": cursor}

    async def _membership(self, target: Target, ops: Sequence[Op]) -> list[Outcome]:
        kind = target.identifier_kind
        ids = await self._lookup(list(dict.fromkeys(op.identifier for op in ops)), kind)
        profile_ids = sorted({ids[key] for op in ops if (key := _normal(op.identifier, kind)) in ids})
        adding = ops[0].kind is OpKind.ADD
        if profile_ids:
            body = {"data": [{"type": "profile", "id": pid} for pid in profile_ids]}
            method = "POST" if adding else "DELETE"
            response = await self._call(method, f"/api/lists/{target.id}/relationships/profiles", json=body)
            if response.status_code == 404:
                raise ConfigError(f"Klaviyo list {target.name!r} ({target.id}) no longer exists")
            if response.status_code >= 400:
                raise RowRejected(klaviyo_errors(response))
        missing = f"{NOT_FOUND}: no Klaviyo profile has this {PROFILE_FIELD[kind]}"
        outcomes = []
        for op in ops:
            if _normal(op.identifier, kind) in ids:
                outcomes.append(Outcome.of(op, OutcomeStatus.DELIVERED))
            elif adding:
                outcomes.append(Outcome.of(op, OutcomeStatus.REJECTED, missing))
            else:
                outcomes.append(Outcome.of(op, OutcomeStatus.DELIVERED, f"nothing to remove: {missing}"))
        return outcomes

    def _profile(self, target: Target, op: Op) -> dict[str, Any]:
        attributes: dict[str, Any] = {PROFILE_FIELD[target.identifier_kind]: op.identifier}
        properties: dict[str, Any] = {}
        location: dict[str, Any] = {}
        for name, value in op.fields.items():
            value = None if op.kind is OpKind.CLEAR else _jsonable(value)
            if name in STANDARD:
                attributes[name] = value
            elif name in LOCATION:
                location[name] = value
            else:
                properties[name] = value
        if location:
            attributes["location"] = location
        if properties:
            attributes["properties"] = properties
        return {"type": "profile", "attributes": attributes}

    async def _import(self, target: Target, ops: Sequence[Op]) -> list[Outcome]:
        profiles = [self._profile(target, op) for op in ops]
        body = {
            "data": {
                "type": "profile-bulk-import-job",
                "attributes": {"profiles": {"data": profiles}},
            }
        }
        response = await self._call("POST", "/api/profile-bulk-import-jobs", json=body)
        if response.status_code >= 400:
            raise RowRejected(klaviyo_errors(response))
        job = str(response.json()["data"]["id"])
        done = await poll_job(
            self.http, f"/api/profile-bulk-import-jobs/{job}", finished=_job_finished, polling=self.polling
        )
        attributes = done.json()["data"]["attributes"]
        if attributes.get("status") == "cancelled":
            raise Transient(f"Klaviyo cancelled import job {job}")
        errors = await self._import_errors(job) if attributes.get("failed_count") else {}
        return [
            Outcome.of(op, OutcomeStatus.REJECTED, errors[i])
            if i in errors
            else Outcome.of(op, OutcomeStatus.DELIVERED)
            for i, op in enumerate(ops)
        ]

    async def _import_errors(self, job: str) -> dict[int, str]:
        """Profile index (from ``source.pointer``) → Klaviyo's detail, across pages."""
        errors: dict[int, str] = {}
        params: dict[str, Any] = {}
        while True:
            response = await self._call(
                "GET", f"/api/profile-bulk-import-jobs/{job}/import-errors", params=params
            )
            body = response.json()
            for error in body.get("data") or []:
                attributes = error.get("attributes") or {}
                pointer = str((attributes.get("source") or {}).get("pointer") or "")
                tail = pointer.rstrip("/").rsplit("/", 1)[-1]
                if tail.isdigit():
                    errors.setdefault(int(tail), f"{attributes.get('title')}: {attributes.get('detail')}")
            cursor = _cursor((body.get("links") or {}).get("next"))
            if not cursor:
                return errors
            params = {"page[cursor]": cursor}

    async def _consent(self, target: Target, ops: Sequence[Op]) -> list[Outcome]:
        channel = CHANNEL.get(target.identifier_kind)
        if channel is None:
            return [
                Outcome.of(
                    op, OutcomeStatus.REJECTED, "Klaviyo subscriptions take an email or a phone number"
                )
                for op in ops
            ]
        field = PROFILE_FIELD[target.identifier_kind]
        subscribing = ops[0].kind is OpKind.CONSENT_SET
        consent = "SUBSCRIBED" if subscribing else "UNSUBSCRIBED"
        profiles = [
            {
                "type": "profile",
                "attributes": {
                    field: op.identifier,
                    "subscriptions": {channel: {"marketing": {"consent": consent}}},
                },
            }
            for op in ops
        ]
        job_type = (
            "profile-subscription-bulk-create-job" if subscribing else "profile-subscription-bulk-delete-job"
        )
        attributes: dict[str, Any] = {"profiles": {"data": profiles}}
        if subscribing:
            attributes["custom_source"] = self.config.consent_source
        body = {
            "data": {
                "type": job_type,
                "attributes": attributes,
                "relationships": {"list": {"data": {"type": "list", "id": target.id}}},
            }
        }
        path = (
            "/api/profile-subscription-bulk-create-jobs"
            if subscribing
            else "/api/profile-subscription-bulk-delete-jobs"
        )
        response = await self._call("POST", path, json=body)
        if response.status_code == 404:
            raise ConfigError(f"Klaviyo list {target.id} no longer exists: {klaviyo_errors(response)}")
        if response.status_code >= 400:
            raise RowRejected(klaviyo_errors(response))
        return [Outcome.of(op, OutcomeStatus.DELIVERED) for op in ops]

    async def read_members(self, target: Target) -> AsyncIterator[str]:
        field = PROFILE_FIELD.get(target.identifier_kind, "email")
        params: dict[str, Any] = {"page[size]": PROFILE_PAGE, "fields[profile]": field}
        while True:
            response = await self._call("GET", f"/api/lists/{target.id}/profiles", params=params)
            if response.status_code == 404:
                raise ConfigError(f"Klaviyo list {target.id} does not exist")
            body = response.json()
            for profile in body.get("data") or []:
                value = (profile.get("attributes") or {}).get(field)
                if value:
                    yield str(value)
            cursor = _cursor((body.get("links") or {}).get("next"))
            if not cursor:
                return
            params = {**params, "page[cursor]": cursor}


def _refuse_credentials(response: httpx.Response) -> None:
    if response.status_code in (401, 403):
        raise ConfigError(f"Klaviyo refused the API key: {klaviyo_errors(response)}")


def _job_finished(response: httpx.Response) -> bool:
    _refuse_credentials(response)
    if response.status_code >= 400:
        raise Transient(f"Klaviyo import job status: {klaviyo_errors(response)}")
    return str(response.json()["data"]["attributes"].get("status")) in ("complete", "cancelled")


def _normal(value: str, kind: IdentifierKind) -> str:
    return value.strip().lower() if kind is IdentifierKind.EMAIL else value


def _jsonable(value: Any) -> Any:
    if hasattr(value, "isoformat"):
        return value.isoformat()
    if value is not None and type(value).__name__ == "Decimal":
        return float(value)
    return value
