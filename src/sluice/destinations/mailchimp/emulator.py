"""A local fake of the Mailchimp Marketing API v3 (the parts Sluice uses).

Faithful to: Basic auth with the API key as password (401 ``API Key Invalid`` otherwise),
problem+json errors with ``X-Request-Id`` = ``instance``, ``count`` (≤1000) + ``offset``
paging with ``total_items``, static segments with 500-per-array batch writes (400 beyond),
per-email ``errors`` for emails that are not contacts of the audience, and a 429 without any
rate header once more than 10 requests are in flight.
"""

from __future__ import annotations

import hashlib
import itertools
import uuid
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse, Response

from sluice.destinations.emulation import Emulator
from sluice.destinations.sdk import Target, TargetSpec

API_KEY = "emulator0000000000000000000000-us1"
LIST_ID = "a1b2c3d4e5"
BATCH_LIMIT = 500
MAX_COUNT = 1000
NOT_IN_AUDIENCE = "Email address is not a member of this audience"


def subscriber_hash(email: str) -> str:
    """Mailchimp's member id: MD5 of the lowercased email."""
    return hashlib.md5(email.lower().encode(), usedforsecurity=False).hexdigest()


@dataclass
class Segment:
    id: int
    name: str
    type: str = "static"
    members: set[str] = field(default_factory=set)
    created_at: str = field(default_factory=lambda: datetime.now(UTC).isoformat(timespec="seconds"))


@dataclass
class Audience:
    id: str
    name: str
    members: dict[str, str] = field(default_factory=dict)  # lower email → email as stored
    hashes: dict[str, str] = field(default_factory=dict)  # lower email → subscriber hash
    merge_fields: dict[str, dict[str, Any]] = field(default_factory=dict)  # lower email → fields
    segments: dict[int, Segment] = field(default_factory=dict)


class MailchimpProblem(Exception):
    def __init__(self, status: int, title: str, detail: str) -> None:
        self.status, self.title, self.detail = status, title, detail


def select_fields(body: dict[str, Any], fields: str | None) -> dict[str, Any]:
    """Mailchimp's partial responses: ``fields=errors,members.email_address`` keeps only those."""
    if not fields:
        return body
    wanted: dict[str, set[str]] = {}
    for path in fields.split(","):
        top, _, sub = path.strip().partition(".")
        wanted.setdefault(top, set()).update({sub} if sub else set())
    selected: dict[str, Any] = {}
    for key, subs in wanted.items():
        if key not in body:
            continue
        value = body[key]
        if subs and isinstance(value, list):
            value = [{k: v for k, v in item.items() if k in subs} for item in value]
        selected[key] = value
    return selected


def problem(status: int, title: str, detail: str) -> JSONResponse:
    instance = str(uuid.uuid4())
    body = {
        "type": "https://mailchimp.com/developer/marketing/docs/errors/",
        "title": title,
        "status": status,
        "detail": detail,
        "instance": instance,
    }
    return JSONResponse(
        body, status_code=status, media_type="application/problem+json", headers={"X-Request-Id": instance}
    )


