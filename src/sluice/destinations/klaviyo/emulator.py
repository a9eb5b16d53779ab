"""A local fake of the Klaviyo API (revision 2026-07-15; the parts Sluice uses).

Faithful to: ``Authorization: Klaviyo-API-Key`` (401 ``not_authenticated``) and the required
``revision`` header (400 without it), JSON:API bodies and ``errors[]`` envelopes, cursor pages
(``links.next`` with ``page[cursor]``; lists ≤ 10 per page, profiles ≤ 100), ``filter=any(…)`` /
``equals(…)`` on profile email / external_id / phone_number / id and list name, list relationship
writes of ≤ 1000 profile ids (204), bulk import jobs of ≤ 10,000 profiles that run asynchronously
(``queued`` → ``processing`` → ``complete`` over successive polls) and report per-profile
``import-errors``, subscribe (≤ 1000) / unsubscribe (≤ 100) jobs (202), and burst (1 s) + steady
(1 min) windows: ``RateLimit-*`` headers on other answers, 429 with ``Retry-After``.
"""

from __future__ import annotations

import itertools
import json
import re
import uuid
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any
from urllib.parse import urlencode

from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse, Response

from sluice.destinations.emulation import Emulator, local_path
from sluice.destinations.sdk import IdentifierKind, Target, TargetSpec

API_KEY = "pk_emulator0000000000000000000000000"
LIST_PAGE = 10
PROFILE_PAGE = 100
RELATIONSHIP_LIMIT = 1000
IMPORT_LIMIT = 10_000
SUBSCRIBE_LIMIT = 1000
UNSUBSCRIBE_LIMIT = 100
PHONE = re.compile(r"^\+[1-9]\d{6,14}$")
FILTER = re.compile(r"^(any|equals)\((\w+),(.*)\)$", re.DOTALL)
JSON_API = "application/vnd.api+json"
PROFILE_KEYS = ("email", "external_id", "phone_number")


@dataclass
class Profile:
    id: str
    email: str | None = None
    external_id: str | None = None
    phone_number: str | None = None
    attributes: dict[str, Any] = field(default_factory=dict)
    properties: dict[str, Any] = field(default_factory=dict)
    subscriptions: dict[str, str] = field(default_factory=dict)  # "email"/"sms" → consent


@dataclass
class KList:
    id: str
    name: str
    members: set[str] = field(default_factory=set)  # profile ids


@dataclass
class ImportJob:
    id: str
    profiles: list[dict[str, Any]]
    polls: int = 0
    status: str = "queued"
    errors: list[dict[str, Any]] = field(default_factory=list)
    created_at: str = field(default_factory=lambda: datetime.now(UTC).isoformat())


def errors(status: int, code: str, title: str, detail: str, pointer: str | None = None) -> JSONResponse:
    error: dict[str, Any] = {
        "id": str(uuid.uuid4()),
        "status": status,
        "code": code,
        "title": title,
        "detail": detail,
    }
    if pointer:
        error["source"] = {"pointer": pointer}
    return JSONResponse({"errors": [error]}, status, media_type=JSON_API)


class KlaviyoProblem(Exception):
    def __init__(self, response: JSONResponse) -> None:
        self.response = response


def parse_filter(text: str | None) -> tuple[str, list[str]] | None:
    """``any(email,["a","b"])`` / ``equals(name,"x")`` → (field, values)."""
    if not text:
        return None
    match = FILTER.match(text.strip())
    if not match:
        raise KlaviyoProblem(
            errors(400, "invalid", "Invalid input.", f"Invalid filter provided: {text}", None)
        )
    raw = match.group(3).strip()
    try:
        value = json.loads(raw.replace("'", '"'))
    except ValueError:
        value = raw.strip("'\"")
    values = value if isinstance(value, list) else [value]
    return match.group(2), [str(v) for v in values]


