"""A local fake of the TikTok API for Business v1.3 (custom audience files and the Events API).

Faithful to (the request shapes of TikTok's published ``tiktok/tiktok-business-api-sdk`` YAML
definitions): the ``Access-Token`` header, the ``{"code", "message", "request_id", "data"}``
envelope with HTTP 200 and a non-zero ``code`` for errors (40104 token missing, 40105 token invalid,
40002 parameter error), multipart file uploads (``advertiser_id``, ``file`` ``.csv``/``.txt``,
``file_signature`` = the file's MD5, ``calculate_type``) answering a 16-character ``file_path``,
audience ``create`` (``file_paths`` required) and ``update`` with ``APPEND``/``REMOVE``, paged
``list`` (``page``, ``page_size`` ≤ 100, ``page_info.total_page``) and ``get``, and
``/event/track/`` with at most 1,000 events deduplicated on ``event_id`` per event source
(``test_event_code`` events are kept apart).

Only file lines matching a "TikTok user" (a contact the suite seeded) count toward ``cover_num``.
Every line of a ``*_SHA256`` file and every ``user`` value of an event must be a SHA-256 digest:
anything else is refused and recorded as a limit violation.

Stated assumptions: a 429 answer with code 40100 (TikTok documents the code, not the HTTP status),
the wording of refusals, and the 1,000-member floor of ``APPEND``/``REMOVE`` (documented) is applied
only when ``min_audience_size`` is set — the shared conformance suite works with small audiences.
"""

from __future__ import annotations

import hashlib
import itertools
import json
import re
import secrets
import string
import uuid
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse, Response
from starlette.datastructures import UploadFile

from sluice.destinations.audiences import KnownPeople, email_digest
from sluice.destinations.emulation import Emulator, ReceivedEvent
from sluice.destinations.sdk import IdentifierKind, Target, TargetSpec

ACCESS_TOKEN = "tiktok-emulator-access-token"  # noqa: S105 - the local fake's token
ADVERTISER_ID = "7000000000000000001"
PIXEL_CODE = "C4EMULATORPIXEL0001"
EVENTS_LIMIT = 1_000
MAX_PAGE = 100
SHA256 = re.compile(r"[0-9a-f]{64}")
CALCULATE_TYPES = frozenset(
    {"EMAIL_SHA256", "PHONE_SHA256", "FIRST_SHA256", "IDFA_SHA256", "GAID_SHA256", "MAID_SHA256"}
)
HASHED_USER_KEYS = frozenset({"email", "phone", "external_id"})
UNKNOWN_CONTACT = "TikTok does not report unmatched people"


class TikTokError(Exception):
    def __init__(self, code: int, message: str, status: int = 200) -> None:
        self.code, self.message, self.status = code, message, status


def envelope(
    data: dict[str, Any] | None = None, code: int = 0, message: str = "OK", status: int = 200
) -> JSONResponse:
    body = {"code": code, "message": message, "request_id": uuid.uuid4().hex[:20], "data": data or {}}
    return JSONResponse(body, status_code=status)


@dataclass
class Audience:
    id: str
    name: str
    calculate_type: str
    members: set[str] = field(default_factory=set)


