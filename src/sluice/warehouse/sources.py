"""A stored source row to its typed config and an open warehouse."""

from __future__ import annotations

from sluice.core.crypto import SecretBox
from sluice.core.errors import InvalidInput
from sluice.store.tables.sources import Source
from sluice.warehouse.configs import SourceConfig, build_config
from sluice.warehouse.connection import Warehouse
from sluice.warehouse.open import open_warehouse


def source_config(source: Source, box: SecretBox | None) -> SourceConfig:
    """The typed config of ``source`` with its secrets decrypted."""
    if source.secrets_encrypted and box is None:
        raise InvalidInput("the source has secrets but no secret box was given to decrypt them")
    secrets = source.read_secrets(box) if (box is not None and source.secrets_encrypted) else {}
    return build_config(source.type, source.config, secrets)


def open_source(source: Source, box: SecretBox | None) -> Warehouse:
    """An open connection to ``source`` (raises a warehouse error with the reason)."""
    return open_warehouse(source_config(source, box))