class KlaviyoEmulator(Emulator):
    """One Klaviyo account."""

    name = "klaviyo"
    batch_limit = PROFILE_PAGE
    unknown_contact_message = "Profile not found"
    upsert_specs = (
        TargetSpec(kind="profiles", identifier_kind=IdentifierKind.EMAIL),
        TargetSpec(kind="profiles", identifier_kind=IdentifierKind.EXTERNAL_ID),
    )

    def __init__(
        self, *, burst: int = 75, steady: int = 700, polls_to_complete: int = 2, **kwargs: Any
    ) -> None:
        self.api_key = API_KEY
        self.profiles: dict[str, Profile] = {}
        self.lists: dict[str, KList] = {}
        self.jobs: dict[str, ImportJob] = {}
        self.subscription_jobs: list[dict[str, Any]] = []
        self.windows = {1.0: [burst, 0.0, 0], 60.0: [steady, 0.0, 0]}  # length → [limit, start, used]
        self.polls_to_complete = polls_to_complete
        self._ids = itertools.count(1)
        super().__init__(**kwargs)

    def _id(self, prefix: str = "01J") -> str:
        return f"{prefix}{next(self._ids):023d}"

    # -- rate windows and errors -----------------------------------------------------------

    def _roll(self) -> None:
        now = self.clock()
        for length, window in self.windows.items():
            if now - window[1] >= length:
                window[1], window[2] = now, 0

    def response_headers(self) -> dict[str, str]:
        self._roll()
        limit, start, used = self.windows[60.0]
        return {
            "RateLimit-Limit": str(limit),
            "RateLimit-Remaining": str(max(limit - used, 0)),
            "RateLimit-Reset": str(max(int(start + 60.0 - self.clock()), 0)),
        }

    def rate_limited(self, retry_after: float = 1.0) -> Response:
        response = errors(
            429,
            "throttled",
            "Request was throttled.",
            "Request was throttled. Expected available in 1 second.",
        )
        response.headers["Retry-After"] = str(max(int(retry_after + 0.999), 1))
        return response

    def server_error(self) -> Response:
        return errors(500, "error", "A server error occurred.", "A server error occurred.")

    async def gate(self, request: Request) -> Response | None:
        self._roll()
        for length, window in self.windows.items():
            if window[2] >= window[0]:
                return self.rate_limited(window[1] + length - self.clock())
        for window in self.windows.values():
            window[2] += 1
        if request.headers.get("authorization") != f"Klaviyo-API-Key {self.api_key}":
            return errors(
                401,
                "not_authenticated",
                "Authentication credentials were not provided.",
                "Missing or invalid private key.",
            )
        if not request.headers.get("revision"):
            return errors(400, "invalid", "Invalid input.", "The revision header is required.")
        return None

    # -- data helpers ----------------------------------------------------------------------------

    def find(self, key: str, value: str) -> Profile | None:
        if key == "id":
            return self.profiles.get(value)
        for profile in self.profiles.values():
            stored = getattr(profile, key)
            if stored is not None and (
                stored.lower() == value.lower() if key == "email" else stored == value
            ):
                return profile
        return None

    def _profile_json(self, profile: Profile, fields: str | None = None) -> dict[str, Any]:
        attributes: dict[str, Any] = {
            "email": profile.email,
            "external_id": profile.external_id,
            "phone_number": profile.phone_number,
            **profile.attributes,
            "properties": profile.properties,
        }
        if fields:
            attributes = {k: v for k, v in attributes.items() if k in fields.split(",")}
        return {
            "type": "profile",
            "id": profile.id,
            "attributes": attributes,
            "links": {"self": f"/api/profiles/{profile.id}/"},
        }

    def _list_json(self, klist: KList) -> dict[str, Any]:
        return {
            "type": "list",
            "id": klist.id,
            "attributes": {"name": klist.name},
            "links": {"self": f"/api/lists/{klist.id}/"},
        }

    def _page(
        self, request: Request, items: list[Any], vendor_max: int, default: int
    ) -> tuple[list[Any], dict[str, Any]]:
        size = self.page_size(int(request.query_params.get("page[size]", default)), vendor_max)
        cursor = request.query_params.get("page[cursor]")
        start = int(cursor) if cursor and cursor.isdigit() else 0
        links: dict[str, Any] = {"self": str(request.url), "next": None, "prev": None}
        if start + size < len(items):
            query = {k: v for k, v in request.query_params.items() if k != "page[cursor]"}
            query["page[cursor]"] = str(start + size)
            links["next"] = f"{str(request.base_url).rstrip('/')}{local_path(request)}?{urlencode(query)}"
        return items[start : start + size], links

    def _apply_import(self, job: ImportJob) -> None:
        for index, item in enumerate(job.profiles):
            attributes = dict(item.get("attributes") or {})
            phone = attributes.get("phone_number")
            if phone is not None and not PHONE.match(str(phone)):
                job.errors.append(
                    {
                        "code": "invalid",
                        "title": "Invalid input.",
                        "detail": "Invalid phone number format (Example of a valid format: +13239169023)",
                        "source": {"pointer": f"/data/attributes/profiles/data/{index}"},
                        "original_payload": item,
                    }
                )
                continue
            profile = None
            for key in PROFILE_KEYS:
                if attributes.get(key):
                    profile = self.find(key, str(attributes[key]))
                    if profile:
                        break
            if profile is None:
                profile = Profile(self._id())
                self.profiles[profile.id] = profile
            for key in PROFILE_KEYS:
                if attributes.get(key):
                    setattr(profile, key, str(attributes[key]))
            for name, value in (attributes.pop("properties", None) or {}).items():
                profile.properties[name] = value
            location = attributes.pop("location", None) or {}
            for name, value in {**attributes, **location}.items():
                if name not in PROFILE_KEYS:
                    profile.attributes[name] = value

    # -- routes ------------------------------------------------------------------------------

    def add_routes(self, app: FastAPI) -> None:
        @app.exception_handler(KlaviyoProblem)
        async def _problem(_: Request, exc: KlaviyoProblem) -> JSONResponse:
            return exc.response

        def ok(body: dict[str, Any], status: int = 200) -> JSONResponse:
            return JSONResponse(body, status, media_type=JSON_API)

        def klist(list_id: str) -> KList:
            found = self.lists.get(list_id)
            if found is None:
                raise KlaviyoProblem(
                    errors(404, "not_found", "Not found.", f"A list with id {list_id} does not exist.")
                )
            return found

        @app.get("/api/accounts")
        async def accounts() -> JSONResponse:
            return ok(
                {
                    "data": [
                        {
                            "type": "account",
                            "id": "XyZ123",
                            "attributes": {"contact_information": {"organization_name": "Sluice demo store"}},
                        }
                    ],
                    "links": {"self": "/api/accounts/"},
                }
            )

        @app.get("/api/lists")
        async def lists(request: Request) -> JSONResponse:
            chosen = list(self.lists.values())
            parsed = parse_filter(request.query_params.get("filter"))
            if parsed:
                key, values = parsed
                chosen = [k for k in chosen if (k.name if key == "name" else k.id) in values]
            page, links = self._page(request, chosen, LIST_PAGE, LIST_PAGE)
            return ok({"data": [self._list_json(k) for k in page], "links": links})

        @app.post("/api/lists")
        async def create_list(request: Request) -> JSONResponse:
            body = await self.json_body(request)
            name = (((body or {}).get("data") or {}).get("attributes") or {}).get("name")
            if not name:
                return errors(
                    400, "invalid", "Invalid input.", "'name' is a required field.", "/data/attributes/name"
                )
            created = KList(self._id("Xk"), str(name))
            self.lists[created.id] = created
            return ok({"data": self._list_json(created)}, 201)

        @app.get("/api/lists/{list_id}")
        async def one_list(list_id: str) -> JSONResponse:
            return ok({"data": self._list_json(klist(list_id))})

        async def relationship(list_id: str, request: Request, adding: bool) -> Response:
            target = klist(list_id)
            body = await self.json_body(request)
            data = (body or {}).get("data") or []
            if len(data) > RELATIONSHIP_LIMIT:
                self.violation(f"{len(data)} profiles in one list relationship request")
                return errors(
                    400,
                    "invalid",
                    "Invalid input.",
                    f"At most {RELATIONSHIP_LIMIT} profiles per request.",
                    "/data",
                )
            unknown = [str(d.get("id")) for d in data if str(d.get("id")) not in self.profiles]
            if unknown:
                return errors(
                    400,
                    "invalid",
                    "Invalid input.",
                    f"Profile(s) {', '.join(unknown)} do not exist.",
                    "/data",
                )
            for item in data:
                (target.members.add if adding else target.members.discard)(str(item["id"]))
            return Response(status_code=204)

        @app.post("/api/lists/{list_id}/relationships/profiles")
        async def add_members(list_id: str, request: Request) -> Response:
            return await relationship(list_id, request, True)

        @app.delete("/api/lists/{list_id}/relationships/profiles")
        async def remove_members(list_id: str, request: Request) -> Response:
            return await relationship(list_id, request, False)

        @app.get("/api/lists/{list_id}/profiles")
        async def list_profiles(list_id: str, request: Request) -> JSONResponse:
            members = [self.profiles[p] for p in sorted(klist(list_id).members) if p in self.profiles]
            page, links = self._page(request, members, PROFILE_PAGE, 20)
            fields = request.query_params.get("fields[profile]")
            return ok({"data": [self._profile_json(p, fields) for p in page], "links": links})

        @app.get("/api/profiles")
        async def profiles(request: Request) -> JSONResponse:
            chosen = list(self.profiles.values())
            parsed = parse_filter(request.query_params.get("filter"))
            if parsed:
                key, values = parsed
                if key not in (*PROFILE_KEYS, "id"):
                    raise KlaviyoProblem(
                        errors(
                            400,
                            "invalid",
                            "Invalid input.",
                            f"'{key}' is not a valid field for the resource 'profile'.",
                            None,
                        )
                    )
                wanted = {v.lower() for v in values} if key == "email" else set(values)
                chosen = [
                    p
                    for p in chosen
                    if (value := getattr(p, key)) is not None
                    and (value.lower() if key == "email" else value) in wanted
                ]
            page, links = self._page(request, chosen, PROFILE_PAGE, 20)
            fields = request.query_params.get("fields[profile]")
            return ok({"data": [self._profile_json(p, fields) for p in page], "links": links})

        @app.post("/api/profile-bulk-import-jobs")
        async def create_import(request: Request) -> JSONResponse:
            body = await self.json_body(request)
            data = (body or {}).get("data") or {}
            items = ((data.get("attributes") or {}).get("profiles") or {}).get("data") or []
            if data.get("type") != "profile-bulk-import-job" or not items:
                return errors(
                    400,
                    "invalid",
                    "Invalid input.",
                    "A profile-bulk-import-job with profiles is required.",
                    "/data",
                )
            if len(items) > IMPORT_LIMIT:
                self.violation(f"{len(items)} profiles in one bulk import job")
                return errors(
                    413,
                    "invalid",
                    "Invalid input.",
                    f"At most {IMPORT_LIMIT} profiles per job.",
                    "/data/attributes/profiles",
                )
            job = ImportJob(self._id("Jb"), list(items))
            self.jobs[job.id] = job
            return ok({"data": self._job_json(job)}, 202)

        @app.get("/api/profile-bulk-import-jobs/{job_id}")
        async def import_job(job_id: str) -> JSONResponse:
            job = self.jobs.get(job_id)
            if job is None:
                return errors(404, "not_found", "Not found.", f"A job with id {job_id} does not exist.")
            job.polls += 1
            if job.status != "complete":
                job.status = "processing"
                if job.polls >= self.polls_to_complete:
                    self._apply_import(job)
                    job.status = "complete"
            return ok({"data": self._job_json(job)})

        @app.get("/api/profile-bulk-import-jobs/{job_id}/import-errors")
        async def import_errors(job_id: str, request: Request) -> JSONResponse:
            job = self.jobs.get(job_id)
            if job is None:
                return errors(404, "not_found", "Not found.", f"A job with id {job_id} does not exist.")
            page, links = self._page(request, job.errors, 100, 20)
            return ok(
                {
                    "data": [
                        {"type": "import-error", "id": str(uuid.uuid4()), "attributes": e} for e in page
                    ],
                    "links": links,
                }
            )

        async def subscription_job(request: Request, subscribing: bool) -> Response:
            body = await self.json_body(request)
            data = (body or {}).get("data") or {}
            profiles = ((data.get("attributes") or {}).get("profiles") or {}).get("data") or []
            limit = SUBSCRIBE_LIMIT if subscribing else UNSUBSCRIBE_LIMIT
            if len(profiles) > limit:
                self.violation(f"{len(profiles)} profiles in one subscription job")
                return errors(
                    400,
                    "invalid",
                    "Invalid input.",
                    f"At most {limit} profiles per request.",
                    "/data/attributes/profiles",
                )
            list_id = (((data.get("relationships") or {}).get("list") or {}).get("data") or {}).get("id")
            if list_id:
                klist(str(list_id))
            self.subscription_jobs.append(data)
            for item in profiles:
                attributes = item.get("attributes") or {}
                key = "email" if attributes.get("email") else "phone_number"
                profile = self.find(key, str(attributes.get(key)))
                if profile is None and subscribing:  # subscribing creates the profile
                    profile = Profile(self._id())
                    setattr(profile, key, str(attributes.get(key)))
                    self.profiles[profile.id] = profile
                if profile is None:
                    continue
                for channel, settings in (attributes.get("subscriptions") or {}).items():
                    profile.subscriptions[channel] = str((settings.get("marketing") or {}).get("consent"))
                if list_id and subscribing:
                    self.lists[str(list_id)].members.add(profile.id)
            return Response(status_code=202)

        @app.post("/api/profile-subscription-bulk-create-jobs")
        async def subscribe(request: Request) -> Response:
            return await subscription_job(request, True)

        @app.post("/api/profile-subscription-bulk-delete-jobs")
        async def unsubscribe(request: Request) -> Response:
            return await subscription_job(request, False)

    def _job_json(self, job: ImportJob) -> dict[str, Any]:
        done = job.status == "complete"
        return {
            "type": "profile-bulk-import-job",
            "id": job.id,
            "attributes": {
                "status": job.status,
                "created_at": job.created_at,
                "total_count": len(job.profiles),
                "completed_count": len(job.profiles) - len(job.errors) if done else 0,
                "failed_count": len(job.errors),
            },
            "links": {"self": f"/api/profile-bulk-import-jobs/{job.id}/"},
        }

    def state(self) -> dict[str, Any]:
        return {
            "profiles": len(self.profiles),
            "lists": [{"id": k.id, "name": k.name, "members": len(k.members)} for k in self.lists.values()],
            "import_jobs": len(self.jobs),
        }

    # -- conformance hooks ---------------------------------------------------------------------

    def seed_contacts(self, identifiers: Iterable[str]) -> None:
        known = {
            _seed_key(key, getattr(p, key))
            for p in self.profiles.values()
            for key in ("email", "external_id")
        }
        for identifier in identifiers:
            key = "email" if "@" in identifier else "external_id"
            if _seed_key(key, identifier) not in known:  # one pass, not a scan per contact (100k in the demo)
                known.add(_seed_key(key, identifier))
                profile = Profile(self._id())
                setattr(profile, key, identifier)
                self.profiles[profile.id] = profile

    def connector_config(self, base_url: str, *, valid: bool = True) -> dict[str, Any]:
        return {
            "api_key": self.api_key if valid else "pk_wrong",
            "base_url": base_url.rstrip("/"),
            "requests_per_second": 75,  # the emulator's burst window (L tier)
        }

    def target_spec(self) -> TargetSpec:
        return TargetSpec(kind="list", name="Sluice conformance")

    def members(self, target: Target) -> set[str]:
        members = self.lists[target.id].members
        return {p.email or p.external_id or p.id for p in self.profiles.values() if p.id in members}

    def seed_members(self, target: Target, identifiers: Iterable[str]) -> None:
        for identifier in identifiers:
            profile = self.find("email" if "@" in identifier else "external_id", identifier)
            if profile is not None:
                self.lists[target.id].members.add(profile.id)

    def seed_targets(self, names: Iterable[str], spec: TargetSpec) -> None:
        for name in names:
            created = KList(self._id("Xk"), name)
            self.lists[created.id] = created

    def upsert_fields(self, target: Target, number: int, version: int = 0) -> dict[str, Any]:
        return {"first_name": f"Ann{number}v{version}", "city": "Lyon", "loyalty_tier": f"gold{version}"}

    def records(self, target: Target) -> dict[str, dict[str, Any]]:
        key = "email" if target.identifier_kind is IdentifierKind.EMAIL else "external_id"
        return {
            str(getattr(p, key)): {**p.attributes, **p.properties}
            for p in self.profiles.values()
            if getattr(p, key)
        }

    def refused_fields(self, target: Target) -> tuple[dict[str, Any], str] | None:
        return {"phone_number": "12"}, "Invalid phone number format"


def _seed_key(key: str, value: object) -> tuple[str, str | None]:
    """How seeding recognises an existing contact: e-mails whatever their case."""
    if value is None:
        return (key, None)
    return (key, str(value).lower() if key == "email" else str(value))
