"""A local fake of the Snap Marketing API (the customer-list parts Sluice uses).

Faithful to: OAuth 2.0 (refresh-token grant at ``/login/oauth2/access_token``, access tokens
living 30 minutes) and ``Authorization: Bearer`` (401 otherwise), the ``request_status``/``sub_request_status``
envelopes, ``FIRST_PARTY`` segments created under an ad account with ``name``, ``source_type`` and
``retention_in_days`` required, ``limit``/``cursor`` paging with ``paging.next_link``, and
``POST``/``DELETE /v1/segments/{id}/users`` with ``users[0].schema`` one of ``EMAIL_SHA256``,
``PHONE_SHA256``, ``MOBILE_AD_ID_SHA256``: at most 100,000 identifiers per request and **every
value a SHA-256 hex digest** — unhashed PII is refused and recorded as a limit violation.
``approximate_number_users`` is the number of hashes held; ``targetable_status`` is
``TOO_FEW_USERS`` below 1,000.

Stated assumptions (not confirmed against a live account): the error codes and wording of the
refusals, the 429 body and its ``Retry-After`` header, and that the count is exact (Snap rounds).
"""

from __future__ import annotations

import itertools
import re
import uuid
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse, Response

from sluice.destinations.audiences import KnownPeople, email_digest
from sluice.destinations.emulation import Emulator
from sluice.destinations.oauth_emulation import OAuthServer
from sluice.destinations.sdk import Target, TargetSpec

CLIENT_ID = "snap-emulator-client"
CLIENT_SECRET = "snap-emulator-client-secret"  # noqa: S105 - the local fake's OAuth client
ACCOUNT_ID = "8adc3db7-8148-4fbf-999c-8d2266369d74"
BATCH_LIMIT = 100_000
MAX_LIMIT = 1000
SCHEMAS = frozenset({"EMAIL_SHA256", "PHONE_SHA256", "MOBILE_AD_ID_SHA256"})
SHA256 = re.compile(r"[0-9a-f]{64}")
UNKNOWN_CONTACT = "Snapchat does not report unmatched people"


class SnapError(Exception):
    def __init__(self, status: int, message: str, code: str) -> None:
        self.status, self.message, self.code = status, message, code


def snap_error(status: int, message: str, code: str) -> JSONResponse:
    return JSONResponse(
        {
            "request_status": "ERROR",
            "request_id": uuid.uuid4().hex,
            "debug_message": message,
            "display_message": message,
            "error_code": code,
        },
        status_code=status,
    )


def success(key: str, items: list[dict[str, Any]], item_key: str, **extra: Any) -> dict[str, Any]:
    return {
        "request_status": "SUCCESS",
        "request_id": uuid.uuid4().hex,
        **extra,
        key: [{"sub_request_status": "SUCCESS", item_key: item} for item in items],
    }


@dataclass
class Segment:
    id: str
    name: str
    description: str
    retention_in_days: int
    members: set[str] = field(default_factory=set)


