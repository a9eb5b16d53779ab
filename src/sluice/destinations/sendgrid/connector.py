"""SendGrid Marketing Campaigns: contacts (upsert) and contact lists (membership), by email.

``PUT /v3/marketing/contacts`` is asynchronous: it answers 202 with a ``job_id`` and the connector
polls ``/v3/marketing/contacts/imports/{id}`` (:func:`~sluice.destinations.jobs.poll_job`) until the
job is ``completed``, ``errored`` or ``failed``; rows named in the job's ``errors_url`` file end
*rejected*, the others *delivered*. Removing from a list needs contact ids, found with
``POST /v3/marketing/contacts/search/emails`` (≤ 100 emails per call). Members of a list are read
with a contact export job (``/v3/marketing/contacts/exports``) whose files are downloaded without the
API key. See README.md.
"""

from __future__ import annotations

import csv
import gzip
import io
from collections.abc import AsyncIterator, Sequence
from typing import Any
from urllib.parse import parse_qs, urlparse

import httpx

from sluice.destinations.errors import ConfigError, RowRejected
from sluice.destinations.http import RateHeaders
from sluice.destinations.jobs import JobPolling, poll_job
from sluice.destinations.sdk import (
    Capabilities,
    Connector,
    IdentifierKind,
    Op,
    OpKind,
    Outcome,
    OutcomeStatus,
    RateLimit,
    Service,
    StandardField,
    Target,
    TargetPage,
    TargetSpec,
)
from sluice.destinations.sendgrid.config import SendGridActivationDefaults, SendGridConfig

LIST = "list"
CONTACTS = "contacts"
BATCH = 1000  # we send ≤ 1,000 contacts per PUT (SendGrid allows 30,000 / 6 MB)
SEARCH_BATCH = 100
LIST_PAGE = 1000
#: contact fields sent at the top level of a PUT contact (everything else is a custom field)
RESERVED = frozenset(
    {
        "first_name",
        "last_name",
        "address_line_1",
        "address_line_2",
        "alternate_emails",
        "city",
        "state_province_region",
        "postal_code",
        "country",
        "phone_number_id",
        "external_id",
        "anonymous_id",
    }
)
FINISHED = frozenset({"completed", "errored", "failed"})


def sendgrid_message(response: httpx.Response) -> str:
    """The messages of a SendGrid ``{"errors": [{"field", "message"}]}`` body."""
    try:
        errors = response.json().get("errors") or []
        if errors:
            return "; ".join(
                f"{e.get('field')}: {e.get('message')}" if e.get("field") else str(e.get("message"))
                for e in errors
            )
    except (ValueError, AttributeError):
        pass
    return f"HTTP {response.status_code}"


