"""LinkedIn Marketing API (Matched Audiences): export segments as streaming DMP segments.

A segment becomes a DMP segment of one sponsored account, created on first run: of ``type=USER``
(target kind ``user_segment``, people matched on SHA-256 hashed emails) or ``type=COMPANY``
(``company_segment``, companies matched on their LinkedIn organization URN, website domain or name).
Members are streamed with ``POST /dmpSegments/{id}/users`` or ``/companies`` and the header
``X-RestLi-Method: BATCH_CREATE``, body ``{"elements": [{"action": "ADD"|"REMOVE", …}, …]}``,
answered with a status per element. Emails are normalised and hashed here
(:mod:`sluice.destinations.hashing`, LinkedIn rules): raw emails never leave Sluice. LinkedIn matches
asynchronously and never returns members; a segment's audience size is reported as the target size.
See README.md for the facts and their sources.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from typing import Any

import httpx

from sluice.destinations.audiences import find_target, normalisation_problem, refuse_non_membership
from sluice.destinations.errors import ConfigError, RowRejected
from sluice.destinations.hashing import LINKEDIN, InvalidIdentifier, PiiField, hash_value
from sluice.destinations.linkedin.config import LinkedInActivationDefaults, LinkedInConfig
from sluice.destinations.oauth import ClientAuth, OAuthApp
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

USER_SEGMENT = "user_segment"
COMPANY_SEGMENT = "company_segment"
#: target kind → DMP segment ``type`` and the streaming sub-resource it is written through
SEGMENT_TYPES = {USER_SEGMENT: "USER", COMPANY_SEGMENT: "COMPANY"}
RESOURCES = {USER_SEGMENT: "users", COMPANY_SEGMENT: "companies"}
#: identifier kinds each target kind can be addressed by
KINDS_FOR = {
    USER_SEGMENT: frozenset({IdentifierKind.EMAIL, IdentifierKind.HASHED}),
    COMPANY_SEGMENT: frozenset({IdentifierKind.PLATFORM_ID, IdentifierKind.EXTERNAL_ID}),
}
BATCH_LIMIT = 5_000  # elements per BATCH_CREATE call
PAGE = 100
#: seconds LinkedIn asks to wait after creating a segment before streaming members into it
SETTLE_SECONDS = 5.0
ORGANIZATION_URN = re.compile(r"(urn:li:organization:)?([0-9]+)")
DOMAIN = re.compile(r"(?:https?://)?(?:www\.)?((?:[a-z0-9](?:[a-z0-9-]*[a-z0-9])?\.)+[a-z]{2,63})/?", re.I)
NAME_MAX = 255


def linkedin_error(response: httpx.Response) -> str:
    """The vendor's words from a Rest.li error body (``message``, ``code``/``serviceErrorCode``)."""
    try:
        body = response.json()
    except ValueError:
        return f"HTTP {response.status_code}"
    if not isinstance(body, dict):
        return f"HTTP {response.status_code}"
    message = str(body.get("message") or f"HTTP {response.status_code}")
    code = body.get("code") or body.get("serviceErrorCode")
    return f"{message} ({code})" if code else message


def company_element(identifier: str, kind: IdentifierKind) -> dict[str, str]:
    """The fields of one company element: an organization URN, else a website domain, else a name."""
    text = identifier.strip()
    if kind is IdentifierKind.PLATFORM_ID:
        match = ORGANIZATION_URN.fullmatch(text)
        if match is None:
            raise InvalidIdentifier("not a LinkedIn organization URN (urn:li:organization:<id>)")
        return {"organizationUrn": f"urn:li:organization:{match.group(2)}"}
    if not text:
        raise InvalidIdentifier("identifier is empty")
    if len(text) > NAME_MAX:
        raise InvalidIdentifier(f"company name longer than {NAME_MAX} characters")
    domain = DOMAIN.fullmatch(text)
    if domain is not None:
        return {"companyWebsiteDomain": domain.group(1).lower()}
    return {"companyName": text}


