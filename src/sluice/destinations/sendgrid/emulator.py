"""A local fake of SendGrid Marketing Campaigns (contacts, lists, custom fields, jobs).

Faithful to: ``Authorization: Bearer`` (401 "authorization required"), ``{"errors": [{"field",
"message"}]}`` bodies, ``X-RateLimit-Limit/Remaining/Reset`` (Unix seconds) on every response and a
429 with the same headers, ``PUT /v3/marketing/contacts`` answering 202 ``{"job_id"}`` and doing the
work only when the job runs (contacts appear after a poll of ``/contacts/imports/{id}`` shows
``completed``/``errored``/``failed``, with ``errors_url`` naming each failed contact), custom fields
addressed by id with typed values, ``search/emails`` (≤ 100, unknown emails as per-email errors,
404 when none match), list pages with ``page_token``, removal by contact ids, and contact exports
whose gzip'd CSV files are served without authentication (like the vendor's S3 links).
"""

from __future__ import annotations

import csv
import gzip
import io
import itertools
import re
import uuid
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse, Response

from sluice.destinations.emulation import Emulator, local_path
from sluice.destinations.sdk import IdentifierKind, Target, TargetSpec

API_KEY = "SG.emulator-sendgrid-key"
PUT_LIMIT = 30_000
SEARCH_LIMIT = 100
REMOVE_LIMIT = 100  # ids per list-removal call: not documented, the emulator enforces this [I]
WINDOW_SECONDS = 1.0
EMAIL = re.compile(r"^[^@\s]+@[^@\s.]+(\.[^@\s.]+)+$")
FILES = "/_files"
RESERVED_TEXT: tuple[str, ...] = ("first_name", "last_name", "address_line_1", "address_line_2", "city")
RESERVED_TEXT += ("country", "state_province_region", "postal_code", "external_id", "anonymous_id")


@dataclass
class Contact:
    id: str
    email: str
    fields: dict[str, Any] = field(default_factory=dict)  # reserved by name, custom by field id
    list_ids: set[str] = field(default_factory=set)


@dataclass
class Job:
    id: str
    kind: str  # upsert | delete | export
    payload: dict[str, Any]
    polls_left: int
    result: dict[str, Any] | None = None


def errors(status: int, message: str, field_name: str | None = None) -> JSONResponse:
    return JSONResponse({"errors": [{"field": field_name, "message": message}]}, status_code=status)


