"""Identifiers: time-ordered, URL-safe, 26 characters (ULID layout, Crockford base32).

Sorting ids sorts objects by creation time, which is what cursor pagination relies on. Within
one process ids are strictly increasing (monotonic ULID rule: same millisecond → previous + 1).
"""

from __future__ import annotations

import os
import threading
import time

_ALPHABET = "0123456789abcdefghjkmnpqrstvwxyz"
_lock = threading.Lock()
_last = 0


def new_id() -> str:
    """A new unique id: 48 bits of milliseconds then 80 random bits."""
    global _last
    with _lock:
        value = (int(time.time() * 1000) << 80) | int.from_bytes(os.urandom(10), "big")
        if value <= _last:
            value = _last + 1
        _last = value
    chars = []
    for _ in range(26):
        chars.append(_ALPHABET[value & 31])
        value >>= 5
    return "".join(reversed(chars))
