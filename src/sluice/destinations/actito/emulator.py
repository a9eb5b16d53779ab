"""A local fake of the Actito APIs Sluice uses (see README.md for what is documented and what is assumed).

- ``GET /auth/token`` with the API key in ``Authorization`` → ``{"accessToken", "tokenType":
  "bearer", "expiresIn": "900s"}``; 401 for a wrong key; other routes want ``Bearer <token>`` (401
  once it expired, after 15 minutes).
- ``GET /profile-table-structure/v5/entities/{entity}/profile-tables``: the tables, their attributes
  (``unique``, ``mandatory``, ``valueType``), subscriptions and segmentations.
- ``GET /v4/entity/{entity}/table/{table}/profile/{attribute}={value}`` (404 when no profile) and
  ``POST /v4/entity/{entity}/table/{table}/profile?allowUpdate=true`` with ``attributes`` (``name``,
  ``value``; null clears an optional attribute), ``subscriptions`` and ``segmentations``; a
  profile is found by any unique attribute it carries; mandatory attributes, value types and unknown
  attributes / subscriptions / segmentations are refused with 400.
- At most 5 concurrent requests per licence (429 beyond) and 100 calls per minute: calls beyond
  are slowed down (``throttled`` counts them), not refused.
- 429 and 500 with an RFC 7807-like body (assumption).
"""

from __future__ import annotations

import asyncio
import itertools
import re
import uuid
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse, Response

from sluice.destinations.actito.connector import split_segmentation_id
from sluice.destinations.emulation import Emulator, local_path
from sluice.destinations.sdk import IdentifierKind, Target, TargetSpec

API_KEY = "emulator-actito-api-key"
ENTITY = "Sluice"
TABLE = "Customers"
TOKEN_SECONDS = 900.0
CALLS_PER_MINUTE = 100
THROTTLE_SECONDS = 0.05
#: attribute name → (value type, unique, mandatory)
ATTRIBUTES: dict[str, tuple[str, bool, bool]] = {
    "profileId": ("INTEGER", True, True),
    "emailAddress": ("EMAIL", True, False),
    "customerId": ("STRING", True, False),
    "firstName": ("STRING", False, False),
    "lastName": ("STRING", False, False),
    "motherLanguage": ("STRING", False, False),
    "gsmNumber": ("STRING", False, False),
    "birthDate": ("DATE", False, False),
    "loyaltyPoints": ("INTEGER", False, False),
}
TECHNICAL = frozenset({"profileId"})
NOT_FOUND = "No profile found for the given key"


def problem(status: int, title: str, detail: str) -> JSONResponse:
    """Actito's error body (assumption: RFC 7807-like, see README.md)."""
    return JSONResponse({"type": "about:blank", "title": title, "status": status, "detail": detail}, status)


class Refused(ValueError):
    """A profile body Actito refuses (the ``detail``)."""


@dataclass
class ActitoProfile:
    profile_id: int
    attributes: dict[str, Any] = field(default_factory=dict)
    subscriptions: dict[str, bool] = field(default_factory=dict)
    segmentations: set[tuple[str, str]] = field(default_factory=set)  # (category, name)


