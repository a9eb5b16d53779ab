"""A local fake of the Reddit Ads API v3 (customer-list custom audiences) and Reddit's OAuth server.

Faithful to what is public: OAuth access tokens from ``POST /api/v1/access_token`` (refresh-token
grant, HTTP Basic client authentication, 1 h tokens, :class:`OAuthServer`), ``Authorization:
Bearer`` on every API call, ``{"data": …}`` envelopes with ``pagination.next_url`` carrying
``page.token``, customer lists created with ``type=CUSTOMER_LIST``, and
``PATCH /custom_audiences/{id}/users`` with ``action_type`` ADD/REMOVE, ``column_order``
(``EMAIL_SHA256``, ``MAID_SHA256``) and at most 2,500 ``user_data`` rows whose values **must be SHA-256
digests** — unhashed values refuse the whole call and are recorded as limit violations.

Stated assumptions (Reddit's full reference is not public): the error envelope
``{"error": {"code", "message"}}`` and its codes, the answer of the users call
(``{"data": {"id", "rows_received"}}``), ``size_range_lower`` as the matched size (shown once
1,000 users matched), the 403 for a missing or library-default ``User-Agent``.
"""

from __future__ import annotations

import itertools
import re
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse, Response

from sluice.destinations.audiences import KnownPeople, email_digest
from sluice.destinations.emulation import Emulator
from sluice.destinations.oauth import ClientAuth
from sluice.destinations.oauth_emulation import OAuthServer
from sluice.destinations.sdk import Target, TargetSpec

API = "/api/v3"
TOKEN_PATH = "/api/v1/access_token"  # noqa: S105 - a path, not a secret
CLIENT_ID = "sluice-reddit-app"
CLIENT_SECRET = "emulator-reddit-secret"  # noqa: S105 - the local fake's secret
ACCOUNT_ID = "a2_demo42"
BATCH_LIMIT = 2_500
MAX_PAGE = 1_000
MIN_SIZE = 1_000
COLUMNS = frozenset({"EMAIL_SHA256", "MAID_SHA256"})
SHA256 = re.compile(r"[0-9a-f]{64}")
GENERIC_AGENTS = ("python-httpx", "python-requests", "curl")


class ApiError(Exception):
    def __init__(self, status: int, code: str, message: str) -> None:
        self.status, self.code, self.message = status, code, message


def api_error(status: int, code: str, message: str) -> JSONResponse:
    return JSONResponse({"error": {"code": code, "message": message}}, status_code=status)


@dataclass
class Audience:
    id: str
    name: str
    type: str = "CUSTOMER_LIST"
    members: set[str] = field(default_factory=set)  # "<column>:<sha256>"

    def json(self) -> dict[str, Any]:
        size = len(self.members)
        return {
            "id": self.id,
            "name": self.name,
            "type": self.type,
            "status": "VALID" if size >= MIN_SIZE else "TOO_SMALL",
            "size_range_lower": size if size >= MIN_SIZE else None,
            "size_range_upper": size if size >= MIN_SIZE else None,
            "ad_account_id": ACCOUNT_ID,
        }