class SendGridConnector(Connector):
    """SendGrid Marketing Campaigns contacts and lists."""

    type_name = "sendgrid"
    title = "SendGrid"
    description = "Synchronize contacts and export segments as SendGrid Marketing Campaigns contact lists."
    docs_url = "https://www.twilio.com/docs/sendgrid/api-reference/contacts/add-or-update-a-contact"
    config_model = SendGridConfig
    activation_defaults = SendGridActivationDefaults
    standard_fields = (
        StandardField("first_name", "first_name", "First name"),
        StandardField("last_name", "last_name", "Last name"),
        StandardField("city", "city", "City"),
        StandardField("country", "country", "Country"),
        StandardField("postal_code", "postal_code", "Postal code"),
    )
    capabilities = Capabilities(
        services=frozenset({Service.MEMBERSHIP, Service.UPSERT}),
        target_kinds=frozenset({LIST, CONTACTS}),
        identifiers=frozenset({IdentifierKind.EMAIL}),
        batch_size=BATCH,
        concurrency=2,
        rate_limit=RateLimit(10, 1.0),
        can_create_targets=True,
        can_read_members=True,
        read_members_note="",
        full_refresh="export the list's contacts and remove those not in the audience",
    )
    config: SendGridConfig

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._custom_fields: dict[str, str] | None = None

    @classmethod
    def base_url(cls, config: SendGridConfig) -> str:
        return config.base_url or "https://api.sendgrid.com"

    @classmethod
    def auth_headers(cls, config: SendGridConfig) -> dict[str, str]:
        return {"Authorization": f"Bearer {config.api_key.get_secret_value()}"}

    rate_headers = staticmethod(RateHeaders.from_x_ratelimit)

    @classmethod
    def rate_limit_for(cls, config: SendGridConfig) -> RateLimit:
        return RateLimit(config.requests_per_second, 1.0)

    @property
    def _polling(self) -> JobPolling:
        return JobPolling(timeout=self.config.job_timeout_seconds)

    async def _call(self, method: str, path: str, **kwargs: Any) -> httpx.Response:
        response = await self.http.request(method, path, **kwargs)
        if response.status_code in (401, 403):
            raise ConfigError(f"SendGrid refused the API key: {sendgrid_message(response)}")
        return response

    # -- connection and targets ------------------------------------------------------------

    async def check(self) -> str:
        await self._call("GET", "/v3/marketing/lists", params={"page_size": 1})
        return "connected to SendGrid Marketing Campaigns"

    async def list_targets(self, kind: str | None = None, cursor: str | None = None) -> TargetPage:
        if kind == CONTACTS:
            return TargetPage([_all_contacts()])
        params: dict[str, Any] = {"page_size": LIST_PAGE}
        if cursor:
            params["page_token"] = cursor
        response = await self._call("GET", "/v3/marketing/lists", params=params)
        body = response.json()
        items = [_list(item) for item in body.get("result") or []]
        following = (body.get("_metadata") or {}).get("next")
        token = parse_qs(urlparse(following).query).get("page_token", [None])[0] if following else None
        return TargetPage(items, token if items else None)

    async def ensure_target(self, spec: TargetSpec) -> Target:
        if spec.kind == CONTACTS:
            return _all_contacts()
        if spec.id:
            response = await self._call("GET", f"/v3/marketing/lists/{spec.id}")
            if response.status_code == 404:
                raise ConfigError(f"SendGrid list {spec.id} no longer exists")
            return _list(response.json())
        cursor: str | None = None
        while True:
            page = await self.list_targets(LIST, cursor)
            for target in page.items:
                if target.name == spec.name:
                    return target
            if page.next_cursor is None:
                break
            cursor = page.next_cursor
        if not spec.create_if_missing:
            raise ConfigError(f"SendGrid has no list named {spec.name!r}")
        response = await self._call("POST", "/v3/marketing/lists", json={"name": spec.name})
        if response.status_code >= 400:
            raise ConfigError(f"SendGrid could not create list {spec.name!r}: {sendgrid_message(response)}")
        return _list(response.json())

    # -- writes ------------------------------------------------------------------------------

    async def apply(self, target: Target, ops: Sequence[Op]) -> list[Outcome]:
        kind = ops[0].kind
        if target.kind == CONTACTS:
            if kind is OpKind.DELETE:
                return await self._delete_contacts(ops)
            if kind not in (OpKind.UPSERT, OpKind.CLEAR):
                return _unsupported(ops, "contacts")
            contacts = [await self._contact(op) for op in ops]
            return await self._upsert(ops, {"contacts": contacts})
        if kind is OpKind.ADD:
            known = ops
            rejected: list[Outcome] = []
            if not self.config.add_unknown_contacts_to_lists:
                ids, missing = await self._search(op.identifier for op in ops)
                known = [op for op in ops if op.identifier.lower() in ids]
                rejected = [
                    Outcome.of(op, OutcomeStatus.REJECTED, missing.get(op.identifier.lower(), "not found"))
                    for op in ops
                    if op.identifier.lower() not in ids
                ]
            if not known:
                return rejected
            body = {"list_ids": [target.id], "contacts": [{"email": op.identifier} for op in known]}
            return rejected + await self._upsert(known, body)
        if kind is OpKind.REMOVE:
            return await self._remove(target, ops)
        return _unsupported(ops, "lists")

    async def _field_ids(self) -> dict[str, str]:
        """Custom field name → id (``GET /v3/marketing/field_definitions``, read once)."""
        if self._custom_fields is None:
            response = await self._call("GET", "/v3/marketing/field_definitions")
            fields = response.json().get("custom_fields") or []
            self._custom_fields = {str(f["name"]): str(f["id"]) for f in fields}
        return self._custom_fields

    async def _contact(self, op: Op) -> dict[str, Any]:
        contact: dict[str, Any] = {"email": op.identifier}
        custom: dict[str, Any] = {}
        ids = await self._field_ids()
        for name, value in op.fields.items():
            sent = "" if op.kind is OpKind.CLEAR or value is None else value
            if name in RESERVED:
                contact[name] = str(sent)
            elif name in ids:
                custom[ids[name]] = sent
            else:
                raise ConfigError(
                    f"SendGrid has no custom field named {name!r}: create it (Marketing > Custom Fields) "
                    "or change the mapping"
                )
        if custom:
            contact["custom_fields"] = custom
        return contact

    async def _upsert(self, ops: Sequence[Op], body: dict[str, Any]) -> list[Outcome]:
        response = await self._call("PUT", "/v3/marketing/contacts", json=body)
        if response.status_code == 404:
            raise ConfigError(f"SendGrid: {sendgrid_message(response)}")
        if response.status_code >= 400:
            raise RowRejected(sendgrid_message(response))
        job = await self._wait(str(response.json()["job_id"]))
        errors = await self._job_errors(job)
        if job.get("status") == "failed" and not errors:
            raise RowRejected(f"SendGrid import job failed: {job.get('results') or job.get('id')}")
        return [
            Outcome.of(op, OutcomeStatus.REJECTED, errors[op.identifier.lower()])
            if op.identifier.lower() in errors
            else Outcome.of(op, OutcomeStatus.DELIVERED)
            for op in ops
        ]

    async def _wait(self, job_id: str) -> dict[str, Any]:
        def finished(response: httpx.Response) -> bool:
            if response.status_code in (401, 403):
                raise ConfigError(f"SendGrid refused the API key: {sendgrid_message(response)}")
            if response.status_code == 404:
                return False  # a job id is not visible at once
            return str(response.json().get("status")) in FINISHED

        response = await poll_job(
            self.http, f"/v3/marketing/contacts/imports/{job_id}", finished=finished, polling=self._polling
        )
        body: dict[str, Any] = response.json()
        return body

    async def _job_errors(self, job: dict[str, Any]) -> dict[str, str]:
        """Email (lowercased) → SendGrid's error, from the job's ``errors_url`` file."""
        url = (job.get("results") or {}).get("errors_url")
        if not url:
            return {}
        return {
            email.lower(): message
            for email, message in _rows(await self._file(str(url)), ("email", "error"))
            if email
        }

    async def _file(self, url: str) -> str:
        response = await self.http.download(url)
        content = response.content
        if content[:2] == b"\x1f\x8b":
            content = gzip.decompress(content)
        return content.decode("utf-8-sig")

    async def _search(self, emails: Any) -> tuple[dict[str, str], dict[str, str]]:
        """Found emails → contact id, and unknown emails → SendGrid's message (≤ 100 per call)."""
        unique = list(dict.fromkeys(str(e) for e in emails))
        ids: dict[str, str] = {}
        missing: dict[str, str] = {}
        for start in range(0, len(unique), SEARCH_BATCH):
            chunk = unique[start : start + SEARCH_BATCH]
            response = await self._call(
                "POST", "/v3/marketing/contacts/search/emails", json={"emails": chunk}
            )
            if response.status_code == 404:  # none of them is a contact
                missing.update({e.lower(): f"contact not found: {sendgrid_message(response)}" for e in chunk})
                continue
            if response.status_code >= 400:
                raise RowRejected(sendgrid_message(response))
            result = response.json().get("result") or {}
            for email in chunk:
                hit = result.get(email) or result.get(email.lower()) or {}
                contact = hit.get("contact") or {}
                if contact.get("id"):
                    ids[email.lower()] = str(contact["id"])
                else:
                    missing[email.lower()] = f"contact not found: {hit.get('error') or 'no such contact'}"
        return ids, missing

    async def _remove(self, target: Target, ops: Sequence[Op]) -> list[Outcome]:
        ids, _ = await self._search(op.identifier for op in ops)
        contact_ids = sorted(set(ids.values()))
        for start in range(0, len(contact_ids), SEARCH_BATCH):
            chunk = ",".join(contact_ids[start : start + SEARCH_BATCH])
            response = await self._call(
                "DELETE", f"/v3/marketing/lists/{target.id}/contacts", params={"contact_ids": chunk}
            )
            if response.status_code == 404:
                raise ConfigError(f"SendGrid list {target.name!r} ({target.id}) no longer exists")
            if response.status_code >= 400:
                raise RowRejected(sendgrid_message(response))
        return [
            Outcome.of(op, OutcomeStatus.DELIVERED)
            if op.identifier.lower() in ids
            else Outcome.of(op, OutcomeStatus.DELIVERED, "nothing to remove: not a SendGrid contact")
            for op in ops
        ]

    async def _delete_contacts(self, ops: Sequence[Op]) -> list[Outcome]:
        ids, _ = await self._search(op.identifier for op in ops)
        if ids:
            response = await self._call(
                "DELETE", "/v3/marketing/contacts", params={"ids": ",".join(sorted(set(ids.values())))}
            )
            if response.status_code >= 400:
                raise RowRejected(sendgrid_message(response))
            await self._wait(str(response.json()["job_id"]))
        return [
            Outcome.of(
                op, OutcomeStatus.DELIVERED, "" if op.identifier.lower() in ids else "nothing to delete"
            )
            for op in ops
        ]

    # -- members -----------------------------------------------------------------------------

    async def read_members(self, target: Target) -> AsyncIterator[str]:
        response = await self._call(
            "POST", "/v3/marketing/contacts/exports", json={"list_ids": [target.id], "file_type": "csv"}
        )
        if response.status_code >= 400:
            raise ConfigError(f"SendGrid could not export list {target.id}: {sendgrid_message(response)}")
        export_id = str(response.json()["id"])

        def finished(answer: httpx.Response) -> bool:
            return answer.status_code < 400 and str(answer.json().get("status")) in ("ready", "failure")

        done = (
            await poll_job(
                self.http,
                f"/v3/marketing/contacts/exports/{export_id}",
                finished=finished,
                polling=self._polling,
            )
        ).json()
        if done.get("status") == "failure":
            raise ConfigError(f"SendGrid export of list {target.id} failed: {done.get('message')}")
        for url in done.get("urls") or []:
            for (email,) in _rows(await self._file(str(url)), ("email",)):
                if email:
                    yield email


def _rows(text: str, columns: tuple[str, ...]) -> list[tuple[str, ...]]:
    """The named columns (case-insensitive header match) of a CSV file."""
    reader = csv.DictReader(io.StringIO(text))
    names = {name.lower(): name for name in reader.fieldnames or []}
    picked = [names.get(column) for column in columns]
    return [tuple(str(row.get(name) or "") if name else "" for name in picked) for row in reader]


def _list(item: dict[str, Any]) -> Target:
    return Target(LIST, str(item["id"]), str(item["name"]), size=item.get("contact_count"))


def _all_contacts() -> Target:
    return Target(CONTACTS, "all", "All contacts")


def _unsupported(ops: Sequence[Op], what: str) -> list[Outcome]:
    return [Outcome.of(op, OutcomeStatus.REJECTED, f"SendGrid {what} do not support {op.kind}") for op in ops]
