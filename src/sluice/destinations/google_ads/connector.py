"""Google Ads Customer Match: keep a CRM-based user list in step with a segment.

A segment becomes a user list (``userLists:mutate`` with ``crmBasedUserList``, upload key
``CONTACT_INFO``), created by name on first run. Each batch of adds or removes is one offline
user data job: ``offlineUserDataJobs:create`` (type ``CUSTOMER_MATCH_USER_LIST``, the list and the
configured consent), ``…:addOperations`` with ``enablePartialFailure`` (at most 100,000 user
identifiers per request), ``…:run``, then the long-running operation is polled until ``done``
(:func:`sluice.destinations.jobs.poll_job`): rows are *delivered* only when the job succeeded.
A row Google refuses in the partial failure (its ``operations[i]`` index) is *rejected* with
Google's message. Identifiers are normalised and SHA-256 hashed here (Google's rules,
:data:`sluice.destinations.hashing.GOOGLE_ADS`). A full refresh is one job: ``removeAll``, then
every member, run once all are in. Google matches asynchronously and never lists members; the list's
``match_rate_percentage`` is reported on the delivered rows and in the target picker.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import httpx

from sluice.destinations.errors import ConfigError, RowRejected, Transient
from sluice.destinations.google_ads.api import error_of, row_failures
from sluice.destinations.google_ads.base import GoogleAdsBase, gaql_string
from sluice.destinations.google_ads.config import GoogleAdsActivationDefaults, GoogleAdsConfig
from sluice.destinations.google_ads.identifiers import (
    CONTACT_FIELDS,
    PII_FIELDS,
    contact_of,
    unhashable_reason,
    user_identifiers,
)
from sluice.destinations.http import VendorHttp
from sluice.destinations.jobs import JobPolling, poll_job
from sluice.destinations.sdk import (
    Capabilities,
    DestinationConfig,
    IdentifierKind,
    Op,
    OpKind,
    Outcome,
    OutcomeStatus,
    ReplaceBatch,
    Service,
    StandardField,
    Target,
    TargetPage,
    TargetSpec,
)

USER_LIST = "user_list"
BATCH_LIMIT = 50_000  # users per job Sluice sends
IDENTIFIER_LIMIT = 100_000  # user identifiers per addOperations request
MEMBERSHIP_DAYS = 540  # the longest membership Google allows on Customer Match lists
_LIST_FIELDS = "user_list.id, user_list.name, user_list.size_for_search, user_list.match_rate_percentage"
#: Customer Match jobs take minutes to hours; a job still running after this is retried next run
JOB_POLLING = JobPolling(interval=5.0, backoff=1.5, max_interval=60.0, timeout=6 * 3600.0)


def _identifier_count(operation: dict[str, Any]) -> int:
    data = operation.get("create") or operation.get("remove") or {}
    return max(len(data.get("userIdentifiers") or []), 1)


class GoogleAdsConnector(GoogleAdsBase):
    """CRM-based user lists of one Google Ads customer, members addressed by hashed identifiers."""

    type_name = "google_ads"
    title = "Google Ads Customer Match"
    description = "Export segments as Google Ads Customer Match lists (SHA-256 hashed emails or phones)."
    docs_url = "https://developers.google.com/google-ads/api/docs/remarketing/audience-segments/customer-match/get-started"
    config_model = GoogleAdsConfig
    activation_defaults = GoogleAdsActivationDefaults

    standard_fields = tuple(
        StandardField(
            name, name, "Hashed and sent with the identifier (names, country and postal code only together)"
        )
        for name in CONTACT_FIELDS
    )

    def __init__(self, config: DestinationConfig, http: VendorHttp) -> None:
        super().__init__(config, http)
        self._replacing: dict[int, str] = {}  # full-refresh session id → its job's resource name

    capabilities = Capabilities(
        services=frozenset({Service.MEMBERSHIP}),
        target_kinds=frozenset({USER_LIST}),
        identifiers=frozenset({IdentifierKind.EMAIL, IdentifierKind.PHONE, IdentifierKind.HASHED}),
        batch_size=BATCH_LIMIT,
        concurrency=1,  # jobs on the same list must not run at the same time (CONCURRENT_MODIFICATION)
        rate_limit=None,
        can_create_targets=True,
        can_read_members=False,
        read_members_note="Google Ads never returns the people in a Customer Match list (only sizes and a match rate).",
        full_refresh="one job: removeAll, then every member, run once all are in (the list is replaced at once)",
        rejects_unknown_contacts=False,
        unknown_contacts_note="Google accepts every hashed identifier and matches it to Google accounts "
        "asynchronously (up to 48 h); it never reports who was not found, only the list's match rate.",
    )

    # -- targets -----------------------------------------------------------------------------

    def _target(self, row: dict[str, Any]) -> Target:
        user_list = row.get("userList") or {}
        size = user_list.get("sizeForSearch")
        return Target(
            USER_LIST,
            str(user_list.get("id", "")),
            str(user_list.get("name", "")),
            parent_id=self.config.customer_id,
            size=int(size) if size is not None and str(size).isdigit() else None,
        )

    async def list_targets(self, kind: str | None = None, cursor: str | None = None) -> TargetPage:
        query = f"SELECT {_LIST_FIELDS} FROM user_list WHERE user_list.type = 'CRM_BASED'"
        rows, next_token = await self.search_page(query, cursor)
        return TargetPage([self._target(row) for row in rows], next_token)

    async def _find(self, condition: str) -> Target | None:
        query = f"SELECT {_LIST_FIELDS} FROM user_list WHERE user_list.type = 'CRM_BASED' AND {condition}"
        async for row in self.search(query):
            return self._target(row)
        return None

    async def ensure_target(self, spec: TargetSpec) -> Target:
        if spec.id:
            if not spec.id.isdigit():
                raise ConfigError(f"Google Ads user list id must be numeric, got {spec.id!r}")
            found = await self._find(f"user_list.id = {spec.id}")
            if found is None:
                raise ConfigError(
                    f"Google Ads has no Customer Match list {spec.id} in customer {self.config.customer_id}"
                )
            return found
        found = await self._find(f"user_list.name = {gaql_string(spec.name)}")
        if found is not None:
            return found
        if not spec.create_if_missing:
            raise ConfigError(f"Google Ads has no Customer Match list named {spec.name!r}")
        create = {
            "name": spec.name,
            "description": "Managed by Sluice",
            "membershipLifeSpan": MEMBERSHIP_DAYS,
            "crmBasedUserList": {"uploadKeyType": "CONTACT_INFO", "dataSourceType": "FIRST_PARTY"},
        }
        response = await self.call(
            "POST", f"/{self.customer}/userLists:mutate", json={"operations": [{"create": create}]}
        )
        resource = str(response.json()["results"][0]["resourceName"])
        return Target(
            USER_LIST, resource.rsplit("/", 1)[-1], spec.name, parent_id=self.config.customer_id, size=0
        )

    # -- members -----------------------------------------------------------------------------

    def invalid_reason(self, op: Op, kind: IdentifierKind) -> str | None:
        """Refuse what cannot be normalised by Google's rules (checked before any request)."""
        if kind not in PII_FIELDS:
            return super().invalid_reason(op, kind)  # HASHED: a lowercase SHA-256 hex digest
        return unhashable_reason(op.identifier, kind, self.config.default_country)

    def _consent(self) -> dict[str, str]:
        consent = {
            "adUserData": self.config.ad_user_data_consent,
            "adPersonalization": self.config.ad_personalization_consent,
        }
        return {key: value for key, value in consent.items() if value != "UNSPECIFIED"}

    async def _create_job(self, target: Target) -> str:
        metadata: dict[str, Any] = {"userList": f"{self.customer}/userLists/{target.id}"}
        consent = self._consent()
        if consent:
            metadata["consent"] = consent
        job = {"type": "CUSTOMER_MATCH_USER_LIST", "customerMatchUserListMetadata": metadata}
        response = await self.call("POST", f"/{self.customer}/offlineUserDataJobs:create", json={"job": job})
        return str(response.json()["resourceName"])

    async def _run(self, job: str) -> None:
        """Run the job and wait until Google reports it done; a failed job fails the rows."""
        operation = str((await self.call("POST", f"/{job}:run", json={})).json()["name"])

        def finished(response: httpx.Response) -> bool:
            if not response.is_success:
                self_error = error_of(response)
                raise Transient(
                    f"Google Ads job status unavailable: {self_error.get('message', response.status_code)}"
                )
            return bool(response.json().get("done"))

        done = (await poll_job(self.http, f"/{operation}", finished=finished, polling=JOB_POLLING)).json()
        if done.get("error"):
            raise Transient(f"Google Ads job {job} failed: {done['error'].get('message', 'unknown error')}")

    async def _match_rate(self, target: Target) -> str:
        query = f"SELECT user_list.id, user_list.match_rate_percentage FROM user_list WHERE user_list.id = {target.id}"
        async for row in self.search(query):
            rate = (row.get("userList") or {}).get("matchRatePercentage")
            if rate is not None:
                return f"list match rate {rate}%"
        return ""

    def _operations(self, target: Target, kind: str, ops: Sequence[Op]) -> list[dict[str, Any]]:
        country = self.config.default_country
        return [
            {
                kind: {
                    "userIdentifiers": user_identifiers(
                        contact_of(op.identifier, target.identifier_kind, op.fields, country)
                    )
                }
            }
            for op in ops
        ]

    async def _add_operations(self, job: str, operations: list[dict[str, Any]]) -> dict[int, str]:
        """Add operations to a job (partial failure on) in requests of at most 100,000 user
        identifiers; operation index → Google's refusal."""
        refused: dict[int, str] = {}
        start = 0
        while start < len(operations):
            end, identifiers = start, 0
            while (
                end < len(operations) and identifiers + _identifier_count(operations[end]) <= IDENTIFIER_LIMIT
            ):
                identifiers += _identifier_count(operations[end])
                end += 1
            end = max(end, start + 1)
            body = {"enablePartialFailure": True, "operations": operations[start:end]}
            response = await self.call("POST", f"/{job}:addOperations", json=body)
            failures = row_failures(response.json().get("partialFailureError") or {})
            refused.update({start + index: message for index, message in failures.items()})
            start = end
        return refused

    @staticmethod
    def _outcomes(ops: Sequence[Op], refused: dict[int, str], note: str = "") -> list[Outcome]:
        return [
            Outcome.of(op, OutcomeStatus.REJECTED, refused[index])
            if index in refused
            else Outcome.of(op, OutcomeStatus.DELIVERED, note)
            for index, op in enumerate(ops)
        ]

    async def apply(self, target: Target, ops: Sequence[Op]) -> list[Outcome]:
        if ops[0].kind not in (OpKind.ADD, OpKind.REMOVE):
            return [
                Outcome.of(op, OutcomeStatus.REJECTED, f"Customer Match lists do not support {op.kind}")
                for op in ops
            ]
        kind = "create" if ops[0].kind is OpKind.ADD else "remove"
        job = await self._create_job(target)
        refused = await self._add_operations(job, self._operations(target, kind, ops))
        if len(refused) == len(ops):
            return self._outcomes(ops, refused)
        await self._run(job)
        return self._outcomes(ops, refused, await self._match_rate(target))

    async def replace_members(self, target: Target, ops: Sequence[Op], batch: ReplaceBatch) -> list[Outcome]:
        """Full refresh in one job: its first operation is ``removeAll``, every batch of the
        session adds its members to the same job, and the job runs when the last batch is in —
        so the list is replaced at once, never left empty in between. A session that stops part
        way leaves its job unrun: Google keeps the list as it was."""
        operations = self._operations(target, "create", ops)
        if batch.seq == 1:
            self._replacing[batch.session_id] = await self._create_job(target)
            operations.insert(0, {"removeAll": True})
        job = self._replacing[batch.session_id]
        refused = await self._add_operations(job, operations)
        if batch.seq == 1:
            if 0 in refused:
                raise RowRejected(f"Google Ads refused removeAll: {refused[0]}")
            refused = {index - 1: message for index, message in refused.items()}
        if not batch.last:
            return self._outcomes(ops, refused)  # reported once the last batch ran (sync.load.Replacement)
        del self._replacing[batch.session_id]
        await self._run(job)
        return self._outcomes(ops, refused, await self._match_rate(target))