class RedditEmulator(Emulator):
    """One ad account's custom audiences and the OAuth server."""

    requires_hashing = True

    name = "reddit"
    batch_limit = BATCH_LIMIT
    unknown_contact_message = "Reddit does not report unmatched users"

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.oauth = OAuthServer(clock=self.clock, client_auth=ClientAuth.BASIC)
        self.oauth.register_client(CLIENT_ID, CLIENT_SECRET)
        self.audiences: dict[str, Audience] = {}
        self.people = KnownPeople()
        self.unhashed_refusals = 0
        self._ids = (str(n) for n in itertools.count(520_001))
        self.oauth.add_routes(self.app, token_path=TOKEN_PATH, authorize_path="/api/v1/authorize")

    # -- vendor errors -----------------------------------------------------------------------

    def rate_limited(self) -> Response:
        return api_error(429, "TOO_MANY_REQUESTS", "Too many requests")

    def server_error(self) -> Response:
        return api_error(500, "INTERNAL_SERVER_ERROR", "Internal server error")

    def _authorise(self, request: Request) -> None:
        if self.oauth.bearer_refusal(request) is not None:
            raise ApiError(401, "UNAUTHORIZED", "Invalid or expired access token")
        agent = request.headers.get("user-agent", "")
        if not agent or agent.lower().startswith(GENERIC_AGENTS):
            raise ApiError(403, "FORBIDDEN", "Send a unique and descriptive User-Agent")

    def _account(self, account_id: str) -> None:
        if account_id != ACCOUNT_ID:
            raise ApiError(403, "FORBIDDEN", f"No access to ad account {account_id}")

    def _audience(self, audience_id: str) -> Audience:
        found = self.audiences.get(audience_id)
        if found is None:
            raise ApiError(404, "NOT_FOUND", f"Custom audience {audience_id} not found")
        return found

    # -- routes ------------------------------------------------------------------------------

    def add_routes(self, app: FastAPI) -> None:
        @app.exception_handler(ApiError)
        async def _api_error(_: Request, exc: ApiError) -> JSONResponse:
            return api_error(exc.status, exc.code, exc.message)

        @app.get(f"{API}/ad_accounts/{{account_id}}")
        def account(account_id: str, request: Request) -> dict[str, Any]:
            self._authorise(request)
            self._account(account_id)
            return {"data": {"id": ACCOUNT_ID, "name": "Sluice demo ad account", "currency": "USD"}}

        @app.get(f"{API}/ad_accounts/{{account_id}}/custom_audiences")
        def list_audiences(account_id: str, request: Request) -> dict[str, Any]:
            self._authorise(request)
            self._account(account_id)
            size = self.page_size(int(request.query_params.get("page.size", 100)), MAX_PAGE)
            start = int(request.query_params.get("page.token") or 0)
            every = list(self.audiences.values())
            chosen = every[start : start + size]
            more = start + size < len(every)
            next_url = (
                f"https://ads-api.reddit.com{API}/ad_accounts/{account_id}/custom_audiences"
                f"?page.size={size}&page.token={start + size}"
                if more
                else None
            )
            return {"data": [a.json() for a in chosen], "pagination": {"next_url": next_url}}

        @app.post(f"{API}/ad_accounts/{{account_id}}/custom_audiences")
        async def create(account_id: str, request: Request) -> dict[str, Any]:
            self._authorise(request)
            self._account(account_id)
            data = (await self.json_body(request) or {}).get("data") or {}
            if data.get("type") != "CUSTOMER_LIST" or not data.get("name"):
                raise ApiError(400, "INVALID_REQUEST", "type CUSTOMER_LIST and a name are required")
            audience = Audience(next(self._ids), str(data["name"]))
            self.audiences[audience.id] = audience
            return {"data": audience.json()}

        @app.get(f"{API}/custom_audiences/{{audience_id}}")
        def get_audience(audience_id: str, request: Request) -> dict[str, Any]:
            self._authorise(request)
            return {"data": self._audience(audience_id).json()}

        @app.patch(f"{API}/custom_audiences/{{audience_id}}/users")
        async def users(audience_id: str, request: Request) -> dict[str, Any]:
            self._authorise(request)
            audience = self._audience(audience_id)
            data = (await self.json_body(request) or {}).get("data") or {}
            action, columns, rows = data.get("action_type"), data.get("column_order"), data.get("user_data")
            if action not in ("ADD", "REMOVE"):
                raise ApiError(400, "INVALID_REQUEST", "action_type must be ADD or REMOVE")
            if not isinstance(columns, list) or not columns or set(columns) - COLUMNS:
                raise ApiError(
                    400, "INVALID_REQUEST", "column_order must list EMAIL_SHA256 and/or MAID_SHA256"
                )
            if not isinstance(rows, list):
                raise ApiError(400, "INVALID_REQUEST", "user_data is required")
            if len(rows) > BATCH_LIMIT:
                self.violation(f"batch of {len(rows)} rows")
                raise ApiError(400, "INVALID_REQUEST", f"user_data holds at most {BATCH_LIMIT} rows")
            keys = []
            for row in rows:
                if not isinstance(row, list) or len(row) != len(columns):
                    raise ApiError(400, "INVALID_REQUEST", "each user_data row needs one value per column")
                for column, value in zip(columns, row, strict=True):
                    if not SHA256.fullmatch(str(value)):
                        self.unhashed_refusals += 1
                        self.violation(f"unhashed value in {column}")
                        raise ApiError(400, "INVALID_REQUEST", f"{column} values must be SHA-256 hashes")
                    keys.append(f"{column}:{value}")
            if action == "ADD":
                audience.members.update(keys)
            else:
                audience.members.difference_update(keys)
            return {"data": {"id": audience.id, "rows_received": len(rows)}}

    def state(self) -> dict[str, Any]:
        return {
            "audiences": [
                {"id": a.id, "name": a.name, "members": len(a.members)} for a in self.audiences.values()
            ],
            "unhashed_refusals": self.unhashed_refusals,
            **self.oauth.state(),
        }

    # -- conformance hooks ---------------------------------------------------------------------

    def seed_contacts(self, identifiers: Iterable[str]) -> None:
        self.people.seed(identifiers)

    def connector_config(self, base_url: str, *, valid: bool = True) -> dict[str, Any]:
        root = base_url.rstrip("/")
        refresh = self.oauth.issue_refresh_token(CLIENT_ID) if valid else "rt-revoked-or-unknown"
        return {
            "client_id": CLIENT_ID,
            "client_secret": CLIENT_SECRET,
            "refresh_token": refresh,
            "oauth_base_url": root,
            "ad_account_id": ACCOUNT_ID,
            "base_url": f"{root}{API}",
        }

    def target_spec(self) -> TargetSpec:
        return TargetSpec(kind="customer_list", name="Sluice conformance")

    def members(self, target: Target) -> set[str]:
        return {self.people.reveal_keyed(m, "EMAIL_SHA256") for m in self._audience(target.id).members}

    def seed_members(self, target: Target, identifiers: Iterable[str]) -> None:
        self._audience(target.id).members.update(f"EMAIL_SHA256:{email_digest(e)}" for e in identifiers)

    def seed_targets(self, names: Iterable[str], spec: TargetSpec) -> None:
        for name in names:
            audience = Audience(next(self._ids), name)
            self.audiences[audience.id] = audience
