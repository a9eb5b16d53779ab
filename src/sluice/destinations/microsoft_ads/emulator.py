"""A local fake of the Bing Ads API v13 Campaign Management REST endpoints Sluice uses, plus the
Microsoft identity platform token endpoint.

Faithful to: OAuth access tokens from ``/common/oauth2/v2.0/token`` (refresh-token grant,
rotating refresh tokens, 1 h access tokens, :class:`OAuthServer`), the ``DeveloperToken``,
``CustomerId`` and ``CustomerAccountId`` headers, fault bodies ``{"TrackingId", "Type":
"AdApiFaultDetail"|"ApiFaultDetail", "Errors"|"OperationErrors": [{"Code", "ErrorCode", "Message"}]}``
(105 ``InvalidCredentials``, 106 ``UserIsNotAuthorized``, 117 ``CallRateExceeded``),
``POST /Audiences/QueryByIds`` (``AudienceIds`` null = every list of the type; unknown ids come back
as null with a partial error), ``POST /Audiences`` (refused with
``CustomerListTermsAndConditionsNotAccepted`` until the terms are accepted in the UI) and
``POST /CustomerListUserData/Apply``: at most 1,000 items, ``CustomerListItemSubType`` ``Email``,
items that are not SHA-256 digests refused one by one in ``PartialErrors`` (``Index``) and recorded
as limit violations.

Stated assumptions (not confirmed against a live account): the HTTP statuses of faults (401 for
credentials, 429 for 117, 400 otherwise), the numeric codes and wording of the terms and unhashed-item
errors, ``SearchSize`` reported as the matched size once a list holds 300 people.
"""

from __future__ import annotations

import itertools
import re
import uuid
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse, Response

from sluice.destinations.audiences import KnownPeople, email_digest
from sluice.destinations.emulation import Emulator
from sluice.destinations.oauth import ClientAuth
from sluice.destinations.oauth_emulation import OAuthServer
from sluice.destinations.sdk import Target, TargetSpec

API = "/CampaignManagement/v13"
TOKEN_PATH = "/common/oauth2/v2.0/token"  # noqa: S105 - a path, not a secret
CLIENT_ID = "sluice-msads-app"
CLIENT_SECRET = "emulator-msads-secret"  # noqa: S105 - the local fake's secret
DEVELOPER_TOKEN = "BBDemulatordevtoken"  # noqa: S105
CUSTOMER_ID = "251186"
ACCOUNT_ID = "149820"
BATCH_LIMIT = 1_000
MIN_MATCHED = 300
SHA256 = re.compile(r"[0-9a-f]{64}")
TERMS_NOT_ACCEPTED = "CustomerListTermsAndConditionsNotAccepted"


class Fault(Exception):
    def __init__(self, status: int, code: int, error_code: str, message: str) -> None:
        self.status, self.code, self.error_code, self.message = status, code, error_code, message


def fault(status: int, code: int, error_code: str, message: str) -> JSONResponse:
    kind = "AdApiFaultDetail" if status in (401, 429, 500) else "ApiFaultDetail"
    key = "Errors" if kind == "AdApiFaultDetail" else "OperationErrors"
    body = {
        "TrackingId": str(uuid.uuid4()),
        "Type": kind,
        key: [{"Code": code, "Details": None, "ErrorCode": error_code, "Message": message}],
    }
    return JSONResponse(body, status_code=status)


@dataclass
class CustomerList:
    id: int
    name: str
    description: str = ""
    members: set[str] = field(default_factory=set)

    def json(self) -> dict[str, Any]:
        size = len(self.members)
        return {
            "Id": self.id,
            "Name": self.name,
            "Type": "CustomerList",
            "Scope": "Account",
            "ParentId": int(ACCOUNT_ID),
            "Description": self.description,
            "SearchSize": size if size >= MIN_MATCHED else None,
            "AudienceNetworkSize": size if size >= MIN_MATCHED else None,
            "ForwardCompatibilityMap": [],
        }


