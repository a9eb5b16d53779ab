"""Identifiers Google's Customer Match products take (Google Ads, Display & Video 360): emails and
phones normalised and SHA-256 hashed by Google's rules (:data:`~sluice.destinations.hashing.GOOGLE_ADS`),
already-hashed values passed through."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

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


#: mapped fields Google also matches a person on (their standard meanings have the same names)
CONTACT_FIELDS = ("email", "phone", "first_name", "last_name", "country", "postal_code")


@dataclass(frozen=True)
class Contact:
    """Everything Google gets about one person: hashed emails and phones, and — only when all four
    are known, as Google requires — hashed first and last name with country and postal code in clear."""

    emails: tuple[str, ...] = ()
    phones: tuple[str, ...] = ()
    first_name: str | None = None
    last_name: str | None = None
    country: str | None = None
    postal_code: str | None = None

    @property
    def has_address(self) -> bool:
        return None not in (self.first_name, self.last_name, self.country, self.postal_code)


def contact_of(
    identifier: str, kind: IdentifierKind, fields: Mapping[str, Any], default_country: str
) -> Contact:
    """The row's identifier (when ``kind`` names a person) plus the contact fields it maps
    (:data:`CONTACT_FIELDS`); a mapped value that cannot be normalised is left out."""

    def normalised(field: PiiField, value: Any) -> str | None:
        if value is None or not str(value).strip():
            return None
        try:
            return hash_value(field, str(value), GOOGLE_ADS, default_region=default_country)
        except InvalidIdentifier:
            return None

    personal = kind in PII_FIELDS or kind is IdentifierKind.HASHED  # not a click id or an order id
    own = google_hash(identifier, kind, default_country) if personal else None
    emails = [own] if own is not None and kind is not IdentifierKind.PHONE else []
    phones = [own] if own is not None and kind is IdentifierKind.PHONE else []
    for values, field, name in ((emails, PiiField.EMAIL, "email"), (phones, PiiField.PHONE, "phone")):
        extra = normalised(field, fields.get(name))
        if extra is not None and extra not in values:
            values.append(extra)
    country = normalised(PiiField.COUNTRY, fields.get("country"))
    return Contact(
        tuple(emails),
        tuple(phones),
        normalised(PiiField.FIRST_NAME, fields.get("first_name")),
        normalised(PiiField.LAST_NAME, fields.get("last_name")),
        country.upper() if country else None,
        normalised(PiiField.ZIP, fields.get("postal_code")),
    )


def user_identifiers(contact: Contact) -> list[dict[str, Any]]:
    """A person as Google Ads ``UserIdentifier`` objects: hashed emails, hashed phones, and the
    ``addressInfo`` when the address is complete."""
    found: list[dict[str, Any]] = [{"hashedEmail": h} for h in contact.emails]
    found += [{"hashedPhoneNumber": h} for h in contact.phones]
    if contact.has_address:
        address = {
            "hashedFirstName": contact.first_name,
            "hashedLastName": contact.last_name,
            "countryCode": contact.country,
            "postalCode": contact.postal_code,
        }
        found.append({"addressInfo": address})
    return found
