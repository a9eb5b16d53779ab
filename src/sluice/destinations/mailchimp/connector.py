"""Mailchimp Marketing API v3: export segments as static segments of one audience.

Members are added/removed by email with ``POST /lists/{list_id}/segments/{segment_id}``
(``members_to_add`` / ``members_to_remove``, 500 each), which answers 200 with per-email
``errors`` for emails that are not contacts of the audience. Mailchimp throttles concurrent
connections (10 per key), not requests per second, and its 429 carries no header: we stay
under the cap and back off with jitter. See README.md for the facts and their sources.
"""

from __future__ import annotations

import asyncio
import hashlib
from collections.abc import AsyncIterator, Sequence
from typing import Any

import httpx

from sluice.destinations.errors import ConfigError, RowRejected
from sluice.destinations.mailchimp.config import MailchimpActivationDefaults, MailchimpConfig
from sluice.destinations.sdk import (
    Capabilities,
    Connector,
    IdentifierKind,
    Op,
    OpKind,
    Outcome,
    OutcomeStatus,
    Service,
    StandardField,
    Target,
    TargetPage,
    TargetSpec,
)

STATIC_SEGMENT = "static_segment"
AUDIENCE = "audience"
PAGE = 1000  # Mailchimp's maximum ``count``


def subscriber_hash(email: str) -> str:
    """Mailchimp's member id: MD5 of the lowercased email."""
    return hashlib.md5(email.lower().encode(), usedforsecurity=False).hexdigest()


def data_center(api_key: str) -> str:
    """The data center of an API key (``…-us14`` → ``us14``)."""
    _, dash, dc = api_key.rpartition("-")
    if not dash or not dc.isalnum():
        raise ConfigError("the Mailchimp API key must end with its data center, e.g. '…-us14'")
    return dc


def problem_detail(response: httpx.Response) -> str:
    """The human part of a Mailchimp problem+json body."""
    try:
        body = response.json()
    except ValueError:
        return f"HTTP {response.status_code}"
    if isinstance(body, dict):
        return str(body.get("detail") or body.get("title") or f"HTTP {response.status_code}")
    return f"HTTP {response.status_code}"


