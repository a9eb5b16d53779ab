"""A local fake of the Display & Video 360 API (Customer Match audiences).

Faithful to (sources in README.md): Google's OAuth bearer tokens, ``{version}/firstPartyAndPartnerAudiences``
(v4) and ``firstAndThirdPartyAudiences`` (v3) with ``advertiserId`` on every call (``PERMISSION_DENIED``
for another advertiser), ``pageSize`` (default 100, at most 5,000) + ``pageToken`` paging, create of
``CUSTOMER_MATCH_CONTACT_INFO`` audiences only, ``:editCustomerMatchMembers`` with
``addedContactInfoList`` / ``removedContactInfoList``: **at most 500,000 contact infos per request**,
``hashedEmails`` / ``hashedPhoneNumbers`` (and names) must be SHA-256 digests — unhashed data is
refused with ``INVALID_ARGUMENT`` and recorded as a limit violation — and a ``CONSENT_STATUS_DENIED``
consent fails the request. Errors are ``google.rpc.Status`` bodies.
"""

from __future__ import annotations

import hashlib
import itertools
import re
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

from fastapi import FastAPI, Request

from sluice.destinations.google_ads.fake import GoogleEmulator, GoogleError
from sluice.destinations.sdk import Target, TargetSpec

CONTACT_LIMIT = 500_000
PAGE_DEFAULT, PAGE_MAX = 100, 5_000
HASHED_FIELDS = ("hashedEmails", "hashedPhoneNumbers")
HASHED_NAMES = ("hashedFirstName", "hashedLastName")
SHA256 = re.compile(r"[0-9a-f]{64}")
ADVERTISER_ID = "43049"  # short: a 7+ digit id would look like a phone to the PII scan
UNKNOWN_CONTACT = "Display & Video 360 does not report unmatched people"
#: collection name and id field of each API version
VERSIONS = {
    "v3": ("firstAndThirdPartyAudiences", "firstAndThirdPartyAudienceId", "firstAndThirdPartyAudienceType"),
    "v4": (
        "firstPartyAndPartnerAudiences",
        "firstPartyAndPartnerAudienceId",
        "firstPartyAndPartnerAudienceType",
    ),
}


def email_hash(email: str) -> str:
    return hashlib.sha256(email.strip().lower().encode()).hexdigest()


@dataclass
class Audience:
    id: str
    name: str
    audience_type: str = "CUSTOMER_MATCH_CONTACT_INFO"
    description: str = ""
    membership_days: str = "540"
    members: set[str] = field(default_factory=set)


