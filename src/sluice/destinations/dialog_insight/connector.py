"""Dialog Insight web services (OFC4): ``POST {service}.ashx?method={Method}`` with a JSON body carrying
``AuthKey`` ``{"idKey", "Key"}`` and ``idProject``; every answer is HTTP 200 ``{"Success",
"ErrorCode", "ErrorMessage", …}``.

- Upsert (target ``contacts``): ``contacts.ashx?method=Merge`` ``{"Records": [{"ID": {"key_<field>":
  identifier}, "Data": {fields}}], "MergeOptions": {"AllowInsert": true, "AllowUpdate": true, …}}`` →
  ``{"CreatedRecords", "UpdatedRecords", "Records": [{"IdRecord", "Status", "ValidationResult",
  "Message", "ID"}]}``; a record whose ``ValidationResult`` is not ``OK`` is rejected with its
  ``Message``. *clear* merges the mapped fields as ``null``.
- *delete*: ``contacts.ashx?method=Delete`` ``{"Clause": {"$type": "FieldClause", "Field": {"Name"},
  "TypeOperator": "Equal", "ComparisonValue"}, "MaxRows": 1}`` → ``{"DeletedRecords"}``, one per row.
- ``projects.ashx?method=Get`` → ``{"ProjectInfo": {"ProjectFields": […]}}`` checks the connection.
"""

from __future__ import annotations

import asyncio
from collections.abc import Sequence
from decimal import Decimal
from typing import Any

from sluice.destinations.dialog_insight.config import DialogInsightActivationDefaults, DialogInsightConfig
from sluice.destinations.errors import ConfigError, RowRejected
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
    StandardField,
    Target,
    TargetPage,
    TargetSpec,
)

CONTACTS = "contacts"
MAX_RECORDS = 500
MERGE_OPTIONS = {
    "AllowInsert": True,
    "AllowUpdate": True,
    "SkipDuplicateRecords": False,
    "SkipUnmatchedRecords": False,
    "ReturnRecordsOnSuccess": False,
    "ReturnRecordsOnError": False,
    "FieldOptions": None,
}


