"""A local fake of the Zendesk Support API (users, custom objects, job statuses).

Faithful to: Basic auth ``{email}/token:{api_token}`` (401 "Couldn't authenticate you"), per-minute
request windows answered with 429 and ``Retry-After`` (plus ``X-Rate-Limit`` /
``X-Rate-Limit-Remaining`` on every response), ``create_or_update_many`` (≤ 100 users, matched by
email or ``external_id``) and custom object record jobs (≤ 100 items) that return a ``job_status``
which is ``queued`` until polled ``job_polls`` times and then ``completed`` with per-item results in
request order (``Created``/``Updated``/``Failed`` with ``details`` for users, ``success`` per record),
user fields and custom object fields that must exist with typed values, a user or record needing a
name when it is created (a user without one is named after its email), and 404 ``RecordNotFound``.
"""

from __future__ import annotations

import base64
import itertools
import uuid
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse, Response

from sluice.destinations.emulation import Emulator
from sluice.destinations.sdk import IdentifierKind, Target, TargetSpec

EMAIL = "admin@sluice-demo.test"
TOKEN = "emulator-zendesk-token"  # noqa: S105 - the emulator's fixed fake credential
SUBDOMAIN = "sluice-demo"
JOB_LIMIT = 100
WINDOW_SECONDS = 60.0
USER_STANDARD = frozenset(
    {"name", "phone", "alias", "details", "notes", "organization_id", "time_zone", "locale"}
)
TYPES: dict[str, tuple[type, ...]] = {
    "text": (str,),
    "integer": (int,),
    "decimal": (int, float),
    "checkbox": (bool,),
}


@dataclass
class User:
    id: int
    email: str | None
    external_id: str | None
    name: str
    attributes: dict[str, Any] = field(default_factory=dict)


@dataclass
class Record:
    id: str
    external_id: str
    name: str
    fields: dict[str, Any] = field(default_factory=dict)


@dataclass
class Job:
    id: str
    polls_left: int
    run: Any  # () -> list of results, applied when the job runs
    results: list[dict[str, Any]] | None = None


def zendesk_error(status: int, error: str, description: str, details: Any = None) -> JSONResponse:
    body: dict[str, Any] = {"error": error, "description": description}
    if details is not None:
        body["details"] = details
    return JSONResponse(body, status_code=status)


