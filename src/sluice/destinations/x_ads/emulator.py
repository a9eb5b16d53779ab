"""A local fake of the X Ads API (the custom-audience parts Sluice uses), under ``/{version}``.

Faithful to: OAuth 1.0a HMAC-SHA1 signatures, **verified on every request** with the app's and the
user's secrets (401 ``UNAUTHORIZED_ACCESS`` "This request is not properly authenticated" for a
missing, unknown or wrong signature or a reused nonce), error bodies ``{"errors": [{"code",
"message", "parameter"}], "request": {…}}``, cursor pages (``count`` ≤ 1,000, ``next_cursor``),
custom audiences created with ``name`` in the query string, and
``POST /accounts/{id}/custom_audiences/{audience_id}/users``: a JSON array of at most 2,500
operations (``Update``/``Delete``) whose ``users`` hold SHA-256 digests — an unhashed email,
username or id refuses the whole batch (recorded as a limit violation). The answer is
``{"data": {"success_count", "total_count"}}``; rate limits are reported in ``x-rate-limit-limit``,
``x-rate-limit-remaining`` and ``x-rate-limit-reset`` (Unix time) on every answer.

Stated assumptions (not confirmed against a live account): the error code and message for an
oversized batch and for unhashed values (``INVALID_PARAMETER``), and the 429 body
(``TOO_MANY_REQUESTS``).
"""

from __future__ import annotations

import itertools
import re
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

import httpx
from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse, Response

from sluice.destinations.audiences import KnownPeople, email_digest
from sluice.destinations.emulation import Emulator
from sluice.destinations.sdk import Target, TargetSpec
from sluice.destinations.x_ads.oauth1 import base_url, parse_header, verify

CONSUMER_KEY = "xvz1emulatorconsumer"
CONSUMER_SECRET = "emulator-consumer-secret"  # noqa: S105 - the local fake's secrets
ACCESS_TOKEN = "370773112-emulatoraccesstoken"  # noqa: S105
ACCESS_TOKEN_SECRET = "emulator-token-secret"  # noqa: S105
ACCOUNT_ID = "18ce54d4x5t"
BATCH_LIMIT = 2_500
MAX_COUNT = 1_000
WINDOW_LIMIT = 1_500
WINDOW_SECONDS = 60.0
SHA256 = re.compile(r"[0-9a-f]{64}")
USER_KEYS = frozenset({"email", "twandle", "twitter_id", "device_id", "handle", "phone_number"})


class AdsApiError(Exception):
    def __init__(self, status: int, code: str, message: str, parameter: str | None = None) -> None:
        self.status, self.code, self.message, self.parameter = status, code, message, parameter


def ads_error(status: int, code: str, message: str, parameter: str | None = None) -> JSONResponse:
    error: dict[str, Any] = {"code": code, "message": message}
    if parameter:
        error["parameter"] = parameter
    return JSONResponse({"errors": [error], "request": {"params": {}}}, status_code=status)


@dataclass
class Audience:
    id: str
    name: str
    members: set[str] = field(default_factory=set)  # "<key>:<sha256>"

    def json(self, account_id: str) -> dict[str, Any]:
        size = len(self.members)
        return {
            "id": self.id,
            "name": self.name,
            "account_id": account_id,
            "audience_size": size if size >= 100 else None,
            "targetable": size >= 100,
            "targetable_types": ["CRM"],
            "reasons_not_targetable": [] if size >= 100 else ["TOO_SMALL"],
            "audience_type": "CRM",
            "deleted": False,
            "permission_level": "READ_WRITE",
        }


