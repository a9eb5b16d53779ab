"""Criteo Marketing Solutions API: export segments as contact-list audience segments.

A segment becomes a ``ContactList`` audience segment of one advertiser, created by name on first run
(``POST /audience-segments/create``). Members are added or removed with
``PATCH /audience-segments/{id}/contact-list``
``{"data": {"type": "ContactlistAmendment", "attributes": {"operation": "add"|"remove",
"identifierType": "email"|"madid", "identifiers": […]}}}``; Criteo answers with the numbers of valid
and invalid identifiers and a sample of the invalid ones (rows in the sample are *rejected*, the
batch's match figures are kept in the outcome message). Emails are normalised and SHA-256 hashed
here (:mod:`sluice.destinations.hashing`, Criteo rules). Access tokens come from the OAuth
client-credentials grant (:mod:`sluice.destinations.oauth`). See README.md for facts and sources.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import httpx

from sluice.destinations.audiences import find_target, normalisation_problem, refuse_non_membership
from sluice.destinations.criteo.config import CriteoActivationDefaults, CriteoConfig
from sluice.destinations.errors import ConfigError, RowRejected
from sluice.destinations.hashing import CRITEO, PiiField, hash_value
from sluice.destinations.oauth import ClientAuth, Grant, OAuthApp
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

CONTACT_LIST = "contact_list"
BATCH_LIMIT = 50_000  # identifiers per contact-list amendment (stated assumption, see README)
PAGE = 100  # search maximum
#: identifier kind → Criteo identifierType
IDENTIFIER_TYPES = {
    IdentifierKind.EMAIL: "email",
    IdentifierKind.HASHED: "email",
    IdentifierKind.PLATFORM_ID: "madid",
}
_FIELDS = {
    IdentifierKind.EMAIL: PiiField.EMAIL,
    IdentifierKind.HASHED: PiiField.EMAIL,
    IdentifierKind.PLATFORM_ID: PiiField.MOBILE_AD_ID,
}


def criteo_errors(response: httpx.Response) -> str:
    """The vendor's words: ``errors[].title`` / ``detail`` (with ``code``), else the HTTP status."""
    try:
        body = response.json()
    except ValueError:
        return f"HTTP {response.status_code}"
    errors = body.get("errors") if isinstance(body, dict) else None
    if not isinstance(errors, list) or not errors:
        return f"HTTP {response.status_code}"
    return "; ".join(
        f"{e.get('detail') or e.get('title') or 'error'} ({e.get('code', '')})"
        for e in errors
        if isinstance(e, dict)
    )


def identifier_value(identifier: str, kind: IdentifierKind) -> str:
    """What Criteo receives for one identifier: a SHA-256 email digest, or a lowercase mobile ad id."""
    return hash_value(_FIELDS[kind], identifier, CRITEO)


