"""A local fake of the Cloud Firestore REST API v1 (and Google's OAuth token endpoint).

The Google Firestore emulator needs Java and a download, so this one reproduces what Sluice uses:
document names ``projects/{p}/databases/{d}/documents/{collection}/{id}``, typed ``Value``
JSON (decoded and re-encoded, invalid values refused), ``:batchWrite`` with at most 500 writes
and one ``google.rpc.Status`` per write (``{}`` when applied; the 1,048,487-byte field value
limit reported per write as ``INVALID_ARGUMENT``), ``updateMask`` merge semantics,
``:listCollectionIds`` and list-documents pages with ``nextPageToken``, errors as
``{"error": {"code", "message", "status"}}`` (401 ``UNAUTHENTICATED``, 404 ``NOT_FOUND`` for
another project or database, 429 ``RESOURCE_EXHAUSTED``, 500 ``INTERNAL``), and ``POST /token``
that checks the service account JWT's RS256 signature, issuer, audience and scope before it
hands out an access token. ``Authorization: Bearer owner`` is accepted as the Firestore
emulator accepts it.
"""

from __future__ import annotations

import base64
import datetime as dt
import functools
import json
import secrets
from collections.abc import Iterable
from typing import Any

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import padding, rsa
from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse, Response

from sluice.destinations.emulation import Emulator
from sluice.destinations.firestore.auth import DATASTORE_SCOPE, GRANT_TYPE
from sluice.destinations.firestore.values import decode_fields, encode_fields, unquote_field_path
from sluice.destinations.sdk import IdentifierKind, Target, TargetSpec

PROJECT = "sluice-demo"
DATABASE = "(default)"
MAX_WRITES = 500
MAX_FIELD_VALUE_BYTES = 1_048_487
COLLECTIONS_PAGE = 1000
DOCUMENTS_PAGE = 1000
#: the token the Firestore emulator accepts in place of OAuth (it bypasses security rules)
OWNER = "owner"
CLIENT_EMAIL = "sluice@sluice-demo.iam.gserviceaccount.com"
STATUS_NAMES = {
    400: "INVALID_ARGUMENT",
    401: "UNAUTHENTICATED",
    404: "NOT_FOUND",
    429: "RESOURCE_EXHAUSTED",
    500: "INTERNAL",
}


#: the private key of the emulator's fake service account — fixed, so a connector in one process and
#: an emulator served by another (``sluice destination emulate``, benchmarks) agree; it signs nothing real
ACCOUNT_KEY_PEM = """\
-----BEGIN PRIVATE KEY-----
MIIEvAIBADANBgkqhkiG9w0BAQEFAASCBKYwggSiAgEAAoIBAQDKc7PHWCsX+bmr
ctnsUtdG7wHasyLPco2mrBiGgavSSl7bBcIAdaM0ZQL+qTatBjDnx8zcy+/c/Dzp
KtwoTZBYYVi/KXsClT58hpn5JBWYEtEapLyEnNIftWFExUX3uZMV62BeEb8t99br
eISI1er6/XYvfNMOaHK7j8s9ftELAiGGV1XcqXcqLPdx9+fyCH8kpNGXuv1vXSaD
oevYNTkFhF4Ew4iSzVx3fws9hSqWad+m9IqZOVLZT2ToASI15lIxx3RZXFVfzDXL
XuZC+nhgOGkjSMUNReH+SxOBUAgxkO+8l+w0+6bxSKSN8bQiDImXONkxMZaxm027
R62YOg+lAgMBAAECgf9vjsmkIEbSAGOCnrX/g2JQPJbrH4a5uCGrcfZWBesOwrk9
94feltIClabMiz6mw/XIj4PLOFE4p6OTgz3NokVffzPOZw0dTjEgj3GeYGYOVWEo
gI0+7F52tCag8c96KbcnbgPOWsXtOU9W2CNBIY58e5TouCQdZflKcnqdAe9AIKwY
HyIPsKbMo3o6cYrI97qAzpnynQ5OhP/uXJ4hhwHf0cR3X1vIDMBxKTjckixJsEXK
Sq6exGouedAjYPoH41dYdSZCJFh8gJmfneqDxUzDke+3Su/NHsBEk93TnoLSAQp+
+StJxlgzzOpQLFHR21+DpxF9z/3+cEzEanAyrFECgYEA+0GIwM+L9UuJ4LU6NPyz
SeLc0zquN9bWYhCqAdQqjbnoGONyKE60NbJ42g/ARGVmqCJf1XILB3Q/wB7vJAdO
FCt2LkcCYODu/9rAawQtJyrfq5lxRUi5keLdl9jsNQak/USFbGwQ6sMh0artzDXk
JsPf7mm7ROrYeYSBVEMUO3cCgYEAzkZFGJc8ZSfKBuNbZMBijVMy37dGt1f3VJGl
nhyzbnAZSms5+zUzxJtSiXSOg9i0SWbDRp0MuAJqofo0Q7rRRqyr1q2HEw2JdGF3
Jo92D+AMN9ErPqEeLxm+DkgNjmCr1fo5VmsD1xR7a1xxVgep2c3bP1On5EZ2j3wh
UXGeXMMCgYAQFylP17rJ0bWZu2Fn5UsCD1I/AMIJd2uxSgnpJhI3k1FGzsIPzMKD
sdNFe76/YpMJb3IdtDj6mDpA7no4H3OjnQjre8auN5l2ryalc9YEbR132tLDMh4Y
NqQkRlMSLkPAqHO29tC6iBaRW9Xwvv7GcMLVfNXuWu/UEGVL5SPVjwKBgQDKww5G
ltsaQBt52+FJz0bQztiySjEsJj8MFUMsgd/rDiv+GBrdkTV67IcccMNqXQkTIf2Q
Gu6WrmFtKUpYzXnLtA4SL28YTnUwPmJmOB0Ai+bWsziEDtJh0DcfSLpymxoucxIL
nZQfxpVvOmZ5/3x5ib4bqLrfTFhcwNLrgPj/CwKBgQCiyyIsFRMuuT00QUKRmGYw
pcDe626d+z50f+n+qJZex9bskB1ThfIC5wvXAEHdtiB0XqobOd5ugGzaS28gWXFD
0R605vIxuX8oS27G9veC/RFlDelfb/x3v86cbGpV8P83ndx6xBe2F1aayzGx/25F
EzCIniRM+fOlek8u+tEbDA==
-----END PRIVATE KEY-----
"""


