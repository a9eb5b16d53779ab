"""Firestore's typed Value JSON: what Sluice writes reads back the same, and field paths are quoted as
the REST reference requires."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest

from sluice.destinations.firestore.values import (
    decode,
    decode_fields,
    encode,
    encode_fields,
    field_path,
    invalid_id,
    unquote_field_path,
)


def test_values_encode_as_the_rest_api_types_them() -> None:
    assert encode(None) == {"nullValue": None}
    assert encode(True) == {"booleanValue": True}
    assert encode(7) == {"integerValue": "7"}
    assert encode(2**70) == {"doubleValue": float(2**70)}
    assert encode(Decimal("1.25")) == {"doubleValue": 1.25}
    assert encode(dt.datetime(2026, 1, 2, 3, 4, 5)) == {"timestampValue": "2026-01-02T03:04:05Z"}
    assert encode(dt.date(2026, 1, 2)) == {"stringValue": "2026-01-02"}
    assert encode(b"\x00\x01") == {"bytesValue": "AAE="}
    assert encode({"a": [1, "x"]}) == {
        "mapValue": {
            "fields": {"a": {"arrayValue": {"values": [{"integerValue": "1"}, {"stringValue": "x"}]}}}
        }
    }


def test_documents_read_back_as_written() -> None:
    fields = {
        "name": "Ann",
        "orders": 3,
        "vip": False,
        "tags": ["a", "b"],
        "address": {"city": "Lyon"},
        "note": None,
    }
    assert decode_fields(encode_fields(fields)) == fields


def test_a_value_with_two_members_or_a_wrong_type_is_refused() -> None:
    with pytest.raises(ValueError, match="exactly one member"):
        decode({"stringValue": "a", "integerValue": "1"})
    with pytest.raises(ValueError, match="invalid booleanValue"):
        decode({"booleanValue": "yes"})


@pytest.mark.parametrize(
    ("name", "path"),
    [("first_name", "first_name"), ("first name", "`first name`"), ("a`b", "`a\\`b`"), ("1st", "`1st`")],
)
def test_field_paths_are_quoted_when_not_simple(name: str, path: str) -> None:
    assert field_path(name) == path
    assert unquote_field_path(path) == name


def test_document_ids_follow_firestore_naming_rules() -> None:
    assert invalid_id("customer-1") is None
    assert invalid_id("a/b") == "an id cannot contain a forward slash (/)"
    assert invalid_id("..") == "an id cannot be . or .."
    assert invalid_id("__x__") == "ids matching __.*__ are reserved"
    assert invalid_id("é" * 751) == "an id is at most 1,500 bytes"
