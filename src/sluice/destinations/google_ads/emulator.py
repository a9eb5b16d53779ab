"""A local fake of the Google Ads API: Customer Match user lists and offline user data jobs.

Faithful to (see README.md for the sources): OAuth bearer tokens from ``POST /token``,
``developer-token`` / ``login-customer-id`` headers, REST paths under ``/{version}/customers/{id}``,
``userLists:mutate`` creating CRM-based lists (``NAME_ALREADY_USED`` on a duplicate name),
``offlineUserDataJobs:create`` (type ``CUSTOMER_MATCH_USER_LIST``), ``…:addOperations`` with
``create``/``remove``/``removeAll`` operations — **at most 100,000 user identifiers per request**,
and every ``hashed_email`` / ``hashed_phone_number`` must be a SHA-256 hex digest (unhashed PII is
refused with ``INVALID_SHA256_FORMAT`` and recorded as a limit violation) — partial failures in
``partialFailureError`` pointing at ``operations[i]``, ``…:run`` answering a long-running operation
that ``GET /{version}/customers/{id}/operations/{op}`` reports ``done`` after ``job_polls`` polls,
and ``googleAds:search`` over ``user_list`` (``match_rate_percentage``, ``size_for_search``).

Membership is stored as the hashes Google would hold; the emulator knows which demo contact a hash
stands for only because the suite seeded it (that share is the list's match rate here).
"""

from __future__ import annotations

import hashlib
import itertools
import re
import uuid
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Any

from fastapi import FastAPI, Request

from sluice.destinations.google_ads.fake import GoogleAdsApiEmulator, GoogleError, ads_error
from sluice.destinations.sdk import Target, TargetSpec

IDENTIFIER_LIMIT = 100_000  # user identifiers per addOperations request
HASHED_FIELDS = ("hashedEmail", "hashedPhoneNumber")
SHA256 = re.compile(r"[0-9a-f]{64}")
UNKNOWN_CONTACT = "Google Ads does not report unmatched people"


def email_hash(email: str) -> str:
    """SHA-256 of a trimmed, lowercased email (the demo contacts have no gmail dots)."""
    return hashlib.sha256(email.strip().lower().encode()).hexdigest()


@dataclass
class UserList:
    id: str
    name: str
    description: str = ""
    crm_based: bool = True
    members: set[str] = field(default_factory=set)


@dataclass
class Job:
    id: str
    user_list_id: str
    consent: dict[str, Any]
    operations: list[dict[str, Any]] = field(default_factory=list)
    status: str = "PENDING"
    polls_left: int = 0
    failure: str | None = None


