"""A local fake of the Meta Graph API (the custom-audience parts Sluice uses).

Faithful to: an access token as ``Authorization: Bearer``/``OAuth`` or ``access_token`` (error
``OAuthException`` code 190 otherwise), Graph error objects ``{"error": {message, type, code,
error_subcode, fbtrace_id}}``, cursor paging (``paging.cursors.after`` + ``paging.next``), custom
audiences created with ``subtype=CUSTOM`` and a required ``customer_file_source``, and
``POST``/``DELETE /{audience_id}/users`` with ``payload={schema, data}``: at most 10,000 rows, and
**every value of a hashed schema must be a SHA-256 hex digest** — unhashed PII is refused and
recorded as a limit violation. ``POST /{audience_id}/usersreplace`` with ``session={session_id,
batch_seq, last_batch_flag, estimated_num_total}``: batches from ``batch_seq`` 1 collect the new
members, the last one replaces the audience's members (a session whose first batch was never seen
is refused with code 2650). Membership is stored as the hashes Meta would hold; the emulator
knows which demo contact a hash stands for only because the suite seeded it.

Stated assumptions (not confirmed against a live account): the exact wording of the refusals for
oversized and unhashed payloads, and the HTTP status of throttling errors (429 here, with code
80003 and an ``X-Business-Use-Case-Usage`` header); that an audience keeps its members until a
replace session's last batch arrives (an unfinished session changes nothing).
"""

from __future__ import annotations

import base64
import itertools
import json
import re
import uuid
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

from fastapi import FastAPI, Request

from sluice.destinations.meta.graph_emulation import (
    ACCOUNT_ID,
    GraphEmulator,
    GraphError,
    email_hash,
    not_found,
)
from sluice.destinations.sdk import Target, TargetSpec

BATCH_LIMIT = 10_000
MAX_LIMIT = 500
SHA256 = re.compile(r"[0-9a-fA-F]{64}")
#: schema keys whose values Meta requires SHA-256 hashed
HASHED_KEYS = frozenset(
    {
        "EMAIL_SHA256",
        "PHONE_SHA256",
        "EMAIL",
        "PHONE",
        "FN",
        "LN",
        "FI",
        "ZIP",
        "CT",
        "ST",
        "COUNTRY",
        "DOBY",
        "DOBM",
        "DOBD",
        "GEN",
    }
)
UNHASHED_KEYS = frozenset({"EXTERN_ID", "MADID", "MOBILE_ADVERTISER_ID", "PAGEUID", "LOOKALIKE_VALUE"})
UNKNOWN_CONTACT = "Meta does not report unmatched people"


@dataclass
class Audience:
    id: str
    name: str
    subtype: str
    customer_file_source: str
    description: str = ""
    members: set[str] = field(default_factory=set)  # hashes held (first hashed key of each row)


@dataclass
class Account:
    id: str
    name: str
    audiences: dict[str, Audience] = field(default_factory=dict)


