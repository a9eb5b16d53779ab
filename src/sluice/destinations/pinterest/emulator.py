"""A local fake of the Pinterest API v5 (customer lists, audiences, conversions).

Faithful to the v5 OpenAPI document (requests are validated against it in the vendor-spec tests):
``Authorization: Bearer`` (401 ``{"code": 2, "message": "Authentication failed."}`` otherwise),
``{"code", "message"}`` errors, ``page_size`` (≤ 250) + ``bookmark`` paging with ``{"items",
"bookmark"}``, customer lists created with ``name`` + ``records`` (comma-separated) and updated with
``PATCH`` ``{"operation_type": "ADD"|"REMOVE", "records"}``, ``CUSTOMER_LIST`` audiences whose
``rule.customer_list_id`` names the list, and ``POST /ad_accounts/{id}/events`` with at most 1,000
events, per-event ``processed``/``failed`` answers, ``?test=true`` (validated, not recorded) and
deduplication on ``event_id``.

Only records matching a "Pinterest user" (a contact the suite seeded) count toward an audience's
``size``; the list status is ``TOO_SMALL`` below 100 matched users.

Sluice's rule, stricter than Pinterest: **every record and every ``user_data`` value must be a
SHA-256 hex digest** (Pinterest also takes plain lowercase emails); anything else is refused and
recorded as a limit violation. Stated assumptions: the wording of refusals, that a partly failed
conversions request answers 422 with the per-event list in ``details.events``, and the 429 body.
"""

from __future__ import annotations

import itertools
import re
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse, Response

from sluice.destinations.audiences import KnownPeople, email_digest
from sluice.destinations.emulation import Emulator, ReceivedEvent
from sluice.destinations.oauth_emulation import OAuthServer
from sluice.destinations.pinterest.connector import EVENT_NAMES
from sluice.destinations.sdk import IdentifierKind, Target, TargetSpec

CLIENT_ID = "1484362"
CLIENT_SECRET = "pinterest-emulator-client-secret"  # noqa: S105 - the local fake's OAuth client
ACCOUNT_ID = "549755885175"
EVENTS_LIMIT = 1_000
MAX_PAGE = 250
MIN_AUDIENCE = 100
SHA256 = re.compile(r"[0-9a-f]{64}")
ACTION_SOURCES = frozenset({"app_android", "app_ios", "web", "offline"})
HASHED_USER_KEYS = frozenset(
    {"em", "ph", "ge", "db", "ln", "fn", "ct", "st", "zp", "country", "external_id", "hashed_maids"}
)
UNKNOWN_CONTACT = "Pinterest does not report unmatched people"
#: a conversion whose event_time is this far ahead of the server clock is refused (seconds)
FUTURE_LIMIT = 24 * 3600


class PinterestError(Exception):
    def __init__(self, status: int, code: int, message: str) -> None:
        self.status, self.code, self.message = status, code, message


@dataclass
class CustomerList:
    id: str
    name: str
    list_type: str
    records: set[str] = field(default_factory=set)
    batches: int = 1
    uploaded: int = 0
    removed: int = 0


@dataclass
class Audience:
    id: str
    name: str
    customer_list_id: str
    description: str = ""