class MailchimpConnector(Connector):
    """Static segments (Mailchimp "tags") of one audience, members addressed by email."""

    type_name = "mailchimp"
    title = "Mailchimp"
    description = "Export segments as static segments of a Mailchimp audience (existing contacts only)."
    docs_url = "https://mailchimp.com/developer/marketing/api/list-segments/"
    config_model = MailchimpConfig
    activation_defaults = MailchimpActivationDefaults
    # The merge fields every audience has (https://mailchimp.com/help/manage-audience-signup-form-fields/).
    standard_fields = (
        StandardField("FNAME", "first_name", "First name"),
        StandardField("LNAME", "last_name", "Last name"),
        StandardField("PHONE", "phone", "Phone number"),
        StandardField("ADDRESS", "address", "Address"),
        StandardField("BIRTHDAY", "birth_date", "Birthday (MM/DD)"),
    )
    capabilities = Capabilities(
        services=frozenset({Service.MEMBERSHIP, Service.UPSERT}),
        target_kinds=frozenset({STATIC_SEGMENT, AUDIENCE}),
        identifiers=frozenset({IdentifierKind.EMAIL}),
        batch_size=500,
        concurrency=10,
        rate_limit=None,
        can_create_targets=True,
        can_read_members=True,
        full_refresh="delete and recreate the static segment (its id changes)",
    )
    config: MailchimpConfig

    @classmethod
    def base_url(cls, config: MailchimpConfig) -> str:
        if config.base_url:
            return config.base_url
        return f"https://{data_center(config.api_key.get_secret_value())}.api.mailchimp.com/3.0"

    @classmethod
    def auth(cls, config: MailchimpConfig) -> httpx.Auth:
        return httpx.BasicAuth("sluice", config.api_key.get_secret_value())

    @property
    def _list(self) -> str:
        return f"/lists/{self.config.list_id}"

    async def _call(self, method: str, path: str, **kwargs: Any) -> httpx.Response:
        response = await self.http.request(method, path, **kwargs)
        if response.status_code in (401, 403):
            raise ConfigError(f"Mailchimp refused the API key: {problem_detail(response)}")
        return response

    # -- connection and targets ------------------------------------------------------------

    async def check(self) -> str:
        await self._call("GET", "/ping")
        response = await self._call("GET", self._list, params={"fields": "id,name,stats.member_count"})
        if response.status_code == 404:
            raise ConfigError(f"Mailchimp audience {self.config.list_id!r} does not exist in this account")
        body = response.json()
        return f"connected to audience {body.get('name', self.config.list_id)!r}"

    async def list_targets(self, kind: str | None = None, cursor: str | None = None) -> TargetPage:
        offset = int(cursor or 0)
        if kind == AUDIENCE:
            response = await self._call("GET", "/lists", params={"count": 100, "offset": offset})
            body = response.json()
            items = [
                Target(AUDIENCE, str(a["id"]), str(a["name"]), size=a.get("stats", {}).get("member_count"))
                for a in body.get("lists", [])
            ]
        else:
            response = await self._call(
                "GET", f"{self._list}/segments", params={"type": "static", "count": 100, "offset": offset}
            )
            if response.status_code == 404:
                raise ConfigError(f"Mailchimp audience {self.config.list_id!r} does not exist")
            body = response.json()
            items = [self._segment(s) for s in body.get("segments", [])]
        following = offset + len(items)
        more = items and following < int(body.get("total_items", 0))
        return TargetPage(items, str(following) if more else None)

    def _segment(self, segment: dict[str, Any]) -> Target:
        return Target(
            STATIC_SEGMENT,
            str(segment["id"]),
            str(segment["name"]),
            parent_id=self.config.list_id,
            size=segment.get("member_count"),
        )

    async def ensure_target(self, spec: TargetSpec) -> Target:
        if spec.kind == AUDIENCE:  # the upsert service writes merge fields of the configured audience
            response = await self._call("GET", self._list, params={"fields": "id,name"})
            if response.status_code == 404:
                raise ConfigError(
                    f"Mailchimp audience {self.config.list_id!r} does not exist in this account"
                )
            return Target(AUDIENCE, self.config.list_id, str(response.json().get("name", "")))
        if spec.id:
            response = await self._call("GET", f"{self._list}/segments/{spec.id}")
            if response.status_code == 404:
                raise ConfigError(
                    f"Mailchimp segment {spec.id} no longer exists in audience {self.config.list_id}"
                )
            body = response.json()
            if body.get("type") != "static":
                raise ConfigError(f"Mailchimp segment {body.get('name')!r} is not a static segment")
            return self._segment(body)
        cursor: str | None = None
        while True:
            page = await self.list_targets(STATIC_SEGMENT, cursor)
            for target in page.items:
                if target.name == spec.name:
                    return target
            if page.next_cursor is None:
                break
            cursor = page.next_cursor
        if not spec.create_if_missing:
            raise ConfigError(f"Mailchimp has no static segment named {spec.name!r}")
        return await self._create(spec.name)

    async def _create(self, name: str) -> Target:
        response = await self._call(
            "POST", f"{self._list}/segments", json={"name": name, "static_segment": []}
        )
        if response.status_code >= 400:
            raise ConfigError(f"Mailchimp could not create segment {name!r}: {problem_detail(response)}")
        return self._segment(response.json())

    async def reset_target(self, target: Target) -> Target:
        """Historical refresh: delete the static segment and recreate it (new id)."""
        response = await self._call("DELETE", f"{self._list}/segments/{target.id}")
        if response.status_code >= 400 and response.status_code != 404:
            raise ConfigError(
                f"Mailchimp could not delete segment {target.name!r}: {problem_detail(response)}"
            )
        created = await self._create(target.name)
        return Target(created.kind, created.id, created.name, created.parent_id, 0, target.identifier_kind)

    # -- members -----------------------------------------------------------------------------

    async def apply(self, target: Target, ops: Sequence[Op]) -> list[Outcome]:
        if target.kind == AUDIENCE:
            return list(await asyncio.gather(*(self._update_member(op) for op in ops)))
        if ops[0].kind not in (OpKind.ADD, OpKind.REMOVE):
            return [
                Outcome.of(op, OutcomeStatus.REJECTED, f"Mailchimp segments do not support {op.kind}")
                for op in ops
            ]
        adding = ops[0].kind is OpKind.ADD
        emails = list(dict.fromkeys(op.identifier for op in ops))
        body = {"members_to_add": emails} if adding else {"members_to_remove": emails}
        response = await self._call(
            "POST",
            f"{self._list}/segments/{target.id}",
            json=body,
            params={"fields": "errors,total_added,total_removed,error_count"},  # skip member echoes
        )
        if response.status_code == 404:
            raise ConfigError(f"Mailchimp segment {target.name!r} ({target.id}) no longer exists")
        if response.status_code >= 400:
            raise RowRejected(problem_detail(response))
        errors: dict[str, str] = {}
        for error in response.json().get("errors") or []:
            for email in error.get("email_addresses") or []:
                errors[str(email).lower()] = str(error.get("error", "rejected by Mailchimp"))
        outcomes = []
        for op in ops:
            message = errors.get(op.identifier.lower())
            if message is None:
                outcomes.append(Outcome.of(op, OutcomeStatus.DELIVERED))
            elif adding:
                outcomes.append(Outcome.of(op, OutcomeStatus.REJECTED, message))
            else:  # a contact missing from the audience is not in the segment either: done
                outcomes.append(Outcome.of(op, OutcomeStatus.DELIVERED, f"nothing to remove: {message}"))
        return outcomes

    async def _update_member(self, op: Op) -> Outcome:
        """Upsert service on the audience: merge fields of an *existing* contact (PATCH never
        creates one), cleared fields sent empty, deletion archives the contact."""
        path = f"{self._list}/members/{subscriber_hash(op.identifier)}"
        if op.kind is OpKind.DELETE:
            response = await self._call("DELETE", path)
            if response.status_code == 404:
                return Outcome.of(op, OutcomeStatus.DELIVERED, "nothing to archive: not in the audience")
        elif op.kind in (OpKind.UPSERT, OpKind.CLEAR):
            cleared = op.kind is OpKind.CLEAR
            merge_fields = {
                name: "" if cleared or value is None else value for name, value in op.fields.items()
            }
            response = await self._call("PATCH", path, json={"merge_fields": merge_fields})
        else:
            return Outcome.of(
                op, OutcomeStatus.REJECTED, f"Mailchimp audiences do not support {op.kind} here"
            )
        if response.status_code == 404:
            return Outcome.of(
                op, OutcomeStatus.REJECTED, f"not a contact of this audience: {problem_detail(response)}"
            )
        if response.status_code >= 400:
            return Outcome.of(op, OutcomeStatus.REJECTED, problem_detail(response))
        return Outcome.of(op, OutcomeStatus.DELIVERED)

    async def read_members(self, target: Target) -> AsyncIterator[str]:
        offset = 0
        while True:
            response = await self._call(
                "GET",
                f"{self._list}/segments/{target.id}/members",
                params={
                    "count": PAGE,
                    "offset": offset,
                    "fields": "members.email_address,total_items",
                    "include_unsubscribed": "true",
                    "include_cleaned": "true",
                    "include_transactional": "true",
                },
            )
            if response.status_code == 404:
                raise ConfigError(f"Mailchimp segment {target.id} does not exist")
            body = response.json()
            members = body.get("members") or []
            for member in members:
                yield str(member["email_address"])
            offset += len(members)
            if not members or offset >= int(body.get("total_items", 0)):
                return
