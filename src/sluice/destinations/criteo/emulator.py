"""A local fake of the Criteo Marketing Solutions API (contact-list audience segments) and its
OAuth token endpoint.

Faithful to: access tokens from ``POST /oauth2/token`` (client-credentials grant, 15-minute tokens,
:class:`OAuthServer`), ``Authorization: Bearer`` on every call, JSON:API-style bodies
``{"data": …, "errors": [...], "warnings": [...]}`` with problems ``{"traceId", "type", "code",
"instance", "title", "detail"}``, ``POST /audience-segments/search`` (``limit`` ≤ 100, ``offset``,
``meta.totalItems``), ``POST /audience-segments/create`` (contact-list segments need
``advertiserId`` and ``name``), and ``PATCH /audience-segments/{id}/contact-list`` answering
``ContactlistAmendment`` with ``nbValidIdentifiers``, ``nbInvalidIdentifiers`` and
``sampleInvalidIdentifiers`` (malformed digests or mobile ad ids are counted invalid, not stored).

Stricter than Criteo on purpose: Criteo hashes clear emails itself, but Sluice promises never to
send them, so a clear email refuses the whole request (400 ``unhashed-identifier``) and is recorded
as a limit violation. Stated assumptions (not confirmed against a live account): the 50,000
identifiers-per-call cap and its refusal, the 429 body, the problem codes.
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

VERSION = "2026-07"
API = f"/{VERSION}/marketing-solutions"
TOKEN_PATH = "/oauth2/token"  # noqa: S105 - a path, not a secret
CLIENT_ID = "sluice-criteo-app"
CLIENT_SECRET = "emulator-criteo-secret"  # noqa: S105 - the local fake's secret
ADVERTISER_ID = "84512"
BATCH_LIMIT = 50_000
MAX_LIMIT = 100
SAMPLE = 10
SHA256 = re.compile(r"[0-9a-f]{64}")
MADID = re.compile(r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}")


class Problem(Exception):
    def __init__(self, status: int, code: str, title: str, detail: str = "") -> None:
        self.status, self.code, self.title, self.detail = status, code, title, detail


def problem(status: int, code: str, title: str, detail: str = "") -> JSONResponse:
    kind = {401: "authentication", 403: "authorization", 429: "quota"}.get(status, "validation")
    error = {
        "traceId": uuid.uuid4().hex,
        "type": "availability" if status >= 500 else kind,
        "code": code,
        "instance": "",
        "title": title,
        "detail": detail or title,
    }
    return JSONResponse({"errors": [error], "warnings": []}, status_code=status)


@dataclass
class Segment:
    id: int
    name: str
    description: str = ""
    members: set[str] = field(default_factory=set)  # "<identifierType>:<value>"

    def json(self) -> dict[str, Any]:
        return {
            "id": str(self.id),
            "type": "AudienceSegment",
            "attributes": {
                "name": self.name,
                "description": self.description,
                "type": "ContactList",
                "advertiserId": ADVERTISER_ID,
                "contactList": {"isReadOnly": False},
                "channels": ["Onsite"],
            },
        }


class CriteoEmulator(Emulator):
    """One advertiser's contact-list segments and the OAuth server."""

    requires_hashing = True

    name = "criteo"
    batch_limit = BATCH_LIMIT
    unknown_contact_message = "Criteo does not report unmatched people"

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.oauth = OAuthServer(clock=self.clock, access_ttl=900.0)
        self.oauth.register_client(CLIENT_ID, CLIENT_SECRET)
        self.segments: dict[int, Segment] = {}
        self.people = KnownPeople()
        self.unhashed_refusals = 0
        self._ids = itertools.count(431_001)
        self.oauth.add_routes(self.app, token_path=TOKEN_PATH)

    # -- vendor errors -----------------------------------------------------------------------

    def rate_limited(self) -> Response:
        return problem(429, "too-many-requests", "Too many requests", "The API call quota is exceeded.")

    def server_error(self) -> Response:
        return problem(500, "internal-error", "Internal error")

    def _authorise(self, request: Request) -> None:
        if self.oauth.bearer_refusal(request) is not None:
            raise Problem(
                401, "authentication-failed", "Unauthorized", "The access token is missing or invalid."
            )

    def _segment(self, segment_id: str) -> Segment:
        found = self.segments.get(int(segment_id)) if segment_id.isdigit() else None
        if found is None:
            raise Problem(
                404, "segment-not-found", "Segment is not found", f"Segment {segment_id} was not found."
            )
        return found

    # -- routes ------------------------------------------------------------------------------

    def add_routes(self, app: FastAPI) -> None:
        @app.exception_handler(Problem)
        async def _problem(_: Request, exc: Problem) -> JSONResponse:
            return problem(exc.status, exc.code, exc.title, exc.detail)

        @app.post(f"{API}/audience-segments/search")
        async def search(request: Request) -> dict[str, Any]:
            self._authorise(request)
            attributes = ((await self.json_body(request) or {}).get("data") or {}).get("attributes") or {}
            if ADVERTISER_ID not in (attributes.get("advertiserIds") or [ADVERTISER_ID]):
                raise Problem(
                    403, "forbidden", "Forbidden", "The application has no access to this advertiser."
                )
            wanted = {str(i) for i in attributes.get("audienceSegmentIds") or []}
            every = [s for s in self.segments.values() if not wanted or str(s.id) in wanted]
            limit = self.page_size(int(request.query_params.get("limit", 50)), MAX_LIMIT)
            offset = int(request.query_params.get("offset", 0))
            return {
                "data": [s.json() for s in every[offset : offset + limit]],
                "meta": {"totalItems": len(every), "limit": limit, "offset": offset},
                "errors": [],
                "warnings": [],
            }

        @app.post(f"{API}/audience-segments/create")
        async def create(request: Request) -> dict[str, Any]:
            self._authorise(request)
            created = []
            warnings = []
            for item in (await self.json_body(request) or {}).get("data") or []:
                attributes = item.get("attributes") or {}
                if attributes.get("advertiserId") != ADVERTISER_ID:
                    raise Problem(
                        403, "forbidden", "Forbidden", "The application has no access to this advertiser."
                    )
                if not attributes.get("name") or "contactList" not in attributes:
                    warnings.append(
                        {"code": "name-must-not-be-empty", "title": "Segment name must not be empty"}
                    )
                    continue
                segment = Segment(
                    next(self._ids), str(attributes["name"]), str(attributes.get("description", ""))
                )
                self.segments[segment.id] = segment
                created.append({"id": str(segment.id), "type": "AudienceSegment"})
            return {"data": created, "errors": [], "warnings": warnings}

        @app.patch(f"{API}/audience-segments/{{segment_id}}/contact-list")
        async def amend(segment_id: str, request: Request) -> dict[str, Any]:
            self._authorise(request)
            segment = self._segment(segment_id)
            data = (await self.json_body(request) or {}).get("data") or {}
            attributes = data.get("attributes") or {}
            operation, id_type = attributes.get("operation"), attributes.get("identifierType")
            if data.get("type") != "ContactlistAmendment" or operation not in ("add", "remove"):
                raise Problem(
                    400, "invalid-operation", "Invalid operation", "operation must be add or remove"
                )
            if id_type not in ("email", "madid", "identityLink", "gum"):
                raise Problem(400, "invalid-identifier-type", "Invalid identifier type")
            identifiers = [str(i) for i in attributes.get("identifiers") or []]
            if len(identifiers) > BATCH_LIMIT:
                self.violation(f"batch of {len(identifiers)} identifiers")
                raise Problem(
                    400, "too-many-identifiers", "Too many identifiers", f"At most {BATCH_LIMIT} per call."
                )
            if id_type == "email" and any("@" in i for i in identifiers):
                self.unhashed_refusals += 1
                self.violation("unhashed email in a contact list amendment")
                raise Problem(400, "unhashed-identifier", "Clear emails are refused", "Send SHA-256 digests.")
            pattern = SHA256 if id_type == "email" else MADID
            valid = [i for i in identifiers if pattern.fullmatch(i)]
            invalid = [i for i in identifiers if not pattern.fullmatch(i)]
            keys = {f"{id_type}:{i}" for i in valid}
            if operation == "add":
                segment.members |= keys
            else:
                segment.members -= keys
            return {
                "data": {
                    "type": "ContactlistAmendment",
                    "attributes": {
                        "contactListId": segment.id,
                        "operation": operation,
                        "requestDate": "2026-12-04T00:00:00.000Z",
                        "identifierType": id_type,
                        "nbValidIdentifiers": len(valid),
                        "nbInvalidIdentifiers": len(invalid),
                        "sampleInvalidIdentifiers": invalid[:SAMPLE],
                    },
                },
                "errors": [],
                "warnings": [],
            }

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
        root = base_url.rstrip("/")
        return {
            "client_id": CLIENT_ID,
            "client_secret": CLIENT_SECRET if valid else "wrong-criteo-secret",
            "oauth_base_url": root,
            "advertiser_id": ADVERTISER_ID,
            "base_url": f"{root}{API}",
        }

    def target_spec(self) -> TargetSpec:
        return TargetSpec(kind="contact_list", name="Sluice conformance")

    def members(self, target: Target) -> set[str]:
        return {self.people.reveal_keyed(m, "email") for m in self._segment(target.id).members}

    def seed_members(self, target: Target, identifiers: Iterable[str]) -> None:
        self._segment(target.id).members.update(f"email:{email_digest(e)}" for e in identifiers)

    def seed_targets(self, names: Iterable[str], spec: TargetSpec) -> None:
        for name in names:
            segment = Segment(next(self._ids), name)
            self.segments[segment.id] = segment