@functools.cache
def service_key(which: str) -> rsa.RSAPrivateKey:
    """``account``: the registered fake service account's key; any other name: a fresh key Google
    (here, the emulator) does not know (bad credentials)."""
    if which == "account":
        loaded = serialization.load_pem_private_key(ACCOUNT_KEY_PEM.encode(), password=None)
        assert isinstance(loaded, rsa.RSAPrivateKey)
        return loaded
    return rsa.generate_private_key(public_exponent=65537, key_size=2048)


def pem(key: rsa.RSAPrivateKey) -> str:
    return key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    ).decode()


def google_error(status: int, message: str) -> JSONResponse:
    return JSONResponse(
        {"error": {"code": status, "message": message, "status": STATUS_NAMES[status]}}, status
    )


class FirestoreProblem(Exception):
    def __init__(self, status: int, message: str) -> None:
        self.status, self.message = status, message


def _unb64(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


class FirestoreEmulator(Emulator):
    """One project ``sluice-demo`` with its ``(default)`` database."""

    name = "firestore"
    batch_limit = MAX_WRITES
    unknown_contact_message = "not applicable: any document id is accepted"
    upsert_specs = (
        TargetSpec(kind="collection", name="customers", identifier_kind=IdentifierKind.EXTERNAL_ID),
    )

    def __init__(self, **kwargs: Any) -> None:
        #: collection path → document id → decoded fields
        self.collections: dict[str, dict[str, dict[str, Any]]] = {}
        self.tokens: set[str] = set()
        #: document names whose next write loses a contention race (answered ABORTED once)
        self.contended: set[str] = set()
        super().__init__(**kwargs)

    # -- errors ------------------------------------------------------------------------------

    def rate_limited(self) -> Response:
        return google_error(429, "Quota exceeded.")

    def server_error(self) -> Response:
        return google_error(500, "Internal error encountered.")

    async def gate(self, request: Request) -> Response | None:
        if request.url.path.endswith("/token"):
            return None
        authorization = request.headers.get("authorization", "")
        token = authorization.removeprefix("Bearer ")
        if not authorization.startswith("Bearer ") or (token != OWNER and token not in self.tokens):
            return google_error(
                401,
                "Request had invalid authentication credentials. Expected OAuth 2 access token, login cookie "
                "or other valid authentication credential.",
            )
        return None

    # -- helpers -----------------------------------------------------------------------------

    def _root(self, project: str, database: str) -> str:
        if project != PROJECT or database != DATABASE:
            raise FirestoreProblem(404, f"The database {database} does not exist for project {project}")
        return f"projects/{project}/databases/{database}/documents"

    def _split(self, root: str, name: str) -> tuple[str, str]:
        if not name.startswith(root + "/"):
            raise FirestoreProblem(400, f'Document name "{name}" lacks "{root}" prefix.')
        path = name[len(root) + 1 :].split("/")
        if len(path) % 2 or not all(path):
            raise FirestoreProblem(400, f"Invalid document name: {name}")
        return "/".join(path[:-1]), path[-1]

    def _document(self, root: str, collection: str, doc_id: str) -> dict[str, Any]:
        return {
            "name": f"{root}/{collection}/{doc_id}",
            "fields": encode_fields(self.collections[collection][doc_id]),
            "createTime": "2026-12-04T00:00:00Z",
            "updateTime": "2026-12-04T00:00:00Z",
        }

    def _apply_write(self, root: str, write: dict[str, Any]) -> dict[str, Any]:
        """Apply one write; its ``google.rpc.Status`` (``{}`` when applied)."""
        if "delete" in write:
            collection, doc_id = self._split(root, str(write["delete"]))
            self.collections.get(collection, {}).pop(doc_id, None)
            return {}
        document = write.get("update")
        if not isinstance(document, dict):
            raise FirestoreProblem(400, "Invalid JSON payload: a write needs update, delete or transform.")
        collection, doc_id = self._split(root, str(document.get("name", "")))
        try:
            fields = decode_fields(document.get("fields") or {})
        except (ValueError, KeyError, TypeError) as exc:
            raise FirestoreProblem(400, f"Invalid value in document {doc_id}: {exc}") from None
        for name, value in fields.items():
            if isinstance(value, str) and len(value.encode()) > MAX_FIELD_VALUE_BYTES:
                return {
                    "code": 3,
                    "message": f'The value of property "{name}" is longer than {MAX_FIELD_VALUE_BYTES} bytes.',
                }
        if str(document.get("name")) in self.contended:
            self.contended.discard(str(document.get("name")))
            return {"code": 10, "message": "Too much contention on these documents. Please try again."}
        held = self.collections.setdefault(collection, {})
        mask = (write.get("updateMask") or {}).get("fieldPaths")
        if mask is None:
            held[doc_id] = fields
            return {}
        record = held.setdefault(doc_id, {})
        for path in mask:
            name = unquote_field_path(str(path))
            if name in fields:
                record[name] = fields[name]
            else:
                record.pop(name, None)
        return {}

    def _page(
        self, items: list[str], token: str | None, asked: int, vendor_max: int
    ) -> tuple[list[str], str | None]:
        start = int(token) if token and token.isdigit() else 0
        size = self.page_size(asked or vendor_max, vendor_max)
        end = start + size
        return items[start:end], (str(end) if end < len(items) else None)

    def _verify_assertion(self, assertion: str, audience: str) -> str | None:
        """Why a JWT assertion is refused (Google's ``error_description``), or None; ``audience`` is
        the token endpoint's URL as this request reached it."""
        try:
            header_b64, claims_b64, signature_b64 = assertion.split(".")
            header, claims = json.loads(_unb64(header_b64)), json.loads(_unb64(claims_b64))
        except ValueError:
            return "Invalid JWT: Token must be a short-lived token and in a reasonable timeframe"
        if header.get("alg") != "RS256":
            return "Invalid JWT: alg must be RS256"
        try:
            service_key("account").public_key().verify(
                _unb64(signature_b64),
                f"{header_b64}.{claims_b64}".encode(),
                padding.PKCS1v15(),
                hashes.SHA256(),
            )
        except InvalidSignature:
            return "Invalid JWT Signature."
        if claims.get("iss") != CLIENT_EMAIL:
            return "Invalid grant: account not found"
        if claims.get("aud") != audience:
            return "Invalid JWT: Failed audience check."
        if DATASTORE_SCOPE not in str(claims.get("scope", "")).split():
            return "Invalid OAuth scope or ID token audience provided."
        if not 0 < int(claims.get("exp", 0)) - int(claims.get("iat", 0)) <= 3600:
            return (
                "Invalid JWT: Token must be a short-lived token (60 minutes) and in a reasonable timeframe."
            )
        return None

    # -- routes ------------------------------------------------------------------------------

    def add_routes(self, app: FastAPI) -> None:
        @app.exception_handler(FirestoreProblem)
        async def _problem(_: Request, exc: FirestoreProblem) -> JSONResponse:
            return google_error(exc.status, exc.message)

        @app.post("/token")
        async def token(request: Request) -> JSONResponse:
            form = await request.form()
            if form.get("grant_type") != GRANT_TYPE:
                return JSONResponse(
                    {"error": "unsupported_grant_type", "error_description": "Invalid grant_type"}, 400
                )
            refusal = self._verify_assertion(
                str(form.get("assertion", "")), str(request.url.replace(query=""))
            )
            if refusal is not None:
                return JSONResponse({"error": "invalid_grant", "error_description": refusal}, 400)
            issued = f"ya29.{secrets.token_urlsafe(24)}"
            self.tokens.add(issued)
            return JSONResponse({"access_token": issued, "expires_in": 3599, "token_type": "Bearer"})

        base = "/v1/projects/{project}/databases/{database}/documents"

        @app.post(base + ":batchWrite")
        async def batch_write(project: str, database: str, request: Request) -> dict[str, Any]:
            root = self._root(project, database)
            writes = (await self.json_body(request)).get("writes") or []
            if len(writes) > MAX_WRITES:
                self.violation(f"{len(writes)} writes in one batchWrite")
                raise FirestoreProblem(400, f"A maximum of {MAX_WRITES} writes are allowed per request.")
            names = [str(w.get("delete") or (w.get("update") or {}).get("name")) for w in writes]
            if len(set(names)) < len(names):
                raise FirestoreProblem(
                    400, "Cannot write to the same document more than once in one batchWrite request."
                )
            statuses = [self._apply_write(root, write) for write in writes]
            now = dt.datetime.now(dt.UTC).isoformat().replace("+00:00", "Z")
            return {"writeResults": [{"updateTime": now} for _ in writes], "status": statuses}

        @app.post(base + ":listCollectionIds")
        async def list_collection_ids(project: str, database: str, request: Request) -> dict[str, Any]:
            self._root(project, database)
            body = await self.json_body(request) or {}
            names = sorted(name for name, docs in self.collections.items() if docs and "/" not in name)
            page, token = self._page(
                names, body.get("pageToken"), int(body.get("pageSize") or 0), COLLECTIONS_PAGE
            )
            return {"collectionIds": page, **({"nextPageToken": token} if token else {})}

        @app.get(base + "/{collection:path}")
        async def list_documents(
            project: str, database: str, collection: str, request: Request
        ) -> dict[str, Any]:
            root = self._root(project, database)
            held = self.collections.get(collection, {})
            asked = int(request.query_params.get("pageSize") or 0)
            page, token = self._page(
                sorted(held), request.query_params.get("pageToken"), asked, DOCUMENTS_PAGE
            )
            documents = [self._document(root, collection, doc_id) for doc_id in page]
            return {
                **({"documents": documents} if documents else {}),
                **({"nextPageToken": token} if token else {}),
            }

    def state(self) -> dict[str, Any]:
        return {"collections": {name: len(docs) for name, docs in self.collections.items()}}

    # -- conformance hooks -----------------------------------------------------------------------

    def seed_contacts(self, identifiers: Iterable[str]) -> None:
        """Firestore has no contacts: documents are whatever Sluice writes."""

    def connector_config(self, base_url: str, *, valid: bool = True) -> dict[str, Any]:
        root = base_url.rstrip("/")
        account = {
            "type": "service_account",
            "project_id": PROJECT,
            "private_key_id": "emulator-key",
            "private_key": pem(service_key("account" if valid else "stranger")),
            "client_email": CLIENT_EMAIL,
            "token_uri": f"{root}/token",
        }
        return {
            "project_id": PROJECT,
            "service_account_json": json.dumps(account),
            "base_url": f"{root}/v1",
            "requests_per_second": 50,
        }

    def target_spec(self) -> TargetSpec:
        return TargetSpec(kind="audience", name="sluice_conformance")

    def members(self, target: Target) -> set[str]:
        return set(self.collections.get(target.id, {}))

    def seed_members(self, target: Target, identifiers: Iterable[str]) -> None:
        held = self.collections.setdefault(target.id, {})
        for identifier in identifiers:
            held[identifier] = {"member": identifier}

    def seed_targets(self, names: Iterable[str], spec: TargetSpec) -> None:
        for name in names:
            self.collections.setdefault(name, {})["seed"] = {"seeded": True}

    def record_identifier(self, target: Target, number: int) -> str:
        return f"customer-{number}"

    def upsert_fields(self, target: Target, number: int, version: int = 0) -> dict[str, Any]:
        return {"first_name": f"Ann{number}v{version}", "orders": number + version, "vip": number % 2 == 0}

    def records(self, target: Target) -> dict[str, dict[str, Any]]:
        return {doc_id: dict(fields) for doc_id, fields in self.collections.get(target.id, {}).items()}

    def refused_fields(self, target: Target) -> tuple[dict[str, Any], str] | None:
        return {"bio": "x" * (MAX_FIELD_VALUE_BYTES + 1)}, f"longer than {MAX_FIELD_VALUE_BYTES} bytes"
