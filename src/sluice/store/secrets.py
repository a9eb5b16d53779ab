"""Encrypted secrets on store rows.

A row that holds credentials keeps them in one encrypted column; the plain values exist only
in memory, after :meth:`EncryptedSecretsMixin.read_secrets`. API schemas never include them:
they report which secret fields are set, nothing more.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import Text
from sqlalchemy.orm import Mapped, mapped_column

from sluice.core.crypto import SecretBox


class EncryptedSecretsMixin:
    """Adds ``secrets_encrypted`` (Fernet token of a JSON dict) and typed accessors."""

    secrets_encrypted: Mapped[str | None] = mapped_column(Text, default=None)
    secret_fields_set: Mapped[str] = mapped_column(Text, default="")

    def write_secrets(self, box: SecretBox, values: dict[str, Any], *, merge: bool = True) -> None:
        """Store ``values`` encrypted. With ``merge``, keys not given keep their old value."""
        current = self.read_secrets(box) if (merge and self.secrets_encrypted) else {}
        current.update({k: v for k, v in values.items() if v is not None})
        self.secrets_encrypted = box.encrypt(current) if current else None
        self.secret_fields_set = ",".join(sorted(current))

    def read_secrets(self, box: SecretBox) -> dict[str, Any]:
        """Decrypt the secrets (registering them for log redaction)."""
        return box.decrypt(self.secrets_encrypted) if self.secrets_encrypted else {}

    @property
    def secret_names(self) -> list[str]:
        """Names of the secret fields that have a value (safe to show)."""
        return [name for name in self.secret_fields_set.split(",") if name]