class LinkedInConnector(Connector):
    """Streaming DMP segments of one sponsored account: users by hashed email, or companies."""

    type_name = "linkedin"
    title = "LinkedIn Matched Audiences"
    description = (
        "Export segments as LinkedIn DMP segments: contacts (SHA-256 hashed emails) or companies "
        "(organization URN, website domain or name)."
    )
    docs_url = "https://learn.microsoft.com/en-us/linkedin/marketing/matched-audiences/create-and-manage-segment-users"
    config_model = LinkedInConfig
    activation_defaults = LinkedInActivationDefaults
    oauth_app = OAuthApp(
        vendor="LinkedIn",
        authorize_url="https://www.linkedin.com/oauth/v2/authorization",
        token_url="https://www.linkedin.com/oauth/v2/accessToken",  # noqa: S106 - a URL
        scopes=("r_ads", "rw_dmp_segments"),
        client_auth=ClientAuth.BODY,
    )
    capabilities = Capabilities(
        services=frozenset({Service.MEMBERSHIP}),
        target_kinds=frozenset(SEGMENT_TYPES),
        identifiers=frozenset(KINDS_FOR[USER_SEGMENT] | KINDS_FOR[COMPANY_SEGMENT]),
        batch_size=BATCH_LIMIT,
        concurrency=2,
        rate_limit=RateLimit(5, 1.0),  # companies: 300 requests per member per minute (users: 600)
        can_create_targets=True,
        can_read_members=False,
        read_members_note="LinkedIn never returns the members of a DMP segment (only matched counts "
        "and the audience size).",
        full_refresh="resend every member; people who left are not removed",
        rejects_unknown_contacts=False,
        unknown_contacts_note="LinkedIn accepts every hashed email or company and matches it to "
        "members asynchronously (up to 48 h); it never reports who was not found. A segment needs "
        "300 matched members before campaigns can use it.",
    )
    config: LinkedInConfig

    @classmethod
    def base_url(cls, config: LinkedInConfig) -> str:
        return config.base_url or "https://api.linkedin.com/rest"

    @classmethod
    def auth_headers(cls, config: LinkedInConfig) -> dict[str, str]:
        return {
            "LinkedIn-Version": config.api_version,
            "X-Restli-Protocol-Version": "2.0.0",
        }

    @property
    def _account_id(self) -> str:
        return self.config.ad_account_id.rsplit(":", 1)[-1]

    @property
    def _account_urn(self) -> str:
        return f"urn:li:sponsoredAccount:{self._account_id}"

    async def _call(self, method: str, path: str, **kwargs: Any) -> httpx.Response:
        """One Rest.li call; credential and permission refusals become :class:`ConfigError`."""
        response = await self.http.request(method, path, **kwargs)
        if response.status_code in (401, 403):
            raise ConfigError(
                f"LinkedIn refused the access token or its permissions: {linkedin_error(response)}"
            )
        return response

    # -- connection and targets ------------------------------------------------------------

    async def check(self) -> str:
        response = await self._call("GET", f"/adAccounts/{self._account_id}")
        if not response.is_success:
            raise ConfigError(f"LinkedIn ad account {self._account_id}: {linkedin_error(response)}")
        return f"connected to ad account {response.json().get('name', self._account_id)!r}"

    def _target(self, segment: dict[str, Any]) -> Target | None:
        kinds = {value: key for key, value in SEGMENT_TYPES.items()}
        kind = kinds.get(str(segment.get("type")))
        if kind is None:
            return None  # list-upload segments are not streamed to
        sizes = [
            int(d["audienceSize"])
            for d in segment.get("destinations") or []
            if isinstance(d, dict) and isinstance(d.get("audienceSize"), int)
        ]
        return Target(
            kind,
            str(segment["id"]),
            str(segment.get("name", "")),
            parent_id=self._account_urn,
            size=max(sizes) if sizes else None,
        )

    async def list_targets(self, kind: str | None = None, cursor: str | None = None) -> TargetPage:
        start = int(cursor or 0)
        params = {"q": "account", "account": self._account_urn, "start": start, "count": PAGE}
        response = await self._call("GET", "/dmpSegments", params=params)
        if not response.is_success:
            raise ConfigError(f"LinkedIn could not list DMP segments: {linkedin_error(response)}")
        body = response.json()
        elements = body.get("elements") or []
        targets = [t for t in (self._target(e) for e in elements) if t and (kind is None or t.kind == kind)]
        paging = body.get("paging") or {}
        served = int(paging.get("start", start)) + len(elements)
        total = paging.get("total")
        more = served < int(total) if isinstance(total, int) else len(elements) > 0
        return TargetPage(targets, str(served) if more and elements else None)

    async def ensure_target(self, spec: TargetSpec) -> Target:
        if spec.kind not in SEGMENT_TYPES:
            raise ConfigError(f"LinkedIn has no target kind {spec.kind!r} (user_segment, company_segment)")
        if spec.identifier_kind not in KINDS_FOR[spec.kind]:
            allowed = ", ".join(sorted(KINDS_FOR[spec.kind]))
            raise ConfigError(
                f"LinkedIn {spec.kind} members are matched on {allowed}, not {spec.identifier_kind}"
            )
        if spec.id:
            response = await self._call("GET", f"/dmpSegments/{spec.id}")
            target = self._target(response.json()) if response.is_success else None
            if target is None or target.kind != spec.kind:
                raise ConfigError(f"LinkedIn DMP segment {spec.id} is not a streaming {spec.kind}")
            return target
        found = await find_target(self, spec.kind, spec.name)
        if found is not None:
            return found
        if not spec.create_if_missing:
            raise ConfigError(f"LinkedIn has no {spec.kind} named {spec.name!r}")
        body = {
            "name": spec.name,
            "sourcePlatform": self.config.source_platform,
            "account": self._account_urn,
            "accessPolicy": "PRIVATE",
            "type": SEGMENT_TYPES[spec.kind],
            "destinations": [{"destination": "LINKEDIN"}],
        }
        response = await self._call("POST", "/dmpSegments", json=body)
        segment_id = response.headers.get("x-restli-id") or response.headers.get("x-linkedin-id")
        if not response.is_success or not segment_id:
            raise ConfigError(
                f"LinkedIn could not create DMP segment {spec.name!r}: {linkedin_error(response)}"
            )
        await self.http.sleep(SETTLE_SECONDS)  # "wait 5 seconds for it to become available"
        return Target(spec.kind, segment_id, spec.name, parent_id=self._account_urn, size=0)

    # -- members -----------------------------------------------------------------------------

    def invalid_reason(self, op: Op, kind: IdentifierKind) -> str | None:
        """Refuse what LinkedIn cannot match (checked before any request)."""
        if kind is IdentifierKind.HASHED:
            return super().invalid_reason(op, kind)
        if kind not in self.capabilities.identifiers:
            return super().invalid_reason(op, kind)
        return normalisation_problem(lambda: self._element_fields(op.identifier, kind))

    @staticmethod
    def _element_fields(identifier: str, kind: IdentifierKind) -> dict[str, Any]:
        if kind in KINDS_FOR[USER_SEGMENT]:
            digest = hash_value(PiiField.EMAIL, identifier, LINKEDIN)
            return {"userIds": [{"idType": "SHA256_EMAIL", "idValue": digest}]}
        return company_element(identifier, kind)

    async def apply(self, target: Target, ops: Sequence[Op]) -> list[Outcome]:
        refused = refuse_non_membership("LinkedIn DMP segments", ops)
        if refused is not None:
            return refused
        kind = target.identifier_kind
        if kind not in KINDS_FOR.get(target.kind, frozenset()):
            message = f"LinkedIn {target.kind} members cannot be matched on {kind}"
            return [Outcome.of(op, OutcomeStatus.REJECTED, message) for op in ops]
        action = "ADD" if ops[0].kind is OpKind.ADD else "REMOVE"
        elements = [{"action": action, **self._element_fields(op.identifier, kind)} for op in ops]
        response = await self._call(
            "POST",
            f"/dmpSegments/{target.id}/{RESOURCES[target.kind]}",
            json={"elements": elements},
            headers={"X-RestLi-Method": "BATCH_CREATE"},
        )
        if response.status_code == 404:
            raise ConfigError(
                f"LinkedIn DMP segment {target.id} no longer exists: {linkedin_error(response)}"
            )
        if not response.is_success:
            raise RowRejected(linkedin_error(response))
        results = response.json().get("elements") or []
        outcomes = []
        for index, op in enumerate(ops):
            result = results[index] if index < len(results) and isinstance(results[index], dict) else {}
            status = int(result.get("status") or response.status_code)
            if 200 <= status < 300:
                outcomes.append(Outcome.of(op, OutcomeStatus.DELIVERED))
            else:
                reason = (
                    result.get("message") or (result.get("error") or {}).get("message") or f"HTTP {status}"
                )
                outcomes.append(Outcome.of(op, OutcomeStatus.REJECTED, f"LinkedIn: {reason}"))
        return outcomes
