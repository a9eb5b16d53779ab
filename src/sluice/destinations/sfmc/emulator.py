"""A local fake of the Salesforce Marketing Cloud Engagement REST API (data extensions).

Faithful to: ``POST /v2/token`` (client credentials; 401 ``invalid_client``; ``access_token``,
``expires_in`` 1079, ``rest_instance_url``), Bearer tokens that expire after 20 minutes or when
revoked (401 ``{"message": "Not Authorized", "errorcode": 0}``), ``GET /data/v1/customobjects``
(``$page``/``$pageSize``/``$search``) and ``…/{id}/fields``, asynchronous rows
(``POST`` insert / ``PUT`` upsert ``/data/v1/async/dataextensions/key:{key}/rows`` → 202
``{"requestId"}``, processed when the status is polled; ``…/{requestId}/status`` with
``requestStatus`` Pending → Complete and ``hasErrors``; ``…/results`` listing row errors), and
throttling: 429 ``{"message": "Rate limit exceeded", "errorcode": 50100, "retryAfter": 5}`` with
``Retry-After: 5``. Assumed (not published): the row cap per async request (500), the shapes of the
customobjects answers, the texts of row errors other than the primary-key violation, and that
``/results`` lists failed rows only.
"""

from __future__ import annotations

import itertools
import re
import uuid
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse, Response

from sluice.destinations.emulation import Emulator, local_path
from sluice.destinations.sdk import IdentifierKind, Target, TargetSpec

CLIENT_ID = "emulator-sfmc-client"
CLIENT_SECRET = "emulator-sfmc-secret"  # noqa: S105 - the fake API integration's secret
MID = "510000001"
TOKEN_LIFETIME = 1200.0
ROW_LIMIT = 500
MAX_PAGE = 50
NOT_AUTHORIZED = {
    "documentation": "https://developer.salesforce.com/docs/atlas.en-us.mc-apis.meta/mc-apis/error-handling.htm",
    "errorcode": 0,
    "message": "Not Authorized",
}
NUMBER = re.compile(r"-?\d+(\.\d+)?")
EMAIL = re.compile(r"[^@\s]+@[^@\s]+\.[^@\s]+")


@dataclass
class Column:
    name: str
    type: str = "Text"
    length: int | None = 50
    primary_key: bool = False

    def problem(self, value: Any) -> str | None:
        """Why ``value`` does not fit this column (None when it does, or when it is null)."""
        if value is None or value == "":
            return f"Primary key column '{self.name}' cannot be null" if self.primary_key else None
        text = str(value)
        if self.type == "Number" and not NUMBER.fullmatch(text):
            return f"Error converting value '{text}' to data type Number for column '{self.name}'"
        if self.type == "EmailAddress" and not EMAIL.fullmatch(text):
            return f"Invalid email address '{text}' for column '{self.name}'"
        if self.length is not None and len(text) > self.length:
            return f"String or binary data would be truncated in column '{self.name}'"
        return None


@dataclass
class DataExtension:
    id: str
    key: str
    name: str
    columns: list[Column]
    rows: dict[str, dict[str, Any]] = field(default_factory=dict)

    @property
    def primary_key(self) -> Column:
        return next(c for c in self.columns if c.primary_key)


@dataclass
class AsyncRequest:
    id: str
    de_key: str
    items: list[dict[str, Any]]
    upsert: bool
    called: str
    polls_left: int
    errors: list[dict[str, str]] | None = None
    completed: str = ""


def _columns(primary: Column) -> list[Column]:
    return [primary, Column("FirstName"), Column("Points", "Number", None)]