class MicrosoftAdsEmulator(Emulator):
    """One customer with one ad account, its customer lists and the OAuth server."""

    requires_hashing = True

    name = "microsoft_ads"
    batch_limit = BATCH_LIMIT
    unknown_contact_message = "Microsoft does not report unmatched people"

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.oauth = OAuthServer(clock=self.clock, rotate_refresh_tokens=True, client_auth=ClientAuth.BODY)
        self.oauth.register_client(CLIENT_ID, CLIENT_SECRET)
        self.terms_accepted = True
        self.lists: dict[int, CustomerList] = {}
        self.people = KnownPeople()
        self.unhashed_refusals = 0
        self._ids = itertools.count(830_001)  # short: 7+ digit runs look like phones to the PII scan
        self.oauth.add_routes(self.app, token_path=TOKEN_PATH, authorize_path="/common/oauth2/v2.0/authorize")

    # -- vendor errors -----------------------------------------------------------------------

    def rate_limited(self) -> Response:
        return fault(
            429,
            117,
            "CallRateExceeded",
            "You have exceeded the number of calls that you are allowed to make in a minute. "
            "Please reduce the number of calls that you make per minute.",
        )

    def server_error(self) -> Response:
        return fault(500, 0, "InternalError", "An internal error has occurred.")

    def _authorise(self, request: Request) -> None:
        if self.oauth.bearer_refusal(request) is not None:
            raise Fault(
                401,
                105,
                "InvalidCredentials",
                "Authentication failed. Either supplied credentials are invalid or the account is inactive",
            )
        if request.headers.get("developertoken") != DEVELOPER_TOKEN:
            raise Fault(
                401, 105, "InvalidCredentials", "Authentication failed. The developer token is invalid"
            )
        if (
            request.headers.get("customerid") != CUSTOMER_ID
            or request.headers.get("customeraccountid") != ACCOUNT_ID
        ):
            raise Fault(
                403, 106, "UserIsNotAuthorized", "The user does not represent a authorized developer."
            )

    # -- routes ------------------------------------------------------------------------------

    def add_routes(self, app: FastAPI) -> None:
        @app.exception_handler(Fault)
        async def _fault(_: Request, exc: Fault) -> JSONResponse:
            return fault(exc.status, exc.code, exc.error_code, exc.message)

        @app.post(f"{API}/Audiences/QueryByIds")
        async def query(request: Request) -> dict[str, Any]:
            self._authorise(request)
            body = await self.json_body(request) or {}
            if body.get("Type") != "CustomerList":
                return {"Audiences": [], "PartialErrors": []}
            ids = body.get("AudienceIds")
            if ids is None:
                return {"Audiences": [c.json() for c in self.lists.values()], "PartialErrors": []}
            audiences: list[dict[str, Any] | None] = []
            errors = []
            for index, audience_id in enumerate(ids):
                found = self.lists.get(int(audience_id)) if str(audience_id).isdigit() else None
                audiences.append(found.json() if found else None)
                if found is None:
                    errors.append(
                        self._batch_error(index, 1114, "InvalidAudienceId", "The audience ID is invalid.")
                    )
            return {"Audiences": audiences, "PartialErrors": errors}

        @app.post(f"{API}/Audiences")
        async def add_audiences(request: Request) -> dict[str, Any]:
            self._authorise(request)
            body = await self.json_body(request) or {}
            ids: list[int | None] = []
            errors = []
            for index, audience in enumerate(body.get("Audiences") or []):
                if not self.terms_accepted:
                    ids.append(None)
                    errors.append(
                        self._batch_error(
                            index,
                            8003,
                            TERMS_NOT_ACCEPTED,
                            "Customer Match terms and conditions have not been accepted for this customer.",
                        )
                    )
                    continue
                if audience.get("Type") != "CustomerList" or not audience.get("Name"):
                    ids.append(None)
                    errors.append(self._batch_error(index, 1100, "InvalidAudienceName", "Name is required."))
                    continue
                created = CustomerList(
                    next(self._ids), str(audience["Name"]), str(audience.get("Description", ""))
                )
                self.lists[created.id] = created
                ids.append(created.id)
            return {"AudienceIds": ids, "PartialErrors": errors}

        @app.post(f"{API}/CustomerListUserData/Apply")
        async def apply(request: Request) -> dict[str, Any]:
            self._authorise(request)
            data = (await self.json_body(request) or {}).get("CustomerListUserData") or {}
            audience = self.lists.get(int(data.get("AudienceId") or 0))
            if audience is None:
                raise Fault(400, 1114, "InvalidAudienceId", "The audience ID is invalid.")
            if data.get("ActionType") not in ("Add", "Remove", "Replace"):
                raise Fault(
                    400, 4815, "InvalidCustomerListActionType", "The customer list action type is invalid."
                )
            if data.get("CustomerListItemSubType") != "Email":
                raise Fault(
                    400, 4816, "InvalidCustomerListItemSubType", "The customer list item sub type is invalid."
                )
            items = data.get("CustomerListItems") or []
            if len(items) > BATCH_LIMIT:
                self.violation(f"batch of {len(items)} customer list items")
                raise Fault(
                    400,
                    4817,
                    "CustomerListItemsArrayExceedsLimit",
                    f"The maximum user data for CustomerListItems is {BATCH_LIMIT}.",
                )
            errors = []
            valid = []
            for index, item in enumerate(items):
                if not SHA256.fullmatch(str(item)):
                    self.unhashed_refusals += 1
                    self.violation("unhashed customer list item")
                    errors.append(
                        self._batch_error(
                            index,
                            4818,
                            "InvalidCustomerListItem",
                            "Customer list items must be SHA-256 hashed emails.",
                        )
                    )
                else:
                    valid.append(str(item))
            if data["ActionType"] == "Replace":
                audience.members = set(valid)
            elif data["ActionType"] == "Add":
                audience.members.update(valid)
            else:
                audience.members.difference_update(valid)
            return {"PartialErrors": errors}

    @staticmethod
    def _batch_error(index: int, code: int, error_code: str, message: str) -> dict[str, Any]:
        return {
            "Code": code,
            "Details": None,
            "ErrorCode": error_code,
            "FieldPath": None,
            "ForwardCompatibilityMap": [],
            "Index": index,
            "Message": message,
            "Type": "BatchError",
        }

    def state(self) -> dict[str, Any]:
        return {
            "customer_lists": [
                {"id": c.id, "name": c.name, "members": len(c.members)} for c in self.lists.values()
            ],
            "unhashed_refusals": self.unhashed_refusals,
            "terms_accepted": self.terms_accepted,
            **self.oauth.state(),
        }

    # -- conformance hooks ---------------------------------------------------------------------

    def seed_contacts(self, identifiers: Iterable[str]) -> None:
        self.people.seed(identifiers)

    def connector_config(self, base_url: str, *, valid: bool = True) -> dict[str, Any]:
        root = base_url.rstrip("/")
        return {
            "client_id": CLIENT_ID,
            "client_secret": CLIENT_SECRET,
            "refresh_token": self.oauth.issue_refresh_token(CLIENT_ID),
            "oauth_base_url": root,
            "developer_token": DEVELOPER_TOKEN if valid else "BBDwrongtoken",
            "customer_id": CUSTOMER_ID,
            "account_id": ACCOUNT_ID,
            "base_url": f"{root}{API}",
        }

    def target_spec(self) -> TargetSpec:
        return TargetSpec(kind="customer_list", name="Sluice conformance")

    def members(self, target: Target) -> set[str]:
        return {self.people.reveal(h) for h in self.lists[int(target.id)].members}

    def seed_members(self, target: Target, identifiers: Iterable[str]) -> None:
        self.lists[int(target.id)].members.update(email_digest(e) for e in identifiers)

    def seed_targets(self, names: Iterable[str], spec: TargetSpec) -> None:
        for name in names:
            created = CustomerList(next(self._ids), name)
            self.lists[created.id] = created
