"""A local fake of the LinkedIn Marketing API (the Matched Audiences parts Sluice uses), under ``/rest``.

Faithful to: OAuth access tokens from ``POST /oauth/v2/accessToken`` (refresh-token grant, client
credentials in the form body, :class:`OAuthServer`), ``Authorization: Bearer`` (401
``INVALID_ACCESS_TOKEN`` for a missing, unknown or expired token), the required
``LinkedIn-Version`` (YYYYMM) and ``X-Restli-Protocol-Version: 2.0.0`` headers, Rest.li error bodies
``{"status", "serviceErrorCode", "code", "message"}``, the DMP segment finder
``GET /dmpSegments?q=account&account=<urn>`` with ``start``/``count`` paging (``paging.total``),
``POST /dmpSegments`` answering 201 with the new id in ``x-restli-id``, and the streaming batch calls
``POST /dmpSegments/{id}/users`` / ``/companies`` with ``X-RestLi-Method: BATCH_CREATE`` answering
``{"elements": [{"status": 201}, …]}`` (201 also for a repeated add or remove, "by design").
Enforced: at most 5,000 elements per call, **every ``SHA256_EMAIL`` a 64-hex digest** (unhashed PII
is refused and recorded as a limit violation), and a new segment accepts members only 5 seconds
after it was created.

Stated assumptions (not confirmed against a live account): the error bodies and status codes of
an oversized batch, an unhashed value, a missing header and a write to a segment that is not yet
available (404); and the 5,000 cap itself (LinkedIn publishes per-minute request limits only).
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

TOKEN_PATH = "/oauth/v2/accessToken"  # noqa: S105 - a path, not a secret
CLIENT_ID = "sluice-linkedin-app"
CLIENT_SECRET = "emulator-linkedin-secret"  # noqa: S105 - the local fake's secret
ACCOUNT_ID = "512388"  # short: 7+ digit runs in a query look like phones to the PII scan
SOURCE_PLATFORM = "SLUICE"
BATCH_LIMIT = 5_000
MAX_COUNT = 1_000
SETTLE_SECONDS = 5.0
SHA256 = re.compile(r"[0-9a-f]{64}")
ID_TYPES = frozenset({"SHA256_EMAIL", "SHA512_EMAIL", "GOOGLE_AID"})
COMPANY_FIELDS = ("organizationUrn", "companyWebsiteDomain", "companyName", "companyPageUrl")
TYPES = {"user_segment": "USER", "company_segment": "COMPANY"}


class RestliError(Exception):
    def __init__(self, status: int, code: str, message: str, service_code: int = 100) -> None:
        self.status, self.code, self.message, self.service_code = status, code, message, service_code


def restli_error(status: int, code: str, message: str, service_code: int = 100) -> JSONResponse:
    body = {"status": status, "serviceErrorCode": service_code, "code": code, "message": message}
    return JSONResponse(body, status_code=status)


@dataclass
class Segment:
    id: int
    name: str
    type: str
    account: str
    source_platform: str
    created_at: float
    members: set[str] = field(default_factory=set)  # hashes (users) or company keys

    def json(self) -> dict[str, Any]:
        size = len(self.members)
        return {
            "id": self.id,
            "name": self.name,
            "type": self.type,
            "account": self.account,
            "sourcePlatform": self.source_platform,
            "accessPolicy": "PRIVATE",
            "destinations": [
                {
                    "destination": "LINKEDIN",
                    "status": "READY" if size >= 300 else "BUILDING",
                    "audienceSize": size if size >= 300 else 0,
                    "matchedCount": size,
                    "inputCount": size,
                }
            ],
        }


class LinkedInEmulator(Emulator):
    """One sponsored account and its DMP segments."""

    requires_hashing = True

    name = "linkedin"
    batch_limit = BATCH_LIMIT
    unknown_contact_message = "LinkedIn does not report unmatched members"

    def __init__(self, **kwargs: Any) -> None:
        self.account_urn = f"urn:li:sponsoredAccount:{ACCOUNT_ID}"
        self.segments: dict[int, Segment] = {}
        self.people = KnownPeople()
        self.unhashed_refusals = 0
        self._ids = itertools.count(21000001)
        super().__init__(**kwargs)
        self.oauth = OAuthServer(clock=self.clock, access_ttl=5_184_000.0, client_auth=ClientAuth.BODY)
        self.oauth.register_client(CLIENT_ID, CLIENT_SECRET)
        self.oauth.add_routes(self.app, token_path=TOKEN_PATH, authorize_path="/oauth/v2/authorization")

    # -- vendor errors -----------------------------------------------------------------------

    def rate_limited(self) -> Response:
        return restli_error(
            429,
            "TOO_MANY_REQUESTS",
            "Resource level throttle APPLICATION MINUTE limit for calls to this resource is reached.",
            101,
        )

    def server_error(self) -> Response:
        return restli_error(500, "INTERNAL_SERVER_ERROR", "Internal Server Error", 0)

    def _authorise(self, request: Request) -> None:
        if self.oauth.bearer_refusal(request) is not None:
            raise RestliError(401, "INVALID_ACCESS_TOKEN", "Invalid access token", 65600)
        version = request.headers.get("linkedin-version", "")
        if not version:
            raise RestliError(400, "VERSION_MISSING", "A version must be present. Please specify a version.")
        if not re.fullmatch(r"[0-9]{6}", version):
            raise RestliError(426, "NONEXISTENT_VERSION", f"Requested version {version} is not active")
        if request.headers.get("x-restli-protocol-version") != "2.0.0":
            raise RestliError(400, "ILLEGAL_ARGUMENT", "X-Restli-Protocol-Version 2.0.0 is required")

    def _segment(self, segment_id: str) -> Segment:
        found = self.segments.get(int(segment_id)) if segment_id.isdigit() else None
        if found is None:
            raise RestliError(404, "NOT_FOUND", f"DmpSegment {segment_id} does not exist", 100)
        return found

    # -- routes ------------------------------------------------------------------------------

    def add_routes(self, app: FastAPI) -> None:
        @app.exception_handler(RestliError)
        async def _restli_error(_: Request, exc: RestliError) -> JSONResponse:
            return restli_error(exc.status, exc.code, exc.message, exc.service_code)

        @app.get("/rest/adAccounts/{account_id}")
        def ad_account(account_id: str, request: Request) -> dict[str, Any]:
            self._authorise(request)
            if account_id != ACCOUNT_ID:
                raise RestliError(404, "NOT_FOUND", f"AdAccount {account_id} does not exist")
            return {"id": int(ACCOUNT_ID), "name": "Sluice demo ad account", "status": "ACTIVE"}

        @app.get("/rest/dmpSegments")
        def find_segments(request: Request) -> dict[str, Any]:
            self._authorise(request)
            query = request.query_params
            if query.get("q") != "account" or query.get("account") != self.account_urn:
                raise RestliError(
                    400, "ILLEGAL_ARGUMENT", "q=account with your sponsored account urn is required"
                )
            start = int(query.get("start", 0))
            count = self.page_size(int(query.get("count", 10)), MAX_COUNT)
            every = [s for s in self.segments.values() if s.account == self.account_urn]
            chosen = every[start : start + count]
            return {
                "elements": [s.json() for s in chosen],
                "paging": {"start": start, "count": count, "total": len(every), "links": []},
            }

        @app.post("/rest/dmpSegments")
        async def create_segment(request: Request) -> Response:
            self._authorise(request)
            body = await self.json_body(request) or {}
            missing = [
                k for k in ("name", "sourcePlatform", "account", "type", "destinations") if not body.get(k)
            ]
            if missing:
                raise RestliError(422, "ILLEGAL_ARGUMENT", f"Missing required fields: {', '.join(missing)}")
            if body["account"] != self.account_urn:
                raise RestliError(403, "ACCESS_DENIED", f"Not enough permissions to access {body['account']}")
            if body["type"] not in ("USER", "COMPANY"):
                raise RestliError(422, "ILLEGAL_ARGUMENT", f"Unsupported segment type {body['type']}")
            segment = Segment(
                next(self._ids),
                str(body["name"]),
                str(body["type"]),
                self.account_urn,
                str(body["sourcePlatform"]),
                self.clock(),
            )
            self.segments[segment.id] = segment
            return Response(status_code=201, headers={"x-restli-id": str(segment.id)})

        @app.get("/rest/dmpSegments/{segment_id}")
        def get_segment(segment_id: str, request: Request) -> dict[str, Any]:
            self._authorise(request)
            return self._segment(segment_id).json()

        @app.post("/rest/dmpSegments/{segment_id}/users")
        async def stream_users(segment_id: str, request: Request) -> dict[str, Any]:
            return await self._stream(segment_id, request, "USER")

        @app.post("/rest/dmpSegments/{segment_id}/companies")
        async def stream_companies(segment_id: str, request: Request) -> dict[str, Any]:
            return await self._stream(segment_id, request, "COMPANY")

    async def _stream(self, segment_id: str, request: Request, kind: str) -> dict[str, Any]:
        self._authorise(request)
        segment = self._segment(segment_id)
        if self.clock() < segment.created_at + SETTLE_SECONDS:
            raise RestliError(404, "NOT_FOUND", f"DmpSegment {segment_id} is not available yet")
        if segment.type != kind:
            raise RestliError(400, "ILLEGAL_ARGUMENT", f"DmpSegment {segment_id} is a {segment.type} segment")
        if request.headers.get("x-restli-method", "").upper() != "BATCH_CREATE":
            raise RestliError(400, "ILLEGAL_ARGUMENT", "Batch requests need X-RestLi-Method: BATCH_CREATE")
        body = await self.json_body(request) or {}
        elements = body.get("elements")
        if not isinstance(elements, list):
            raise RestliError(400, "ILLEGAL_ARGUMENT", "elements is required")
        if len(elements) > BATCH_LIMIT:
            self.violation(f"batch of {len(elements)} elements")
            raise RestliError(400, "ILLEGAL_ARGUMENT", f"Too many elements: at most {BATCH_LIMIT} per batch")
        keys = [self._member_key(element, kind) for element in elements]
        results = []
        for element, key in zip(elements, keys, strict=True):
            if element.get("action") not in ("ADD", "REMOVE") or key is None:
                results.append(
                    {"status": 400, "message": "action ADD or REMOVE and one identifier are required"}
                )
                continue
            if element["action"] == "ADD":
                segment.members.add(key)
            else:
                segment.members.discard(key)
            results.append({"status": 201})
        return {"elements": results}

    def _member_key(self, element: Any, kind: str) -> str | None:
        """What the segment holds for one element (refusing unhashed emails for the whole batch)."""
        if not isinstance(element, dict):
            return None
        if kind == "COMPANY":
            found = [f"{name}:{element[name]}" for name in COMPANY_FIELDS if element.get(name)]
            return found[0] if found else None
        ids = element.get("userIds")
        if not isinstance(ids, list) or not ids:
            return None
        for user_id in ids:
            id_type = user_id.get("idType") if isinstance(user_id, dict) else None
            value = str(user_id.get("idValue", "")) if isinstance(user_id, dict) else ""
            if id_type not in ID_TYPES:
                raise RestliError(400, "ILLEGAL_ARGUMENT", f"Unsupported idType {id_type}")
            if id_type == "SHA256_EMAIL" and not SHA256.fullmatch(value):
                self.unhashed_refusals += 1
                self.violation("unhashed value in SHA256_EMAIL")
                raise RestliError(
                    400, "ILLEGAL_ARGUMENT", "SHA256_EMAIL must be a HEX encoded string with length = 64"
                )
        return str(ids[0]["idValue"])

    def state(self) -> dict[str, Any]:
        return {
            "segments": [
                {"id": s.id, "name": s.name, "type": s.type, "members": len(s.members)}
                for s in self.segments.values()
            ],
            "unhashed_refusals": self.unhashed_refusals,
            **self.oauth.state(),
        }

    # -- conformance hooks ---------------------------------------------------------------------

    def seed_contacts(self, identifiers: Iterable[str]) -> None:
        self.people.seed(identifiers)

    def connector_config(self, base_url: str, *, valid: bool = True) -> dict[str, Any]:
        return {
            "client_id": CLIENT_ID,
            "client_secret": CLIENT_SECRET if valid else "wrong-linkedin-secret",
            "refresh_token": self.oauth.issue_refresh_token(CLIENT_ID),
            "oauth_base_url": base_url.rstrip("/"),
            "ad_account_id": ACCOUNT_ID,
            "source_platform": SOURCE_PLATFORM,
            "base_url": f"{base_url.rstrip('/')}/rest",
        }

    def target_spec(self) -> TargetSpec:
        return TargetSpec(kind="user_segment", name="Sluice conformance")

    def members(self, target: Target) -> set[str]:
        segment = self._segment(target.id)
        if segment.type == "COMPANY":
            return {key.partition(":")[2] for key in segment.members}
        return {self.people.reveal(h) for h in segment.members}

    def seed_members(self, target: Target, identifiers: Iterable[str]) -> None:
        self._segment(target.id).members.update(email_digest(e) for e in identifiers)

    def seed_targets(self, names: Iterable[str], spec: TargetSpec) -> None:
        for name in names:
            segment = Segment(
                next(self._ids),
                name,
                TYPES.get(spec.kind, "USER"),
                self.account_urn,
                SOURCE_PLATFORM,
                float("-inf"),
            )
            self.segments[segment.id] = segment