class DialogInsightConnector(Connector):
    """Contacts of one Dialog Insight project."""

    type_name = "dialog_insight"
    title = "Dialog Insight"
    description = "Create and update the contacts of a Dialog Insight project (Contacts.Merge)."
    docs_url = "https://app.dialoginsight.com/webservices/"
    config_model = DialogInsightConfig
    activation_defaults = DialogInsightActivationDefaults
    standard_fields = (
        StandardField("f_FirstName", "first_name", "First name"),
        StandardField("f_LastName", "last_name", "Last name"),
        StandardField("f_MobilePhone", "phone", "Mobile phone"),
    )
    capabilities = Capabilities(
        services=frozenset({Service.UPSERT}),
        target_kinds=frozenset({CONTACTS}),
        identifiers=frozenset({IdentifierKind.EMAIL, IdentifierKind.EXTERNAL_ID}),
        batch_size=MAX_RECORDS,
        concurrency=2,
        rate_limit=RateLimit(2, 1.0),
        can_create_targets=False,
        read_members_note="the upsert service has no list to read",
    )
    config: DialogInsightConfig

    @classmethod
    def base_url(cls, config: DialogInsightConfig) -> str:
        return config.base_url or "https://app.mydialoginsight.com/webservices/ofc4"

    @classmethod
    def rate_limit_for(cls, config: DialogInsightConfig) -> RateLimit:
        return RateLimit(config.requests_per_second, 1.0)

    async def _call(self, service: str, method: str, body: dict[str, Any]) -> dict[str, Any]:
        """One web-service call; its answer when ``Success`` (a refused key or project raises ConfigError)."""
        auth = {"AuthKey": {"idKey": self.config.key_id, "Key": self.config.api_key.get_secret_value()}}
        payload = {**auth, "idProject": self.config.project_id, **body}
        response = await self.http.request(
            "POST", f"/{service}.ashx", params={"method": method}, json=payload
        )
        if response.status_code >= 400:
            raise RowRejected(
                f"Dialog Insight {service}.{method}: HTTP {response.status_code} {response.text[:200]}"
            )
        answer: dict[str, Any] = response.json()
        if answer.get("Success"):
            return answer
        code, message = str(answer.get("ErrorCode") or ""), str(answer.get("ErrorMessage") or "")
        if any(word in code.lower() for word in ("auth", "project", "permission")):
            raise ConfigError(f"Dialog Insight refused the request: {code}: {message}")
        raise RowRejected(
            f"{code}: {message}" if code else message or "Dialog Insight answered Success: false"
        )

    async def check(self) -> str:
        answer = await self._call("projects", "Get", {})
        fields = (answer.get("ProjectInfo") or {}).get("ProjectFields") or []
        return f"connected to Dialog Insight project {self.config.project_id} ({len(fields)} fields)"

    async def list_targets(self, kind: str | None = None, cursor: str | None = None) -> TargetPage:
        return TargetPage([self._target()])

    def _target(self) -> Target:
        return Target(CONTACTS, str(self.config.project_id), f"Contacts of project {self.config.project_id}")

    async def ensure_target(self, spec: TargetSpec) -> Target:
        if spec.kind != CONTACTS:
            raise ConfigError(f"Dialog Insight has no {spec.kind!r} targets, only contacts")
        return self._target()

    async def apply(self, target: Target, ops: Sequence[Op]) -> list[Outcome]:
        kind = ops[0].kind
        if kind is OpKind.DELETE:
            return list(await asyncio.gather(*(self._delete(op) for op in ops)))
        if kind not in (OpKind.UPSERT, OpKind.CLEAR):
            return [
                Outcome.of(op, OutcomeStatus.REJECTED, f"Dialog Insight contacts do not support {kind}")
                for op in ops
            ]
        key = self.config.key_field
        records = [
            {"ID": {f"key_{key}": op.identifier}, "Data": {**self._data(op), key: op.identifier}}
            for op in ops
        ]
        answer = await self._call("contacts", "Merge", {"Records": records, "MergeOptions": MERGE_OPTIONS})
        results = answer.get("Records") or []
        by_key = {str((r.get("ID") or {}).get(f"key_{key}", "")).lower(): r for r in results}
        outcomes = []
        for index, op in enumerate(ops):
            result = by_key.get(op.identifier.lower()) or (results[index] if index < len(results) else {})
            if result.get("ValidationResult", "OK") == "OK":
                outcomes.append(Outcome.of(op, OutcomeStatus.DELIVERED))
            else:
                message = f"{result.get('ValidationResult')}: {result.get('Message') or result.get('Status')}"
                outcomes.append(Outcome.of(op, OutcomeStatus.REJECTED, message))
        return outcomes

    @staticmethod
    def _data(op: Op) -> dict[str, Any]:
        if op.kind is OpKind.CLEAR:
            return dict.fromkeys(op.fields)
        return {name: _jsonable(value) for name, value in op.fields.items()}

    async def _delete(self, op: Op) -> Outcome:
        clause = {
            "$type": "FieldClause",
            "Field": {"Name": self.config.key_field},
            "TypeOperator": "Equal",
            "ComparisonValue": op.identifier,
        }
        try:
            answer = await self._call("contacts", "Delete", {"Clause": clause, "MaxRows": 1})
        except RowRejected as exc:
            return Outcome.of(op, OutcomeStatus.REJECTED, exc.reason)
        if not answer.get("DeletedRecords"):
            return Outcome.of(op, OutcomeStatus.DELIVERED, "nothing to delete: no such contact")
        return Outcome.of(op, OutcomeStatus.DELIVERED)


def _jsonable(value: Any) -> Any:
    """Dates as ISO text, decimals as numbers (JSON has neither)."""
    return (
        float(value)
        if isinstance(value, Decimal)
        else value.isoformat()
        if hasattr(value, "isoformat")
        else value
    )