class GoogleAdsEmulator(GoogleAdsApiEmulator):
    """One Google Ads customer with CRM-based user lists."""

    requires_hashing = True

    name = "google_ads"
    batch_limit = IDENTIFIER_LIMIT
    unknown_contact_message = UNKNOWN_CONTACT

    def __init__(self, **kwargs: Any) -> None:
        self.user_lists: dict[str, UserList] = {}
        self.jobs: dict[str, Job] = {}
        self.operations: dict[str, str] = {}  # operation id → job id
        self.known: dict[str, str] = {}  # hash → identifier the suite seeded
        self.refusals: dict[str, tuple[str, str]] = {}  # hash → (error code, message), per-row
        self.unhashed_refusals = 0
        self.job_polls = 1  # GETs that still answer done=false after :run
        self.fail_next_job: str | None = None
        self._ids = itertools.count(5001)  # short ids: a 10-digit one would look like a phone to the PII scan
        super().__init__(**kwargs)

    # -- resources ---------------------------------------------------------------------------

    def _rn(self, kind: str, item_id: str) -> str:
        return f"customers/{self.customer_id}/{kind}/{item_id}"

    def match_rate(self, user_list: UserList) -> int | None:
        if not user_list.members:
            return None
        matched = sum(1 for h in user_list.members if h in self.known)
        return round(100 * matched / len(user_list.members))

    def resources(self) -> dict[str, Callable[[], Iterable[dict[str, Any]]]]:
        def user_lists() -> Iterable[dict[str, Any]]:
            for item in self.user_lists.values():
                row: dict[str, Any] = {
                    "resource_name": self._rn("userLists", item.id),
                    "id": item.id,
                    "name": item.name,
                    "description": item.description,
                    "type": "CRM_BASED" if item.crm_based else "RULE_BASED",
                    "membership_status": "OPEN",
                    "size_for_search": str(len(item.members)),
                }
                rate = self.match_rate(item)
                if rate is not None:
                    row["match_rate_percentage"] = rate
                yield {"user_list": row}

        def jobs() -> Iterable[dict[str, Any]]:
            for job in self.jobs.values():
                yield {
                    "offline_user_data_job": {
                        "resource_name": self._rn("offlineUserDataJobs", job.id),
                        "id": job.id,
                        "type": "CUSTOMER_MATCH_USER_LIST",
                        "status": job.status,
                        "failure_reason": job.failure or "UNSPECIFIED",
                    }
                }

        return {**super().resources(), "user_list": user_lists, "offline_user_data_job": jobs}

    def _user_list(self, resource_name: str) -> UserList:
        prefix = f"customers/{self.customer_id}/userLists/"
        found = (
            self.user_lists.get(resource_name.removeprefix(prefix))
            if resource_name.startswith(prefix)
            else None
        )
        if found is None:
            raise GoogleError(
                "INVALID_ARGUMENT",
                "Request contains an invalid argument.",
                [
                    ads_error(
                        "offlineUserDataJobError",
                        "INVALID_USER_LIST_ID",
                        "The user list ID provided for the job is invalid.",
                        ("job", None),
                        ("customer_match_user_list_metadata", None),
                        ("user_list", None),
                    )
                ],
            )
        return found

    def _job(self, job_id: str) -> Job:
        job = self.jobs.get(job_id)
        if job is None:
            raise GoogleError(
                "NOT_FOUND",
                f"Resource 'customers/{self.customer_id}/offlineUserDataJobs/{job_id}' was not found.",
            )
        return job

    # -- routes ------------------------------------------------------------------------------

    def add_ads_routes(self, app: FastAPI) -> None:
        @app.post("/{version}/customers/{customer_id}/userLists:mutate")
        async def mutate_user_lists(version: str, customer_id: str, request: Request) -> dict[str, Any]:
            self.check_headers(request, customer_id)
            body = await self.json_body(request) or {}
            results = []
            for index, operation in enumerate(body.get("operations") or []):
                create = (operation or {}).get("create")
                if not isinstance(create, dict) or not create.get("name"):
                    raise GoogleError(
                        "INVALID_ARGUMENT",
                        "Request contains an invalid argument.",
                        [
                            ads_error(
                                "fieldError",
                                "REQUIRED",
                                "The required field was not present.",
                                ("operations", index),
                                ("create", None),
                                ("name", None),
                            )
                        ],
                    )
                if any(u.name == create["name"] for u in self.user_lists.values()):
                    raise GoogleError(
                        "INVALID_ARGUMENT",
                        "Request contains an invalid argument.",
                        [
                            ads_error(
                                "userListError",
                                "NAME_ALREADY_USED",
                                "Name is already being used for another user list for the account.",
                                ("operations", index),
                                ("create", None),
                                ("name", None),
                            )
                        ],
                    )
                item = UserList(
                    str(next(self._ids)),
                    str(create["name"]),
                    str(create.get("description", "")),
                    "crmBasedUserList" in create,
                )
                self.user_lists[item.id] = item
                results.append({"resourceName": self._rn("userLists", item.id)})
            return {"results": results}

        @app.post("/{version}/customers/{customer_id}/offlineUserDataJobs:create")
        async def create_job(version: str, customer_id: str, request: Request) -> dict[str, Any]:
            self.check_headers(request, customer_id)
            job = ((await self.json_body(request)) or {}).get("job") or {}
            if job.get("type") != "CUSTOMER_MATCH_USER_LIST":
                raise GoogleError(
                    "INVALID_ARGUMENT",
                    "Request contains an invalid argument.",
                    [
                        ads_error(
                            "offlineUserDataJobError",
                            "INVALID_TYPE",
                            "The type of the job is not supported.",
                            ("job", None),
                            ("type", None),
                        )
                    ],
                )
            metadata = job.get("customerMatchUserListMetadata") or {}
            user_list = self._user_list(str(metadata.get("userList", "")))
            created = Job(str(next(self._ids)), user_list.id, dict(metadata.get("consent") or {}))
            self.jobs[created.id] = created
            return {"resourceName": self._rn("offlineUserDataJobs", created.id)}

        @app.post("/{version}/customers/{customer_id}/offlineUserDataJobs/{job_id}:addOperations")
        async def add_operations(
            version: str, customer_id: str, job_id: str, request: Request
        ) -> dict[str, Any]:
            self.check_headers(request, customer_id)
            job = self._job(job_id)
            body = await self.json_body(request) or {}
            return self._add_operations(job, body)

        @app.post("/{version}/customers/{customer_id}/offlineUserDataJobs/{job_id}:run")
        async def run_job(version: str, customer_id: str, job_id: str, request: Request) -> dict[str, Any]:
            self.check_headers(request, customer_id)
            job = self._job(job_id)
            if job.status != "PENDING":
                raise GoogleError(
                    "INVALID_ARGUMENT",
                    "Request contains an invalid argument.",
                    [
                        ads_error(
                            "offlineUserDataJobError",
                            "INVALID_JOB_STATUS",
                            f"The job is {job.status}; only PENDING jobs can be run.",
                        )
                    ],
                )
            job.status = "RUNNING"
            job.polls_left = self.job_polls
            operation = uuid.uuid4().hex[:20]
            self.operations[operation] = job.id
            return self._operation(operation, job)

        @app.get("/{version}/customers/{customer_id}/operations/{operation_id}")
        async def get_operation(
            version: str, customer_id: str, operation_id: str, request: Request
        ) -> dict[str, Any]:
            self.check_headers(request, customer_id)
            job_id = self.operations.get(operation_id)
            if job_id is None:
                raise GoogleError(
                    "NOT_FOUND", f"Operation customers/{customer_id}/operations/{operation_id} not found."
                )
            job = self.jobs[job_id]
            if job.status == "RUNNING":
                if job.polls_left > 0:
                    job.polls_left -= 1
                else:
                    self._finish(job)
            return self._operation(operation_id, job)

    def _operation(self, operation_id: str, job: Job) -> dict[str, Any]:
        body: dict[str, Any] = {
            "name": f"customers/{self.customer_id}/operations/{operation_id}",
            "metadata": {
                "@type": "type.googleapis.com/google.ads.googleads.v26.resources.OfflineUserDataJobMetadata",
                "matchRateRange": "MATCH_RANGE_LESS_THAN_20",
            },
        }
        if job.status == "SUCCESS":
            body["done"] = True
            body["response"] = {"@type": "type.googleapis.com/google.protobuf.Empty"}
        elif job.status == "FAILED":
            body["done"] = True
            body["error"] = {"code": 3, "message": f"The job failed: {job.failure}."}
        return body

    def _finish(self, job: Job) -> None:
        if self.fail_next_job:
            job.status, job.failure, self.fail_next_job = "FAILED", self.fail_next_job, None
            return
        members = self.user_lists[job.user_list_id].members
        for operation in job.operations:
            if operation.get("removeAll"):
                members.clear()
                continue
            kind = "create" if "create" in operation else "remove"
            for identifier in operation[kind].get("userIdentifiers") or []:
                value = next((identifier[k] for k in HASHED_FIELDS if k in identifier), None)
                if value is None:
                    continue
                if kind == "create":
                    members.add(value)
                else:
                    members.discard(value)
        job.status = "SUCCESS"

    def _add_operations(self, job: Job, body: dict[str, Any]) -> dict[str, Any]:
        if job.status != "PENDING":
            raise GoogleError(
                "INVALID_ARGUMENT",
                "Request contains an invalid argument.",
                [
                    ads_error(
                        "offlineUserDataJobError",
                        "INVALID_JOB_STATUS",
                        "Operations can only be added to a PENDING job.",
                    )
                ],
            )
        operations = body.get("operations") or []
        identifiers = sum(
            len((op.get("create") or op.get("remove") or {}).get("userIdentifiers") or [])
            for op in operations
            if isinstance(op, dict)
        )
        if identifiers > IDENTIFIER_LIMIT:
            self.violation(f"addOperations with {identifiers} user identifiers")
            raise GoogleError(
                "INVALID_ARGUMENT",
                "Request contains an invalid argument.",
                [
                    ads_error(
                        "requestError",
                        "TOO_MANY_MUTATE_OPERATIONS",
                        f"Too many user identifiers in one request: {identifiers} > {IDENTIFIER_LIMIT}.",
                        ("operations", None),
                    )
                ],
            )
        failures: list[dict[str, Any]] = []
        accepted: list[dict[str, Any]] = []
        for index, operation in enumerate(operations):
            error = self._operation_error(index, operation)
            if error is None:
                accepted.append(operation)
            else:
                failures.append(error)
        if failures and not body.get("enablePartialFailure"):
            raise GoogleError("INVALID_ARGUMENT", "Request contains an invalid argument.", failures)
        job.operations.extend(accepted)
        if not failures:
            return {}
        return {
            "partialFailureError": {
                "code": 3,
                "message": f"Multiple errors in 'details'. First error: {failures[0]['message']}",
                "details": [
                    {"@type": self.failure_type, "errors": failures, "requestId": uuid.uuid4().hex[:22]}
                ],
            }
        }

    def _operation_error(self, index: int, operation: Any) -> dict[str, Any] | None:
        if not isinstance(operation, dict):
            return ads_error(
                "requestError", "INVALID_INPUT", "Operation is not an object.", ("operations", index)
            )
        if operation.get("removeAll"):
            return None
        kind = next((k for k in ("create", "remove") if k in operation), None)
        if kind is None:
            return ads_error(
                "mutateError", "OPERATION_NOT_SET", "No operation was set.", ("operations", index)
            )
        user_identifiers = (operation[kind] or {}).get("userIdentifiers") or []
        if not user_identifiers or len(user_identifiers) > 20:
            return ads_error(
                "offlineUserDataJobError",
                "TOO_MANY_USER_IDENTIFIERS" if user_identifiers else "USER_IDENTIFIERS_REQUIRED",
                "Each user must carry between 1 and 20 user identifiers.",
                ("operations", index),
                (kind, None),
                ("user_identifiers", None),
            )
        for position, identifier in enumerate(user_identifiers):
            address = identifier.get("addressInfo") if isinstance(identifier, dict) else None
            if isinstance(address, dict):
                error = self._address_error(address, index, kind, position)
                if error is not None:
                    return error
            for key in HASHED_FIELDS:
                value = identifier.get(key) if isinstance(identifier, dict) else None
                if value is None:
                    continue
                if not SHA256.fullmatch(str(value)):
                    self.unhashed_refusals += 1
                    self.violation(f"unhashed value in {key}")
                    return ads_error(
                        "offlineUserDataJobError",
                        "INVALID_SHA256_FORMAT",
                        "The SHA256 encoded value is malformed.",
                        ("operations", index),
                        (kind, None),
                        ("user_identifiers", position),
                        ("hashed_email" if key == "hashedEmail" else "hashed_phone_number", None),
                    )
                refusal = self.refusals.get(str(value))
                if refusal is not None:
                    code, message = refusal
                    return ads_error(
                        "offlineUserDataJobError",
                        code,
                        message,
                        ("operations", index),
                        (kind, None),
                        ("user_identifiers", position),
                    )
        return None

    def _address_error(
        self, address: dict[str, Any], index: int, kind: str, position: int
    ) -> dict[str, Any] | None:
        """Names hashed, country and postal code in clear (Google's OfflineUserAddressInfo)."""
        where = (("operations", index), (kind, None), ("user_identifiers", position), ("address_info", None))
        for key in ("hashedFirstName", "hashedLastName"):
            if key in address and not SHA256.fullmatch(str(address[key])):
                self.unhashed_refusals += 1
                self.violation(f"unhashed value in addressInfo.{key}")
                return ads_error(
                    "offlineUserDataJobError",
                    "INVALID_SHA256_FORMAT",
                    "The SHA256 encoded value is malformed.",
                    *where,
                )
        if not re.fullmatch(r"[A-Z]{2}", str(address.get("countryCode", ""))):
            return ads_error(
                "offlineUserDataJobError", "INVALID_COUNTRY_CODE", "The country code is not valid.", *where
            )
        if not address.get("postalCode"):
            return ads_error("fieldError", "REQUIRED", "The required field was not present.", *where)
        return None

    def state(self) -> dict[str, Any]:
        return {
            "user_lists": [
                {
                    "id": u.id,
                    "name": u.name,
                    "members": len(u.members),
                    "match_rate_percentage": self.match_rate(u),
                }
                for u in self.user_lists.values()
            ],
            "jobs": {job.id: job.status for job in self.jobs.values()},
            "unhashed_refusals": self.unhashed_refusals,
            **self.oauth.state(),
        }

    # -- conformance hooks ---------------------------------------------------------------------

    def seed_contacts(self, identifiers: Iterable[str]) -> None:
        for email in identifiers:
            self.known[email_hash(email)] = email

    def connector_config(self, base_url: str, *, valid: bool = True) -> dict[str, Any]:
        return self.ads_config(base_url, valid=valid)

    def target_spec(self) -> TargetSpec:
        return TargetSpec(kind="user_list", name="Sluice conformance")

    def members(self, target: Target) -> set[str]:
        return {self.known.get(h, h) for h in self.user_lists[target.id].members}

    def seed_members(self, target: Target, identifiers: Iterable[str]) -> None:
        self.seed_contacts(identifiers)
        self.user_lists[target.id].members.update(email_hash(i) for i in identifiers)

    def seed_targets(self, names: Iterable[str], spec: TargetSpec) -> None:
        for name in names:
            item = UserList(str(next(self._ids)), name)
            self.user_lists[item.id] = item