class ActitoEmulator(Emulator):
    """One licence with one entity and one profile table."""

    name = "actito"
    identifier_kind = IdentifierKind.EMAIL
    batch_limit = 1
    max_concurrent = 5  # per licence; the 6th concurrent request is refused with 429
    unknown_contact_message = NOT_FOUND
    upsert_specs = (
        TargetSpec(kind="profiles", identifier_kind=IdentifierKind.EMAIL),
        TargetSpec(kind="profiles", identifier_kind=IdentifierKind.EXTERNAL_ID),
    )

    def __init__(self, **kwargs: Any) -> None:
        self.api_key = API_KEY
        self.tokens: dict[str, float] = {}
        self.profiles: list[ActitoProfile] = []
        self.unique: dict[tuple[str, str], ActitoProfile] = {}  # (unique attribute, value) → profile
        self.subscriptions: list[str] = ["Newsletter", "Promotions"]
        self.segmentations: list[tuple[str, str]] = [("Sluice", "Sluice conformance"), ("Loyalty", "Gold")]
        self._ids = itertools.count(1)
        self._minute = -1
        self._calls_this_minute = 0
        #: calls served late because the licence exceeded its calls per minute
        self.throttled = 0
        super().__init__(**kwargs)

    def rate_limited(self) -> Response:
        return problem(429, "Too Many Requests", "Too many calls, slow down")

    def server_error(self) -> Response:
        return problem(500, "Internal Server Error", "An unexpected error occurred")

    async def gate(self, request: Request) -> Response | None:
        minute = int(self.clock() // 60)
        if minute != self._minute:
            self._minute, self._calls_this_minute = minute, 0
        self._calls_this_minute += 1
        if self._calls_this_minute > CALLS_PER_MINUTE:
            self.throttled += 1
            await asyncio.sleep(THROTTLE_SECONDS)  # Actito slows the call down instead of refusing it
        if local_path(request) == "/auth/token":
            return None
        token = request.headers.get("authorization", "").removeprefix("Bearer ")
        if self.tokens.get(token, 0.0) <= self.clock():
            return problem(401, "Unauthorized", "Missing, invalid or expired access token")
        return None

    # -- profiles ------------------------------------------------------------------------------

    @staticmethod
    def _index_key(name: str, value: Any) -> tuple[str, str]:
        return (name, str(value).lower() if name == "emailAddress" else str(value))

    def find(self, name: str, value: Any) -> ActitoProfile | None:
        """The profile whose unique attribute ``name`` holds ``value`` (e-mails in any case)."""
        return self.unique.get(self._index_key(name, value))

    def _set(self, profile: ActitoProfile, name: str, value: Any) -> None:
        """Set (or, for None, remove) an attribute, keeping the unique-attribute index in step."""
        held = profile.attributes.pop(name, None)
        if ATTRIBUTES[name][1] and held is not None:
            self.unique.pop(self._index_key(name, held), None)
        if value is not None:
            profile.attributes[name] = value
            if ATTRIBUTES[name][1]:
                self.unique[self._index_key(name, value)] = profile

    @staticmethod
    def _check(name: str, value: Any) -> Any:
        kind = ATTRIBUTES[name][0]
        if value is None:
            if ATTRIBUTES[name][2]:
                raise Refused(f"Attribute '{name}' is mandatory")
            return None
        if kind == "INTEGER" and (isinstance(value, bool) or not re.fullmatch(r"-?\d+", str(value))):
            raise Refused(f"Attribute '{name}' expects an INTEGER value, got '{value}'")
        if kind == "EMAIL" and not re.fullmatch(r"[^@\s]+@[^@\s]+\.[^@\s]+", str(value)):
            raise Refused(f"Attribute '{name}' expects an e-mail address, got '{value}'")
        if kind == "DATE" and not re.fullmatch(r"\d{2}/\d{2}/\d{4}", str(value)):
            raise Refused(f"Attribute '{name}' expects a date dd/MM/yyyy, got '{value}'")
        return int(value) if kind == "INTEGER" else value

    def _write(self, body: Any) -> tuple[ActitoProfile, bool]:
        """Create or update the profile a body describes; (profile, created)."""
        if not isinstance(body, dict) or not isinstance(body.get("attributes"), list):
            raise Refused("The body must hold an 'attributes' array")
        values: dict[str, Any] = {}
        for item in body["attributes"]:
            name = str(item.get("name")) if isinstance(item, dict) else ""
            if name not in ATTRIBUTES or name in TECHNICAL:
                raise Refused(f"Attribute '{name}' does not exist in profile table '{TABLE}'")
            values[name] = self._check(name, item.get("value"))
        subscriptions = {}
        for item in body.get("subscriptions") or []:
            if item.get("name") not in self.subscriptions:
                raise Refused(f"Subscription '{item.get('name')}' does not exist in profile table '{TABLE}'")
            subscriptions[str(item["name"])] = bool(item.get("subscribe"))
        segmentations = {}
        for item in body.get("segmentations") or []:
            seg = item.get("segmentation") or {}
            match = [
                s
                for s in self.segmentations
                if s[1] == seg.get("name") and seg.get("category") in (None, s[0])
            ]
            if not match:
                raise Refused(f"Segmentation '{seg.get('name')}' does not exist in profile table '{TABLE}'")
            segmentations[match[0]] = bool(item.get("belongs"))
        keys = [(n, v) for n, v in values.items() if ATTRIBUTES[n][1] and v is not None]
        if not keys:
            raise Refused("The profile carries no unique attribute to identify it")
        found = {id(p): p for p in (self.find(n, v) for n, v in keys) if p is not None}
        if len(found) > 1:
            raise Refused("The unique attributes given match different profiles")
        profile = next(iter(found.values()), None)
        created = profile is None
        if profile is None:
            missing = [
                n
                for n, (_, _, mandatory) in ATTRIBUTES.items()
                if mandatory and n not in TECHNICAL and values.get(n) is None
            ]
            if missing:
                raise Refused(f"Attribute '{missing[0]}' is mandatory")
            profile = ActitoProfile(next(self._ids))
            self.profiles.append(profile)
        for name, value in values.items():
            if value is None and ATTRIBUTES[name][2]:
                raise Refused(f"Attribute '{name}' is mandatory")
            self._set(profile, name, value)
        profile.subscriptions.update(subscriptions)
        for segmentation, belongs in segmentations.items():
            (profile.segmentations.add if belongs else profile.segmentations.discard)(segmentation)
        return profile, created

    def _view(self, profile: ActitoProfile) -> dict[str, Any]:
        return {
            "profileId": profile.profile_id,
            "attributes": [{"name": "profileId", "value": profile.profile_id}]
            + [{"name": n, "value": v} for n, v in profile.attributes.items()],
            "subscriptions": [{"name": n, "subscribe": s} for n, s in profile.subscriptions.items()],
            "segmentations": [
                {"belongs": True, "segmentation": {"name": name, "category": category}}
                for category, name in sorted(profile.segmentations)
            ],
        }

    # -- routes ----------------------------------------------------------------------------------

    def add_routes(self, app: FastAPI) -> None:
        @app.get("/auth/token")
        async def token(request: Request) -> JSONResponse:
            if request.headers.get("authorization") != self.api_key:
                return problem(401, "Unauthorized", "Invalid or revoked API key")
            value = uuid.uuid4().hex + uuid.uuid4().hex
            self.tokens[value] = self.clock() + TOKEN_SECONDS
            return JSONResponse(
                {
                    "accessToken": value,
                    "tokenType": "bearer",
                    "expiresIn": "900s",
                    "scope": "read write",
                    "jti": str(uuid.uuid4()),
                }
            )

        @app.get("/profile-table-structure/v5/entities/{entity}/profile-tables")
        async def tables(entity: str) -> JSONResponse:
            if entity != ENTITY:
                return problem(404, "Not Found", f"Entity '{entity}' not found")
            attributes = [
                {
                    "type": "CUSTOM",
                    "name": n,
                    "unique": u,
                    "mandatory": m,
                    "valueType": t,
                    "multiValued": False,
                }
                for n, (t, u, m) in ATTRIBUTES.items()
            ]
            table = {
                "id": "16",
                "name": TABLE,
                "attributes": attributes,
                "subscriptions": [{"name": n} for n in self.subscriptions],
                "segmentations": [{"name": n, "category": c} for c, n in self.segmentations],
            }
            return JSONResponse({"profileTables": [table]})

        @app.get("/v4/entity/{entity}/table/{table}/profile/{key}")
        async def get_profile(entity: str, table: str, key: str) -> JSONResponse:
            if entity != ENTITY or table != TABLE:
                return problem(404, "Not Found", f"Profile table '{table}' not found in entity '{entity}'")
            name, _, value = key.partition("=")
            if name not in ATTRIBUTES or not ATTRIBUTES[name][1]:
                return problem(400, "Bad Request", f"'{name}' is not a unique attribute of '{TABLE}'")
            profile = self.find(name, value)
            if profile is None:
                return problem(404, "Not Found", f"{NOT_FOUND} '{key}'")
            return JSONResponse(self._view(profile))

        @app.post("/v4/entity/{entity}/table/{table}/profile")
        async def write_profile(entity: str, table: str, request: Request) -> JSONResponse:
            if entity != ENTITY or table != TABLE:
                return problem(404, "Not Found", f"Profile table '{table}' not found in entity '{entity}'")
            allow_update = request.query_params.get("allowUpdate", "false").lower() == "true"
            body = await self.json_body(request)
            existing = None
            if isinstance(body, dict):
                for item in body.get("attributes") or []:
                    name = item.get("name") if isinstance(item, dict) else None
                    if name in ATTRIBUTES and ATTRIBUTES[name][1] and item.get("value") is not None:
                        existing = existing or self.find(name, item["value"])
            if existing is not None and not allow_update:
                return problem(409, "Conflict", "A profile with this unique attribute already exists")
            try:
                profile, created = self._write(body)
            except Refused as refused:
                return problem(400, "Bad Request", str(refused))
            return JSONResponse({"profileId": profile.profile_id}, 201 if created else 200)

    def state(self) -> dict[str, Any]:
        return {
            "profiles": len(self.profiles),
            "throttled_calls": self.throttled,
            "segmentations": {
                n: sum(1 for p in self.profiles if (c, n) in p.segmentations) for c, n in self.segmentations
            },
        }

    # -- conformance hooks ---------------------------------------------------------------------

    def seed_contacts(self, identifiers: Iterable[str]) -> None:
        for identifier in identifiers:
            name = "emailAddress" if "@" in identifier else "customerId"
            if self.find(name, identifier) is None:
                number = next(self._ids)
                profile = ActitoProfile(number)
                self.profiles.append(profile)
                self._set(profile, name, identifier)

    def connector_config(self, base_url: str, *, valid: bool = True) -> dict[str, Any]:
        return {
            "api_key": self.api_key if valid else "wrong-key",
            "entity": ENTITY,
            "profile_table": TABLE,
            "base_url": base_url.rstrip("/"),
        }

    def target_spec(self) -> TargetSpec:
        return TargetSpec(kind="segmentation", name="Sluice conformance", create_if_missing=False)

    def _segmentation(self, target: Target) -> tuple[str, str]:
        """(category, name) of a segmentation target (id ``<category>:<name>``)."""
        category, name = split_segmentation_id(target.id)
        return next(s for s in self.segmentations if s[1] == name and category in ("", s[0]))

    def members(self, target: Target) -> set[str]:
        if target.kind == "subscription":
            held = [p for p in self.profiles if p.subscriptions.get(target.id)]
        else:
            segmentation = self._segmentation(target)
            held = [p for p in self.profiles if segmentation in p.segmentations]
        return {str(p.attributes.get("emailAddress")) for p in held}

    def seed_members(self, target: Target, identifiers: Iterable[str]) -> None:
        for identifier in identifiers:
            profile = self.find("emailAddress", identifier)
            if profile is not None:
                profile.segmentations.add(self._segmentation(target))

    def seed_targets(self, names: Iterable[str], spec: TargetSpec) -> None:
        for name in names:
            if spec.kind == "subscription":
                self.subscriptions.append(name)
            else:
                self.segmentations.append((spec.parent_id or "Sluice", name))

    def upsert_fields(self, target: Target, number: int, version: int = 0) -> dict[str, Any]:
        return {"firstName": f"Ann{number}v{version}", "loyaltyPoints": number * 10 + version}

    def records(self, target: Target) -> dict[str, dict[str, Any]]:
        key = "emailAddress" if target.identifier_kind is IdentifierKind.EMAIL else "customerId"
        return {str(p.attributes[key]): dict(p.attributes) for p in self.profiles if key in p.attributes}

    def refused_fields(self, target: Target) -> tuple[dict[str, Any], str] | None:
        return {"loyaltyPoints": "lots"}, "expects an INTEGER value"