class ZendeskEmulator(Emulator):
    """One Zendesk account; ``limit_per_minute`` requests per minute; jobs finish after ``job_polls`` polls."""

    name = "zendesk"
    identifier_kind = IdentifierKind.EMAIL
    batch_limit = JOB_LIMIT
    unknown_contact_message = "RecordNotFound"
    upsert_specs = (
        TargetSpec("user", identifier_kind=IdentifierKind.EMAIL),
        TargetSpec("custom_object", id="loyalty_card", identifier_kind=IdentifierKind.EXTERNAL_ID),
    )

    def __init__(self, *, limit_per_minute: int = 700, job_polls: int = 1, **kwargs: Any) -> None:
        self.credentials = "Basic " + base64.b64encode(f"{EMAIL}/token:{TOKEN}".encode()).decode()
        self.users: dict[int, User] = {}
        self.user_fields: dict[str, str] = {"loyalty_points": "integer", "tier": "text"}
        self.objects: dict[str, dict[str, Any]] = {
            "loyalty_card": {
                "title": "Loyalty card",
                "fields": {"points": "integer", "tier": "text"},
                "records": {},
            }
        }
        self.jobs: dict[str, Job] = {}
        self.limit_per_minute = limit_per_minute
        self.job_polls = job_polls
        self._window_start = 0.0
        self._window_used = 0
        self._ids = itertools.count(360_000_000_001)
        super().__init__(**kwargs)

    # -- limits and errors -------------------------------------------------------------------

    def _window(self) -> tuple[int, float]:
        now = self.clock()
        if now - self._window_start >= WINDOW_SECONDS:
            self._window_start, self._window_used = now, 0
        return max(self.limit_per_minute - self._window_used, 0), self._window_start + WINDOW_SECONDS

    def response_headers(self) -> dict[str, str]:
        remaining, _ = self._window()
        return {"X-Rate-Limit": str(self.limit_per_minute), "X-Rate-Limit-Remaining": str(remaining)}

    def rate_limited(self) -> Response:
        _, reset = self._window()
        response = zendesk_error(429, "TooManyRequests", "Rate limit exceeded")
        response.headers["Retry-After"] = str(max(int(reset - self.clock() + 0.999), 1))
        return response

    def server_error(self) -> Response:
        return zendesk_error(500, "InternalError", "Something went wrong")

    async def gate(self, request: Request) -> Response | None:
        if request.headers.get("authorization") != self.credentials:
            return JSONResponse({"error": "Couldn't authenticate you"}, status_code=401)
        remaining, _ = self._window()
        if remaining <= 0:
            return self.rate_limited()
        self._window_used += 1
        return None

    # -- data ------------------------------------------------------------------------------------

    def _check(self, known: dict[str, str], values: dict[str, Any]) -> str | None:
        for key, value in values.items():
            kind = known.get(key)
            if kind is None:
                return f"{key}: is not a field"
            allowed = TYPES.get(kind, (str,))
            if value is not None and (
                not isinstance(value, allowed) or isinstance(value, bool) != (kind == "checkbox")
            ):
                return f"{key}: must be of type {kind}"
        return None

    def _find_user(self, entry: dict[str, Any]) -> User | None:
        external_id, email = entry.get("external_id"), str(entry.get("email") or "").lower()
        for user in self.users.values():
            if (external_id and user.external_id == external_id) or (
                email and (user.email or "").lower() == email
            ):
                return user
        return None

    def _upsert_user(self, entry: dict[str, Any]) -> dict[str, Any]:
        identity = {k: entry[k] for k in ("email", "external_id") if entry.get(k)}
        problem = self._check(self.user_fields, entry.get("user_fields") or {})
        if problem:
            return {"status": "Failed", "error": "UserUpdateError", "details": problem, **identity}
        user = self._find_user(entry)
        status = "Updated"
        if user is None:
            name = entry.get("name") or str(entry.get("email") or "").split("@")[0]
            if not name:
                return {
                    "status": "Failed",
                    "error": "UserCreateError",
                    "details": "Name: cannot be blank",
                    **identity,
                }
            user = User(next(self._ids), entry.get("email"), entry.get("external_id"), name)
            self.users[user.id] = user
            status = "Created"
        for key, value in entry.items():
            if key == "name" and value:
                user.name = value
            elif key in USER_STANDARD:
                user.attributes[key] = value
        user.attributes.update(entry.get("user_fields") or {})
        return {"id": user.id, "status": status, **identity}

    def _record_job(self, key: str, action: str, items: list[Any]) -> list[dict[str, Any]]:
        custom = self.objects[key]
        records: dict[str, Record] = custom["records"]
        results = []
        for index, item in enumerate(items):
            if action == "delete_by_external_id":
                found = records.pop(str(item), None)
                results.append(
                    {"index": index, "external_id": item, "success": True, "id": found.id if found else None}
                )
                continue
            external_id = str(item.get("external_id") or "")
            problem = self._check(custom["fields"], item.get("custom_object_fields") or {})
            record = records.get(external_id)
            if not problem and record is None and not item.get("name"):
                problem = "name: cannot be blank"
            if problem or not external_id:
                results.append(
                    {
                        "index": index,
                        "success": False,
                        "error": "RecordInvalid",
                        "details": problem or "external_id",
                    }
                )
                continue
            if record is None:
                record = Record(uuid.uuid4().hex[:26].upper(), external_id, str(item["name"]))
                records[external_id] = record
            record.name = str(item.get("name") or record.name)
            record.fields.update(item.get("custom_object_fields") or {})
            results.append({"index": index, "id": record.id, "external_id": external_id, "success": True})
        return results

    def _queue(self, run: Any, request: Request) -> JSONResponse:
        job = Job(uuid.uuid4().hex, self.job_polls, run)
        self.jobs[job.id] = job
        return JSONResponse({"job_status": self._job_json(job, request)})

    def _job_json(self, job: Job, request: Request) -> dict[str, Any]:
        done = job.results is not None
        return {
            "id": job.id,
            "url": f"{request.base_url}api/v2/job_statuses/{job.id}.json",
            "status": "completed" if done else "queued",
            "total": len(job.results or []) if done else None,
            "progress": len(job.results or []) if done else 0,
            "message": "Completed at 2026-12-01 00:00:00 +0000" if done else None,
            "results": job.results,
        }

    # -- routes ------------------------------------------------------------------------------

    def add_routes(self, app: FastAPI) -> None:
        @app.get("/api/v2/users/me")
        def me() -> dict[str, Any]:
            return {"user": {"id": 1, "email": EMAIL, "name": "Sluice admin", "role": "admin"}}

        @app.get("/api/v2/user_fields")
        def user_fields() -> dict[str, Any]:
            return {
                "user_fields": [{"key": k, "type": t, "active": True} for k, t in self.user_fields.items()]
            }

        @app.post("/api/v2/users/create_or_update_many")
        async def create_or_update_many(request: Request) -> Response:
            users = (await self.json_body(request) or {}).get("users") or []
            if len(users) > JOB_LIMIT:
                self.violation(f"{len(users)} users in one create_or_update_many")
                return zendesk_error(400, "TooManyValues", f"users may contain at most {JOB_LIMIT} items")
            return self._queue(lambda: [self._upsert_user(u) for u in users], request)

        @app.get("/api/v2/job_statuses/{job_id}")
        def job_status(job_id: str, request: Request) -> Response:
            job = self.jobs.get(job_id.removesuffix(".json"))
            if job is None:
                return zendesk_error(404, "RecordNotFound", "Not found")
            if job.results is None:
                if job.polls_left > 0:
                    job.polls_left -= 1
                else:
                    job.results = job.run()
            return JSONResponse({"job_status": self._job_json(job, request)})

        @app.get("/api/v2/custom_objects")
        def custom_objects() -> dict[str, Any]:
            return {"custom_objects": [{"key": k, "title": o["title"]} for k, o in self.objects.items()]}

        @app.get("/api/v2/custom_objects/{key}")
        def custom_object(key: str) -> Response:
            if key not in self.objects:
                return zendesk_error(404, "RecordNotFound", "Not found")
            return JSONResponse({"custom_object": {"key": key, "title": self.objects[key]["title"]}})

        @app.get("/api/v2/custom_objects/{key}/fields")
        def custom_object_fields(key: str) -> Response:
            if key not in self.objects:
                return zendesk_error(404, "RecordNotFound", "Not found")
            fields = [{"key": k, "type": t, "active": True} for k, t in self.objects[key]["fields"].items()]
            return JSONResponse({"custom_object_fields": fields})

        @app.post("/api/v2/custom_objects/{key}/jobs")
        async def record_jobs(key: str, request: Request) -> Response:
            if key not in self.objects:
                return zendesk_error(404, "RecordNotFound", "Not found")
            job = (await self.json_body(request) or {}).get("job") or {}
            action, items = str(job.get("action")), list(job.get("items") or [])
            if action not in ("create_or_update_by_external_id", "delete_by_external_id"):
                return zendesk_error(400, "InvalidPayload", f"unsupported action {action}")
            if len(items) > JOB_LIMIT:
                self.violation(f"{len(items)} records in one job")
                return zendesk_error(400, "TooManyValues", f"items may contain at most {JOB_LIMIT} records")
            return self._queue(lambda: self._record_job(key, action, items), request)

    def state(self) -> dict[str, Any]:
        return {
            "users": len(self.users),
            "custom_objects": {k: len(o["records"]) for k, o in self.objects.items()},
            "pending_jobs": sum(j.results is None for j in self.jobs.values()),
        }

    # -- conformance hooks ---------------------------------------------------------------------

    def seed_contacts(self, identifiers: Iterable[str]) -> None:
        known = {u.email.lower() for u in self.users.values() if u.email}
        for email in identifiers:
            if email.lower() not in known:  # one pass, not a scan per contact (100k in the demo)
                known.add(email.lower())
                user = User(next(self._ids), email, f"ext-{email.split('@')[0]}", email.split("@")[0])
                self.users[user.id] = user

    def connector_config(self, base_url: str, *, valid: bool = True) -> dict[str, Any]:
        return {
            "subdomain": SUBDOMAIN,
            "email": EMAIL,
            "api_token": TOKEN if valid else "wrong-token",
            "base_url": base_url,
        }

    def target_spec(self) -> TargetSpec:
        return self.upsert_specs[0]

    def members(self, target: Target) -> set[str]:
        return set(self.records(target))

    def seed_members(self, target: Target, identifiers: Iterable[str]) -> None:
        self.seed_contacts(identifiers)

    def seed_targets(self, names: Iterable[str], spec: TargetSpec) -> None:
        for name in names:
            key = name.lower().replace(" ", "_")
            self.objects[key] = {"title": name, "fields": {}, "records": {}}

    def upsert_fields(self, target: Target, number: int, version: int = 0) -> dict[str, Any]:
        if target.kind == "custom_object":
            return {"points": number * 10 + version, "tier": f"t{number}v{version}"}
        return {"loyalty_points": number * 10 + version, "tier": f"t{number}v{version}"}

    def records(self, target: Target) -> dict[str, dict[str, Any]]:
        if target.kind == "custom_object":
            return {
                r.external_id: {"name": r.name, **r.fields}
                for r in self.objects[target.id]["records"].values()
            }
        by_external = target.identifier_kind is IdentifierKind.EXTERNAL_ID
        return {
            key: {"name": u.name, **u.attributes}
            for u in self.users.values()
            if (key := (u.external_id if by_external else u.email))
        }

    def refused_fields(self, target: Target) -> tuple[dict[str, Any], str] | None:
        if target.kind == "custom_object":
            return {"name": "Bad card", "points": "many"}, "must be of type integer"
        return {"loyalty_points": "lots"}, "must be of type integer"
