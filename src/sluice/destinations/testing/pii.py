"""Find raw personal data in what an emulator received (ad platforms must only get hashes).

Every JSON string (and key) of every recorded request body and query string is searched for
something that looks like an email address or a phone number; SHA-256 digests and UUIDs are skipped.
Used by the tests of every destination that promises hashed identifiers.
"""

from __future__ import annotations

import re
from typing import Any

from sluice.destinations.emulation import Emulator

EMAIL = re.compile(r"[A-Za-z0-9._%+-]+@[A-Za-z0-9-]+(\.[A-Za-z0-9-]+)+")
PHONE = re.compile(r"\+?\(?\d[\d\s().-]{5,}\d")
DIGEST = re.compile(r"[0-9a-f]{64}")
#: ids that are UUIDs (Snap ad accounts, event ids) are not phone numbers
UUID = re.compile(r"[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}")
#: query parameters holding opaque values (paging cursors), never personal data
OPAQUE_PARAMS = frozenset({"after", "before"})


def raw_pii(value: Any) -> list[str]:
    """Strings inside a JSON value that look like an email or a phone number (digests excepted)."""
    if isinstance(value, dict):
        return [hit for key, item in value.items() for hit in raw_pii(key) + raw_pii(item)]
    if isinstance(value, list):
        return [hit for item in value for hit in raw_pii(item)]
    if isinstance(value, bool) or value is None:
        return []
    text = str(value)
    if DIGEST.fullmatch(text) or UUID.fullmatch(text):
        return []
    return [m.group(0) for m in EMAIL.finditer(text)] + [m.group(0) for m in PHONE.finditer(text)]


def scan(emulator: Emulator) -> list[str]:
    """Raw PII found in every body and query string the emulator recorded."""
    hits: list[str] = []
    for request in emulator.requests:
        hits.extend(raw_pii(request.body))
        hits.extend(raw_pii({k: v for k, v in request.query.items() if k not in OPAQUE_PARAMS}))
    return hits