class MetaEmulator(GraphEmulator):
    """One ad account served under ``/{version}`` (any Graph API version)."""

    requires_hashing = True

    name = "meta"
    batch_limit = BATCH_LIMIT
    unknown_contact_message = UNKNOWN_CONTACT

    throttled_message = (
        "There have been too many calls for custom audience API from this ad-account. "
        "Wait a bit and try again."
    )
    throttled_usage_type = "CUSTOM_AUDIENCE"

    def __init__(self, **kwargs: Any) -> None:
        self.accounts = {ACCOUNT_ID: Account(ACCOUNT_ID, "Sluice demo ad account")}
        self.unhashed_refusals = 0
        #: open usersreplace sessions: (audience id, session id) → hashes collected so far
        self.replace_sessions: dict[tuple[str, int], set[str]] = {}
        self.replacements = 0
        self._ids = itertools.count(23850000000000001)
        super().__init__(**kwargs)

    def _account(self, account: str) -> Account:
        found = self.accounts.get(f"act_{account}")
        if found is None:
            raise not_found(f"act_{account}")
        return found

    def _audience(self, audience_id: str, method: str = "get") -> Audience:
        for account in self.accounts.values():
            if audience_id in account.audiences:
                return account.audiences[audience_id]
        raise not_found(audience_id, method)

    @staticmethod
    def _audience_json(audience: Audience) -> dict[str, Any]:
        return {
            "id": audience.id,
            "name": audience.name,
            "subtype": audience.subtype,
            "description": audience.description,
            "customer_file_source": audience.customer_file_source,
            "approximate_count_lower_bound": -1 if len(audience.members) < 1000 else len(audience.members),
            "operation_status": {"code": 200, "description": "Normal"},
        }

    # -- routes ------------------------------------------------------------------------------

    def add_routes(self, app: FastAPI) -> None:
        self.add_error_handler(app)

        @app.get("/{version}/act_{account}/customaudiences")
        def list_audiences(version: str, account: str, request: Request) -> dict[str, Any]:
            self.authorise(request)
            every = list(self._account(account).audiences.values())
            limit = self.page_size(int(request.query_params.get("limit", 25)), MAX_LIMIT)
            after = request.query_params.get("after")
            start = int(base64.b64decode(after).decode()) if after else 0
            chosen = every[start : start + limit]
            body: dict[str, Any] = {"data": [self._audience_json(a) for a in chosen]}
            if chosen:
                cursors = {
                    "before": base64.b64encode(str(start).encode()).decode(),
                    "after": base64.b64encode(str(start + len(chosen)).encode()).decode(),
                }
                body["paging"] = {"cursors": cursors}
                if start + len(chosen) < len(every):
                    body["paging"]["next"] = (
                        f"https://graph.facebook.com/{version}/act_{account}/customaudiences"
                        f"?limit={limit}&after={cursors['after']}"
                    )
            return body

        @app.post("/{version}/act_{account}/customaudiences")
        async def create_audience(version: str, account: str, request: Request) -> dict[str, str]:
            self.authorise(request)
            owner = self._account(account)
            body = await self.json_body(request) or {}
            if not body.get("name"):
                raise GraphError(400, "(#100) The parameter name is required", 100)
            subtype = str(body.get("subtype", "CUSTOM"))
            if subtype == "CUSTOM" and not body.get("customer_file_source"):
                raise GraphError(
                    400, "(#100) customer_file_source is required for customer file custom audiences", 100
                )
            audience = Audience(
                str(next(self._ids)),
                str(body["name"]),
                subtype,
                str(body.get("customer_file_source", "")),
                str(body.get("description", "")),
            )
            owner.audiences[audience.id] = audience
            return {"id": audience.id}

        @app.get("/{version}/act_{account}")
        def account_info(version: str, account: str, request: Request) -> dict[str, Any]:
            self.authorise(request)
            owner = self._account(account)
            return {"id": owner.id, "name": owner.name, "account_status": 1}

        @app.post("/{version}/{audience_id}/users")
        async def add_users(version: str, audience_id: str, request: Request) -> dict[str, Any]:
            return await self._users(audience_id, request, adding=True)

        @app.post("/{version}/{audience_id}/usersreplace")
        async def replace_users(version: str, audience_id: str, request: Request) -> dict[str, Any]:
            return await self._replace(audience_id, request)

        @app.delete("/{version}/{audience_id}/users")
        async def remove_users(version: str, audience_id: str, request: Request) -> dict[str, Any]:
            return await self._users(audience_id, request, adding=False)

        @app.get("/{version}/{audience_id}")
        def get_audience(version: str, audience_id: str, request: Request) -> dict[str, Any]:
            self.authorise(request)
            return self._audience_json(self._audience(audience_id))

        @app.delete("/{version}/{audience_id}")
        def delete_audience(version: str, audience_id: str, request: Request) -> dict[str, bool]:
            self.authorise(request)
            audience = self._audience(audience_id, "delete")
            for account in self.accounts.values():
                account.audiences.pop(audience.id, None)
            return {"success": True}

    def _hashes(self, body: dict[str, Any]) -> list[str]:
        """The hashes a ``payload`` carries (first hashed key of each row), after Meta's checks."""
        payload = body.get("payload")
        if isinstance(payload, str):
            try:
                payload = json.loads(payload)
            except ValueError:
                payload = None
        if not isinstance(payload, dict) or "schema" not in payload or "data" not in payload:
            raise GraphError(400, "(#100) The parameter payload is required", 100)
        schema = payload["schema"]
        keys = [schema] if isinstance(schema, str) else list(schema)
        unknown = [k for k in keys if k not in HASHED_KEYS | UNHASHED_KEYS]
        if not keys or unknown:
            raise GraphError(400, f"(#100) Invalid schema: {unknown or keys}", 100)
        data = payload["data"]
        if not isinstance(data, list):
            raise GraphError(400, "(#100) data must be an array", 100)
        if len(data) > BATCH_LIMIT:
            self.violation(f"batch of {len(data)} rows")
            raise GraphError(
                400, f"(#100) Too many entries in payload: at most {BATCH_LIMIT} rows per request", 100
            )
        rows = [[row] if isinstance(schema, str) else row for row in data]
        for row in rows:
            if not isinstance(row, list) or len(row) != len(keys):
                raise GraphError(400, "(#100) Each row of data must have one value per schema key", 100)
            for key, value in zip(keys, row, strict=True):
                if key in HASHED_KEYS and value not in ("", None) and not SHA256.fullmatch(str(value)):
                    self.unhashed_refusals += 1
                    self.violation(f"unhashed value in {key}")
                    raise GraphError(
                        400,
                        "(#100) Invalid parameter",
                        100,
                        error_user_title="Data not hashed",
                        error_user_msg=f"Values for {key} must be normalised and SHA-256 hashed.",
                    )
        first = next((i for i, k in enumerate(keys) if k in HASHED_KEYS), 0)
        return [str(row[first]).lower() for row in rows]

    @staticmethod
    def _answer(audience: Audience, session_id: str, received: int) -> dict[str, Any]:
        return {
            "audience_id": audience.id,
            "session_id": session_id,
            "num_received": received,
            "num_invalid_entries": 0,
            "invalid_entry_samples": {},
        }

    async def _users(self, audience_id: str, request: Request, *, adding: bool) -> dict[str, Any]:
        self.authorise(request)
        audience = self._audience(audience_id, "post" if adding else "delete")
        hashes = self._hashes(await self.json_body(request) or {})
        if adding:
            audience.members.update(hashes)
        else:
            audience.members.difference_update(hashes)
        return self._answer(audience, str(uuid.uuid4().int)[:19], len(hashes))

    async def _replace(self, audience_id: str, request: Request) -> dict[str, Any]:
        """``usersreplace``: batches of one session collect the new members; the batch with
        ``last_batch_flag`` swaps them in. Until then the audience keeps its members (assumption)."""
        self.authorise(request)
        audience = self._audience(audience_id, "post")
        body = await self.json_body(request) or {}
        session = body.get("session")
        if not isinstance(session, dict) or not all(
            isinstance(session.get(k), int) and not isinstance(session.get(k), bool)
            for k in ("session_id", "batch_seq")
        ):
            raise GraphError(400, "(#100) session with session_id and batch_seq is required", 100)
        hashes = self._hashes(body)
        key = (audience.id, int(session["session_id"]))
        if session["batch_seq"] == 1:
            self.replace_sessions.setdefault(key, set())
        elif key not in self.replace_sessions:
            raise GraphError(
                400,
                "Failed to update the custom audience: the first batch_seq was not detected",
                2650,
                1870147,
            )
        collected = self.replace_sessions[key]
        collected.update(hashes)
        if session.get("last_batch_flag") is True:
            audience.members = set(self.replace_sessions.pop(key))
            self.replacements += 1
        return self._answer(audience, str(key[1]), len(collected))

    def state(self) -> dict[str, Any]:
        return {
            "accounts": [
                {
                    "id": account.id,
                    "audiences": [
                        {"id": a.id, "name": a.name, "members": len(a.members)}
                        for a in account.audiences.values()
                    ],
                }
                for account in self.accounts.values()
            ],
            "unhashed_refusals": self.unhashed_refusals,
            "replacements": self.replacements,
            "open_replace_sessions": len(self.replace_sessions),
        }

    # -- conformance hooks ---------------------------------------------------------------------

    def connector_config(self, base_url: str, *, valid: bool = True) -> dict[str, Any]:
        return {
            "access_token": self.token(valid=valid),
            "ad_account_id": ACCOUNT_ID,
            "base_url": self.graph_url(base_url),
        }

    def target_spec(self) -> TargetSpec:
        return TargetSpec(kind="custom_audience", name="Sluice conformance")

    def members(self, target: Target) -> set[str]:
        audience = self._audience(target.id)
        return {self.known.get(h, h) for h in audience.members}

    def seed_members(self, target: Target, identifiers: Iterable[str]) -> None:
        self._audience(target.id).members.update(email_hash(e) for e in identifiers)

    def seed_targets(self, names: Iterable[str], spec: TargetSpec) -> None:
        account = self.accounts[ACCOUNT_ID]
        for name in names:
            audience = Audience(str(next(self._ids)), name, "CUSTOM", "USER_PROVIDED_ONLY")
            account.audiences[audience.id] = audience
