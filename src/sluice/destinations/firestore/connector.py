"""Cloud Firestore REST v1: documents of a collection (upsert) and audiences as collections (membership).

- Upsert (target ``collection``): one document per row, its id the op's identifier (the primary
  key or the mapped id field); ``POST {database}/documents:batchWrite`` with ≤ 500 writes
  ``{"update": {"name", "fields"}, "updateMask": {"fieldPaths": [mapped fields]}}`` — the mask
  merges: fields not mapped stay, a masked field absent from ``fields`` is deleted (*clear*).
  *delete* is ``{"delete": name}``. The answer carries a ``status`` per write (same order):
  empty/code 0 → delivered, ``ABORTED``/``UNAVAILABLE``/… → failed (retried next run), other
  codes → rejected with Firestore's message.
- Membership (target ``audience``): a collection holding one document per member
  (``{"member": identifier}``), deleted when the member leaves; members are read back with
  ``GET {database}/documents/{collection}?pageSize&pageToken``.
- Targets: ``POST {database}/documents:listCollectionIds`` (a collection exists once it holds a
  document; Sluice creates it with its first write).
- Auth: a service account's JWT exchanged for an access token (:mod:`.auth`), or
  ``Authorization: Bearer owner`` against an emulator. Errors are ``{"error": {"code",
  "message", "status"}}``.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Sequence
from typing import Any
from urllib.parse import quote

import httpx

from sluice.destinations.errors import ConfigError, RowRejected
from sluice.destinations.firestore.auth import ServiceAccountAuth, parse_service_account
from sluice.destinations.firestore.config import FirestoreActivationDefaults, FirestoreConfig
from sluice.destinations.firestore.values import encode_fields, field_path, invalid_id
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

COLLECTION = "collection"
AUDIENCE = "audience"
MAX_WRITES = 500
COLLECTIONS_PAGE = 100
DOCUMENTS_PAGE = 300
MEMBER_FIELD = "member"
#: google.rpc.Code values worth another try (the rows end *failed*, never rejected)
RETRYABLE_CODES = frozenset({1, 4, 8, 10, 13, 14})
RPC_NAMES = {
    1: "CANCELLED",
    3: "INVALID_ARGUMENT",
    4: "DEADLINE_EXCEEDED",
    5: "NOT_FOUND",
    6: "ALREADY_EXISTS",
    7: "PERMISSION_DENIED",
    8: "RESOURCE_EXHAUSTED",
    9: "FAILED_PRECONDITION",
    10: "ABORTED",
    13: "INTERNAL",
    14: "UNAVAILABLE",
}


def firestore_message(response: httpx.Response) -> str:
    """Firestore's ``STATUS: message``."""
    try:
        error = response.json().get("error") or {}
    except (ValueError, AttributeError):
        return f"HTTP {response.status_code}"
    if isinstance(error, dict) and error.get("message"):
        return f"{error.get('status', response.status_code)}: {error['message']}"
    return f"HTTP {response.status_code}"


