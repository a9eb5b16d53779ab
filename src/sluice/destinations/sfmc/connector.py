"""Salesforce Marketing Cloud Engagement REST API: synchronize data extension rows.

- Auth: OAuth 2.0 client credentials through :mod:`sluice.destinations.oauth` (JSON body with
  ``account_id``, tokens from ``https://{subdomain}.auth.marketingcloudapis.com/v2/token``,
  cached until a minute before ``expires_in``, refreshed once on a 401); calls go to
  ``https://{subdomain}.rest.marketingcloudapis.com`` (the token's ``rest_instance_url``).
- Targets (``data_extension``, id = external key): listed with ``GET /data/v1/customobjects``
  (``$page``, ``$pageSize``, ``$search``); the primary key column comes from
  ``GET /data/v1/customobjects/{id}/fields``. Sluice never creates data extensions.
- Upsert / clear: ``PUT /data/v1/async/dataextensions/key:{key}/rows`` ``{"items": [{…}]}`` →
  202 ``{"requestId"}``; ``GET /data/v1/async/{requestId}/status`` is polled
  (:func:`~sluice.destinations.jobs.poll_job`) until ``requestStatus`` is not ``Pending``; when
  ``hasErrors``, ``GET /data/v1/async/{requestId}/results`` holds the row errors. The results
  do not name the row they belong to, so a batch with some failed rows is refused as a whole and
  delivery splits it until each failed row is alone (its message kept).
- Delete: the REST API offers no row delete for data extensions (only clearing all data), so
  removal behaviour *delete* rejects the rows with that reason; *clear* and *ignore* work.
- 429 with ``Retry-After`` (errorcode 50100) is retried by the HTTP layer.
"""

from __future__ import annotations

import dataclasses
from collections.abc import AsyncIterator, Sequence
from typing import Any
from urllib.parse import quote

import httpx

from sluice.destinations.errors import ConfigError, RowRejected
from sluice.destinations.http import VendorHttp
from sluice.destinations.jobs import JobPolling, poll_job
from sluice.destinations.oauth import BearerAuth, Grant, OAuthApp
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
    Target,
    TargetPage,
    TargetSpec,
)
from sluice.destinations.sfmc.config import SfmcActivationDefaults, SfmcConfig
from sluice.destinations.values import jsonable

DATA_EXTENSION = "data_extension"
BATCH = 500  # rows per async request (inferred: Marketing Cloud publishes a payload size, not a count)
PICKER_PAGE = 50
RESULTS_PAGE = 50
NO_DELETE = (
    "not sent: Marketing Cloud's REST API cannot delete single data extension rows; "
    "choose the removal behaviour clear or ignore"
)


def sfmc_message(response: httpx.Response) -> str:
    """Marketing Cloud's ``message`` (REST) or ``error_description`` (auth) of an answer."""
    try:
        body = response.json()
    except ValueError:
        return f"HTTP {response.status_code}"
    if not isinstance(body, dict):
        return f"HTTP {response.status_code}"
    for name in ("message", "error_description", "error"):
        if body.get(name):
            code = body.get("errorcode")
            return f"{body[name]} (errorcode {code})" if code else str(body[name])
    messages = [m.get("message", m) if isinstance(m, dict) else m for m in body.get("resultMessages") or []]
    return "; ".join(str(m) for m in messages) or f"HTTP {response.status_code}"