class MailchimpEmulator(Emulator):
    """One Mailchimp account with one audience, served under ``/3.0``."""

    name = "mailchimp"
    batch_limit = BATCH_LIMIT
    unknown_contact_message = NOT_IN_AUDIENCE
    max_concurrent = 10

    def __init__(self, **kwargs: Any) -> None:
        self.api_key = API_KEY
        self.audiences = {LIST_ID: Audience(LIST_ID, "Sluice demo audience")}
        self._ids = itertools.count(1001)
        super().__init__(**kwargs)

    # -- vendor errors ---------------------------------------------------------------------

    def rate_limited(self) -> Response:
        return problem(
            429, "Too Many Requests", "You have exceeded the limit of 10 simultaneous connections."
        )

    def server_error(self) -> Response:
        return problem(500, "Internal Server Error", "An unexpected internal error has occurred.")

    def _authorise(self, request: Request) -> None:
        import base64

        header = request.headers.get("authorization", "")
        scheme, _, value = header.partition(" ")
        key = ""
        if scheme.lower() == "basic":
            try:
                key = base64.b64decode(value).decode().partition(":")[2]
            except (ValueError, UnicodeDecodeError):
                key = ""
        elif scheme.lower() in ("bearer", "oauth"):
            key = value
        if not header:
            raise MailchimpProblem(401, "API Key Missing", "Your request did not include an API key.")
        if key != self.api_key:
            raise MailchimpProblem(
                401,
                "API Key Invalid",
                "Your API key may be invalid, or you've attempted to access the wrong datacenter.",
            )

    def _audience(self, list_id: str) -> Audience:
        audience = self.audiences.get(list_id)
        if audience is None:
            raise MailchimpProblem(404, "Resource Not Found", "The requested resource could not be found.")
        return audience

    def _segment(self, audience: Audience, segment_id: str) -> Segment:
        segment = audience.segments.get(int(segment_id)) if segment_id.isdigit() else None
        if segment is None:
            raise MailchimpProblem(404, "Resource Not Found", "The requested resource could not be found.")
        return segment

    def _page(self, request: Request) -> tuple[int, int]:
        count = self.page_size(int(request.query_params.get("count", 10)), MAX_COUNT)
        return count, int(request.query_params.get("offset", 0))

    def _segment_json(self, audience: Audience, segment: Segment) -> dict[str, Any]:
        return {
            "id": segment.id,
            "name": segment.name,
            "member_count": len(segment.members),
            "type": segment.type,
            "created_at": segment.created_at,
            "updated_at": segment.created_at,
            "list_id": audience.id,
        }

    # -- routes ------------------------------------------------------------------------------

    def add_routes(self, app: FastAPI) -> None:
        @app.exception_handler(MailchimpProblem)
        async def _problem(_: Request, exc: MailchimpProblem) -> JSONResponse:
            return problem(exc.status, exc.title, exc.detail)

        @app.get("/3.0/ping")
        def ping(request: Request) -> dict[str, str]:
            self._authorise(request)
            return {"health_status": "Everything's Chimpy!"}

        @app.get("/3.0/lists")
        def lists(request: Request) -> dict[str, Any]:
            self._authorise(request)
            count, offset = self._page(request)
            every = list(self.audiences.values())
            return {
                "lists": [
                    {"id": a.id, "name": a.name, "stats": {"member_count": len(a.members)}}
                    for a in every[offset : offset + count]
                ],
                "total_items": len(every),
            }

        @app.get("/3.0/lists/{list_id}")
        def one_list(list_id: str, request: Request) -> dict[str, Any]:
            self._authorise(request)
            audience = self._audience(list_id)
            return {
                "id": audience.id,
                "name": audience.name,
                "stats": {"member_count": len(audience.members)},
            }

        def find_member(audience: Audience, member_hash: str) -> str:
            lowered = member_hash.lower()
            if lowered in audience.members:
                return lowered
            for lower, hashed in audience.hashes.items():
                if hashed == lowered:
                    return lower
            raise MailchimpProblem(404, "Resource Not Found", "The requested resource could not be found.")

        @app.get("/3.0/lists/{list_id}/members/{member_hash}")
        def member(list_id: str, member_hash: str, request: Request) -> dict[str, Any]:
            self._authorise(request)
            audience = self._audience(list_id)
            return self._member_json(audience, find_member(audience, member_hash))

        @app.patch("/3.0/lists/{list_id}/members/{member_hash}")
        async def patch_member(list_id: str, member_hash: str, request: Request) -> dict[str, Any]:
            self._authorise(request)
            audience = self._audience(list_id)
            lower = find_member(audience, member_hash)
            body = await self.json_body(request)
            merge_fields = body.get("merge_fields") or {}
            bad = [name for name in merge_fields if not (name.isupper() and len(name) <= 10)]
            if bad:
                raise MailchimpProblem(
                    400,
                    "Invalid Resource",
                    f"Your merge fields were invalid: {', '.join(bad)} is not a merge tag of this audience",
                )
            audience.merge_fields.setdefault(lower, {}).update(merge_fields)
            return self._member_json(audience, lower)

        @app.delete("/3.0/lists/{list_id}/members/{member_hash}", status_code=204)
        def archive_member(list_id: str, member_hash: str, request: Request) -> Response:
            self._authorise(request)
            audience = self._audience(list_id)
            lower = find_member(audience, member_hash)
            audience.members.pop(lower)
            audience.merge_fields.pop(lower, None)
            for segment in audience.segments.values():
                segment.members.discard(lower)
            return Response(status_code=204)

        @app.get("/3.0/lists/{list_id}/segments")
        def segments(list_id: str, request: Request) -> dict[str, Any]:
            self._authorise(request)
            audience = self._audience(list_id)
            count, offset = self._page(request)
            kind = request.query_params.get("type")
            chosen = [s for s in audience.segments.values() if kind in (None, s.type)]
            return {
                "segments": [self._segment_json(audience, s) for s in chosen[offset : offset + count]],
                "list_id": audience.id,
                "total_items": len(chosen),
            }

        @app.post("/3.0/lists/{list_id}/segments")
        async def create_segment(list_id: str, request: Request) -> dict[str, Any]:
            self._authorise(request)
            audience = self._audience(list_id)
            body = await self.json_body(request)
            if not body.get("name"):
                raise MailchimpProblem(
                    400, "Invalid Resource", "The resource submitted could not be validated."
                )
            if "static_segment" not in body and "options" not in body:
                raise MailchimpProblem(
                    400,
                    "Invalid Resource",
                    'Must provide either an "options" field or a "static_segment" field',
                )
            segment = Segment(
                next(self._ids), str(body["name"]), "static" if "static_segment" in body else "saved"
            )
            for email in body.get("static_segment") or []:
                if email.lower() in audience.members:
                    segment.members.add(email.lower())
            audience.segments[segment.id] = segment
            return self._segment_json(audience, segment)

        @app.get("/3.0/lists/{list_id}/segments/{segment_id}")
        def get_segment(list_id: str, segment_id: str, request: Request) -> dict[str, Any]:
            self._authorise(request)
            audience = self._audience(list_id)
            return self._segment_json(audience, self._segment(audience, segment_id))

        @app.delete("/3.0/lists/{list_id}/segments/{segment_id}", status_code=204)
        def delete_segment(list_id: str, segment_id: str, request: Request) -> Response:
            self._authorise(request)
            audience = self._audience(list_id)
            audience.segments.pop(self._segment(audience, segment_id).id)
            return Response(status_code=204)

        @app.post("/3.0/lists/{list_id}/segments/{segment_id}")
        async def batch_members(list_id: str, segment_id: str, request: Request) -> JSONResponse:
            self._authorise(request)
            audience = self._audience(list_id)
            segment = self._segment(audience, segment_id)
            body = await self.json_body(request)
            to_add = list(body.get("members_to_add") or [])
            to_remove = list(body.get("members_to_remove") or [])
            if len(to_add) > BATCH_LIMIT or len(to_remove) > BATCH_LIMIT:
                self.violation(f"batch of {max(len(to_add), len(to_remove))} members")
                raise MailchimpProblem(
                    400,
                    "Invalid Resource",
                    "Maximum allowed member items exceeded, please provide at most 500 items in "
                    "members_to_add field or members_to_remove field",
                )
            if segment.type != "static":
                raise MailchimpProblem(
                    400,
                    "Invalid Resource",
                    f"A Static Segment with an id of {segment.id} does not exist for this list",
                )
            added: list[str] = []
            removed: list[str] = []
            missing: list[str] = []
            known, members = audience.members, segment.members
            for email in to_add:
                lower = email.lower()
                if lower not in known:
                    missing.append(email)
                elif lower not in members:
                    members.add(lower)
                    added.append(lower)
            for email in to_remove:
                lower = email.lower()
                if lower not in known:
                    missing.append(email)
                elif lower in members:
                    members.discard(lower)
                    removed.append(lower)
            fields = request.query_params.get("fields")
            echo = not fields or "members_added" in fields or "members_removed" in fields
            body = {
                "members_added": [self._member_json(audience, e) for e in added] if echo else [],
                "members_removed": [self._member_json(audience, e) for e in removed] if echo else [],
                "errors": [{"email_addresses": missing, "error": NOT_IN_AUDIENCE}] if missing else [],
                "total_added": len(added),
                "total_removed": len(removed),
                "error_count": len(missing),
            }
            return JSONResponse(select_fields(body, fields))

        @app.get("/3.0/lists/{list_id}/segments/{segment_id}/members")
        def segment_members(list_id: str, segment_id: str, request: Request) -> dict[str, Any]:
            self._authorise(request)
            audience = self._audience(list_id)
            segment = self._segment(audience, segment_id)
            count, offset = self._page(request)
            emails = sorted(segment.members)
            body = {
                "members": [self._member_json(audience, e) for e in emails[offset : offset + count]],
                "total_items": len(emails),
            }
            return select_fields(body, request.query_params.get("fields"))

    def _member_json(self, audience: Audience, email: str) -> dict[str, Any]:
        lower = email.lower()
        stored = audience.members.get(lower, email)
        return {
            "id": audience.hashes.get(lower) or subscriber_hash(stored),
            "email_address": stored,
            "status": "subscribed",
            "merge_fields": audience.merge_fields.get(lower, {}),
            "list_id": audience.id,
        }

    def state(self) -> dict[str, Any]:
        return {
            "audiences": [
                {
                    "id": a.id,
                    "name": a.name,
                    "contacts": len(a.members),
                    "segments": [
                        {"id": s.id, "name": s.name, "type": s.type, "members": len(s.members)}
                        for s in a.segments.values()
                    ],
                }
                for a in self.audiences.values()
            ]
        }

    # -- conformance hooks ---------------------------------------------------------------------

    def seed_contacts(self, identifiers: Iterable[str]) -> None:
        audience = self.audiences[LIST_ID]
        for email in identifiers:
            audience.members[email.lower()] = email
            audience.hashes[email.lower()] = subscriber_hash(email)

    def connector_config(self, base_url: str, *, valid: bool = True) -> dict[str, Any]:
        key = self.api_key if valid else "wrong0000000000000000000000000-us1"
        return {"api_key": key, "list_id": LIST_ID, "base_url": f"{base_url.rstrip('/')}/3.0"}

    def target_spec(self) -> TargetSpec:
        return TargetSpec(kind="static_segment", name="Sluice conformance")

    def members(self, target: Target) -> set[str]:
        audience = self.audiences[target.parent_id or LIST_ID]
        segment = audience.segments.get(int(target.id))
        return {audience.members[e] for e in segment.members} if segment else set()

    def seed_members(self, target: Target, identifiers: Iterable[str]) -> None:
        audience = self.audiences[target.parent_id or LIST_ID]
        audience.segments[int(target.id)].members.update(e.lower() for e in identifiers)

    def seed_targets(self, names: Iterable[str], spec: TargetSpec) -> None:
        audience = self.audiences[LIST_ID]
        for name in names:
            segment = Segment(next(self._ids), name)
            audience.segments[segment.id] = segment