class SendGridEmulator(Emulator):
    """One SendGrid account; ``limit_per_window`` calls per second; jobs finish after ``job_polls`` polls."""

    name = "sendgrid"
    batch_limit = PUT_LIMIT
    unknown_contact_message = "contact not found"
    upsert_specs = (TargetSpec("contacts", identifier_kind=IdentifierKind.EMAIL),)

    def __init__(self, *, limit_per_window: int = 50, job_polls: int = 1, **kwargs: Any) -> None:
        self.api_key = API_KEY
        self.contacts: dict[str, Contact] = {}  # lowercased email → contact
        self.lists: dict[str, str] = {}  # id → name
        self.custom_fields: dict[str, tuple[str, str]] = {
            "e1_T": ("tier", "Text"),
            "e2_N": ("loyalty_points", "Number"),
        }
        self.jobs: dict[str, Job] = {}
        self.files: dict[str, bytes] = {}
        self.limit_per_window = limit_per_window
        self.job_polls = job_polls
        self._window_start = 0.0
        self._window_used = 0
        self._numbers = itertools.count(1)
        super().__init__(**kwargs)

    # -- limits and errors -------------------------------------------------------------------

    def _window(self) -> tuple[int, float]:
        now = self.clock()
        if now - self._window_start >= WINDOW_SECONDS:
            self._window_start, self._window_used = now, 0
        return max(self.limit_per_window - self._window_used, 0), self._window_start + WINDOW_SECONDS

    def response_headers(self) -> dict[str, str]:
        remaining, reset = self._window()
        return {
            "X-RateLimit-Limit": str(self.limit_per_window),
            "X-RateLimit-Remaining": str(remaining),
            "X-RateLimit-Reset": str(int(reset + 0.999)),
        }

    def rate_limited(self) -> Response:
        self._window()
        self._window_used = self.limit_per_window
        response = errors(429, "too many requests")
        response.headers.update(self.response_headers())
        return response

    def server_error(self) -> Response:
        return errors(500, "internal error")

    async def gate(self, request: Request) -> Response | None:
        if local_path(request).startswith(FILES):
            return None  # download links carry no credentials
        remaining, _ = self._window()
        if remaining <= 0:
            return self.rate_limited()
        self._window_used += 1
        if request.headers.get("authorization") != f"Bearer {self.api_key}":
            return errors(401, "authorization required")
        return None

    # -- jobs ----------------------------------------------------------------------------------

    def _job(self, kind: str, payload: dict[str, Any]) -> Job:
        job = Job(str(uuid.uuid4()), kind, payload, self.job_polls)
        self.jobs[job.id] = job
        return job

    def _check(self, name: str, value: Any) -> str | None:
        """Why SendGrid refuses ``value`` for custom field id ``name``, if it does."""
        if name not in self.custom_fields:
            return f"custom field id {name} does not exist"
        label, kind = self.custom_fields[name]
        if kind == "Number" and value != "" and not isinstance(value, int | float):
            try:
                float(value)
            except (TypeError, ValueError):
                return f"custom field {label} must be a number"
        return None

    def _run_upsert(self, job: Job, base_url: str) -> None:
        created = updated = 0
        failed: list[tuple[str, str]] = []
        for entry in job.payload.get("contacts") or []:
            email = str(entry.get("email") or "")
            problems = [] if EMAIL.fullmatch(email) else ["email is invalid"]
            custom = entry.get("custom_fields") or {}
            problems += [p for name, value in custom.items() if (p := self._check(name, value))]
            if problems:
                failed.append((email, "; ".join(problems)))
                continue
            contact = self.contacts.get(email.lower())
            if contact is None:
                contact = Contact(str(uuid.uuid4()), email)
                self.contacts[email.lower()] = contact
                created += 1
            else:
                updated += 1
            contact.fields.update({k: v for k, v in entry.items() if k in RESERVED_TEXT})
            contact.fields.update(custom)
            contact.list_ids.update(job.payload.get("list_ids") or [])
        requested = len(job.payload.get("contacts") or [])
        results: dict[str, Any] = {
            "requested_count": requested,
            "created_count": created,
            "updated_count": updated,
            "errored_count": len(failed),
        }
        if failed:
            self.files[f"{job.id}/errors.csv"] = _csv(("email", "error"), failed)
            results["errors_url"] = f"{base_url}{FILES}/{job.id}/errors.csv"
        status = "completed" if not failed else "failed" if len(failed) == requested else "errored"
        job.result = {"id": job.id, "status": status, "job_type": "upsert", "results": results}

    def _run_delete(self, job: Job) -> None:
        ids = set(job.payload["ids"])
        gone = [email for email, c in self.contacts.items() if c.id in ids]
        for email in gone:
            del self.contacts[email]
        job.result = {
            "id": job.id,
            "status": "completed",
            "job_type": "delete",
            "results": {"requested_count": len(ids), "deleted_count": len(gone)},
        }

    def _run_export(self, job: Job, base_url: str) -> None:
        wanted = set(job.payload.get("list_ids") or [])
        rows = [(c.email, c.id) for c in self.contacts.values() if c.list_ids & wanted]
        per_file = self.options.max_page_size or 50_000
        urls = []
        for number, start in enumerate(range(0, max(len(rows), 1), per_file)):
            name = f"{job.id}/contacts-{number}.csv.gz"
            self.files[name] = gzip.compress(_csv(("EMAIL", "CONTACT_ID"), rows[start : start + per_file]))
            urls.append(f"{base_url}{FILES}/{name}")
        stamp = "2026-12-01T00:00:00Z"
        job.result = {
            "id": job.id,
            "status": "ready",
            "created_at": stamp,
            "updated_at": stamp,
            "completed_at": stamp,
            "expires_at": "2026-12-04T00:00:00Z",
            "urls": urls,
            "contact_count": len(rows),
        }

    def _poll(self, job_id: str, request: Request, kind: str) -> Response:
        job = self.jobs.get(job_id)
        if job is None or (job.kind == "export") != (kind == "export"):
            return errors(404, "job not found")
        if job.result is None:
            if job.polls_left > 0:
                job.polls_left -= 1
                stamp = "2026-12-01T00:00:00Z"
                if job.kind == "export":
                    body = {"id": job.id, "status": "pending", "created_at": stamp}
                    return JSONResponse({**body, "updated_at": stamp, "expires_at": stamp})
                return JSONResponse({"id": job.id, "status": "pending", "job_type": job.kind, "results": {}})
            base_url = str(request.base_url).rstrip("/")
            {"upsert": self._run_upsert, "export": self._run_export}.get(
                job.kind, lambda j, _: self._run_delete(j)
            )(job, base_url)
        return JSONResponse(job.result)

    # -- routes ------------------------------------------------------------------------------

    def add_routes(self, app: FastAPI) -> None:
        @app.put("/v3/marketing/contacts")
        async def upsert(request: Request) -> Response:
            body = await self.json_body(request) or {}
            contacts = body.get("contacts") or []
            if not contacts:
                return errors(400, "contacts is required", "contacts")
            if len(contacts) > PUT_LIMIT:
                self.violation(f"{len(contacts)} contacts in one PUT")
                return errors(400, f"contacts must have at most {PUT_LIMIT} items", "contacts")
            unknown = [i for i in body.get("list_ids") or [] if i not in self.lists]
            if unknown:
                return errors(404, f"list_ids not found: {', '.join(unknown)}", "list_ids")
            if any(not (c.get("email") or c.get("external_id") or c.get("anonymous_id")) for c in contacts):
                return errors(400, "each contact needs an identifier", "contacts")
            return JSONResponse({"job_id": self._job("upsert", body).id}, status_code=202)

        @app.delete("/v3/marketing/contacts")
        def delete_contacts(ids: str = "") -> Response:
            if not ids:
                return errors(400, "ids or delete_all_contacts is required", "ids")
            return JSONResponse({"job_id": self._job("delete", {"ids": ids.split(",")}).id}, status_code=202)

        @app.get("/v3/marketing/contacts/imports/{job_id}")
        def import_status(job_id: str, request: Request) -> Response:
            return self._poll(job_id, request, "import")

        @app.post("/v3/marketing/contacts/search/emails")
        async def search_emails(request: Request) -> Response:
            emails = [str(e) for e in (await self.json_body(request) or {}).get("emails") or []]
            if len(emails) > SEARCH_LIMIT:
                self.violation(f"{len(emails)} emails in one search")
                return errors(400, f"emails must have at most {SEARCH_LIMIT} items", "emails")
            result: dict[str, Any] = {}
            for email in emails:
                contact = self.contacts.get(email.lower())
                result[email] = (
                    {"contact": self._contact_json(contact)} if contact else {"error": "contact not found"}
                )
            if not any("contact" in hit for hit in result.values()):
                return errors(404, "No contacts found")
            return JSONResponse({"result": result})

        @app.post("/v3/marketing/contacts/exports")
        async def export(request: Request) -> Response:
            body = await self.json_body(request) or {}
            job = self._job("export", body)
            return JSONResponse(
                {"id": job.id, "_metadata": {"self": f"/v3/marketing/contacts/exports/{job.id}"}}
            )

        @app.get("/v3/marketing/contacts/exports/{export_id}")
        def export_status(export_id: str, request: Request) -> Response:
            return self._poll(export_id, request, "export")

        @app.get("/v3/marketing/field_definitions")
        def field_definitions() -> dict[str, Any]:
            reserved = [
                {"id": f"_rf{n}_T", "name": name, "field_type": "Text"}
                for n, name in enumerate(RESERVED_TEXT)
            ]
            custom = [{"id": i, "name": n, "field_type": t} for i, (n, t) in self.custom_fields.items()]
            return {"custom_fields": custom, "reserved_fields": reserved}

        @app.get("/v3/marketing/lists")
        def get_lists(request: Request, page_size: int = 100, page_token: str | None = None) -> Response:
            size = self.page_size(page_size, 1000)
            start = int(page_token or 0)
            ids = list(self.lists)
            page = ids[start : start + size]
            metadata: dict[str, Any] = {"self": str(request.url), "count": len(ids)}
            if start + size < len(ids):
                metadata["next"] = (
                    f"{request.base_url}v3/marketing/lists?page_size={size}&page_token={start + size}"
                )
            return JSONResponse({"result": [self._list_json(i) for i in page], "_metadata": metadata})

        @app.post("/v3/marketing/lists")
        async def create_list(request: Request) -> Response:
            name = str((await self.json_body(request) or {}).get("name") or "")
            if not name or len(name) > 100:
                return errors(400, "name must be 1 to 100 characters", "name")
            if name in self.lists.values():
                return errors(400, "list name already exists", "name")
            list_id = str(uuid.uuid4())
            self.lists[list_id] = name
            return JSONResponse(self._list_json(list_id), status_code=201)

        @app.get("/v3/marketing/lists/{list_id}")
        def get_list(list_id: str) -> Response:
            if list_id not in self.lists:
                return errors(404, "resource not found", "")
            return JSONResponse(self._list_json(list_id))

        @app.delete("/v3/marketing/lists/{list_id}/contacts")
        def remove_from_list(list_id: str, contact_ids: str = "") -> Response:
            if list_id not in self.lists:
                return errors(404, "resource not found", "")
            ids = [i for i in contact_ids.split(",") if i]
            if not ids:
                return errors(400, "contact_ids is required", "contact_ids")
            if len(ids) > REMOVE_LIMIT:
                self.violation(f"{len(ids)} contact ids in one list removal")
                return errors(400, f"at most {REMOVE_LIMIT} contact_ids", "contact_ids")
            for contact in self.contacts.values():
                if contact.id in ids:
                    contact.list_ids.discard(list_id)
            return JSONResponse({"job_id": str(uuid.uuid4())}, status_code=202)

        @app.get(FILES + "/{job_id}/{name}")
        def download(job_id: str, name: str) -> Response:
            content = self.files.get(f"{job_id}/{name}")
            if content is None:
                return Response(b"<Error><Code>NoSuchKey</Code></Error>", 404, media_type="application/xml")
            return Response(content, media_type="application/octet-stream")

    def _list_json(self, list_id: str) -> dict[str, Any]:
        count = sum(list_id in c.list_ids for c in self.contacts.values())
        return {"id": list_id, "name": self.lists[list_id], "contact_count": count, "_metadata": {"self": ""}}

    def _contact_json(self, contact: Contact) -> dict[str, Any]:
        stamp = "2026-12-01T00:00:00Z"
        reserved = {k: v for k, v in contact.fields.items() if k in RESERVED_TEXT}
        custom = {self.custom_fields[k][0]: v for k, v in contact.fields.items() if k in self.custom_fields}
        return {
            "id": contact.id,
            "email": contact.email,
            **reserved,
            "custom_fields": custom,
            "list_ids": sorted(contact.list_ids),
            "segment_ids": [],
            "created_at": stamp,
            "updated_at": stamp,
        }

    def state(self) -> dict[str, Any]:
        return {
            "contacts": len(self.contacts),
            "lists": [self._list_json(i) for i in self.lists],
            "pending_jobs": sum(j.result is None for j in self.jobs.values()),
        }

    # -- conformance hooks ---------------------------------------------------------------------

    def seed_contacts(self, identifiers: Iterable[str]) -> None:
        for email in identifiers:
            self.contacts.setdefault(email.lower(), Contact(str(uuid.uuid4()), email))

    def connector_config(self, base_url: str, *, valid: bool = True) -> dict[str, Any]:
        return {"api_key": self.api_key if valid else "SG.wrong", "base_url": base_url}

    def target_spec(self) -> TargetSpec:
        return TargetSpec(kind="list", name="Sluice conformance")

    def members(self, target: Target) -> set[str]:
        return {c.email for c in self.contacts.values() if target.id in c.list_ids}

    def seed_members(self, target: Target, identifiers: Iterable[str]) -> None:
        for email in identifiers:
            self.contacts[email.lower()].list_ids.add(target.id)

    def seed_targets(self, names: Iterable[str], spec: TargetSpec) -> None:
        for name in names:
            self.lists[str(uuid.uuid4())] = name

    def upsert_fields(self, target: Target, number: int, version: int = 0) -> dict[str, Any]:
        return {"first_name": f"Ann{number}v{version}", "loyalty_points": number * 10 + version}

    def records(self, target: Target) -> dict[str, dict[str, Any]]:
        def named(contact: Contact) -> dict[str, Any]:
            return {
                (self.custom_fields[k][0] if k in self.custom_fields else k): v
                for k, v in contact.fields.items()
            }

        return {c.email: named(c) for c in self.contacts.values()}

    def refused_fields(self, target: Target) -> tuple[dict[str, Any], str] | None:
        return {"loyalty_points": "lots"}, "must be a number"


def _csv(header: tuple[str, ...], rows: Iterable[tuple[str, ...]]) -> bytes:
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(header)
    writer.writerows(rows)
    return out.getvalue().encode()
