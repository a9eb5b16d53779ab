"""Iterable API: user profile attributes (``POST /users/bulkUpdate``) and static lists
(``POST /lists/subscribe`` / ``/lists/unsubscribe``), users matched by email or userId.

Both bulk calls take up to 1,000 users and answer 200 with per-user failures: ``invalidEmails`` /
``invalidUserIds`` and the ``failedUpdates`` groups (``notFound…``, ``invalidData…``,
``conflict…``, ``forgotten…``); each becomes a rejected row with its group's name. See README.md.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Sequence
from typing import Any
from urllib.parse import quote

import httpx

from sluice.destinations.errors import ConfigError, RowRejected
from sluice.destinations.iterable.config import REGION_HOSTS, IterableActivationDefaults, IterableConfig
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

LIST = "list"
USER = "user"
BATCH = 1000
#: ``failedUpdates`` groups → what the row's message says
FAILURE_GROUPS = {
    "invalid": "malformed",
    "notFound": "notFound: no Iterable user has this",
    "invalidData": "invalidData: a field value does not match the field's type in Iterable for this",
    "conflict": "conflict: another Iterable user already has this",
    "forgotten": "forgotten: Iterable forgot (GDPR) the user with this",
}


def iterable_message(response: httpx.Response) -> str:
    """``msg`` and ``code`` of an Iterable error body."""
    try:
        body = response.json()
        return f"{body.get('code')}: {body.get('msg')}"
    except (ValueError, AttributeError):
        return f"HTTP {response.status_code}"


def failures(body: dict[str, Any], kind: IdentifierKind) -> dict[str, str]:
    """Identifier (emails lowercased) → why Iterable did not apply it, from a bulk answer."""
    suffix = "UserIds" if kind is IdentifierKind.EXTERNAL_ID else "Emails"
    noun = "userId" if kind is IdentifierKind.EXTERNAL_ID else "email"
    found: dict[str, str] = {}
    groups = [("invalid", body.get(f"invalid{suffix}") or [])]
    failed = body.get("failedUpdates") or {}
    groups += [(group, failed.get(f"{group}{suffix}") or []) for group in FAILURE_GROUPS]
    for group, identifiers in groups:
        for identifier in identifiers:
            found.setdefault(_normal(str(identifier), kind), f"{FAILURE_GROUPS[group]} {noun}")
    return found


class IterableConnector(Connector):
    """Iterable user profiles (upsert) and static lists (membership)."""

    type_name = "iterable"
    title = "Iterable"
    description = "Synchronize user attributes and export segments as static lists of Iterable users."
    docs_url = "https://api.iterable.com/api/docs"
    config_model = IterableConfig
    activation_defaults = IterableActivationDefaults
    standard_fields = (
        StandardField("firstName", "first_name", "First name"),
        StandardField("lastName", "last_name", "Last name"),
        StandardField("phoneNumber", "phone", "Phone number (E.164)"),
    )
    capabilities = Capabilities(
        services=frozenset({Service.MEMBERSHIP, Service.UPSERT}),
        target_kinds=frozenset({LIST, USER}),
        identifiers=frozenset({IdentifierKind.EMAIL, IdentifierKind.EXTERNAL_ID}),
        batch_size=BATCH,
        concurrency=2,
        rate_limit=RateLimit(5, 1.0),
        can_create_targets=True,
        can_read_members=True,
        full_refresh="read the list's members and unsubscribe those not in the audience",
    )
    config: IterableConfig

    @classmethod
    def base_url(cls, config: IterableConfig) -> str:
        return config.base_url or REGION_HOSTS[config.region]

    @classmethod
    def auth_headers(cls, config: IterableConfig) -> dict[str, str]:
        return {"Api-Key": config.api_key.get_secret_value()}

    @classmethod
    def rate_limit_for(cls, config: IterableConfig) -> RateLimit:
        return RateLimit(config.requests_per_second, 1.0)

    async def _call(self, method: str, path: str, **kwargs: Any) -> httpx.Response:
        response = await self.http.request(method, path, **kwargs)
        if response.status_code in (401, 403):
            raise ConfigError(f"Iterable refused the API key: {iterable_message(response)}")
        return response

    # -- connection and targets ------------------------------------------------------------

    async def check(self) -> str:
        response = await self._call("GET", "/lists")
        return f"connected; the project has {len(response.json().get('lists') or [])} lists"

    async def list_targets(self, kind: str | None = None, cursor: str | None = None) -> TargetPage:
        if kind == USER:
            return TargetPage([_profiles()])
        response = await self._call("GET", "/lists")  # every list at once, no paging
        lists = response.json().get("lists") or []
        return TargetPage([Target(LIST, str(item["id"]), str(item["name"])) for item in lists])

    async def ensure_target(self, spec: TargetSpec) -> Target:
        if spec.kind == USER:
            return _profiles()
        lists = (await self.list_targets(LIST)).items
        for target in lists:
            if (spec.id and target.id == spec.id) or (not spec.id and target.name == spec.name):
                return target
        if spec.id:
            raise ConfigError(f"Iterable list {spec.id} no longer exists")
        if not spec.create_if_missing:
            raise ConfigError(f"Iterable has no list named {spec.name!r}")
        response = await self._call("POST", "/lists", json={"name": spec.name})
        if response.status_code >= 400:
            raise ConfigError(f"Iterable could not create list {spec.name!r}: {iterable_message(response)}")
        return Target(LIST, str(response.json()["listId"]), spec.name)

    # -- writes ------------------------------------------------------------------------------

    async def apply(self, target: Target, ops: Sequence[Op]) -> list[Outcome]:
        kind = target.identifier_kind
        if target.kind == USER:
            if ops[0].kind is OpKind.DELETE:
                return [await self._delete(op, kind) for op in ops]
            if ops[0].kind not in (OpKind.UPSERT, OpKind.CLEAR):
                return _unsupported(ops, "user profiles")
            users = [_user(op, kind) for op in ops]
            body = await self._bulk("/users/bulkUpdate", {"users": users}, target)
            return _outcomes(ops, failures(body, kind), kind, removing=False)
        if ops[0].kind not in (OpKind.ADD, OpKind.REMOVE):
            return _unsupported(ops, "lists")
        subscribers = [_subscriber(i, kind) for i in dict.fromkeys(op.identifier for op in ops)]
        adding = ops[0].kind is OpKind.ADD
        payload: dict[str, Any] = {"listId": int(target.id), "subscribers": subscribers}
        if adding:
            payload["updateExistingUsersOnly"] = self.config.update_existing_users_only
        path = "/lists/subscribe" if adding else "/lists/unsubscribe"
        body = await self._bulk(path, payload, target)
        return _outcomes(ops, failures(body, kind), kind, removing=not adding)

    async def _bulk(self, path: str, payload: dict[str, Any], target: Target) -> dict[str, Any]:
        response = await self._call("POST", path, json=payload)
        if response.status_code == 404 or (
            response.status_code == 400 and "list" in iterable_message(response).lower()
        ):
            raise ConfigError(f"Iterable list {target.name!r} ({target.id}): {iterable_message(response)}")
        if response.status_code >= 400:
            raise RowRejected(iterable_message(response))
        body: dict[str, Any] = response.json()
        return body

    async def _delete(self, op: Op, kind: IdentifierKind) -> Outcome:
        where = "/users/byUserId/" if kind is IdentifierKind.EXTERNAL_ID else "/users/"
        path = where + quote(op.identifier, safe="")
        response = await self._call("DELETE", path)
        if response.status_code == 404 or (response.status_code == 400 and "exist" in response.text):
            return Outcome.of(op, OutcomeStatus.DELIVERED, f"nothing to delete: {iterable_message(response)}")
        if response.status_code >= 400:
            return Outcome.of(op, OutcomeStatus.REJECTED, iterable_message(response))
        return Outcome.of(op, OutcomeStatus.DELIVERED)

    async def read_members(self, target: Target) -> AsyncIterator[str]:
        by_user_id = target.identifier_kind is IdentifierKind.EXTERNAL_ID
        params = {"listId": target.id, **({"preferUserId": "true"} if by_user_id else {})}
        response = await self._call("GET", "/lists/getUsers", params=params, expect_json=False)
        if response.status_code >= 400:
            raise ConfigError(f"Iterable list {target.id}: {iterable_message(response)}")
        for line in response.text.splitlines():
            if line.strip():
                yield line.strip()


def _profiles() -> Target:
    return Target(USER, "users", "User profiles")


def _normal(identifier: str, kind: IdentifierKind) -> str:
    return identifier.lower() if kind is IdentifierKind.EMAIL else identifier


def _subscriber(identifier: str, kind: IdentifierKind) -> dict[str, Any]:
    return {"userId": identifier} if kind is IdentifierKind.EXTERNAL_ID else {"email": identifier}


def _user(op: Op, kind: IdentifierKind) -> dict[str, Any]:
    fields = {name: None if op.kind is OpKind.CLEAR else value for name, value in op.fields.items()}
    user: dict[str, Any] = {**_subscriber(op.identifier, kind), "dataFields": fields}
    if kind is IdentifierKind.EXTERNAL_ID:
        user["preferUserId"] = True
    return user


def _unsupported(ops: Sequence[Op], what: str) -> list[Outcome]:
    return [Outcome.of(op, OutcomeStatus.REJECTED, f"Iterable {what} do not support {op.kind}") for op in ops]


def _outcomes(
    ops: Sequence[Op], failed: dict[str, str], kind: IdentifierKind, *, removing: bool
) -> list[Outcome]:
    outcomes = []
    for op in ops:
        message = failed.get(_normal(op.identifier, kind))
        if message is None:
            outcomes.append(Outcome.of(op, OutcomeStatus.DELIVERED))
        elif removing and message.startswith("notFound"):
            outcomes.append(Outcome.of(op, OutcomeStatus.DELIVERED, f"nothing to remove: {message}"))
        else:
            outcomes.append(Outcome.of(op, OutcomeStatus.REJECTED, message))
    return outcomes