class CriteoConnector(Connector):
    """Contact-list audience segments of one Criteo advertiser."""

    type_name = "criteo"
    title = "Criteo Audiences"
    description = (
        "Export segments as Criteo contact-list audience segments (SHA-256 hashed emails or mobile ad ids)."
    )
    docs_url = "https://developers.criteo.com/marketing-solutions/docs/contact-list"
    config_model = CriteoConfig
    activation_defaults = CriteoActivationDefaults
    oauth_app = OAuthApp(
        vendor="Criteo",
        token_url="https://api.criteo.com/oauth2/token",  # noqa: S106 - a URL
        grant=Grant.CLIENT_CREDENTIALS,
        client_auth=ClientAuth.BODY,
        default_expires_in=900.0,
    )
    capabilities = Capabilities(
        services=frozenset({Service.MEMBERSHIP}),
        target_kinds=frozenset({CONTACT_LIST}),
        identifiers=frozenset(IDENTIFIER_TYPES),
        batch_size=BATCH_LIMIT,
        concurrency=2,
        rate_limit=RateLimit(5, 1.0),
        can_create_targets=True,
        can_read_members=False,
        read_members_note="Criteo never returns the identifiers of a contact list (only statistics).",
        full_refresh="resend every member; people who left are not removed",
        rejects_unknown_contacts=False,
        unknown_contacts_note="Criteo accepts every well-formed identifier and matches it when "
        "audiences are computed (twice a day); it never reports who was not found.",
    )
    config: CriteoConfig

    @classmethod
    def base_url(cls, config: CriteoConfig) -> str:
        return config.base_url or f"https://api.criteo.com/{config.api_version}/marketing-solutions"

    async def _call(self, method: str, path: str, **kwargs: Any) -> httpx.Response:
        """One API call; credential and permission refusals become :class:`ConfigError`."""
        response = await self.http.request(method, path, **kwargs)
        if response.status_code in (401, 403):
            raise ConfigError(f"Criteo refused the credentials or the advertiser: {criteo_errors(response)}")
        return response

    # -- connection and targets ------------------------------------------------------------

    async def _search(self, offset: int, ids: list[str] | None = None) -> dict[str, Any]:
        attributes: dict[str, Any] = {
            "advertiserIds": [self.config.advertiser_id],
            "audienceSegmentTypes": ["ContactList"],
        }
        if ids:
            attributes["audienceSegmentIds"] = ids
        response = await self._call(
            "POST",
            "/audience-segments/search",
            params={"limit": PAGE, "offset": offset},
            json={"data": {"type": "AudienceSegmentSearch", "attributes": attributes}},
        )
        if not response.is_success:
            raise ConfigError(f"Criteo could not search audience segments: {criteo_errors(response)}")
        body: dict[str, Any] = response.json()
        return body

    async def check(self) -> str:
        body = await self._search(0)
        total = (body.get("meta") or {}).get("totalItems", len(body.get("data") or []))
        return f"connected to advertiser {self.config.advertiser_id} ({total} contact lists)"

    def _target(self, segment: dict[str, Any]) -> Target:
        attributes = segment.get("attributes") or {}
        return Target(
            CONTACT_LIST,
            str(segment["id"]),
            str(attributes.get("name", "")),
            parent_id=self.config.advertiser_id,
        )

    async def list_targets(self, kind: str | None = None, cursor: str | None = None) -> TargetPage:
        offset = int(cursor or 0)
        body = await self._search(offset)
        data = [s for s in body.get("data") or [] if isinstance(s, dict)]
        total = (body.get("meta") or {}).get("totalItems")
        served = offset + len(data)
        more = served < int(total) if isinstance(total, int) else len(data) == PAGE
        return TargetPage([self._target(s) for s in data], str(served) if more and data else None)

    async def ensure_target(self, spec: TargetSpec) -> Target:
        if spec.id:
            found = (await self._search(0, [spec.id])).get("data") or []
            if not found:
                raise ConfigError(f"Criteo contact list {spec.id} is not available")
            return self._target(found[0])
        found = await find_target(self, CONTACT_LIST, spec.name)
        if found is not None:
            return found
        if not spec.create_if_missing:
            raise ConfigError(f"Criteo has no contact list named {spec.name!r}")
        segment = {
            "type": "AudienceSegment",
            "attributes": {
                "advertiserId": self.config.advertiser_id,
                "name": spec.name,
                "description": "Managed by Sluice",
                "contactList": {},
            },
        }
        response = await self._call("POST", "/audience-segments/create", json={"data": [segment]})
        created = response.json().get("data") if response.is_success else None
        if not created:
            raise ConfigError(
                f"Criteo could not create contact list {spec.name!r}: {criteo_errors(response)}"
            )
        return Target(CONTACT_LIST, str(created[0]["id"]), spec.name, parent_id=self.config.advertiser_id)

    # -- members -----------------------------------------------------------------------------

    def invalid_reason(self, op: Op, kind: IdentifierKind) -> str | None:
        """Refuse what cannot be normalised (checked before any request)."""
        if kind is IdentifierKind.HASHED or kind not in IDENTIFIER_TYPES:
            return super().invalid_reason(op, kind)
        return normalisation_problem(lambda: identifier_value(op.identifier, kind))

    async def apply(self, target: Target, ops: Sequence[Op]) -> list[Outcome]:
        refused = refuse_non_membership("Criteo contact lists", ops)
        if refused is not None:
            return refused
        kind = target.identifier_kind
        values = [identifier_value(op.identifier, kind) for op in ops]
        amendment = {
            "type": "ContactlistAmendment",
            "attributes": {
                "operation": "add" if ops[0].kind is OpKind.ADD else "remove",
                "identifierType": IDENTIFIER_TYPES[kind],
                "identifiers": list(dict.fromkeys(values)),
            },
        }
        response = await self._call(
            "PATCH", f"/audience-segments/{target.id}/contact-list", json={"data": amendment}
        )
        if response.status_code == 404:
            raise ConfigError(f"Criteo contact list {target.id} no longer exists: {criteo_errors(response)}")
        if not response.is_success:
            raise RowRejected(criteo_errors(response))
        attributes = (response.json().get("data") or {}).get("attributes") or {}
        invalid = set(attributes.get("sampleInvalidIdentifiers") or [])
        valid_count = attributes.get("nbValidIdentifiers")
        invalid_count = int(attributes.get("nbInvalidIdentifiers") or 0)
        note = f"Criteo counted {valid_count} valid and {invalid_count} invalid identifiers in this batch"
        outcomes = []
        for op, value in zip(ops, values, strict=True):
            if value in invalid:
                outcomes.append(Outcome.of(op, OutcomeStatus.REJECTED, "Criteo: invalid identifier"))
            else:
                outcomes.append(Outcome.of(op, OutcomeStatus.DELIVERED, note if invalid_count else ""))
        return outcomes