class FirestoreConnector(Connector):
    """Documents in Cloud Firestore collections."""

    type_name = "firestore"
    title = "Firestore"
    description = "Create, update and delete collection documents, and export audiences as collections."
    docs_url = "https://firebase.google.com/docs/firestore/reference/rest"
    config_model = FirestoreConfig
    activation_defaults = FirestoreActivationDefaults
    capabilities = Capabilities(
        services=frozenset({Service.UPSERT, Service.MEMBERSHIP}),
        target_kinds=frozenset({COLLECTION, AUDIENCE}),
        identifiers=frozenset(
            {
                IdentifierKind.EXTERNAL_ID,
                IdentifierKind.EMAIL,
                IdentifierKind.PHONE,
                IdentifierKind.PLATFORM_ID,
            }
        ),
        batch_size=MAX_WRITES,
        concurrency=4,
        rate_limit=RateLimit(20, 1.0),
        can_create_targets=True,
        can_read_members=True,
        full_refresh="read the audience collection and delete documents not in the audience",
        rejects_unknown_contacts=False,
        unknown_contacts_note="a member is a document Sluice writes, so any identifier is accepted",
    )
    config: FirestoreConfig

    @classmethod
    def base_url(cls, config: FirestoreConfig) -> str:
        return config.base_url or "https://firestore.googleapis.com/v1"

    @classmethod
    def rate_limit_for(cls, config: FirestoreConfig) -> RateLimit:
        return RateLimit(config.requests_per_second, 1.0)

    @classmethod
    def auth_headers(cls, config: FirestoreConfig) -> dict[str, str]:
        return {"Authorization": "Bearer owner"} if config.service_account_json is None else {}

    @classmethod
    def auth(cls, config: FirestoreConfig) -> httpx.Auth | None:
        if config.service_account_json is None:
            return None
        return ServiceAccountAuth(parse_service_account(config.service_account_json.get_secret_value()))

    # -- paths --------------------------------------------------------------------------------

    @property
    def root(self) -> str:
        """``projects/{p}/databases/{d}/documents``: the parent of every document name."""
        return f"projects/{self.config.project_id}/databases/{self.config.database}/documents"

    def document_name(self, collection: str, document_id: str) -> str:
        return f"{self.root}/{collection}/{document_id}"

    async def _call(self, method: str, path: str, **kwargs: Any) -> httpx.Response:
        response = await self.http.request(method, path, **kwargs)
        if response.status_code in (401, 403):
            raise ConfigError(f"Firestore refused the credentials: {firestore_message(response)}")
        if response.status_code == 404:
            raise ConfigError(
                f"Firestore database {self.root.rsplit('/', 1)[0]}: {firestore_message(response)}"
            )
        return response

    # -- connection and targets ------------------------------------------------------------------

    async def check(self) -> str:
        await self._call("POST", f"/{self.root}:listCollectionIds", json={"pageSize": 1})
        return f"connected to Firestore database {self.config.database} of project {self.config.project_id}"

    async def list_targets(self, kind: str | None = None, cursor: str | None = None) -> TargetPage:
        body: dict[str, Any] = {"pageSize": COLLECTIONS_PAGE, **({"pageToken": cursor} if cursor else {})}
        response = await self._call("POST", f"/{self.root}:listCollectionIds", json=body)
        if response.status_code >= 400:
            raise ConfigError(f"Firestore could not list collections: {firestore_message(response)}")
        answer = response.json()
        items = [
            Target(kind or COLLECTION, str(name), str(name)) for name in answer.get("collectionIds") or []
        ]
        return TargetPage(items, answer.get("nextPageToken") or None)

    async def ensure_target(self, spec: TargetSpec) -> Target:
        if spec.kind not in (COLLECTION, AUDIENCE):
            raise ConfigError(f"Firestore targets are collections or audiences, not {spec.kind!r}")
        collection = (spec.id or spec.name).strip("/")
        segments = collection.split("/")
        problems = [reason for reason in map(invalid_id, segments) if reason]
        if problems or len(segments) % 2 == 0:
            why = problems[0] if problems else "a collection path has an odd number of segments"
            raise ConfigError(f"{collection!r} is not a Firestore collection: {why}")
        # a collection exists as soon as it holds a document: nothing to create, but the database must answer
        await self._call("GET", f"/{self.root}/{quote(collection)}", params={"pageSize": 1})
        return Target(spec.kind, collection, collection)

    # -- delivery --------------------------------------------------------------------------------

    def document_id(self, target: Target, op: Op) -> str:
        """The id of ``op``'s document: the identifier (always, for an audience's member documents),
        or the model's primary key when configured for collection documents."""
        by_key = target.kind == COLLECTION and self.config.document_id_from == "primary_key"
        return op.key if by_key else op.identifier

    def invalid_reason(self, op: Op, kind: IdentifierKind) -> str | None:
        reason = super().invalid_reason(op, kind) or invalid_id(op.identifier)
        if reason is None and self.config.document_id_from == "primary_key":
            reason = invalid_id(op.key)
        return reason

    async def apply(self, target: Target, ops: Sequence[Op]) -> list[Outcome]:
        kind = ops[0].kind
        allowed = {
            AUDIENCE: (OpKind.ADD, OpKind.REMOVE),
            COLLECTION: (OpKind.UPSERT, OpKind.CLEAR, OpKind.DELETE),
        }
        if kind not in allowed.get(target.kind, ()):
            return [
                Outcome.of(
                    op, OutcomeStatus.REJECTED, f"Firestore {target.kind} targets do not support {kind}"
                )
                for op in ops
            ]
        writes, position = self._writes(target, ops)
        response = await self._call("POST", f"/{self.root}:batchWrite", json={"writes": writes})
        if response.status_code >= 400:
            raise RowRejected(firestore_message(response))
        statuses = response.json().get("status") or [{}] * len(writes)
        return [
            self._outcome(op, statuses[at] if at < len(statuses) else {"code": 13, "message": "no status"})
            for op, at in zip(ops, position, strict=True)
        ]

    def _writes(self, target: Target, ops: Sequence[Op]) -> tuple[list[dict[str, Any]], list[int]]:
        """One write per document (``batchWrite`` refuses two writes to one document): rows naming
        the same document merge in order, later values winning. Returns the writes and, per op,
        the index of the write that carries it."""
        documents: dict[str, tuple[dict[str, Any], dict[str, None]] | None] = {}
        position: list[int] = []
        order: dict[str, int] = {}
        for op in ops:
            name = self.document_name(target.id, self.document_id(target, op))
            change = self._change(op)
            held = documents.get(name)
            if change is not None and held is not None:
                fields, mask = change
                kept = {k: v for k, v in held[0].items() if k not in mask}
                change = ({**kept, **fields}, {**held[1], **mask})
            documents[name] = change  # a dict keeps a document at its first position
            order.setdefault(name, len(order))
            position.append(order[name])
        writes = [
            {"delete": name}
            if change is None
            else {
                "update": {"name": name, "fields": encode_fields(change[0])},
                "updateMask": {"fieldPaths": [field_path(str(field)) for field in change[1]]},
            }
            for name, change in documents.items()
        ]
        return writes, position

    @staticmethod
    def _change(op: Op) -> tuple[dict[str, Any], dict[str, None]] | None:
        """The fields an op sets and the field names its mask covers (None: delete the document)."""
        if op.kind in (OpKind.DELETE, OpKind.REMOVE):
            return None
        if op.kind is OpKind.ADD:
            return {MEMBER_FIELD: op.identifier}, {MEMBER_FIELD: None}
        fields = {} if op.kind is OpKind.CLEAR else {k: v for k, v in op.fields.items() if v is not None}
        return fields, dict.fromkeys(op.fields)

    @staticmethod
    def _outcome(op: Op, status: dict[str, Any]) -> Outcome:
        code = int(status.get("code") or 0)
        if code == 0:
            return Outcome.of(op, OutcomeStatus.DELIVERED)
        message = f"{RPC_NAMES.get(code, f'code {code}')}: {status.get('message', '')}"
        return Outcome.of(
            op, OutcomeStatus.FAILED if code in RETRYABLE_CODES else OutcomeStatus.REJECTED, message
        )

    async def read_members(self, target: Target) -> AsyncIterator[str]:
        token: str | None = None
        while True:
            params = {"pageSize": DOCUMENTS_PAGE, **({"pageToken": token} if token else {})}
            response = await self._call("GET", f"/{self.root}/{quote(target.id)}", params=params)
            if response.status_code >= 400:
                raise ConfigError(f"Firestore collection {target.id}: {firestore_message(response)}")
            answer = response.json()
            for document in answer.get("documents") or []:
                yield str(document["name"]).rsplit("/", 1)[-1]
            token = answer.get("nextPageToken") or None
            if token is None:
                return