class XAdsEmulator(Emulator):
    """One ads account; requests must be OAuth 1.0a signed by the known app and user."""

    requires_hashing = True

    name = "x_ads"
    batch_limit = BATCH_LIMIT
    unknown_contact_message = "X does not report unmatched users"

    def __init__(self, **kwargs: Any) -> None:
        self.audiences: dict[str, Audience] = {}
        self.people = KnownPeople()
        self.unhashed_refusals = 0
        self.signature_refusals = 0
        self.nonces: set[tuple[str, str]] = set()
        self.window: list[float] = []
        self._ids = (f"{n:x}q" for n in itertools.count(0x1A2B3C))
        super().__init__(**kwargs)

    # -- vendor errors and limits -------------------------------------------------------------

    def rate_limited(self) -> Response:
        response = ads_error(429, "TOO_MANY_REQUESTS", "Rate limit exceeded")
        response.headers.update(self._rate_headers(remaining=0))
        return response

    def server_error(self) -> Response:
        return ads_error(500, "INTERNAL_ERROR", "Internal error")

    def _rate_headers(self, remaining: int | None = None) -> dict[str, str]:
        now = self.clock()
        self.window = [t for t in self.window if t > now - WINDOW_SECONDS]
        left = WINDOW_LIMIT - len(self.window) if remaining is None else remaining
        reset = (self.window[0] if self.window else now) + WINDOW_SECONDS
        return {
            "x-rate-limit-limit": str(WINDOW_LIMIT),
            "x-rate-limit-remaining": str(max(left, 0)),
            "x-rate-limit-reset": str(int(reset) + 1),
        }

    def response_headers(self) -> dict[str, str]:
        return self._rate_headers()

    async def gate(self, request: Request) -> Response | None:
        self._rate_headers()
        if len(self.window) >= WINDOW_LIMIT:
            return self.rate_limited()
        self.window.append(self.clock())
        return None

    def _authorise(self, request: Request) -> None:
        header = request.headers.get("authorization", "")
        url = base_url(httpx.URL(str(request.url)))
        params = list(request.query_params.multi_items())
        reason = verify(
            header,
            request.method,
            url,
            params,
            {CONSUMER_KEY: CONSUMER_SECRET},
            {ACCESS_TOKEN: ACCESS_TOKEN_SECRET},
        )
        oauth = parse_header(header)
        nonce = (oauth.get("oauth_nonce", ""), oauth.get("oauth_timestamp", ""))
        if reason is None and nonce in self.nonces:
            reason = "nonce already used"
        if reason is not None:
            self.signature_refusals += 1
            raise AdsApiError(401, "UNAUTHORIZED_ACCESS", "This request is not properly authenticated")
        self.nonces.add(nonce)

    def _account(self, account_id: str) -> None:
        if account_id != ACCOUNT_ID:
            raise AdsApiError(404, "NOT_FOUND", "Not found", "account_id")

    def _audience(self, account_id: str, audience_id: str) -> Audience:
        self._account(account_id)
        found = self.audiences.get(audience_id)
        if found is None:
            raise AdsApiError(404, "NOT_FOUND", "Not found", "custom_audience_id")
        return found

    # -- routes ------------------------------------------------------------------------------

    def add_routes(self, app: FastAPI) -> None:
        @app.exception_handler(AdsApiError)
        async def _ads_error(_: Request, exc: AdsApiError) -> JSONResponse:
            return ads_error(exc.status, exc.code, exc.message, exc.parameter)

        @app.get("/{version}/accounts/{account_id}")
        def account(version: str, account_id: str, request: Request) -> dict[str, Any]:
            self._authorise(request)
            self._account(account_id)
            return {"data": {"id": ACCOUNT_ID, "name": "Sluice demo ads account"}, "request": {}}

        @app.get("/{version}/accounts/{account_id}/custom_audiences")
        def list_audiences(version: str, account_id: str, request: Request) -> dict[str, Any]:
            self._authorise(request)
            self._account(account_id)
            count = self.page_size(int(request.query_params.get("count", 200)), MAX_COUNT)
            start = int(request.query_params.get("cursor") or 0)
            every = list(self.audiences.values())
            chosen = every[start : start + count]
            more = start + count < len(every)
            return {
                "data": [a.json(ACCOUNT_ID) for a in chosen],
                "next_cursor": str(start + count) if more else None,
                "total_count": len(every),
                "request": {"params": {"account_id": account_id}},
            }

        @app.post("/{version}/accounts/{account_id}/custom_audiences")
        def create_audience(version: str, account_id: str, request: Request) -> dict[str, Any]:
            self._authorise(request)
            self._account(account_id)
            name = request.query_params.get("name", "")
            if not name:
                raise AdsApiError(400, "MISSING_PARAMETER", '"name" is a required parameter', "name")
            audience = Audience(next(self._ids), name)
            self.audiences[audience.id] = audience
            return {"data": audience.json(ACCOUNT_ID), "request": {"params": {"name": name}}}

        @app.get("/{version}/accounts/{account_id}/custom_audiences/{audience_id}")
        def get_audience(version: str, account_id: str, audience_id: str, request: Request) -> dict[str, Any]:
            self._authorise(request)
            return {"data": self._audience(account_id, audience_id).json(ACCOUNT_ID), "request": {}}

        @app.post("/{version}/accounts/{account_id}/custom_audiences/{audience_id}/users")
        async def users(version: str, account_id: str, audience_id: str, request: Request) -> dict[str, Any]:
            self._authorise(request)
            audience = self._audience(account_id, audience_id)
            operations = await self.json_body(request)
            if not isinstance(operations, list):
                raise AdsApiError(400, "INVALID_PARAMETER", "Expected a JSON array of operations")
            if len(operations) > BATCH_LIMIT:
                self.violation(f"batch of {len(operations)} operations")
                raise AdsApiError(
                    400, "INVALID_PARAMETER", f"Maximum batch size of {BATCH_LIMIT} operations exceeded"
                )
            changes = [self._operation(op) for op in operations]  # validate all before applying any
            for adding, keys in changes:
                for key in keys:
                    if adding:
                        audience.members.add(key)
                    else:
                        audience.members.discard(key)
            return {
                "data": {"success_count": len(operations), "total_count": len(operations)},
                "request": {"params": {"account_id": account_id, "custom_audience_id": audience_id}},
            }

    def _operation(self, operation: Any) -> tuple[bool, list[str]]:
        if not isinstance(operation, dict) or operation.get("operation_type") not in ("Update", "Delete"):
            raise AdsApiError(400, "INVALID_PARAMETER", "operation_type must be Update or Delete")
        users = (operation.get("params") or {}).get("users")
        if not isinstance(users, list) or not users:
            raise AdsApiError(400, "MISSING_PARAMETER", '"users" is a required parameter', "users")
        keys = []
        for user in users:
            for key, values in user.items() if isinstance(user, dict) else []:
                if key not in USER_KEYS or not isinstance(values, list):
                    raise AdsApiError(400, "INVALID_PARAMETER", f"Unknown user key {key}", "users")
                for value in values:
                    if not SHA256.fullmatch(str(value)):
                        self.unhashed_refusals += 1
                        self.violation(f"unhashed value in {key}")
                        raise AdsApiError(
                            400, "INVALID_PARAMETER", f"{key} values must be SHA256 hashed", "users"
                        )
                    keys.append(f"{key}:{value}")
        return operation["operation_type"] == "Update", keys

    def state(self) -> dict[str, Any]:
        return {
            "audiences": [
                {"id": a.id, "name": a.name, "members": len(a.members)} for a in self.audiences.values()
            ],
            "unhashed_refusals": self.unhashed_refusals,
            "signature_refusals": self.signature_refusals,
        }

    # -- conformance hooks ---------------------------------------------------------------------

    def seed_contacts(self, identifiers: Iterable[str]) -> None:
        self.people.seed(identifiers)

    def connector_config(self, base_url: str, *, valid: bool = True) -> dict[str, Any]:
        return {
            "consumer_key": CONSUMER_KEY,
            "consumer_secret": CONSUMER_SECRET if valid else "wrong-consumer-secret",
            "access_token": ACCESS_TOKEN,
            "access_token_secret": ACCESS_TOKEN_SECRET,
            "ad_account_id": ACCOUNT_ID,
            "base_url": f"{base_url.rstrip('/')}/12",
        }

    def target_spec(self) -> TargetSpec:
        return TargetSpec(kind="custom_audience", name="Sluice conformance")

    def members(self, target: Target) -> set[str]:
        return {self.people.reveal_keyed(m, "email") for m in self.audiences[target.id].members}

    def seed_members(self, target: Target, identifiers: Iterable[str]) -> None:
        self.audiences[target.id].members.update(f"email:{email_digest(e)}" for e in identifiers)

    def seed_targets(self, names: Iterable[str], spec: TargetSpec) -> None:
        for name in names:
            audience = Audience(next(self._ids), name)
            self.audiences[audience.id] = audience