class SfmcConnector(Connector):
    """Rows of Marketing Cloud data extensions, keyed by their primary key column."""

    type_name = "sfmc"
    title = "Salesforce Marketing Cloud"
    description = "Synchronize data extensions (asynchronous row upserts keyed by the primary key)."
    docs_url = (
        "https://developer.salesforce.com/docs/marketing/marketing-cloud/guide/data-extensions-api.html"
    )
    config_model = SfmcConfig
    activation_defaults = SfmcActivationDefaults
    capabilities = Capabilities(
        services=frozenset({Service.UPSERT}),
        target_kinds=frozenset({DATA_EXTENSION}),
        identifiers=frozenset({IdentifierKind.EXTERNAL_ID, IdentifierKind.EMAIL}),
        batch_size=BATCH,
        concurrency=4,
        rate_limit=RateLimit(10, 1.0),
        can_create_targets=False,
        can_read_members=False,
        read_members_note="data extensions are synchronized tables, not audiences Sluice reads back",
        full_refresh="not available: rows are upserted, never read back",
    )
    oauth_app = OAuthApp(
        vendor="Salesforce Marketing Cloud",
        token_url="https://{subdomain}.auth.marketingcloudapis.com/v2/token",  # noqa: S106 - a URL
        grant=Grant.CLIENT_CREDENTIALS,
        body_format="json",
        default_expires_in=1079,
    )
    config: SfmcConfig

    def __init__(self, config: SfmcConfig, http: VendorHttp) -> None:
        super().__init__(config, http)
        if config.account_id and isinstance(http.auth, BearerAuth):  # the business unit (MID) to act in
            source = http.auth.source
            extra = {**source.app.token_params, "account_id": config.account_id}
            source.app = dataclasses.replace(source.app, token_params=extra)
        self._primary_keys: dict[str, str] = {}

    @classmethod
    def base_url(cls, config: SfmcConfig) -> str:
        return (config.base_url or f"https://{config.subdomain}.rest.marketingcloudapis.com").rstrip("/")

    @classmethod
    def rate_limit_for(cls, config: SfmcConfig) -> RateLimit:
        return RateLimit(config.requests_per_second, 1.0)

    async def _call(self, method: str, path: str, **kwargs: Any) -> httpx.Response:
        response = await self.http.request(method, path, **kwargs)
        if response.status_code in (401, 403):
            raise ConfigError(f"Marketing Cloud refused the API integration: {sfmc_message(response)}")
        return response

    # -- connection and targets ------------------------------------------------------------

    async def check(self) -> str:
        response = await self._call("GET", "/data/v1/customobjects", params={"$page": 1, "$pageSize": 1})
        if response.status_code >= 400:
            raise ConfigError(f"Marketing Cloud answered {sfmc_message(response)}")
        return f"connected to Marketing Cloud tenant {self.config.subdomain}"

    async def _page(self, page: int, search: str | None = None) -> tuple[list[dict[str, Any]], bool]:
        params: dict[str, Any] = {"$page": page, "$pageSize": PICKER_PAGE}
        if search:
            params["$search"] = search
        response = await self._call("GET", "/data/v1/customobjects", params=params)
        if response.status_code >= 400:
            raise ConfigError(f"Marketing Cloud data extensions: {sfmc_message(response)}")
        body = response.json()
        items = [i for i in body.get("items") or [] if isinstance(i, dict)]
        size = int(body.get("pageSize") or PICKER_PAGE)
        return items, page * size < int(body.get("count") or 0)

    async def list_targets(self, kind: str | None = None, cursor: str | None = None) -> TargetPage:
        page = int(cursor or 1)
        items, more = await self._page(page)
        return TargetPage([_target(i) for i in items], str(page + 1) if more else None)

    async def ensure_target(self, spec: TargetSpec) -> Target:
        if spec.kind != DATA_EXTENSION:
            raise ConfigError(f"Marketing Cloud has no target kind {spec.kind!r}")
        page, more = 1, True
        while more:
            items, more = await self._page(page, None if spec.id else spec.name)
            for item in items:
                if (spec.id and item.get("key") == spec.id) or (
                    not spec.id and item.get("name") == spec.name
                ):
                    return _target(item)
            page += 1
        raise ConfigError(
            f"Marketing Cloud has no data extension {spec.id or spec.name!r}: create it (with a primary key) "
            "in Contact Builder first; Sluice does not create data extensions"
        )

    async def _primary_key(self, target: Target) -> str:
        if target.id not in self._primary_keys:
            response = await self._call(
                "GET", f"/data/v1/customobjects/{quote(target.parent_id or '')}/fields"
            )
            if response.status_code >= 400:
                raise ConfigError(f"Marketing Cloud data extension {target.id}: {sfmc_message(response)}")
            keys = [str(f["name"]) for f in response.json().get("fields") or [] if f.get("isPrimaryKey")]
            if len(keys) != 1:
                raise ConfigError(
                    f"data extension {target.id} needs exactly one primary key column for Sluice's identifier "
                    f"(it has {len(keys)})"
                )
            self._primary_keys[target.id] = keys[0]
        return self._primary_keys[target.id]

    # -- delivery ------------------------------------------------------------------------------

    async def apply(self, target: Target, ops: Sequence[Op]) -> list[Outcome]:
        kind = ops[0].kind
        if kind is OpKind.DELETE:
            return [Outcome.of(op, OutcomeStatus.REJECTED, NO_DELETE) for op in ops]
        if kind not in (OpKind.UPSERT, OpKind.CLEAR):
            return [
                Outcome.of(op, OutcomeStatus.REJECTED, f"data extensions do not support {kind}") for op in ops
            ]
        key = await self._primary_key(target)
        items = [
            {
                key: op.identifier,
                **{n: None if kind is OpKind.CLEAR else jsonable(v) for n, v in op.fields.items()},
            }
            for op in ops
        ]
        response = await self._call(
            "PUT", f"/data/v1/async/dataextensions/key:{quote(target.id)}/rows", json={"items": items}
        )
        if response.status_code == 404:
            raise ConfigError(f"Marketing Cloud data extension {target.id}: {sfmc_message(response)}")
        if response.status_code >= 400:
            raise RowRejected(sfmc_message(response))
        request_id = str(response.json().get("requestId"))
        status = await self._wait(request_id)
        if not status.get("hasErrors") and status.get("requestStatus") != "Error":
            return [Outcome.of(op, OutcomeStatus.DELIVERED) for op in ops]
        errors = [message async for message in self._row_errors(request_id)]
        if len(errors) == len(ops):  # every row failed: each error is its row's
            return [
                Outcome.of(op, OutcomeStatus.REJECTED, error) for op, error in zip(ops, errors, strict=True)
            ]
        raise RowRejected(
            errors[0] if errors else f"request {request_id} ended in {status.get('requestStatus')}"
        )

    async def _wait(self, request_id: str) -> dict[str, Any]:
        def finished(response: httpx.Response) -> bool:
            if response.status_code in (401, 403):
                raise ConfigError(f"Marketing Cloud refused the API integration: {sfmc_message(response)}")
            if response.status_code == 404:
                return False  # a request id is not visible at once
            return str((response.json().get("status") or {}).get("requestStatus")) != "Pending"

        response = await poll_job(
            self.http,
            f"/data/v1/async/{quote(request_id)}/status",
            finished=finished,
            polling=JobPolling(timeout=self.config.job_timeout_seconds),
        )
        status: dict[str, Any] = response.json().get("status") or {}
        return status

    async def _row_errors(self, request_id: str) -> AsyncIterator[str]:
        page, more = 1, True
        while more:
            response = await self._call(
                "GET",
                f"/data/v1/async/{quote(request_id)}/results",
                params={"page": page, "pageSize": RESULTS_PAGE},
            )
            if response.status_code >= 400:
                raise RowRejected(sfmc_message(response))
            body = response.json()
            for item in body.get("items") or []:
                if isinstance(item, dict) and str(item.get("status", "Error")) != "OK":
                    yield f"{item.get('errorCode', 'Error')}: {item.get('message', '')}".strip()
            more = page * int(body.get("pageSize") or RESULTS_PAGE) < int(body.get("count") or 0)
            page += 1


def _target(item: dict[str, Any]) -> Target:
    return Target(
        DATA_EXTENSION, str(item["key"]), str(item.get("name") or item["key"]), parent_id=str(item["id"])
    )
