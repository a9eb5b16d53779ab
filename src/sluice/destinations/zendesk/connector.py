"""Zendesk Support API: synchronize users and custom object records (upsert services).

Both go through asynchronous bulk jobs of at most 100 items, polled with
:func:`~sluice.destinations.jobs.poll_job` at ``/api/v2/job_statuses/{id}`` until ``completed``:

- users: ``POST /api/v2/users/create_or_update_many`` matched by ``email`` or ``external_id``; the
  job's ``results`` are in request order, each ``Created``, ``Updated`` or ``Failed`` (``details``);
- records: ``POST /api/v2/custom_objects/{key}/jobs`` with ``create_or_update_by_external_id``
  (or ``delete_by_external_id``).

Mapped fields that are not standard attributes must exist as user fields / custom object fields
(checked once, a missing one is a :class:`ConfigError`). Zendesk answers 429 with ``Retry-After``.
See README.md.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import httpx

from sluice.destinations.errors import ConfigError, RowRejected
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
from sluice.destinations.zendesk.config import ZendeskActivationDefaults, ZendeskConfig

USER = "user"
CUSTOM_OBJECT = "custom_object"
BATCH = 100
USER_STANDARD = frozenset(
    {
        "name",
        "phone",
        "alias",
        "details",
        "notes",
        "organization_id",
        "time_zone",
        "locale",
        "verified",
        "tags",
    }
)
FINISHED = frozenset({"completed", "failed", "killed"})


def zendesk_message(response: httpx.Response) -> str:
    """``error``/``description``/``details`` of a Zendesk error body."""
    try:
        body = response.json()
    except ValueError:
        return f"HTTP {response.status_code}"
    if not isinstance(body, dict):
        return f"HTTP {response.status_code}"
    error = body.get("error")
    if isinstance(error, dict):
        return f"{error.get('title')}: {error.get('message')}"
    parts = [str(p) for p in (error, body.get("description")) if p]
    if body.get("details"):
        parts.append(str(body["details"]))
    return ": ".join(parts) or f"HTTP {response.status_code}"


class ZendeskConnector(Connector):
    """Zendesk users (by email or external id) and custom object records (by external id)."""

    type_name = "zendesk"
    title = "Zendesk"
    description = "Synchronize users and custom objects' records in Zendesk Support."
    docs_url = "https://developer.zendesk.com/api-reference/ticketing/users/users/"
    config_model = ZendeskConfig
    activation_defaults = ZendeskActivationDefaults
    standard_fields = (
        StandardField("name", "full_name", "Name (users and records)"),
        StandardField("phone", "phone", "User phone"),
        StandardField("locale", "locale", "User locale"),
    )
    capabilities = Capabilities(
        services=frozenset({Service.UPSERT}),
        target_kinds=frozenset({USER, CUSTOM_OBJECT}),
        identifiers=frozenset({IdentifierKind.EMAIL, IdentifierKind.EXTERNAL_ID}),
        batch_size=BATCH,
        concurrency=4,
        rate_limit=RateLimit(400, 60.0),
        can_create_targets=False,
        can_read_members=False,
        read_members_note="upsert targets have no membership to read",
        full_refresh="resend every row of the audience",
    )
    config: ZendeskConfig

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._fields: dict[str, frozenset[str]] = {}

    @classmethod
    def base_url(cls, config: ZendeskConfig) -> str:
        return config.base_url or f"https://{config.subdomain}.zendesk.com"

    @classmethod
    def auth(cls, config: ZendeskConfig) -> httpx.Auth:
        return httpx.BasicAuth(f"{config.email}/token", config.api_token.get_secret_value())

    @classmethod
    def rate_limit_for(cls, config: ZendeskConfig) -> RateLimit:
        return RateLimit(config.requests_per_minute, 60.0)

    async def _call(self, method: str, path: str, **kwargs: Any) -> httpx.Response:
        response = await self.http.request(method, path, **kwargs)
        if response.status_code in (401, 403):
            raise ConfigError(f"Zendesk refused the credentials: {zendesk_message(response)}")
        return response

    # -- connection and targets ------------------------------------------------------------

    async def check(self) -> str:
        response = await self._call("GET", "/api/v2/users/me")
        user = response.json().get("user") or {}
        if not user.get("id"):
            raise ConfigError("Zendesk answered as an anonymous user: check the email and API token")
        return f"connected to {self.config.subdomain}.zendesk.com as {user.get('email')}"

    async def list_targets(self, kind: str | None = None, cursor: str | None = None) -> TargetPage:
        if kind != CUSTOM_OBJECT:
            return TargetPage([_users()])
        response = await self._call("GET", "/api/v2/custom_objects")
        objects = response.json().get("custom_objects") or []
        return TargetPage([_object(o) for o in objects])

    async def ensure_target(self, spec: TargetSpec) -> Target:
        if spec.kind != CUSTOM_OBJECT:
            return _users()
        key = spec.id or spec.name
        response = await self._call("GET", f"/api/v2/custom_objects/{key}")
        if response.status_code == 404:
            raise ConfigError(
                f"Zendesk has no custom object with key {key!r}: create it in Admin Center first"
            )
        return _object(response.json().get("custom_object") or {})

    async def _known_fields(self, target: Target) -> frozenset[str]:
        """Keys of the user fields, or of the custom object's fields (read once per target)."""
        if target.id not in self._fields:
            if target.kind == USER:
                response = await self._call("GET", "/api/v2/user_fields")
                keys = {str(f["key"]) for f in response.json().get("user_fields") or []}
            else:
                response = await self._call("GET", f"/api/v2/custom_objects/{target.id}/fields")
                keys = {str(f["key"]) for f in response.json().get("custom_object_fields") or []}
            self._fields[target.id] = frozenset(keys)
        return self._fields[target.id]

    # -- writes ------------------------------------------------------------------------------

    async def apply(self, target: Target, ops: Sequence[Op]) -> list[Outcome]:
        kind = ops[0].kind
        if kind not in (OpKind.UPSERT, OpKind.CLEAR, OpKind.DELETE):
            return _rejected(ops, f"Zendesk {target.kind}s do not support {kind}")
        if target.kind == USER:
            if kind is OpKind.DELETE:
                return _rejected(ops, "Sluice does not delete Zendesk users: choose 'clear' or 'ignore'")
            users = [await self._user(target, op) for op in ops]
            path = "/api/v2/users/create_or_update_many"
            return await self._job(ops, "POST", path, {"users": users})
        path = f"/api/v2/custom_objects/{target.id}/jobs"
        job: dict[str, Any]
        if kind is OpKind.DELETE:
            job = {"action": "delete_by_external_id", "items": [op.identifier for op in ops]}
        else:
            items = [await self._record(target, op) for op in ops]
            job = {"action": "create_or_update_by_external_id", "items": items}
        return await self._job(ops, "POST", path, {"job": job})

    async def _split(self, target: Target, op: Op) -> tuple[dict[str, Any], dict[str, Any]]:
        """(standard attributes, custom fields) of one op; a clear never blanks the name."""
        known = await self._known_fields(target)
        standard_names = USER_STANDARD if target.kind == USER else frozenset({"name"})
        standard: dict[str, Any] = {}
        custom: dict[str, Any] = {}
        clear = op.kind is OpKind.CLEAR
        for name, value in op.fields.items():
            if name in standard_names:
                if not (clear and name == "name"):
                    standard[name] = None if clear else value
            elif name in known:
                custom[name] = None if clear else value
            else:
                what = "user field" if target.kind == USER else f"field of custom object {target.id!r}"
                raise ConfigError(f"Zendesk has no {what} with key {name!r}: create it or change the mapping")
        return standard, custom

    async def _user(self, target: Target, op: Op) -> dict[str, Any]:
        standard, custom = await self._split(target, op)
        field = "external_id" if target.identifier_kind is IdentifierKind.EXTERNAL_ID else "email"
        user: dict[str, Any] = {field: op.identifier, **standard}
        if custom:
            user["user_fields"] = custom
        return user

    async def _record(self, target: Target, op: Op) -> dict[str, Any]:
        standard, custom = await self._split(target, op)
        if "name" not in standard and op.kind is not OpKind.CLEAR:
            standard["name"] = op.identifier  # a record needs a name; without a mapping it is its external id
        return {"external_id": op.identifier, **standard, "custom_object_fields": custom}

    async def _job(self, ops: Sequence[Op], method: str, path: str, body: dict[str, Any]) -> list[Outcome]:
        response = await self._call(method, path, json=body)
        if response.status_code == 404:
            raise ConfigError(f"Zendesk: {zendesk_message(response)} ({path})")
        if response.status_code >= 400:
            raise RowRejected(zendesk_message(response))
        job_id = str((response.json().get("job_status") or {}).get("id"))

        def finished(answer: httpx.Response) -> bool:
            if answer.status_code >= 400:
                raise RowRejected(f"Zendesk job {job_id}: {zendesk_message(answer)}")
            return str((answer.json().get("job_status") or {}).get("status")) in FINISHED

        polling = JobPolling(timeout=self.config.job_timeout_seconds)
        done = await poll_job(self.http, f"/api/v2/job_statuses/{job_id}", finished=finished, polling=polling)
        status = done.json()["job_status"]
        results = status.get("results") or []
        if status.get("status") != "completed" and not results:
            raise RowRejected(f"Zendesk job {status.get('status')}: {status.get('message') or job_id}")
        outcomes = []
        for position, op in enumerate(ops):
            result = _result_for(results, position)
            if result is None:
                message = f"Zendesk job {status.get('status')}: no result for this row"
                outcomes.append(Outcome.of(op, OutcomeStatus.FAILED, message))
            elif result.get("status") == "Failed" or result.get("success") is False or result.get("error"):
                message = f"{result.get('error') or 'Failed'}: {result.get('details') or ''}".rstrip(": ")
                outcomes.append(Outcome.of(op, OutcomeStatus.REJECTED, message))
            else:
                outcomes.append(Outcome.of(op, OutcomeStatus.DELIVERED))
        return outcomes


def _result_for(results: list[dict[str, Any]], position: int) -> dict[str, Any] | None:
    """The job result of request item ``position`` (by ``index`` when given, else by order)."""
    for result in results:
        if result.get("index") == position:
            return result
    if all("index" not in r for r in results) and position < len(results):
        return results[position]
    return None


def _users() -> Target:
    return Target(USER, "users", "Users")


def _object(item: dict[str, Any]) -> Target:
    return Target(CUSTOM_OBJECT, str(item.get("key")), str(item.get("title") or item.get("key")))


def _rejected(ops: Sequence[Op], message: str) -> list[Outcome]:
    return [Outcome.of(op, OutcomeStatus.REJECTED, message) for op in ops]