class PinterestEmulator(Emulator):
    """One ad account served under ``/v5``."""

    name = "pinterest"
    batch_limit = EVENTS_LIMIT
    unknown_contact_message = UNKNOWN_CONTACT
    requires_hashing = True
    event_specs = (
        TargetSpec(kind="conversion_event", name="checkout", identifier_kind=IdentifierKind.EMAIL),
    )

    def __init__(self, **kwargs: Any) -> None:
        self.oauth = OAuthServer(clock=lambda: self.clock(), access_ttl=30 * 86400.0)
        self.client_id, self.client_secret = self.oauth.register_client(CLIENT_ID, CLIENT_SECRET)
        self.refresh_token = self.oauth.issue_refresh_token(self.client_id, "ads:read,ads:write")
        self.lists: dict[str, CustomerList] = {}
        self.audiences: dict[str, Audience] = {}
        self.people = KnownPeople()  # the "Pinterest users"
        self.conversions: dict[tuple[str, str], dict[str, Any]] = {}  # (event_name, event_id) → event
        self.test_events = 0
        self.unhashed_refusals = 0
        self._ids = itertools.count(643)
        super().__init__(**kwargs)

    # -- vendor errors -----------------------------------------------------------------------

    def rate_limited(self) -> Response:
        return JSONResponse(
            {
                "code": 8,
                "message": "This request exceeded a rate limit. This can happen if the client "
                "exceeds one of the published rate limits within a short time window.",
            },
            status_code=429,
            headers={"Retry-After": "1"},
        )

    def server_error(self) -> Response:
        return JSONResponse({"code": 1, "message": "Internal error"}, status_code=500)

    def _authorise(self, request: Request, account: str) -> None:
        if self.oauth.bearer_refusal(request) is not None:
            raise PinterestError(401, 2, "Authentication failed.")
        if account != ACCOUNT_ID:
            raise PinterestError(403, 29, "You are not permitted to access that resource.")

    def _list(self, list_id: str) -> CustomerList:
        found = self.lists.get(list_id)
        if found is None:
            raise PinterestError(404, 2601, f"Customer list {list_id} not found.")
        return found

    def _refuse_unhashed(self, where: str, value: Any) -> None:
        if not isinstance(value, str) or not SHA256.fullmatch(value):
            self.unhashed_refusals += 1
            self.violation(f"unhashed value in {where}")
            raise PinterestError(400, 4196, f"Values in {where} must be normalised and SHA-256 hashed.")

    def _matched(self, customer_list: CustomerList) -> int:
        return self.people.count(customer_list.records)

    def _list_json(self, customer_list: CustomerList) -> dict[str, Any]:
        matched = self._matched(customer_list)
        return {
            "id": customer_list.id,
            "ad_account_id": ACCOUNT_ID,
            "name": customer_list.name,
            "type": "customerlist",
            "num_batches": customer_list.batches,
            "num_uploaded_user_records": customer_list.uploaded,
            "num_removed_user_records": customer_list.removed,
            "status": "READY" if matched >= MIN_AUDIENCE else "TOO_SMALL",
            "exceptions": {},
            "created_time": 1452208622,
            "updated_time": 1461269616,
        }

    def _audience_json(self, audience: Audience) -> dict[str, Any]:
        matched = (
            self._matched(self.lists[audience.customer_list_id])
            if audience.customer_list_id in self.lists
            else 0
        )
        return {
            "id": audience.id,
            "ad_account_id": ACCOUNT_ID,
            "name": audience.name,
            "audience_type": "CUSTOMER_LIST",
            "description": audience.description,
            "rule": {"customer_list_id": audience.customer_list_id},
            "size": matched,
            "status": "READY" if matched >= MIN_AUDIENCE else "TOO_SMALL",
            "type": "audience",
        }

    def _page(self, request: Request, every: list[dict[str, Any]]) -> dict[str, Any]:
        size = self.page_size(int(request.query_params.get("page_size", 25)), MAX_PAGE)
        start = int(request.query_params.get("bookmark") or 0)
        more = start + size < len(every)
        return {"items": every[start : start + size], "bookmark": str(start + size) if more else None}

    def _records(self, body: dict[str, Any]) -> list[str]:
        raw = body.get("records")
        if not isinstance(raw, str) or not raw.strip():
            raise PinterestError(400, 4196, "records is required.")
        records = [r.strip() for r in raw.split(",") if r.strip()]
        for record in records:
            self._refuse_unhashed("records", record)
        return records

    # -- routes ------------------------------------------------------------------------------

    def add_routes(self, app: FastAPI) -> None:
        @app.exception_handler(PinterestError)
        async def _error(_: Request, exc: PinterestError) -> JSONResponse:
            return JSONResponse({"code": exc.code, "message": exc.message}, status_code=exc.status)

        self.oauth.add_routes(app, token_path="/v5/oauth/token", authorize_path="/oauth/")  # noqa: S106

        @app.get("/v5/ad_accounts/{account}")
        def get_account(account: str, request: Request) -> dict[str, Any]:
            self._authorise(request, account)
            return {"id": account, "name": "Sluice demo ad account", "country": "US", "currency": "USD"}

        @app.get("/v5/ad_accounts/{account}/customer_lists")
        def list_lists(account: str, request: Request) -> dict[str, Any]:
            self._authorise(request, account)
            return self._page(request, [self._list_json(c) for c in self.lists.values()])

        @app.post("/v5/ad_accounts/{account}/customer_lists")
        async def create_list(account: str, request: Request) -> dict[str, Any]:
            self._authorise(request, account)
            body = await self.json_body(request) or {}
            if not body.get("name"):
                raise PinterestError(400, 4196, "name is required.")
            records = self._records(body)
            customer_list = CustomerList(
                str(next(self._ids)), str(body["name"]), str(body.get("list_type", "EMAIL"))
            )
            customer_list.records.update(records)
            customer_list.uploaded = len(records)
            self.lists[customer_list.id] = customer_list
            return self._list_json(customer_list)

        @app.get("/v5/ad_accounts/{account}/customer_lists/{list_id}")
        def get_list(account: str, list_id: str, request: Request) -> dict[str, Any]:
            self._authorise(request, account)
            return self._list_json(self._list(list_id))

        @app.patch("/v5/ad_accounts/{account}/customer_lists/{list_id}")
        async def update_list(account: str, list_id: str, request: Request) -> dict[str, Any]:
            self._authorise(request, account)
            customer_list = self._list(list_id)
            body = await self.json_body(request) or {}
            operation = body.get("operation_type")
            if operation not in ("ADD", "REMOVE"):
                raise PinterestError(400, 4196, "operation_type must be ADD or REMOVE.")
            records = self._records(body)
            customer_list.batches += 1
            if operation == "ADD":
                customer_list.records.update(records)
                customer_list.uploaded += len(records)
            else:
                customer_list.records.difference_update(records)
                customer_list.removed += len(records)
            return self._list_json(customer_list)

        @app.get("/v5/ad_accounts/{account}/audiences")
        def list_audiences(account: str, request: Request) -> dict[str, Any]:
            self._authorise(request, account)
            return self._page(request, [self._audience_json(a) for a in self.audiences.values()])

        @app.post("/v5/ad_accounts/{account}/audiences")
        async def create_audience(account: str, request: Request) -> dict[str, Any]:
            self._authorise(request, account)
            body = await self.json_body(request) or {}
            list_id = str((body.get("rule") or {}).get("customer_list_id", ""))
            if body.get("audience_type") != "CUSTOMER_LIST" or not body.get("name"):
                raise PinterestError(400, 4196, "audience_type CUSTOMER_LIST and name are required.")
            self._list(list_id)
            audience = Audience(
                str(next(self._ids)), str(body["name"]), list_id, str(body.get("description", ""))
            )
            self.audiences[audience.id] = audience
            return self._audience_json(audience)

        @app.post("/v5/ad_accounts/{account}/events")
        async def send_events(account: str, request: Request) -> JSONResponse:
            self._authorise(request, account)
            body = await self.json_body(request) or {}
            data = body.get("data")
            if not isinstance(data, list) or not data:
                raise PinterestError(400, 4196, "data must be a non-empty array.")
            if len(data) > EVENTS_LIMIT:
                self.violation(f"batch of {len(data)} events")
                raise PinterestError(400, 4196, f"At most {EVENTS_LIMIT} events per request.")
            testing = request.query_params.get("test", "").lower() == "true"
            answers = [self._conversion(event, testing) for event in data]
            processed = sum(1 for a in answers if a["status"] == "processed")
            result = {"num_events_received": len(data), "num_events_processed": processed, "events": answers}
            if processed == len(data):
                return JSONResponse(result)
            return JSONResponse(
                {"code": 4196, "message": "Not all events were successfully processed.", "details": result},
                status_code=422,
            )

    def _conversion(self, event: Any, testing: bool) -> dict[str, Any]:
        """Validate one conversion and record it (once per event id); the per-event answer."""
        if not isinstance(event, dict):
            return {"status": "failed", "error_message": "Event must be an object.", "warning_message": None}
        missing = [
            k
            for k in ("event_name", "action_source", "event_time", "user_data", "event_id")
            if k not in event
        ]
        problem = f"Missing required fields: {', '.join(missing)}" if missing else None
        if not problem and event["event_name"] not in EVENT_NAMES:
            problem = f"Invalid event_name {event['event_name']!r}."
        if not problem and event["action_source"] not in ACTION_SOURCES:
            problem = f"Invalid action_source {event['action_source']!r}."
        if not problem and (
            not isinstance(event["event_time"], int) or event["event_time"] > self.clock() + FUTURE_LIMIT
        ):
            problem = "event_time must be Unix seconds, not in the future."
        user_data = event.get("user_data") if not problem else None
        if not problem and not isinstance(user_data, dict):
            problem = "user_data must be an object."
        if isinstance(user_data, dict):
            for key in HASHED_USER_KEYS & set(user_data):
                for value in user_data[key] if isinstance(user_data[key], list) else [user_data[key]]:
                    self._refuse_unhashed(f"user_data.{key}", value)
            if not (
                user_data.get("em")
                or user_data.get("hashed_maids")
                or {"client_ip_address", "client_user_agent"} <= set(user_data)
            ):
                problem = "user_data needs em, hashed_maids or client_ip_address with client_user_agent."
        if problem:
            return {"status": "failed", "error_message": problem, "warning_message": None}
        if testing:
            self.test_events += 1
        else:
            self.conversions.setdefault((str(event["event_name"]), str(event["event_id"])), event)
        return {"status": "processed", "error_message": None, "warning_message": None}

    def state(self) -> dict[str, Any]:
        return {
            "customer_lists": [
                {"id": c.id, "name": c.name, "records": len(c.records), "matched": self._matched(c)}
                for c in self.lists.values()
            ],
            "conversions": len(self.conversions),
            "test_events": self.test_events,
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
            "refresh_token": self.refresh_token if valid else "pinr.revoked-refresh-token",
            "oauth_base_url": base_url.rstrip("/"),
            "ad_account_id": ACCOUNT_ID,
            "base_url": f"{base_url.rstrip('/')}/v5",
        }

    def target_spec(self) -> TargetSpec:
        return TargetSpec(kind="customer_list", name="Sluice conformance")

    def members(self, target: Target) -> set[str]:
        """Matched members (records of seeded people), as the ops carried them."""
        return self.people.matched(self._list(target.id).records)

    def seed_members(self, target: Target, identifiers: Iterable[str]) -> None:
        self._list(target.id).records.update(email_digest(e) for e in identifiers)

    def seed_targets(self, names: Iterable[str], spec: TargetSpec) -> None:
        for name in names:
            customer_list = CustomerList(str(next(self._ids)), name, "EMAIL")
            self.lists[customer_list.id] = customer_list

    def event_fields(self, target: Target, number: int, occurred_at: datetime) -> dict[str, Any]:
        return {
            "time": occurred_at,
            "value": f"{number * 10}.50",
            "currency": "USD",
            "order_id": f"order-{number}",
        }

    def consent_fields(self, target: Target) -> tuple[dict[str, Any], dict[str, Any]]:
        return {"opt_out": True}, {"opt_out": True}

    def received_events(self, target: Target) -> list[ReceivedEvent]:
        """Conversions recorded for ``target``'s event name (one per event id), people mapped back
        from their hashed email through the seeded contacts."""
        return [
            ReceivedEvent(
                self.people.reveal(event["user_data"]["em"][0]),
                datetime.fromtimestamp(event["event_time"], UTC),
                str(event["event_id"]),
                {"opt_out": event["opt_out"]} if "opt_out" in event else {},
            )
            for (name, _), event in self.conversions.items()
            if name == target.id and event["user_data"].get("em")
        ]
