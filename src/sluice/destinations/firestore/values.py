"""Firestore's typed ``Value`` JSON (REST v1), in one place for the connector and its emulator.

A value is an object with exactly one of ``nullValue``, ``booleanValue``, ``integerValue`` (a
string: int64 in JSON), ``doubleValue``, ``timestampValue`` (RFC 3339, ``Z``), ``stringValue``,
``bytesValue`` (base64), ``referenceValue``, ``geoPointValue``, ``arrayValue`` (``{"values": […]}``)
or ``mapValue`` (``{"fields": {…}}``). See https://firebase.google.com/docs/firestore/reference/rest/v1/Value
"""

from __future__ import annotations

import base64
import datetime as dt
import re
from collections.abc import Mapping
from decimal import Decimal
from typing import Any

INT64 = (-(2**63), 2**63 - 1)
#: a field name usable without backticks in a field path (the reference's "simple" names)
SIMPLE_FIELD = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")


def encode(value: Any) -> dict[str, Any]:
    """A Python value as a Firestore ``Value``."""
    if value is None:
        return {"nullValue": None}
    if isinstance(value, bool):
        return {"booleanValue": value}
    if isinstance(value, int):
        if not INT64[0] <= value <= INT64[1]:
            return {"doubleValue": float(value)}
        return {"integerValue": str(value)}
    if isinstance(value, float | Decimal):
        return {"doubleValue": float(value)}
    if isinstance(value, dt.datetime):
        moment = value if value.tzinfo else value.replace(tzinfo=dt.UTC)
        return {"timestampValue": moment.astimezone(dt.UTC).isoformat().replace("+00:00", "Z")}
    if isinstance(value, dt.date):
        return {"stringValue": value.isoformat()}
    if isinstance(value, bytes):
        return {"bytesValue": base64.b64encode(value).decode()}
    if isinstance(value, Mapping):
        return {"mapValue": {"fields": encode_fields(value)}}
    if isinstance(value, list | tuple | set | frozenset):
        return {"arrayValue": {"values": [encode(item) for item in value]}}
    return {"stringValue": str(value)}


def encode_fields(fields: Mapping[str, Any]) -> dict[str, dict[str, Any]]:
    """A document's ``fields`` map."""
    return {str(name): encode(value) for name, value in fields.items()}


def decode(value: Mapping[str, Any]) -> Any:
    """A Firestore ``Value`` as a Python value (timestamps stay RFC 3339 text)."""
    if len(value) != 1:
        raise ValueError(f"a Value has exactly one member, got {sorted(value)}")
    ((kind, inner),) = value.items()
    if kind == "nullValue":
        return None
    if kind == "booleanValue" and isinstance(inner, bool):
        return inner
    if kind == "integerValue":
        return int(inner)
    if kind == "doubleValue":
        return float(inner)
    if kind in ("stringValue", "timestampValue", "referenceValue") and isinstance(inner, str):
        return inner
    if kind == "bytesValue":
        return base64.b64decode(inner)
    if kind == "geoPointValue" and isinstance(inner, Mapping):
        return {"latitude": float(inner["latitude"]), "longitude": float(inner["longitude"])}
    if kind == "arrayValue" and isinstance(inner, Mapping):
        return [decode(item) for item in inner.get("values") or []]
    if kind == "mapValue" and isinstance(inner, Mapping):
        return decode_fields(inner.get("fields") or {})
    raise ValueError(f"invalid {kind}: {inner!r}")


def decode_fields(fields: Mapping[str, Any]) -> dict[str, Any]:
    return {name: decode(value) for name, value in fields.items()}


def field_path(name: str) -> str:
    """``name`` as one segment of a field path (backticks, with ``\\`` and `` ` `` escaped, unless simple)."""
    if SIMPLE_FIELD.fullmatch(name):
        return name
    return "`" + name.replace("\\", "\\\\").replace("`", "\\`") + "`"


def unquote_field_path(path: str) -> str:
    """The field name of a one-segment field path (inverse of :func:`field_path`)."""
    if path.startswith("`") and path.endswith("`") and len(path) >= 2:
        return re.sub(r"\\(.)", r"\1", path[1:-1])
    return path


def invalid_id(segment: str) -> str | None:
    """Why ``segment`` cannot be a document or collection id (Firestore's naming rules), or None."""
    if not segment:
        return "an id cannot be empty"
    if "/" in segment:
        return "an id cannot contain a forward slash (/)"
    if segment in (".", ".."):
        return "an id cannot be . or .."
    if re.fullmatch(r"__.*__", segment):
        return "ids matching __.*__ are reserved"
    if len(segment.encode()) > 1500:
        return "an id is at most 1,500 bytes"
    return None