class SnapchatEmulator(Emulator):
    """One ad account served under ``/v1``."""

    requires_hashing = True

    name = "snapchat"
    batch_limit = BATCH_LIMIT
    unknown_contact_message = UNKNOWN_CONTACT

    def __init__(self, **kwargs: Any) -> None:
        self.oauth = OAuthServer(clock=lambda: self.clock(), access_ttl=1800.0)
        self.client_id, self.client_secret = self.oauth.register_client(CLIENT_ID, CLIENT_SECRET)
        self.refresh_token = self.oauth.issue_refresh_token(self.client_id, "snapchat-marketing-api")
        self.segments: dict[str, Segment] = {}
        self.people = KnownPeople()
        self.unhashed_refusals = 0
        self._ids = itertools.count(5677923948298240)
        super().__init__(**kwargs)

    def rate_limited(self) -> Response:
        response = snap_error(429, "Rate limit exceeded, please retry later", "E4001")
        response.headers["Retry-After"] = "1"
        return response

    def server_error(self) -> Response:
        return snap_error(500, "Internal server error", "E5000")

    def _authorise(self, request: Request) -> None:
        if self.oauth.bearer_refusal(request) is not None:
            raise SnapError(401, "Unauthorized: invalid or expired access token", "E1002")

    def _segment(self, segment_id: str) -> Segment:
        found = self.segments.get(segment_id)
        if found is None:
            raise SnapError(404, f"Segment {segment_id} not found", "E3003")
        return found

    @staticmethod
    def _json(segment: Segment) -> dict[str, Any]:
        size = len(segment.members)
        return {
            "id": segment.id,
            "name": segment.name,
            "description": segment.description,
            "ad_account_id": ACCOUNT_ID,
            "status": "ACTIVE",
            "source_type": "FIRST_PARTY",
            "retention_in_days": segment.retention_in_days,
            "approximate_number_users": size,
            "upload_status": "COMPLETE" if size else "NO_UPLOAD",
            "targetable_status": "READY" if size >= 1000 else "TOO_FEW_USERS",
        }

    def add_routes(self, app: FastAPI) -> None:
        @app.exception_handler(SnapError)
        async def _snap_error(_: Request, exc: SnapError) -> JSONResponse:
            return snap_error(exc.status, exc.message, exc.code)

        self.oauth.add_routes(
            app,
            token_path="/login/oauth2/access_token",  # noqa: S106 - a path
            authorize_path="/login/oauth2/authorize",
        )

        @app.get("/v1/adaccounts/{account}")
        def get_account(account: str, request: Request) -> dict[str, Any]:
            self._authorise(request)
            if account != ACCOUNT_ID:
                raise SnapError(404, f"Ad account {account} not found", "E3003")
            return success("adaccounts", [{"id": account, "name": "Sluice demo ad account"}], "adaccount")

        @app.get("/v1/adaccounts/{account}/segments")
        def list_segments(account: str, request: Request) -> dict[str, Any]:
            self._authorise(request)
            if account != ACCOUNT_ID:
                raise SnapError(404, f"Ad account {account} not found", "E3003")
            every = list(self.segments.values())
            limit = self.page_size(int(request.query_params.get("limit", 50)), MAX_LIMIT)
            start = int(request.query_params.get("cursor") or 0)
            chosen = every[start : start + limit]
            paging: dict[str, str] = {}
            if start + limit < len(every):
                paging["next_link"] = (
                    f"https://adsapi.snapchat.com/v1/adaccounts/{account}/segments"
                    f"?cursor={start + limit}&limit={limit}"
                )
            return success("segments", [self._json(s) for s in chosen], "segment", paging=paging)

        @app.post("/v1/adaccounts/{account}/segments")
        async def create_segments(account: str, request: Request) -> dict[str, Any]:
            self._authorise(request)
            body = await self.json_body(request) or {}
            created = []
            for item in body.get("segments") or []:
                missing = [k for k in ("name", "source_type", "retention_in_days") if not item.get(k)]
                if missing:
                    raise SnapError(400, f"Missing required fields: {', '.join(missing)}", "E1001")
                segment = Segment(
                    str(next(self._ids)),
                    str(item["name"]),
                    str(item.get("description", "")),
                    int(item["retention_in_days"]),
                )
                self.segments[segment.id] = segment
                created.append(self._json(segment))
            return success("segments", created, "segment")

        @app.get("/v1/segments/{segment_id}")
        def get_segment(segment_id: str, request: Request) -> dict[str, Any]:
            self._authorise(request)
            return success("segments", [self._json(self._segment(segment_id))], "segment")

        @app.post("/v1/segments/{segment_id}/users")
        async def add_users(segment_id: str, request: Request) -> dict[str, Any]:
            return await self._users(segment_id, request, adding=True)

        @app.delete("/v1/segments/{segment_id}/users")
        async def remove_users(segment_id: str, request: Request) -> dict[str, Any]:
            return await self._users(segment_id, request, adding=False)

    async def _users(self, segment_id: str, request: Request, *, adding: bool) -> dict[str, Any]:
        self._authorise(request)
        segment = self._segment(segment_id)
        body = await self.json_body(request) or {}
        users = body.get("users")
        if not isinstance(users, list) or len(users) != 1 or not isinstance(users[0], dict):
            raise SnapError(400, "users must hold exactly one {schema, data} object", "E1001")
        schema, data = users[0].get("schema"), users[0].get("data")
        if not isinstance(schema, list) or len(schema) != 1 or schema[0] not in SCHEMAS:
            raise SnapError(400, f"Invalid schema {schema!r}: one of {sorted(SCHEMAS)}", "E1001")
        if not isinstance(data, list):
            raise SnapError(400, "data must be an array of one-element arrays", "E1001")
        if len(data) > BATCH_LIMIT:
            self.violation(f"batch of {len(data)} identifiers")
            raise SnapError(400, f"Too many identifiers: at most {BATCH_LIMIT} per request", "E1001")
        values = []
        for row in data:
            value = row[0] if isinstance(row, list) and len(row) == 1 else None
            if not isinstance(value, str) or not SHA256.fullmatch(value):
                self.unhashed_refusals += 1
                self.violation(f"unhashed value in {schema[0]}")
                raise SnapError(400, f"Values for {schema[0]} must be normalised and SHA-256 hashed", "E1001")
            values.append(value)
        if adding:
            segment.members.update(values)
        else:
            segment.members.difference_update(values)
        return success("users", [{"number_uploaded_users": len(values)}], "user")

    def state(self) -> dict[str, Any]:
        return {
            "segments": [
                {"id": s.id, "name": s.name, "members": len(s.members)} for s in self.segments.values()
            ],
            "unhashed_refusals": self.unhashed_refusals,
            **self.oauth.state(),
        }

    # -- conformance hooks ---------------------------------------------------------------------

    def seed_contacts(self, identifiers: Iterable[str]) -> None:
        self.people.seed(identifiers)

    def connector_config(self, base_url: str, *, valid: bool = True) -> dict[str, Any]:
        return {
            "client_id": self.client_id,
            "client_secret": self.client_secret,
            "refresh_token": self.refresh_token if valid else "snap-revoked-refresh-token",
            "oauth_base_url": base_url.rstrip("/"),
            "ad_account_id": ACCOUNT_ID,
            "base_url": f"{base_url.rstrip('/')}/v1",
        }

    def target_spec(self) -> TargetSpec:
        return TargetSpec(kind="segment", name="Sluice conformance")

    def members(self, target: Target) -> set[str]:
        return {self.people.reveal(h) for h in self._segment(target.id).members}

    def seed_members(self, target: Target, identifiers: Iterable[str]) -> None:
        self._segment(target.id).members.update(email_digest(e) for e in identifiers)

    def seed_targets(self, names: Iterable[str], spec: TargetSpec) -> None:
        for name in names:
            segment = Segment(str(next(self._ids)), name, "", 9999)
            self.segments[segment.id] = segment
