"""Meta Marketing API (Graph API): export segments as customer-file custom audiences.

A segment becomes a custom audience (``subtype=CUSTOM``) of one ad account, created on first run.
Members are added with ``POST /{audience_id}/users`` and removed with ``DELETE /{audience_id}/users``,
body ``{"payload": {"schema": "EMAIL_SHA256", "data": [<sha256>, …]}}``, at most 10,000 per call.
Identifiers are normalised and SHA-256 hashed here (:mod:`sluice.destinations.hashing`, Meta rules):
raw emails and phones never leave Sluice. Meta matches asynchronously (up to 24 h) and reports no
per-person result, so every well-formed row is *delivered*; members cannot be read back.
See README.md for the facts and their sources.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import httpx

from sluice.destinations.errors import ConfigError, RowRejected
from sluice.destinations.hashing import META, InvalidIdentifier, PiiField, hash_value
from sluice.destinations.http import RateHeaders
from sluice.destinations.meta.config import MetaActivationDefaults, MetaConfig
from sluice.destinations.meta.graph import (
    describe,
    graph_auth_headers,
    graph_call,
    graph_error,
    graph_rate_headers,
)
from sluice.destinations.sdk import (
    Capabilities,
    Connector,
    IdentifierKind,
    Op,
    OpKind,
    Outcome,
    OutcomeStatus,
    ReplaceBatch,
    Service,
    Target,
    TargetPage,
    TargetSpec,
)

CUSTOM_AUDIENCE = "custom_audience"
BATCH_LIMIT = 10_000  # rows per /users call
PAGE = 100
#: identifier kind → Meta single-key schema (values SHA-256 hex)
SCHEMAS = {
    IdentifierKind.EMAIL: "EMAIL_SHA256",
    IdentifierKind.PHONE: "PHONE_SHA256",
    IdentifierKind.HASHED: "EMAIL_SHA256",  # an already-hashed identifier is taken as a hashed email
}
_FIELDS = {IdentifierKind.EMAIL: PiiField.EMAIL, IdentifierKind.PHONE: PiiField.PHONE}


class MetaConnector(Connector):
    """Customer-file custom audiences of one ad account, members addressed by hashed identifiers."""

    type_name = "meta"
    title = "Meta Custom Audiences"
    description = (
        "Export segments as Meta (Facebook/Instagram) customer-file custom audiences (SHA-256 hashed)."
    )
    docs_url = "https://developers.facebook.com/docs/marketing-api/reference/custom-audience/users"
    config_model = MetaConfig
    activation_defaults = MetaActivationDefaults
    capabilities = Capabilities(
        services=frozenset({Service.MEMBERSHIP}),
        target_kinds=frozenset({CUSTOM_AUDIENCE}),
        identifiers=frozenset({IdentifierKind.EMAIL, IdentifierKind.PHONE, IdentifierKind.HASHED}),
        batch_size=BATCH_LIMIT,
        concurrency=4,
        rate_limit=None,
        can_create_targets=True,
        can_read_members=False,
        read_members_note="Meta never returns the people in a custom audience (only approximate counts).",
        full_refresh="replace the audience's members in one usersreplace session: people who left are removed",
        rejects_unknown_contacts=False,
        unknown_contacts_note="Meta accepts every hashed identifier and matches it to people "
        "asynchronously (up to 24 h); it never reports who was not found.",
    )
    config: MetaConfig

    @classmethod
    def base_url(cls, config: MetaConfig) -> str:
        return config.base_url or f"https://graph.facebook.com/{config.api_version}"

    @classmethod
    def auth_headers(cls, config: MetaConfig) -> dict[str, str]:
        return graph_auth_headers(config.access_token.get_secret_value())

    @staticmethod
    def rate_headers(response: httpx.Response, now: float) -> RateHeaders:
        """``Retry-After`` if any, else Meta's business-use-case usage header."""
        return graph_rate_headers(response, now)

    @property
    def _account(self) -> str:
        account = self.config.ad_account_id
        return account if account.startswith("act_") else f"act_{account}"

    async def _call(self, method: str, path: str, **kwargs: Any) -> httpx.Response:
        """One Graph API call (:func:`graph_call`), and a flagged audience is the user's to fix."""
        response = await graph_call(self.http, method, path, **kwargs)
        error = graph_error(response)
        if error.get("code") == 100 and error.get("error_subcode") == 1713230:
            raise ConfigError(f"Meta blocks uploads to this flagged audience: {describe(error, 400)}")
        return response

    # -- connection and targets ------------------------------------------------------------

    async def check(self) -> str:
        response = await self._call("GET", f"/{self._account}", params={"fields": "id,name,account_status"})
        if not response.is_success:
            raise ConfigError(f"Meta ad account {self._account}: {describe(graph_error(response), 400)}")
        return f"connected to ad account {response.json().get('name', self._account)!r}"

    def _target(self, audience: dict[str, Any]) -> Target:
        size = audience.get("approximate_count_lower_bound")
        return Target(
            CUSTOM_AUDIENCE,
            str(audience["id"]),
            str(audience.get("name", "")),
            parent_id=self._account,
            size=int(size) if isinstance(size, int) and size >= 0 else None,
        )

    async def list_targets(self, kind: str | None = None, cursor: str | None = None) -> TargetPage:
        params: dict[str, Any] = {
            "fields": "id,name,subtype,approximate_count_lower_bound,operation_status",
            "limit": PAGE,
        }
        if cursor:
            params["after"] = cursor
        response = await self._call("GET", f"/{self._account}/customaudiences", params=params)
        if not response.is_success:
            raise ConfigError(f"Meta could not list audiences: {describe(graph_error(response), 400)}")
        body = response.json()
        items = [self._target(a) for a in body.get("data") or [] if a.get("subtype", "CUSTOM") == "CUSTOM"]
        paging = body.get("paging") or {}
        after = (paging.get("cursors") or {}).get("after")
        return TargetPage(items, str(after) if paging.get("next") and after else None)

    async def ensure_target(self, spec: TargetSpec) -> Target:
        if spec.id:
            response = await self._call(
                "GET", f"/{spec.id}", params={"fields": "id,name,subtype,approximate_count_lower_bound"}
            )
            if not response.is_success:
                raise ConfigError(
                    f"Meta custom audience {spec.id} is not available: {describe(graph_error(response), 400)}"
                )
            return self._target(response.json())
        cursor: str | None = None
        while True:
            page = await self.list_targets(CUSTOM_AUDIENCE, cursor)
            for target in page.items:
                if target.name == spec.name:
                    return target
            if page.next_cursor is None:
                break
            cursor = page.next_cursor
        if not spec.create_if_missing:
            raise ConfigError(f"Meta has no custom audience named {spec.name!r}")
        response = await self._call(
            "POST",
            f"/{self._account}/customaudiences",
            json={
                "name": spec.name,
                "subtype": "CUSTOM",
                "description": "Managed by Sluice",
                "customer_file_source": self.config.customer_file_source,
            },
        )
        if not response.is_success:
            raise ConfigError(
                f"Meta could not create audience {spec.name!r}: {describe(graph_error(response), 400)}"
            )
        return Target(CUSTOM_AUDIENCE, str(response.json()["id"]), spec.name, parent_id=self._account, size=0)

    # -- members -----------------------------------------------------------------------------

    def hashed(self, identifier: str, kind: IdentifierKind) -> str:
        """The SHA-256 Meta matches on (already-hashed values pass through)."""
        field = _FIELDS.get(kind, PiiField.EMAIL)
        return hash_value(field, identifier, META, default_region=self.config.default_country)

    def invalid_reason(self, op: Op, kind: IdentifierKind) -> str | None:
        """Refuse what cannot be normalised by Meta's rules (checked before any request)."""
        if kind not in _FIELDS:
            return super().invalid_reason(op, kind)  # HASHED: a lowercase SHA-256 hex digest
        if not op.identifier or not op.identifier.strip():
            return "identifier is empty"
        try:
            self.hashed(op.identifier, kind)
        except InvalidIdentifier as exc:
            return str(exc)
        return None

    def _payload(self, target: Target, ops: Sequence[Op]) -> dict[str, Any]:
        kind = target.identifier_kind
        hashes = list(dict.fromkeys(self.hashed(op.identifier, kind) for op in ops))
        return {"schema": SCHEMAS[kind], "data": hashes}

    async def _write(
        self, method: str, target: Target, path: str, ops: Sequence[Op], body: dict[str, Any]
    ) -> list[Outcome]:
        """Send a ``payload`` of ``ops`` to an audience edge; an outcome per op."""
        response = await self._call(
            method, f"/{target.id}/{path}", json={"payload": self._payload(target, ops), **body}
        )
        if not response.is_success:
            error = graph_error(response)
            if error.get("code") == 100 and error.get("error_subcode") == 33:
                raise ConfigError(
                    f"Meta custom audience {target.id} no longer exists: {describe(error, 400)}"
                )
            raise RowRejected(describe(error, response.status_code))
        invalid = int(response.json().get("num_invalid_entries") or 0)
        note = f"Meta counted {invalid} invalid entries in this batch" if invalid else ""
        return [Outcome.of(op, OutcomeStatus.DELIVERED, note) for op in ops]

    async def apply(self, target: Target, ops: Sequence[Op]) -> list[Outcome]:
        if ops[0].kind not in (OpKind.ADD, OpKind.REMOVE):
            return [
                Outcome.of(op, OutcomeStatus.REJECTED, f"Meta custom audiences do not support {op.kind}")
                for op in ops
            ]
        return await self._write("POST" if ops[0].kind is OpKind.ADD else "DELETE", target, "users", ops, {})

    async def replace_members(self, target: Target, ops: Sequence[Op], batch: ReplaceBatch) -> list[Outcome]:
        """Full refresh: ``POST /{audience_id}/usersreplace`` in one session; Meta swaps the
        audience's members for everyone sent once the batch with ``last_batch_flag`` arrives."""
        session = {
            "session_id": batch.session_id,
            "batch_seq": batch.seq,
            "last_batch_flag": batch.last,
            "estimated_num_total": batch.estimated_total,
        }
        return await self._write("POST", target, "usersreplace", ops, {"session": session})
