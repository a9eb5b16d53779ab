"""Find raw personal data in what an emulator received (ad platforms must only get hashes).

Every JSON string (and key) of every recorded request body and query string is searched for
something that looks like an email address or a phone number; SHA-256 digests, UUIDs, Google Ads
resource names, date-times and numeric account/object ids are skipped.
Used by the tests of every destination that promises hashed identifiers.
"""

from __future__ import annotations

import re
from typing import Any

from sluice.destinations.emulation import Emulator

EMAIL = re.compile(r"[A-Za-z0-9._%+-]+@[A-Za-z0-9-]+(\.[A-Za-z0-9-]+)+")
PHONE = re.compile(r"\+?\(?\d[\d\s().-]{5,}\d")
DIGEST = re.compile(r"[0-9a-f]{64}|[0-9a-f]{32}")  # SHA-256, and MD5 (file signatures)
#: ids that are UUIDs (Snap ad accounts, event ids) are not phone numbers
UUID = re.compile(r"[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}")
#: Google Ads resource names (``customers/1234567890/userLists/42``): 10-digit account ids, not phones
RESOURCE_NAME = re.compile(r"customers/\d+(/[A-Za-z]+/[\w~-]+)*")
#: date-times vendors require as text (Google Ads ``2026-12-04 17:00:00+01:00``, ISO 8601)
DATE_TIME = re.compile(r"\d{4}-\d{2}-\d{2}[ T]\d{2}:\d{2}(:\d{2}(\.\d+)?)?(Z|[+-]\d{2}:?\d{2})?")
#: query parameters holding opaque values (paging cursors), never personal data
OPAQUE_PARAMS = frozenset({"after", "before"})
#: body keys whose all-digit values are the vendor's account/object ids (Pinterest's 12-digit ad
#: accounts, TikTok's advertiser ids), not phone numbers
NUMERIC_ID_KEYS = frozenset(
    {
        "ad_account_id",
        "advertiser_id",
        "advertiser_ids",
        "customer_list_id",
        "custom_audience_id",
        "custom_audience_ids",
        "audience_id",
        "pixel_code",
    }
)
#: an all-digit id, or a JSON list of them as a query parameter (TikTok's ``advertiser_ids=["7…"]``)
NUMERIC_IDS = re.compile(r'\d+|\[\s*"?\d+"?(\s*,\s*"?\d+"?)*\s*\]')


def raw_pii(value: Any) -> list[str]:
    """Strings inside a JSON value that look like an email or a phone number (digests excepted)."""
    if isinstance(value, dict):
        return [
            hit
            for key, item in value.items()
            if not (key in NUMERIC_ID_KEYS and NUMERIC_IDS.fullmatch(str(item)))
            for hit in raw_pii(key) + raw_pii(item)
        ]
    if isinstance(value, list):
        return [hit for item in value for hit in raw_pii(item)]
    if isinstance(value, bool | int | float) or value is None:
        return []  # JSON numbers are times, counts and ids (event_time, session_id), not contact data
    text = str(value)
    if any(p.fullmatch(text) for p in (DIGEST, UUID, RESOURCE_NAME, DATE_TIME)):
        return []
    if "," in text and all(DIGEST.fullmatch(part.strip()) for part in text.split(",")):
        return []  # comma-separated digests (Pinterest customer-list records)
    return [m.group(0) for m in EMAIL.finditer(text)] + [m.group(0) for m in PHONE.finditer(text)]


def multipart_fields(body: str, content_type: str) -> dict[str, Any] | None:
    """The fields of a ``multipart/form-data`` body (a file's content as its lines), or None."""
    boundary = re.search(r"boundary=\"?([^\";]+)", content_type) if "multipart/" in content_type else None
    if boundary is None:
        return None
    fields: dict[str, Any] = {}
    for part in body.split(f"--{boundary.group(1)}"):
        head, _, content = part.partition("\r\n\r\n")
        name = re.search(r'name="([^"]*)"', head)
        if name is None:
            continue
        content = content.removesuffix("\r\n")
        fields[name.group(1)] = content.splitlines() if "filename=" in head else content
    return fields


def scan(emulator: Emulator) -> list[str]:
    """Raw PII found in every body (multipart fields and uploaded files line by line) and query
    string the emulator recorded."""
    hits: list[str] = []
    for request in emulator.requests:
        body = request.body
        if isinstance(body, str):
            body = multipart_fields(body, request.headers.get("content-type", "")) or body
        hits.extend(raw_pii(body))
        hits.extend(raw_pii({k: v for k, v in request.query.items() if k not in OPAQUE_PARAMS}))
    return hits
