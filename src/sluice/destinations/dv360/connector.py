"""Display & Video 360: keep a Customer Match first-party audience in step with a segment.

A segment becomes a first-party audience of one advertiser with ``audienceType
CUSTOMER_MATCH_CONTACT_INFO`` (``POST /v4/firstPartyAndPartnerAudiences?advertiserId=…``; v3
calls the collection ``firstAndThirdPartyAudiences``), created by name on first run. Members are
added and removed with ``POST …/{id}:editCustomerMatchMembers`` carrying ``addedContactInfoList``
or ``removedContactInfoList`` (``contactInfos`` of hashed emails / phone numbers, and the configured
``consent``). Identifiers are normalised and SHA-256 hashed here (Google's rules). DV360 answers
with the audience id only — no per-member result, no member list — so every well-formed row is
*delivered*; a refused request is split by delivery to find the rows at fault.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import httpx

from sluice.destinations.dv360.config import Dv360ActivationDefaults, Dv360Config
from sluice.destinations.errors import ConfigError
from sluice.destinations.google_ads.api import google_oauth_app, raise_for_error, rate_headers
from sluice.destinations.google_ads.identifiers import (
    CONTACT_FIELDS,
    PII_FIELDS,
    contact_of,
    unhashable_reason,
)
from sluice.destinations.http import RateHeaders
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

AUDIENCE = "audience"
BATCH_LIMIT = 50_000  # contact infos per request Sluice sends (DV360 allows up to 500,000)
PAGE = 200
SCOPE = "https://www.googleapis.com/auth/display-video"


class Dv360Connector(Connector):
    """Customer Match audiences of one DV360 advertiser, members addressed by hashed contact info."""

    type_name = "dv360"
    title = "Display & Video 360"
    description = (
        "Export segments as Display & Video 360 Customer Match audiences (SHA-256 hashed contact info)."
    )
    docs_url = "https://developers.google.com/display-video/api/guides/audiences/upload-customer-match"
    config_model = Dv360Config
    activation_defaults = Dv360ActivationDefaults
    oauth_app = google_oauth_app(SCOPE)
    standard_fields = tuple(
        StandardField(
            name, name, "Hashed and sent with the identifier (names, country and zip only together)"
        )
        for name in CONTACT_FIELDS
    )
    capabilities = Capabilities(
        services=frozenset({Service.MEMBERSHIP}),
        target_kinds=frozenset({AUDIENCE}),
        identifiers=frozenset({IdentifierKind.EMAIL, IdentifierKind.PHONE, IdentifierKind.HASHED}),
        batch_size=BATCH_LIMIT,
        concurrency=1,  # edits of one audience are applied in order
        rate_limit=None,
        can_create_targets=True,
        can_read_members=False,
        read_members_note="Display & Video 360 never returns the people in a Customer Match audience.",
        full_refresh="resend every member; people who left are not removed (DV360 has no remove-all)",
        rejects_unknown_contacts=False,
        unknown_contacts_note="DV360 accepts every hashed identifier and matches it to Google accounts "
        "asynchronously; it never reports who was not found.",
    )
    config: Dv360Config

    @classmethod
    def base_url(cls, config: Dv360Config) -> str:
        return (
            f"{(config.base_url or 'https://displayvideo.googleapis.com').rstrip('/')}/{config.api_version}"
        )

    @staticmethod
    def rate_headers(response: httpx.Response, now: float) -> RateHeaders:
        return rate_headers(response, now)

    @property
    def _collection(self) -> str:
        return (
            "firstAndThirdPartyAudiences"
            if self.config.api_version == "v3"
            else "firstPartyAndPartnerAudiences"
        )

    @property
    def _id_field(self) -> str:
        return (
            "firstAndThirdPartyAudienceId"
            if self.config.api_version == "v3"
            else "firstPartyAndPartnerAudienceId"
        )

    @property
    def _first_party(self) -> dict[str, str]:
        if self.config.api_version == "v3":
            return {"firstAndThirdPartyAudienceType": "FIRST_AND_THIRD_PARTY_AUDIENCE_TYPE_FIRST_PARTY"}
        return {"firstPartyAndPartnerAudienceType": "TYPE_FIRST_PARTY"}

    async def _call(self, method: str, path: str, **kwargs: Any) -> httpx.Response:
        response = await self.http.request(method, path, **kwargs)
        raise_for_error(response, self.title)
        return response

    # -- connection and targets ------------------------------------------------------------

    async def check(self) -> str:
        await self._call(
            "GET", f"/{self._collection}", params={"advertiserId": self.config.advertiser_id, "pageSize": 1}
        )
        return f"connected to Display & Video 360 advertiser {self.config.advertiser_id}"

    def _target(self, audience: dict[str, Any]) -> Target:
        return Target(
            AUDIENCE,
            str(audience.get(self._id_field, "")),
            str(audience.get("displayName", "")),
            parent_id=self.config.advertiser_id,
        )

    async def list_targets(self, kind: str | None = None, cursor: str | None = None) -> TargetPage:
        params: dict[str, Any] = {"advertiserId": self.config.advertiser_id, "pageSize": PAGE}
        if cursor:
            params["pageToken"] = cursor
        body = (await self._call("GET", f"/{self._collection}", params=params)).json()
        audiences = [
            a
            for a in body.get(self._collection) or []
            if a.get("audienceType") == "CUSTOMER_MATCH_CONTACT_INFO"
        ]
        return TargetPage([self._target(a) for a in audiences], body.get("nextPageToken") or None)

    async def ensure_target(self, spec: TargetSpec) -> Target:
        if spec.id:
            params = {"advertiserId": self.config.advertiser_id}
            response = await self.http.request("GET", f"/{self._collection}/{spec.id}", params=params)
            if response.status_code in (400, 404):
                raise ConfigError(
                    f"Display & Video 360 has no audience {spec.id} for advertiser {self.config.advertiser_id}"
                )
            raise_for_error(response, self.title)
            return self._target(response.json())
        cursor: str | None = None
        while True:
            page = await self.list_targets(AUDIENCE, cursor)
            for target in page.items:
                if target.name == spec.name:
                    return target
            if page.next_cursor is None:
                break
            cursor = page.next_cursor
        if not spec.create_if_missing:
            raise ConfigError(f"Display & Video 360 has no Customer Match audience named {spec.name!r}")
        audience = {
            "displayName": spec.name,
            "description": "Managed by Sluice",
            "audienceType": "CUSTOMER_MATCH_CONTACT_INFO",
            "membershipDurationDays": str(self.config.membership_duration_days),
            **self._first_party,
        }
        response = await self._call(
            "POST", f"/{self._collection}", params={"advertiserId": self.config.advertiser_id}, json=audience
        )
        return self._target(response.json())

    # -- members -----------------------------------------------------------------------------

    def invalid_reason(self, op: Op, kind: IdentifierKind) -> str | None:
        """Refuse what cannot be normalised by Google's rules (checked before any request)."""
        if kind not in PII_FIELDS:
            return super().invalid_reason(op, kind)
        return unhashable_reason(op.identifier, kind, self.config.default_country)

    def _consent(self) -> dict[str, str]:
        consent = {
            "adUserData": self.config.ad_user_data_consent,
            "adPersonalization": self.config.ad_personalization_consent,
        }
        return {key: f"CONSENT_STATUS_{value}" for key, value in consent.items() if value != "UNSPECIFIED"}

    async def apply(self, target: Target, ops: Sequence[Op]) -> list[Outcome]:
        if ops[0].kind not in (OpKind.ADD, OpKind.REMOVE):
            return [
                Outcome.of(
                    op, OutcomeStatus.REJECTED, f"DV360 Customer Match audiences do not support {op.kind}"
                )
                for op in ops
            ]
        infos: dict[str, dict[str, Any]] = {}
        for op in ops:
            contact = contact_of(
                op.identifier, target.identifier_kind, op.fields, self.config.default_country
            )
            info: dict[str, Any] = {}
            if contact.emails:
                info["hashedEmails"] = list(contact.emails)
            if contact.phones:
                info["hashedPhoneNumbers"] = list(contact.phones)
            if contact.has_address:
                info.update(
                    hashedFirstName=contact.first_name,
                    hashedLastName=contact.last_name,
                    countryCode=contact.country,
                    zipCodes=[contact.postal_code],
                )
            infos.setdefault((contact.emails + contact.phones)[0], info)
        contact_list: dict[str, Any] = {"contactInfos": list(infos.values())}
        consent = self._consent()
        if consent:
            contact_list["consent"] = consent
        member_list = "addedContactInfoList" if ops[0].kind is OpKind.ADD else "removedContactInfoList"
        await self._call(
            "POST",
            f"/{self._collection}/{target.id}:editCustomerMatchMembers",
            json={"advertiserId": self.config.advertiser_id, member_list: contact_list},
        )
        return [Outcome.of(op, OutcomeStatus.DELIVERED) for op in ops]
