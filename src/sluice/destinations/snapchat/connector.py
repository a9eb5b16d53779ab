"""Snap Marketing API: export segments as customer-list audience segments of one ad account.

A segment becomes a ``FIRST_PARTY`` audience segment (created on first run). Members are added
with ``POST /v1/segments/{id}/users`` and removed with ``DELETE /v1/segments/{id}/users``, body
``{"users": [{"schema": ["EMAIL_SHA256"], "data": [[<sha256>], …]}]}``, at most 100,000
identifiers per request. Identifiers are normalised and hashed here
(:mod:`sluice.destinations.hashing`, Snap rules): raw emails, phones and ad ids never leave Sluice.
Snap matches asynchronously and reports no per-person result; a segment becomes targetable only
from 1,000 matched users, which delivered rows carry as a note. See README.md for the sources.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, ClassVar
from urllib.parse import parse_qs, urlparse

import httpx

from sluice.destinations.audiences import find_target, normalisation_problem, refuse_unsupported
from sluice.destinations.errors import ConfigError, RowRejected
from sluice.destinations.hashing import SNAPCHAT, PiiField, hash_value
from sluice.destinations.oauth import OAuthApp
from sluice.destinations.sdk import (
    Capabilities,
    Connector,
    IdentifierKind,
    Op,
    OpKind,
    Outcome,
    OutcomeStatus,
    Service,
    Target,
    TargetPage,
    TargetSpec,
)
from sluice.destinations.snapchat.config import SnapchatActivationDefaults, SnapchatConfig

SEGMENT = "segment"
BATCH_LIMIT = 100_000  # identifiers per /users request
MIN_TARGETABLE = 1_000  # matched users before Snap lets ads target a segment
PAGE = 1000
#: identifier kind → Snap schema (values SHA-256 hex) and the field it is normalised as
SCHEMAS: dict[IdentifierKind, tuple[str, PiiField]] = {
    IdentifierKind.EMAIL: ("EMAIL_SHA256", PiiField.EMAIL),
    IdentifierKind.PHONE: ("PHONE_SHA256", PiiField.PHONE),
    IdentifierKind.PLATFORM_ID: ("MOBILE_AD_ID_SHA256", PiiField.MOBILE_AD_ID),
    IdentifierKind.HASHED: ("EMAIL_SHA256", PiiField.EMAIL),  # an already-hashed email passes through
}

#: Snap's OAuth server (refresh-token grant, client id and secret in the form body)
SNAP_OAUTH = OAuthApp(
    vendor="Snapchat",
    token_url="https://accounts.snapchat.com/login/oauth2/access_token",  # noqa: S106 - a URL
    authorize_url="https://accounts.snapchat.com/login/oauth2/authorize",
    scopes=("snapchat-marketing-api",),
)


def snap_error(response: httpx.Response) -> str:
    """Snap's words for a failed request (``display_message``/``debug_message``, ``error_code``)."""
    try:
        body = response.json()
    except ValueError:
        body = {}
    if not isinstance(body, dict):
        body = {}
    text = body.get("debug_message") or body.get("display_message") or f"HTTP {response.status_code}"
    code = body.get("error_code")
    return f"{text} ({code})" if code else str(text)


def small_segment_note(size: int | None) -> str:
    """The note delivered rows carry while a segment is below Snap's targeting minimum."""
    if size is None or size >= MIN_TARGETABLE:
        return ""
    return (
        f"segment not targetable yet: Snapchat needs at least {MIN_TARGETABLE:,} matched users "
        f"(approximately {size:,} now)"
    )