class Dv360Emulator(GoogleEmulator):
    """One DV360 advertiser with first-party audiences."""

    requires_hashing = True

    name = "dv360"
    batch_limit = CONTACT_LIMIT
    unknown_contact_message = UNKNOWN_CONTACT
    scope = "https://www.googleapis.com/auth/display-video"

    def __init__(self, **kwargs: Any) -> None:
        self.advertiser_id = ADVERTISER_ID
        self.audiences: dict[str, Audience] = {}
        self.known: dict[str, str] = {}
        self.unhashed_refusals = 0
        self._ids = itertools.count(2001)
        super().__init__(**kwargs)

    @staticmethod
    def _version(version: str) -> tuple[str, str, str]:
        found = VERSIONS.get(version)
        if found is None:
            raise GoogleError("NOT_FOUND", f"API version {version} is not available.")
        return found

    def _advertiser(self, value: Any) -> None:
        if str(value or "") != self.advertiser_id:
            raise GoogleError("PERMISSION_DENIED", "The caller does not have permission")

    def _audience_json(self, version: str, audience: Audience) -> dict[str, Any]:
        collection, id_field, type_field = self._version(version)
        first_party = (
            "TYPE_FIRST_PARTY" if version == "v4" else "FIRST_AND_THIRD_PARTY_AUDIENCE_TYPE_FIRST_PARTY"
        )
        return {
            "name": f"{collection}/{audience.id}",
            id_field: audience.id,
            "displayName": audience.name,
            "description": audience.description,
            type_field: first_party,
            "audienceType": audience.audience_type,
            "audienceSource": "DISPLAY_VIDEO_360",
            "membershipDurationDays": audience.membership_days,
        }

    def _audience(self, audience_id: str) -> Audience:
        found = self.audiences.get(audience_id)
        if found is None:
            raise GoogleError("NOT_FOUND", f"Entity ({audience_id}) does not exist.")
        return found

    # -- routes ------------------------------------------------------------------------------

    def add_api_routes(self, app: FastAPI) -> None:
        for collection, *_ in VERSIONS.values():
            self._add_collection(app, collection)

    def _add_collection(self, app: FastAPI, collection: str) -> None:
        @app.get(f"/{{version}}/{collection}", name=f"list {collection}")
        def list_audiences(version: str, request: Request) -> dict[str, Any]:
            self.authorise(request)
            self._version(version)
            self._advertiser(request.query_params.get("advertiserId"))
            try:
                asked = int(request.query_params.get("pageSize", PAGE_DEFAULT))
            except ValueError:
                raise GoogleError("INVALID_ARGUMENT", "Invalid pageSize.") from None
            if asked > PAGE_MAX:
                raise GoogleError("INVALID_ARGUMENT", f"pageSize must be between 1 and {PAGE_MAX}.")
            every = list(self.audiences.values())
            chosen, token = self.page(
                every, request.query_params.get("pageToken"), self.page_size(asked, PAGE_MAX)
            )
            body: dict[str, Any] = {VERSIONS[version][0]: [self._audience_json(version, a) for a in chosen]}
            if token:
                body["nextPageToken"] = token
            return body

        @app.get(f"/{{version}}/{collection}/{{audience_id}}", name=f"get {collection}")
        def get_audience(version: str, audience_id: str, request: Request) -> dict[str, Any]:
            self.authorise(request)
            self._advertiser(request.query_params.get("advertiserId"))
            return self._audience_json(version, self._audience(audience_id))

        @app.post(f"/{{version}}/{collection}", name=f"create {collection}")
        async def create_audience(version: str, request: Request) -> dict[str, Any]:
            self.authorise(request)
            self._advertiser(request.query_params.get("advertiserId"))
            body = await self.json_body(request) or {}
            if not body.get("displayName"):
                raise GoogleError("INVALID_ARGUMENT", "Must provide a display name.")
            if body.get("audienceType") not in ("CUSTOMER_MATCH_CONTACT_INFO", "CUSTOMER_MATCH_DEVICE_ID"):
                raise GoogleError("INVALID_ARGUMENT", "Only Customer Match audiences can be created.")
            audience = Audience(
                str(next(self._ids)),
                str(body["displayName"]),
                str(body["audienceType"]),
                str(body.get("description", "")),
                str(body.get("membershipDurationDays", "540")),
            )
            initial = body.get("contactInfoList")
            if initial:
                audience.members.update(self._contacts(initial))
            self.audiences[audience.id] = audience
            return self._audience_json(version, audience)

        @app.post(
            f"/{{version}}/{collection}/{{audience_id}}:editCustomerMatchMembers", name=f"edit {collection}"
        )
        async def edit_members(version: str, audience_id: str, request: Request) -> dict[str, Any]:
            self.authorise(request)
            _, id_field, _ = self._version(version)
            body = await self.json_body(request) or {}
            self._advertiser(body.get("advertiserId"))
            audience = self._audience(audience_id)
            if audience.audience_type != "CUSTOMER_MATCH_CONTACT_INFO":
                raise GoogleError(
                    "INVALID_ARGUMENT",
                    "Contact info can only be edited in CUSTOMER_MATCH_CONTACT_INFO audiences.",
                )
            added = self._contacts(body["addedContactInfoList"]) if body.get("addedContactInfoList") else []
            removed = (
                self._contacts(body["removedContactInfoList"]) if body.get("removedContactInfoList") else []
            )
            if not added and not removed:
                raise GoogleError("INVALID_ARGUMENT", "Must provide added or removed members.")
            audience.members.update(added)
            audience.members.difference_update(removed)
            return {id_field: audience.id}

    def _contacts(self, contact_list: dict[str, Any]) -> list[str]:
        """The first hashed email/phone of each ContactInfo, after checking size, hashing and consent."""
        infos = contact_list.get("contactInfos") or []
        if len(infos) > CONTACT_LIMIT:
            self.violation(f"{len(infos)} contact infos in one request")
            raise GoogleError(
                "INVALID_ARGUMENT", f"The size of members mustn't be greater than {CONTACT_LIMIT}."
            )
        consent = contact_list.get("consent") or {}
        if "CONSENT_STATUS_DENIED" in consent.values():
            raise GoogleError(
                "INVALID_ARGUMENT", "Customer Match members must not be uploaded with denied consent."
            )
        members = []
        for info in infos:
            values = [str(v) for key in HASHED_FIELDS for v in (info.get(key) or [])]
            values += [str(info[key]) for key in HASHED_NAMES if info.get(key)]
            if any(not SHA256.fullmatch(v) for v in values):
                self.unhashed_refusals += 1
                self.violation("unhashed contact info")
                raise GoogleError(
                    "INVALID_ARGUMENT", "Contact info must be hashed with SHA-256 before upload."
                )
            first = next((v for key in HASHED_FIELDS for v in (info.get(key) or [])), None)
            if first is None:
                raise GoogleError(
                    "INVALID_ARGUMENT", "Each ContactInfo needs a hashed email or phone number."
                )
            members.append(str(first))
        return members

    def state(self) -> dict[str, Any]:
        return {
            "audiences": [
                {"id": a.id, "name": a.name, "members": len(a.members)} for a in self.audiences.values()
            ],
            "unhashed_refusals": self.unhashed_refusals,
            **self.oauth.state(),
        }

    # -- conformance hooks ---------------------------------------------------------------------

    def seed_contacts(self, identifiers: Iterable[str]) -> None:
        for email in identifiers:
            self.known[email_hash(email)] = email

    def connector_config(self, base_url: str, *, valid: bool = True) -> dict[str, Any]:
        return {
            **self.oauth_config(base_url, valid=valid),
            "advertiser_id": self.advertiser_id,
            "ad_user_data_consent": "GRANTED",
            "ad_personalization_consent": "GRANTED",
            "base_url": base_url.rstrip("/"),
        }

    def target_spec(self) -> TargetSpec:
        return TargetSpec(kind="audience", name="Sluice conformance")

    def members(self, target: Target) -> set[str]:
        return {self.known.get(h, h) for h in self._audience(target.id).members}

    def seed_members(self, target: Target, identifiers: Iterable[str]) -> None:
        self.seed_contacts(identifiers)
        self._audience(target.id).members.update(email_hash(i) for i in identifiers)

    def seed_targets(self, names: Iterable[str], spec: TargetSpec) -> None:
        for name in names:
            audience = Audience(str(next(self._ids)), name)
            self.audiences[audience.id] = audience