class TikTokEmulator(Emulator):
    """One advertiser and one pixel served under ``/open_api/v1.3``."""

    name = "tiktok"
    batch_limit = EVENTS_LIMIT
    unknown_contact_message = UNKNOWN_CONTACT
    requires_hashing = True
    event_specs = (TargetSpec(kind="event", name="CompletePayment", identifier_kind=IdentifierKind.EMAIL),)

    def __init__(self, **kwargs: Any) -> None:
        self.access_token = ACCESS_TOKEN
        self.audiences: dict[str, Audience] = {}
        self.files: dict[str, tuple[str, list[str]]] = {}  # file_path → (calculate_type, digests)
        self.people = KnownPeople()
        self.events: dict[tuple[str, str], dict[str, Any]] = {}  # (event source id, event_id) → event
        self.test_events: list[dict[str, Any]] = []
        self.unhashed_refusals = 0
        #: TikTok refuses APPEND/REMOVE leaving fewer people than this (0: not applied, see module docs)
        self.min_audience_size = 0
        self._ids = itertools.count(1700000000000001)
        super().__init__(**kwargs)

    # -- vendor errors -----------------------------------------------------------------------

    def rate_limited(self) -> Response:
        return envelope(code=40100, message="Too many requests. Please retry in some time.", status=429)

    def server_error(self) -> Response:
        return envelope(code=50000, message="System error. Please try again later.", status=500)

    def _authorise(self, request: Request, advertiser: str | None) -> None:
        token = request.headers.get("access-token", "")
        if not token:
            raise TikTokError(40104, "Access token is null. Please check the Access-Token header.")
        if token != self.access_token:
            raise TikTokError(40105, "The access token is invalid or has been revoked.")
        if advertiser is not None and advertiser != ADVERTISER_ID:
            raise TikTokError(40001, f"No permission to operate advertiser {advertiser}.")

    def _audience(self, audience_id: str) -> Audience:
        found = self.audiences.get(str(audience_id))
        if found is None:
            raise TikTokError(40002, f"Custom audience {audience_id} does not exist.")
        return found

    def _refuse_unhashed(self, where: str, value: Any) -> None:
        if not isinstance(value, str) or not SHA256.fullmatch(value):
            self.unhashed_refusals += 1
            self.violation(f"unhashed value in {where}")
            raise TikTokError(40002, f"{where} must hold normalised, SHA-256 hashed values.")

    def _matched(self, audience: Audience) -> int:
        return self.people.count(audience.members)

    def _json(self, audience: Audience) -> dict[str, Any]:
        return {
            "audience_id": audience.id,
            "name": audience.name,
            "audience_type": "Customer File",
            "calculate_type": audience.calculate_type,
            "cover_num": self._matched(audience),
            "is_valid": True,
            "is_expiring": False,
            "is_creator": True,
        }

    def _files(self, body: dict[str, Any], calculate_type: str) -> list[str]:
        paths = body.get("file_paths")
        if not isinstance(paths, list) or not paths:
            raise TikTokError(40002, "file_paths is required.")
        digests: list[str] = []
        for path in paths:
            found = self.files.get(str(path))
            if found is None:
                raise TikTokError(40002, f"File {path} does not exist.")
            if found[0] != calculate_type:
                raise TikTokError(40002, "The file's calculate_type does not match the audience's.")
            digests += found[1]
        return digests

    # -- routes ------------------------------------------------------------------------------

    def add_routes(self, app: FastAPI) -> None:
        prefix = "/open_api/v1.3"

        @app.exception_handler(TikTokError)
        async def _error(_: Request, exc: TikTokError) -> JSONResponse:
            return envelope(code=exc.code, message=exc.message, status=exc.status)

        @app.get(f"{prefix}/advertiser/info/")
        def advertiser_info(request: Request) -> JSONResponse:
            ids = json.loads(request.query_params.get("advertiser_ids", "[]"))
            self._authorise(request, str(ids[0]) if ids else "")
            return envelope({"list": [{"advertiser_id": ADVERTISER_ID, "name": "Sluice demo advertiser"}]})

        @app.post(f"{prefix}/dmp/custom_audience/file/upload/")
        async def upload(request: Request) -> JSONResponse:
            form = await request.form()
            self._authorise(request, str(form.get("advertiser_id", "")))
            upload = form.get("file")
            calculate_type = str(form.get("calculate_type", ""))
            if not isinstance(upload, UploadFile) or not str(upload.filename).endswith((".csv", ".txt")):
                raise TikTokError(40002, "file is required and must be a .csv or .txt file.")
            if calculate_type not in CALCULATE_TYPES:
                raise TikTokError(40002, f"Invalid calculate_type {calculate_type!r}.")
            content = await upload.read()
            if hashlib.md5(content).hexdigest() != form.get("file_signature"):  # noqa: S324 - TikTok's check
                raise TikTokError(40002, "file_signature does not match the file's MD5.")
            lines = [line.strip() for line in content.decode().splitlines() if line.strip()]
            for line in lines:
                self._refuse_unhashed(f"{calculate_type} file", line)
            path = "".join(
                secrets.choice(string.ascii_letters) for _ in range(16)
            )  # 16 characters, as TikTok's
            self.files[path] = (calculate_type, lines)
            return envelope({"file_path": path})

        @app.post(f"{prefix}/dmp/custom_audience/create/")
        async def create(request: Request) -> JSONResponse:
            body = await self.json_body(request) or {}
            self._authorise(request, str(body.get("advertiser_id", "")))
            name = str(body.get("custom_audience_name", ""))
            calculate_type = str(body.get("calculate_type", ""))
            if not 1 <= len(name) <= 128 or calculate_type not in CALCULATE_TYPES:
                raise TikTokError(
                    40002, "custom_audience_name (1-128 characters) and calculate_type are required."
                )
            audience = Audience(str(next(self._ids)), name, calculate_type)
            audience.members.update(self._files(body, calculate_type))
            self.audiences[audience.id] = audience
            return envelope({"custom_audience_id": audience.id})

        @app.post(f"{prefix}/dmp/custom_audience/update/")
        async def update(request: Request) -> JSONResponse:
            body = await self.json_body(request) or {}
            self._authorise(request, str(body.get("advertiser_id", "")))
            audience = self._audience(str(body.get("custom_audience_id", "")))
            if "file_paths" not in body:
                audience.name = str(body.get("custom_audience_name") or audience.name)
                return envelope()
            action = body.get("action", "REPLACE")
            digests = set(self._files(body, audience.calculate_type))
            after = {
                "APPEND": audience.members | digests,
                "REMOVE": audience.members - digests,
                "REPLACE": digests,
            }.get(str(action))
            if after is None:
                raise TikTokError(40002, f"Invalid action {action!r}.")
            if self.people.count(after) < self.min_audience_size:
                raise TikTokError(
                    40002,
                    f"The audience size must be at least {self.min_audience_size:,} after the {action} operation.",
                )
            audience.members = after
            return envelope()

        @app.get(f"{prefix}/dmp/custom_audience/list/")
        def list_audiences(request: Request) -> JSONResponse:
            self._authorise(request, request.query_params.get("advertiser_id", ""))
            every = list(self.audiences.values())
            size = self.page_size(int(request.query_params.get("page_size", 10)), MAX_PAGE)
            page = max(int(request.query_params.get("page", 1)), 1)
            chosen = every[(page - 1) * size : page * size]
            total_page = max((len(every) + size - 1) // size, 1)
            info = {"page": page, "page_size": size, "total_number": len(every), "total_page": total_page}
            return envelope({"list": [self._json(a) for a in chosen], "page_info": info})

        @app.get(f"{prefix}/dmp/custom_audience/get/")
        def get_audiences(request: Request) -> JSONResponse:
            self._authorise(request, request.query_params.get("advertiser_id", ""))
            ids = json.loads(request.query_params.get("custom_audience_ids", "[]"))
            found = [
                {"audience_details": self._json(self._audience(str(i))), "audience_history": []} for i in ids
            ]
            return envelope({"list": found})

        @app.post(f"{prefix}/event/track/")
        async def track(request: Request) -> JSONResponse:
            self._authorise(request, None)
            body = await self.json_body(request) or {}
            source = str(body.get("event_source_id", ""))
            if body.get("event_source") not in ("web", "offline", "crm", "app") or source != PIXEL_CODE:
                raise TikTokError(40002, f"Invalid event_source or event_source_id {source!r}.")
            data = body.get("data")
            if not isinstance(data, list) or not data:
                raise TikTokError(40002, "data must be a non-empty array.")
            if len(data) > EVENTS_LIMIT:
                self.violation(f"batch of {len(data)} events")
                raise TikTokError(40002, f"At most {EVENTS_LIMIT} events per request.")
            for event in data:
                self._check_event(event)
            for event in data:
                if body.get("test_event_code"):
                    self.test_events.append(event)
                else:
                    self.events.setdefault((source, str(event.get("event_id"))), event)
            return envelope()

    def _check_event(self, event: Any) -> None:
        if (
            not isinstance(event, dict)
            or not event.get("event")
            or not isinstance(event.get("event_time"), int)
        ):
            raise TikTokError(40002, "Each event needs event and event_time (Unix seconds).")
        user = event.get("user")
        if not isinstance(user, dict) or not user:
            raise TikTokError(40002, "Each event needs user information.")
        for key in HASHED_USER_KEYS & set(user):
            self._refuse_unhashed(f"user.{key}", user[key])

    def state(self) -> dict[str, Any]:
        return {
            "audiences": [
                {"id": a.id, "name": a.name, "members": len(a.members), "cover_num": self._matched(a)}
                for a in self.audiences.values()
            ],
            "events": len(self.events),
            "test_events": len(self.test_events),
            "unhashed_refusals": self.unhashed_refusals,
        }

    # -- conformance hooks ---------------------------------------------------------------------

    def seed_contacts(self, identifiers: Iterable[str]) -> None:
        self.people.seed(identifiers)

    def connector_config(self, base_url: str, *, valid: bool = True) -> dict[str, Any]:
        return {
            "access_token": self.access_token if valid else "tiktok-wrong-token",
            "advertiser_id": ADVERTISER_ID,
            "pixel_code": PIXEL_CODE,
            "base_url": f"{base_url.rstrip('/')}/open_api/v1.3",
        }

    def target_spec(self) -> TargetSpec:
        return TargetSpec(kind="custom_audience", name="Sluice conformance")

    def members(self, target: Target) -> set[str]:
        """Matched members (file lines of seeded people), as the ops carried them."""
        return self.people.matched(self._audience(target.id).members)

    def seed_members(self, target: Target, identifiers: Iterable[str]) -> None:
        self._audience(target.id).members.update(email_digest(e) for e in identifiers)

    def seed_targets(self, names: Iterable[str], spec: TargetSpec) -> None:
        for name in names:
            audience = Audience(str(next(self._ids)), name, "EMAIL_SHA256")
            self.audiences[audience.id] = audience

    def event_fields(self, target: Target, number: int, occurred_at: datetime) -> dict[str, Any]:
        return {
            "time": occurred_at,
            "value": number * 10 + 0.5,
            "currency": "USD",
            "order_id": f"order-{number}",
        }

    def received_events(self, target: Target) -> list[ReceivedEvent]:
        """Events counted for ``target``'s event name (one per event id), people mapped back from
        their hashed email through the seeded contacts."""
        return [
            ReceivedEvent(
                self.people.reveal(event["user"].get("email", "")),
                datetime.fromtimestamp(event["event_time"], UTC),
                str(event.get("event_id")),
            )
            for event in self.events.values()
            if event.get("event") == target.id
        ]
