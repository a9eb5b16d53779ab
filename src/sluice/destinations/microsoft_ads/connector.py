"""Microsoft Advertising (Bing Ads API v13, Campaign Management REST): customer match lists.

A segment becomes a ``CustomerList`` audience of one ad account, created by name on first run
(``POST /Audiences``; Microsoft refuses it with ``CustomerListTermsAndConditionsNotAccepted`` until
the Customer Match terms were accepted once in the web UI — a :class:`ConfigError` saying so).
Members are changed with ``POST /CustomerListUserData/Apply``
``{"CustomerListUserData": {"ActionType": "Add"|"Remove", "AudienceId", "CustomerListItemSubType":
"Email", "CustomerListItems": [<sha256>, …]}}``, at most 1,000 items per call; items Microsoft
refuses come back in ``PartialErrors`` with their ``Index`` and are *rejected* rows. Emails are
normalised and hashed here (:mod:`sluice.destinations.hashing`). Requests carry an OAuth access
token (:mod:`sluice.destinations.oauth`, Microsoft identity platform) and the ``DeveloperToken``,
``CustomerId`` and ``CustomerAccountId`` headers. See README.md for the facts and their sources.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import httpx

from sluice.destinations.audiences import normalisation_problem, refuse_non_membership
from sluice.destinations.errors import ConfigError, RateLimited, RowRejected
from sluice.destinations.hashing import MICROSOFT_ADS, PiiField, hash_value
from sluice.destinations.microsoft_ads.config import MicrosoftAdsActivationDefaults, MicrosoftAdsConfig
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

CUSTOMER_LIST = "customer_list"
BATCH_LIMIT = 1_000  # CustomerListItems per ApplyCustomerListUserData call
PAGE = 100
TERMS_NOT_ACCEPTED = "CustomerListTermsAndConditionsNotAccepted"
#: error codes meaning the credentials, developer token or account access are wrong
CONFIG_CODES = frozenset({105, 106, 109, 116, 118, 1215})
CALL_RATE_EXCEEDED = 117


def fault_errors(response: httpx.Response) -> list[dict[str, Any]]:
    """The error objects of a fault or partial-error answer (``Errors``, ``OperationErrors``,
    ``BatchErrors``, ``PartialErrors``)."""
    try:
        body = response.json()
    except ValueError:
        return []
    if not isinstance(body, dict):
        return []
    found: list[dict[str, Any]] = []
    for key in ("Errors", "OperationErrors", "BatchErrors", "PartialErrors"):
        found.extend(e for e in body.get(key) or [] if isinstance(e, dict))
    return found


def describe(error: dict[str, Any]) -> str:
    """The vendor's words: ``Message`` with ``ErrorCode`` and numeric ``Code``."""
    return (
        f"{error.get('Message') or 'error'} ({error.get('ErrorCode', '')} {error.get('Code', '')})".replace(
            " )", ")"
        )
    )