class SnapchatConnector(Connector):
    """Customer-list segments of one Snap ad account, members addressed by hashed identifiers."""

    type_name = "snapchat"
    title = "Snapchat Customer Lists"
    description = "Export segments as Snapchat customer-list audience segments (SHA-256 hashed)."
    docs_url = "https://developers.snap.com/api/marketing-api/Ads-API/customer-lists"
    config_model = SnapchatConfig
    activation_defaults = SnapchatActivationDefaults
    oauth_app: ClassVar[OAuthApp | None] = SNAP_OAUTH
    capabilities = Capabilities(
        services=frozenset({Service.MEMBERSHIP}),
        target_kinds=frozenset({SEGMENT}),
        identifiers=frozenset(SCHEMAS),
        batch_size=BATCH_LIMIT,
        concurrency=4,
        rate_limit=None,
        can_create_targets=True,
        can_read_members=False,
        read_members_note="Snapchat never returns the people in a segment (only an approximate count).",
        full_refresh="resend every member; people who left are not removed",
        rejects_unknown_contacts=False,
        unknown_contacts_note="Snapchat accepts every hashed identifier and matches it to Snapchatters "
        "asynchronously; it never reports who was not found.",
    )
    config: SnapchatConfig

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._sizes: dict[str, int | None] = {}

    @classmethod
    def base_url(cls, config: SnapchatConfig) -> str:
        return config.base_url or "https://adsapi.snapchat.com/v1"

    async def _call(self, method: str, path: str, **kwargs: Any) -> httpx.Response:
        response = await self.http.request(method, path, **kwargs)
        if response.status_code in (401, 403):
            raise ConfigError(f"Snapchat refused the access token: {snap_error(response)}")
        return response

    # -- connection and targets ------------------------------------------------------------

    async def check(self) -> str:
        account = self.config.ad_account_id
        response = await self._call("GET", f"/adaccounts/{account}")
        if not response.is_success:
            raise ConfigError(f"Snapchat ad account {account}: {snap_error(response)}")
        found = (response.json().get("adaccounts") or [{}])[0].get("adaccount") or {}
        return f"connected to ad account {found.get('name', account)!r}"

    def _target(self, segment: dict[str, Any]) -> Target:
        size = segment.get("approximate_number_users")
        target = Target(
            SEGMENT,
            str(segment["id"]),
            str(segment.get("name", "")),
            parent_id=self.config.ad_account_id,
            size=int(size) if isinstance(size, int) else None,
        )
        self._sizes[target.id] = target.size
        return target

    async def list_targets(self, kind: str | None = None, cursor: str | None = None) -> TargetPage:
        params: dict[str, Any] = {"limit": PAGE}
        if cursor:
            params["cursor"] = cursor
        response = await self._call("GET", f"/adaccounts/{self.config.ad_account_id}/segments", params=params)
        if not response.is_success:
            raise ConfigError(f"Snapchat could not list segments: {snap_error(response)}")
        body = response.json()
        items = [
            self._target(entry["segment"])
            for entry in body.get("segments") or []
            if (entry.get("segment") or {}).get("source_type", "FIRST_PARTY") == "FIRST_PARTY"
        ]
        next_link = (body.get("paging") or {}).get("next_link")
        after = parse_qs(urlparse(next_link).query).get("cursor", [None])[0] if next_link else None
        return TargetPage(items, after)

    async def ensure_target(self, spec: TargetSpec) -> Target:
        if spec.id:
            response = await self._call("GET", f"/segments/{spec.id}")
            segments = response.json().get("segments") if response.is_success else None
            if not segments:
                raise ConfigError(f"Snapchat segment {spec.id} is not available: {snap_error(response)}")
            return self._target(segments[0]["segment"])
        found = await find_target(self, SEGMENT, spec.name)
        if found is not None:
            return found
        if not spec.create_if_missing:
            raise ConfigError(f"Snapchat has no segment named {spec.name!r}")
        account = self.config.ad_account_id
        segment = {
            "name": spec.name,
            "description": "Managed by Sluice",
            "source_type": "FIRST_PARTY",
            "retention_in_days": self.config.retention_in_days,
            "ad_account_id": account,
        }
        response = await self._call("POST", f"/adaccounts/{account}/segments", json={"segments": [segment]})
        created = (response.json().get("segments") or [{}])[0] if response.is_success else {}
        if created.get("sub_request_status", "").upper() != "SUCCESS":
            raise ConfigError(f"Snapchat could not create segment {spec.name!r}: {snap_error(response)}")
        return self._target(created["segment"])

    # -- members -----------------------------------------------------------------------------

    def hashed(self, identifier: str, kind: IdentifierKind) -> str:
        """The SHA-256 Snap matches on (already-hashed values pass through)."""
        field = SCHEMAS.get(kind, SCHEMAS[IdentifierKind.EMAIL])[1]
        return hash_value(field, identifier, SNAPCHAT, default_region=self.config.default_country)

    def invalid_reason(self, op: Op, kind: IdentifierKind) -> str | None:
        """Refuse what cannot be normalised by Snap's rules (checked before any request)."""
        if kind not in SCHEMAS or kind is IdentifierKind.HASHED:
            return super().invalid_reason(op, kind)
        return normalisation_problem(lambda: self.hashed(op.identifier or "", kind))

    async def apply(self, target: Target, ops: Sequence[Op]) -> list[Outcome]:
        refused = refuse_unsupported(self, target, ops, {SEGMENT: (OpKind.ADD, OpKind.REMOVE)})
        if refused is not None:
            return refused
        kind = target.identifier_kind
        hashes = list(dict.fromkeys(self.hashed(op.identifier, kind) for op in ops))
        users = [{"schema": [SCHEMAS[kind][0]], "data": [[h] for h in hashes]}]
        method = "POST" if ops[0].kind is OpKind.ADD else "DELETE"
        response = await self._call(method, f"/segments/{target.id}/users", json={"users": users})
        if response.status_code == 404:
            raise ConfigError(f"Snapchat segment {target.id} no longer exists: {snap_error(response)}")
        if not response.is_success:
            raise RowRejected(snap_error(response))
        result = (response.json().get("users") or [{}])[0]
        if str(result.get("sub_request_status", "")).upper() != "SUCCESS":
            raise RowRejected(str(result.get("sub_request_error_reason") or "Snapchat refused the upload"))
        note = (
            small_segment_note(self._sizes.get(target.id, target.size)) if ops[0].kind is OpKind.ADD else ""
        )
        return [Outcome.of(op, OutcomeStatus.DELIVERED, note) for op in ops]
