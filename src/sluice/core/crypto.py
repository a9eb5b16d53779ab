"""Encryption of secrets at rest (Fernet, keyed from the installation's secret key).

Every decrypted secret value is registered with :mod:`sluice.core.redaction` so that it is
masked if it ever reaches a log line.
"""

from __future__ import annotations

import base64
import hashlib
import json
from typing import Any

from cryptography.fernet import Fernet, InvalidToken

from sluice.core import redaction
from sluice.core.errors import SluiceError


class SecretDecryptionError(SluiceError):
    """A stored secret cannot be decrypted (the secret key changed?)."""

    code = "secret_decryption_failed"
    title = "Secret cannot be decrypted"


def fernet_for(secret_key: str) -> Fernet:
    """A Fernet instance whose key is derived from ``secret_key`` (any length)."""
    digest = hashlib.sha256(b"sluice-secrets-v1:" + secret_key.encode()).digest()
    return Fernet(base64.urlsafe_b64encode(digest))


class SecretBox:
    """Encrypts and decrypts JSON-able dicts of secrets."""

    def __init__(self, secret_key: str) -> None:
        self._fernet = fernet_for(secret_key)

    def encrypt(self, values: dict[str, Any]) -> str:
        return self._fernet.encrypt(json.dumps(values, sort_keys=True).encode()).decode()

    def decrypt(self, token: str) -> dict[str, Any]:
        try:
            plain = self._fernet.decrypt(token.encode())
        except InvalidToken:
            raise SecretDecryptionError(
                "a stored secret cannot be decrypted: was SLUICE_SECRET_KEY or the data dir's secret.key changed?"
            ) from None
        values: dict[str, Any] = json.loads(plain)
        for value in values.values():
            if isinstance(value, str):
                redaction.register_secret(value)
        return values