class MicrosoftAdsConnector(Connector):
    """Customer lists of one Microsoft Advertising account, members addressed by hashed email."""

    type_name = "microsoft_ads"
    title = "Microsoft Advertising Customer Match"
    description = "Export segments as Microsoft Advertising customer match lists (SHA-256 hashed emails)."
    docs_url = (
        "https://learn.microsoft.com/en-us/advertising/campaign-management-service/applycustomerlistuserdata"
    )
    config_model = MicrosoftAdsConfig
    activation_defaults = MicrosoftAdsActivationDefaults
    oauth_app = OAuthApp(
        vendor="Microsoft",
        authorize_url="https://login.microsoftonline.com/common/oauth2/v2.0/authorize",
        token_url="https://login.microsoftonline.com/common/oauth2/v2.0/token",  # noqa: S106 - a URL
        scopes=("https://ads.microsoft.com/msads.manage", "offline_access"),
        token_params={"scope": "https://ads.microsoft.com/msads.manage offline_access"},
        client_auth=ClientAuth.BODY,
    )
    capabilities = Capabilities(
        services=frozenset({Service.MEMBERSHIP}),
        target_kinds=frozenset({CUSTOMER_LIST}),
        identifiers=frozenset({IdentifierKind.EMAIL, IdentifierKind.HASHED}),
        batch_size=BATCH_LIMIT,
        concurrency=2,
        rate_limit=RateLimit(10, 1.0),
        can_create_targets=True,
        can_read_members=False,
        read_members_note="Microsoft never returns the people in a customer list (bulk download of "
        "customer list items is not supported).",
        full_refresh="resend every member; people who left are not removed",
        rejects_unknown_contacts=False,
        unknown_contacts_note="Microsoft accepts every hashed email and matches it within about 48 "
        "hours; it never reports who was not found. A list needs 300 matched people to serve.",
    )
    config: MicrosoftAdsConfig

    @classmethod
    def base_url(cls, config: MicrosoftAdsConfig) -> str:
        return config.base_url or "https://campaign.api.bingads.microsoft.com/CampaignManagement/v13"

    @classmethod
    def auth_headers(cls, config: MicrosoftAdsConfig) -> dict[str, str]:
        return {
            "DeveloperToken": config.developer_token.get_secret_value(),
            "CustomerId": config.customer_id,
            "CustomerAccountId": config.account_id,
        }

    async def _call(self, path: str, body: dict[str, Any]) -> httpx.Response:
        """One REST call (all are POST); fault codes become the SDK's error groups."""
        response = await self.http.request("POST", path, json=body)
        if response.is_success:
            return response
        errors = fault_errors(response)
        codes = {e.get("Code") for e in errors}
        message = "; ".join(describe(e) for e in errors) or f"HTTP {response.status_code}"
        if CALL_RATE_EXCEEDED in codes:
            raise RateLimited(f"Microsoft Advertising: {message}", 60.0)
        if response.status_code in (401, 403) or codes & CONFIG_CODES:
            raise ConfigError(f"Microsoft Advertising refused the credentials or account access: {message}")
        return response

    # -- connection and targets ------------------------------------------------------------

    async def _customer_lists(self, ids: list[str] | None = None) -> list[dict[str, Any]]:
        response = await self._call("/Audiences/QueryByIds", {"AudienceIds": ids, "Type": "CustomerList"})
        if not response.is_success:
            errors = "; ".join(describe(e) for e in fault_errors(response))
            raise ConfigError(f"Microsoft Advertising could not read customer lists: {errors}")
        return [a for a in response.json().get("Audiences") or [] if isinstance(a, dict)]

    async def check(self) -> str:
        lists = await self._customer_lists()
        return f"connected to account {self.config.account_id} ({len(lists)} customer lists)"

    def _target(self, audience: dict[str, Any]) -> Target:
        size = audience.get("SearchSize")
        return Target(
            CUSTOMER_LIST,
            str(audience["Id"]),
            str(audience.get("Name", "")),
            parent_id=self.config.account_id,
            size=int(size) if isinstance(size, int) else None,
        )

    async def list_targets(self, kind: str | None = None, cursor: str | None = None) -> TargetPage:
        """All customer lists come in one answer; pickers get them a page at a time."""
        every = [self._target(a) for a in await self._customer_lists()]
        start = int(cursor or 0)
        end = start + PAGE
        return TargetPage(every[start:end], str(end) if end < len(every) else None)

    async def ensure_target(self, spec: TargetSpec) -> Target:
        if spec.id:
            found = await self._customer_lists([spec.id])
            if not found:
                raise ConfigError(f"Microsoft Advertising customer list {spec.id} is not available")
            return self._target(found[0])
        for audience in await self._customer_lists():
            if audience.get("Name") == spec.name:
                return self._target(audience)
        if not spec.create_if_missing:
            raise ConfigError(f"Microsoft Advertising has no customer list named {spec.name!r}")
        audience = {
            "Name": spec.name,
            "Type": "CustomerList",
            "Scope": "Account",
            "ParentId": int(self.config.account_id),
            "Description": "Managed by Sluice",
        }
        response = await self._call("/Audiences", {"Audiences": [audience]})
        errors = fault_errors(response)
        if any(e.get("ErrorCode") == TERMS_NOT_ACCEPTED for e in errors):
            raise ConfigError(
                "Microsoft Advertising refuses customer lists until the Customer Match terms are accepted: "
                "create one customer list in the Microsoft Advertising web UI and select 'I accept', "
                f"then run again ({'; '.join(describe(e) for e in errors)})"
            )
        ids = response.json().get("AudienceIds") if response.is_success else None
        if errors or not ids or ids[0] is None:
            message = "; ".join(describe(e) for e in errors) or f"HTTP {response.status_code}"
            raise ConfigError(
                f"Microsoft Advertising could not create customer list {spec.name!r}: {message}"
            )
        return Target(CUSTOMER_LIST, str(ids[0]), spec.name, parent_id=self.config.account_id, size=0)

    # -- members -----------------------------------------------------------------------------

    def invalid_reason(self, op: Op, kind: IdentifierKind) -> str | None:
        """Refuse what cannot be normalised (checked before any request)."""
        if kind is not IdentifierKind.EMAIL:
            return super().invalid_reason(op, kind)
        return normalisation_problem(lambda: hash_value(PiiField.EMAIL, op.identifier, MICROSOFT_ADS))

    async def apply(self, target: Target, ops: Sequence[Op]) -> list[Outcome]:
        refused = refuse_non_membership("Microsoft customer lists", ops)
        if refused is not None:
            return refused
        items = [hash_value(PiiField.EMAIL, op.identifier, MICROSOFT_ADS) for op in ops]
        body = {
            "CustomerListUserData": {
                "ActionType": "Add" if ops[0].kind is OpKind.ADD else "Remove",
                "AudienceId": int(target.id),
                "CustomerListItemSubType": "Email",
                "CustomerListItems": items,
            }
        }
        response = await self._call("/CustomerListUserData/Apply", body)
        errors = fault_errors(response)
        if not response.is_success:
            message = "; ".join(describe(e) for e in errors) or f"HTTP {response.status_code}"
            if response.status_code == 404 or any("AudienceId" in str(e.get("ErrorCode")) for e in errors):
                raise ConfigError(
                    f"Microsoft Advertising customer list {target.id} is not available: {message}"
                )
            raise RowRejected(message)
        by_index = {e["Index"]: describe(e) for e in errors if isinstance(e.get("Index"), int)}
        if errors and not by_index:
            raise RowRejected("; ".join(describe(e) for e in errors))
        return [
            Outcome.of(op, OutcomeStatus.REJECTED, f"Microsoft Advertising: {by_index[i]}")
            if i in by_index
            else Outcome.of(op, OutcomeStatus.DELIVERED)
            for i, op in enumerate(ops)
        ]
