"""Keeps secrets out of logs.

Two defences: keys that look like secrets are masked whatever their value, and every secret
value Sluice has decrypted in this process is masked wherever it appears in a log line.
"""

from __future__ import annotations

import re
import threading
from collections.abc import Mapping
from typing import Any

MASK = "***"
_SECRET_KEY_PATTERN = re.compile(
    r"(pass(word)?|secret|token|api[_-]?key|authorization|cookie|private[_-]?key|credential)", re.I
)
_known_values: set[str] = set()
_lock = threading.Lock()
_MIN_SECRET_LENGTH = 4


def register_secret(value: str) -> None:
    """Remember ``value`` so it is masked in every later log line of this process."""
    if len(value) >= _MIN_SECRET_LENGTH:
        with _lock:
            _known_values.add(value)


def is_secret_key(name: str) -> bool:
    """Whether a mapping key names a secret (``password``, ``api_key``, ``Authorization``, …)."""
    return bool(_SECRET_KEY_PATTERN.search(name))


def redact_text(text: str) -> str:
    """Mask every registered secret value inside ``text``."""
    with _lock:
        values = sorted(_known_values, key=len, reverse=True)
    for value in values:
        if value in text:
            text = text.replace(value, MASK)
    return text


def redact(value: Any) -> Any:
    """Recursively mask secrets in a log event or any JSON-like structure."""
    if isinstance(value, Mapping):
        return {k: (MASK if isinstance(k, str) and is_secret_key(k) else redact(v)) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return type(value)(redact(v) for v in value)
    if isinstance(value, str):
        return redact_text(value)
    if hasattr(value, "get_secret_value"):
        return MASK
    return value
