"""Identifiers Google's Customer Match products take (Google Ads, Display & Video 360): emails and
phones normalised and SHA-256 hashed by Google's rules (:data:`~sluice.destinations.hashing.GOOGLE_ADS`),
already-hashed values passed through."""

from __future__ import annotations

from sluice.destinations.hashing import GOOGLE_ADS, InvalidIdentifier, PiiField, hash_value
from sluice.sync.audience import IdentifierKind

#: identifier kinds that carry personal data to hash (``hashed`` values are digests already)
PII_FIELDS = {IdentifierKind.EMAIL: PiiField.EMAIL, IdentifierKind.PHONE: PiiField.PHONE}


def google_hash(identifier: str, kind: IdentifierKind, default_country: str) -> str:
    """The SHA-256 Google matches on (a ``hashed`` identifier or a digest passes through lowercased)."""
    return hash_value(
        PII_FIELDS.get(kind, PiiField.EMAIL), identifier, GOOGLE_ADS, default_region=default_country
    )


def unhashable_reason(identifier: str, kind: IdentifierKind, default_country: str) -> str | None:
    """Why an email or phone cannot be normalised by Google's rules (None when it can, or when
    ``kind`` carries no personal data)."""
    if kind not in PII_FIELDS:
        return None
    if not identifier or not identifier.strip():
        return "identifier is empty"
    try:
        google_hash(identifier, kind, default_country)
    except InvalidIdentifier as exc:
        return str(exc)
    return None