class SfmcEmulator(Emulator):
    """One Marketing Cloud tenant and business unit; async requests finish after ``job_polls`` polls."""

    name = "sfmc"
    identifier_kind = IdentifierKind.EXTERNAL_ID
    batch_limit = ROW_LIMIT
    unknown_contact_message = "not applicable: data extension rows need no existing contact"
    upsert_specs = (
        TargetSpec(kind="data_extension", id="sluice-customers", identifier_kind=IdentifierKind.EXTERNAL_ID),
        TargetSpec(kind="data_extension", id="sluice-newsletter", identifier_kind=IdentifierKind.EMAIL),
    )

    def __init__(self, *, job_polls: int = 1, **kwargs: Any) -> None:
        self.client_secret = CLIENT_SECRET
        self.tokens: dict[str, float] = {}  # token → expiry on the emulator clock
        self.token_requests = 0
        self.data_extensions: dict[str, DataExtension] = {}
        self.requests_async: dict[str, AsyncRequest] = {}
        self.subscribers: set[str] = set()
        self.job_polls = job_polls
        self._ids = itertools.count(1)
        super().__init__(**kwargs)
        self.add_data_extension(
            "Sluice_Customers",
            "sluice-customers",
            _columns(Column("SubscriberKey", length=254, primary_key=True)),
        )
        self.add_data_extension(
            "Sluice_Newsletter",
            "sluice-newsletter",
            _columns(Column("EmailAddress", "EmailAddress", 254, primary_key=True)),
        )

    def add_data_extension(self, name: str, key: str, columns: list[Column]) -> DataExtension:
        guid = str(uuid.UUID(int=next(self._ids)))
        data_extension = DataExtension(guid, key, name, columns)
        self.data_extensions[key] = data_extension
        return data_extension

    def revoke_tokens(self) -> None:
        """Invalidate every token issued (as a rotated secret or an early expiry would)."""
        self.tokens.clear()

    def _now(self) -> str:
        return datetime.fromtimestamp(self.clock(), UTC).strftime("%Y-%m-%dT%H:%M:%S.%f")[:-3]

    # -- auth and errors -----------------------------------------------------------------------

    def rate_limited(self) -> Response:
        return JSONResponse(
            {"message": "Rate limit exceeded", "errorcode": 50100, "retryAfter": 5},
            429,
            headers={"Retry-After": "5"},
        )

    def server_error(self) -> Response:
        return JSONResponse({"message": "An error occurred", "errorcode": 0}, 500)

    async def gate(self, request: Request) -> Response | None:
        if request.url.path.endswith("/v2/token"):
            return None
        header = request.headers.get("authorization", "")
        token = header.removeprefix("Bearer ") if header.startswith("Bearer ") else ""
        if self.tokens.get(token, 0.0) <= self.clock():
            return JSONResponse(NOT_AUTHORIZED, 401)
        return None

    # -- async row requests --------------------------------------------------------------------

    def _run(self, job: AsyncRequest) -> None:
        data_extension = self.data_extensions.get(job.de_key)
        if data_extension is None:  # deleted since the request was accepted
            missing = {
                "errorCode": "UnexpectedError",
                "message": "Data extension not found",
                "status": "Error",
            }
            job.errors, job.completed = [missing], self._now()
            return
        errors: list[dict[str, str]] = []
        for item in job.items:
            problem = self._row_problem(data_extension, item, job.upsert)
            if problem is not None:
                code = "UnexpectedError" if problem.startswith("Violation") else "ValidationError"
                errors.append({"errorCode": code, "message": problem, "status": "Error"})
                continue
            columns = {c.name.lower(): c.name for c in data_extension.columns}
            row = data_extension.rows.setdefault(str(_value(item, data_extension.primary_key.name)), {})
            for name, value in item.items():
                row[columns[name.lower()]] = value
        job.errors, job.completed = errors, self._now()

    @staticmethod
    def _row_problem(data_extension: DataExtension, item: dict[str, Any], upsert: bool) -> str | None:
        known = {c.name.lower() for c in data_extension.columns}
        unknown = next((n for n in item if n.lower() not in known), None)
        if unknown is not None:
            return f"Column '{unknown}' does not exist in the data extension"
        for column in data_extension.columns:
            problem = column.problem(_value(item, column.name))
            if problem is not None:
                return problem
        key = str(_value(item, data_extension.primary_key.name))
        if not upsert and key in data_extension.rows:
            return (
                f"Violation of PRIMARY KEY constraint 'PK_{data_extension.id}'. Cannot insert duplicate key "
                f"in object '{data_extension.name}'. The duplicate key value is ({key})."
            )
        return None

    def _status(self, job: AsyncRequest) -> dict[str, Any]:
        done = job.errors is not None
        return {
            "status": {
                "callDateTime": job.called,
                "completionDateTime": job.completed or None,
                "hasErrors": bool(job.errors),
                "pickupDateTime": job.completed or None,
                "requestStatus": "Complete" if done else "Pending",
                "resultStatus": ("Error" if job.errors else "OK") if done else None,
                "requestId": job.id,
            },
            "requestId": str(uuid.uuid4()),
        }

    # -- routes ------------------------------------------------------------------------------

    def add_routes(self, app: FastAPI) -> None:
        @app.post("/v2/token")
        async def token(request: Request) -> JSONResponse:
            self.token_requests += 1
            body = await self.json_body(request) or {}
            if body.get("grant_type") != "client_credentials":
                return JSONResponse(
                    {
                        "error": "unsupported_grant_type",
                        "error_description": "Use client_credentials.",
                        "error_uri": "https://developer.salesforce.com/docs",
                    },
                    400,
                )
            if body.get("client_id") != CLIENT_ID or body.get("client_secret") != self.client_secret:
                return JSONResponse(
                    {
                        "error": "invalid_client",
                        "error_description": "Client authentication failed. Make sure that the client ID and client secret are correct.",
                        "error_uri": "https://developer.salesforce.com/docs",
                    },
                    401,
                )
            if body.get("account_id") not in (None, MID):
                return JSONResponse(
                    {
                        "error": "unauthorized_client",
                        "error_description": "Account ID is not valid for this package.",
                        "error_uri": "https://developer.salesforce.com/docs",
                    },
                    401,
                )
            access = f"eyJ{uuid.uuid4().hex}"
            self.tokens[access] = self.clock() + TOKEN_LIFETIME
            url = str(request.url).split("?")[0]
            root = url[: len(url) - len(local_path(request))] + "/"  # where this tenant is served
            return JSONResponse(
                {
                    "access_token": access,
                    "token_type": "Bearer",
                    "expires_in": int(TOKEN_LIFETIME) - 121,
                    "scope": "data_extensions_read data_extensions_write",
                    "soap_instance_url": root,
                    "rest_instance_url": root,
                }
            )

        @app.get("/data/v1/customobjects")
        async def customobjects(request: Request) -> JSONResponse:
            query = request.query_params
            size = self.page_size(int(query.get("$pageSize", 25)), MAX_PAGE)
            page = max(int(query.get("$page", 1)), 1)
            search = query.get("$search", "").lower()
            found = [d for d in self.data_extensions.values() if search in d.name.lower()]
            items = [
                {
                    "id": d.id,
                    "key": d.key,
                    "name": d.name,
                    "isSendable": False,
                    "isTestable": False,
                    "rowCount": len(d.rows),
                }
                for d in found[(page - 1) * size : page * size]
            ]
            return JSONResponse(
                {"count": len(found), "page": page, "pageSize": size, "links": {}, "items": items}
            )

        @app.get("/data/v1/customobjects/{guid}/fields")
        async def fields(guid: str) -> JSONResponse:
            data_extension = next((d for d in self.data_extensions.values() if d.id == guid), None)
            if data_extension is None:
                return JSONResponse({"message": f"Data extension {guid} not found", "errorcode": 10000}, 404)
            columns = [
                {
                    "name": c.name,
                    "type": c.type,
                    "length": c.length,
                    "isPrimaryKey": c.primary_key,
                    "isNullable": not c.primary_key,
                    "ordinal": n,
                }
                for n, c in enumerate(data_extension.columns)
            ]
            return JSONResponse({"id": guid, "fields": columns})

        async def rows(key: str, request: Request, upsert: bool) -> JSONResponse:
            if key not in self.data_extensions:
                return JSONResponse(
                    {"message": f"Data extension with key {key} not found", "errorcode": 10000}, 404
                )
            body = await self.json_body(request)
            items = body.get("items") if isinstance(body, dict) else None
            if not isinstance(items, list) or not items:
                return JSONResponse(
                    {"message": "items is required and must be a non-empty array", "errorcode": 10001}, 400
                )
            if len(items) > ROW_LIMIT:
                self.violation(f"{len(items)} rows in one async request")
                return JSONResponse(
                    {"message": f"At most {ROW_LIMIT} items per request", "errorcode": 10002}, 400
                )
            job = AsyncRequest(str(uuid.uuid4()), key, items, upsert, self._now(), self.job_polls)
            self.requests_async[job.id] = job
            return JSONResponse({"requestId": job.id, "resultMessages": []}, 202)

        @app.post("/data/v1/async/dataextensions/key:{key}/rows")
        async def insert_rows(key: str, request: Request) -> JSONResponse:
            return await rows(key, request, upsert=False)

        @app.put("/data/v1/async/dataextensions/key:{key}/rows")
        async def upsert_rows(key: str, request: Request) -> JSONResponse:
            return await rows(key, request, upsert=True)

        @app.get("/data/v1/async/{request_id}/status")
        async def status(request_id: str) -> JSONResponse:
            job = self.requests_async.get(request_id)
            if job is None:
                return JSONResponse({"message": f"Request {request_id} not found", "errorcode": 10000}, 404)
            if job.errors is None:
                if job.polls_left > 0:
                    job.polls_left -= 1
                else:
                    self._run(job)
            return JSONResponse(self._status(job))

        @app.get("/data/v1/async/{request_id}/results")
        async def results(request_id: str, request: Request) -> JSONResponse:
            job = self.requests_async.get(request_id)
            if job is None or job.errors is None:
                return JSONResponse(
                    {"message": f"Request {request_id} not found or not complete", "errorcode": 10000}, 404
                )
            size = self.page_size(int(request.query_params.get("pageSize", MAX_PAGE)), MAX_PAGE)
            page = max(int(request.query_params.get("page", 1)), 1)
            items = job.errors[(page - 1) * size : page * size]
            return JSONResponse({"page": page, "pageSize": size, "count": len(job.errors), "items": items})

    def state(self) -> dict[str, Any]:
        return {
            "data_extensions": {d.key: len(d.rows) for d in self.data_extensions.values()},
            "async_requests": len(self.requests_async),
            "tokens_issued": self.token_requests,
        }

    # -- conformance hooks ---------------------------------------------------------------------

    def seed_contacts(self, identifiers: Iterable[str]) -> None:
        """Subscribers of All Subscribers (data extension rows do not require them)."""
        self.subscribers.update(identifiers)

    def connector_config(self, base_url: str, *, valid: bool = True) -> dict[str, Any]:
        return {
            "subdomain": "mc-emulator",
            "client_id": CLIENT_ID,
            "client_secret": self.client_secret if valid else "wrong-secret",
            "account_id": MID,
            "base_url": base_url.rstrip("/"),
            "oauth_base_url": base_url.rstrip("/"),
        }

    def target_spec(self) -> TargetSpec:
        return self.upsert_specs[0]

    def members(self, target: Target) -> set[str]:
        return set(self.data_extensions[target.id].rows)

    def seed_members(self, target: Target, identifiers: Iterable[str]) -> None:
        data_extension = self.data_extensions[target.id]
        for identifier in identifiers:
            data_extension.rows.setdefault(identifier, {data_extension.primary_key.name: identifier})

    def seed_targets(self, names: Iterable[str], spec: TargetSpec) -> None:
        for name in names:
            key = re.sub(r"[^a-z0-9]+", "-", name.lower()).strip("-")
            self.add_data_extension(
                name, key, _columns(Column("SubscriberKey", length=254, primary_key=True))
            )

    def upsert_fields(self, target: Target, number: int, version: int = 0) -> dict[str, Any]:
        return {"FirstName": f"Ann{number}v{version}", "Points": number * 10 + version}

    def records(self, target: Target) -> dict[str, dict[str, Any]]:
        data_extension = self.data_extensions[target.id]
        key = data_extension.primary_key.name
        return {k: {c: v for c, v in row.items() if c != key} for k, row in data_extension.rows.items()}

    def refused_fields(self, target: Target) -> tuple[dict[str, Any], str] | None:
        return {"Points": "lots"}, "Error converting value 'lots' to data type Number"


def _value(item: dict[str, Any], column: str) -> Any:
    """A row's value of ``column`` (Marketing Cloud matches column names case-insensitively)."""
    return next((v for n, v in item.items() if n.lower() == column.lower()), None)
