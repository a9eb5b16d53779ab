"""Normalisation and SHA-256 hashing of customer identifiers for advertising platforms.

Ad platforms (Meta, Google, TikTok, LinkedIn, …) match people on *hashed* identifiers: the value is
normalised by the vendor's rules, then hashed with unsalted SHA-256 and sent as 64 lowercase hex
characters. Getting a rule wrong silently lowers the match rate, so the rules live here, once, as
:class:`HashingRules` per vendor, and every connector calls :func:`hash_value`.

Values that already are SHA-256 digests (64 hex characters, :func:`is_sha256`) are passed through
(lowercased) and never hashed twice.

Sources (checked with the ``search`` tool, 2026-12-01):

- Meta Conversions API, customer information parameters (``em``, ``ph``, ``fn``, ``ln``, ``zp``,
  ``country``): https://developers.facebook.com/docs/marketing-api/conversions-api/parameters/customer-information-parameters
  — email trimmed and lowercased; phone digits only *with* the country code and no ``+``; names
  lowercase without punctuation; US zip codes 5 digits; country ISO 3166-1 alpha-2 lowercase.
- Meta Marketing API, custom audiences (the same normalisation, "Hashing and Normalizing Data"):
  https://developers.facebook.com/docs/marketing-api/custom-audience-api
- Google Ads enhanced conversions / Customer Match: trim, lowercase, phone in E.164 (with ``+``),
  and remove periods before the domain in gmail.com / googlemail.com addresses:
  https://developers.google.com/google-ads/api/docs/conversions/enhance-conversions ,
  https://developers.google.com/doubleclick-advertisers/guides/conversions_ec ;
  names: lowercase, no extra spaces (``OfflineUserAddressInfo.hashed_first_name``); country and zip
  are sent *unhashed* to Google.
- Snap Conversions API (same SHA-256 of the trimmed, lowercased email, with a published vector):
  https://developers.snap.com/api/marketing-api/Conversions-API/Parameters
"""

from __future__ import annotations

import hashlib
import re
import unicodedata
from dataclasses import dataclass
from enum import StrEnum

import phonenumbers

SHA256_HEX = re.compile(r"[0-9a-fA-F]{64}")
_EMAIL = re.compile(r"[^@\s]+@[^@\s.]+(\.[^@\s.]+)+")
_MOBILE_AD_ID = re.compile(r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}")
_GMAIL_DOMAINS = frozenset({"gmail.com", "googlemail.com"})


class InvalidIdentifier(ValueError):
    """A value that cannot be normalised (the row is rejected, never sent)."""


class PiiField(StrEnum):
    """Customer information a platform matches on."""

    EMAIL = "email"
    PHONE = "phone"
    FIRST_NAME = "first_name"
    LAST_NAME = "last_name"
    ZIP = "zip"
    COUNTRY = "country"
    CITY = "city"
    STATE = "state"
    EXTERNAL_ID = "external_id"
    MOBILE_AD_ID = "mobile_ad_id"


@dataclass(frozen=True)
class HashingRules:
    """One vendor's normalisation rules.

    ``gmail_dots`` removes dots from the local part of gmail.com/googlemail.com addresses (Google);
    ``gmail_plus`` also drops a ``+tag`` there (no vendor asks for it today: off everywhere);
    ``phone_plus`` keeps the leading ``+`` of E.164 (Google) or sends digits only (Meta);
    ``name_spaces`` keeps inner spaces of names (single-spaced) instead of removing them;
    ``unhashed`` lists fields the vendor wants normalised but *not* hashed (Google: zip, country).
    """

    vendor: str
    gmail_dots: bool = False
    gmail_plus: bool = False
    phone_plus: bool = False
    name_spaces: bool = False
    unhashed: frozenset[PiiField] = frozenset()


META = HashingRules("meta")
GOOGLE_ADS = HashingRules(
    "google_ads",
    gmail_dots=True,
    phone_plus=True,
    name_spaces=True,
    unhashed=frozenset({PiiField.ZIP, PiiField.COUNTRY, PiiField.CITY, PiiField.STATE}),
)
LINKEDIN = HashingRules("linkedin")
"""LinkedIn DMP segment users: ``SHA256_EMAIL`` is "a HEX encoded string with length = 64" of the
trimmed, lowercased email (no Gmail rules).
https://learn.microsoft.com/en-us/linkedin/marketing/matched-audiences/create-and-manage-segment-users ;
``segmentio/action-destinations`` ``linkedin-audiences`` (lowercase + trim, then SHA-256 hex)."""
X_ADS = HashingRules("x_ads")
"""X (Twitter) Ads custom audiences: every identifier but ``partner_user_id`` normalised then
SHA-256 hashed without salt, lowercase hex. Emails lowercased and trimmed; usernames without
``@``, lowercased and trimmed; IDFA lowercase with dashes (vector: ``adsapi`` → ``49e0be2a…``).
https://developer.x.com/en/docs/x-ads-api/audiences/overview/user-data ,
https://developer.x.com/en/docs/x-ads-api/audiences/api-reference/audience ."""
MICROSOFT_ADS = HashingRules("microsoft_ads")
"""Microsoft Advertising customer match lists (``CustomerListItemSubType`` ``Email``): the SHA-256
hex of the trimmed, lowercased email.
https://learn.microsoft.com/en-us/advertising/campaign-management-service/applycustomerlistuserdata ,
https://learn.microsoft.com/en-us/advertising/bulk-service/customer-list-item ;
``segmentio/action-destinations`` ``bing-ads-audiences`` (``value.trim().toLowerCase()`` then SHA-256)."""
CRITEO = HashingRules("criteo", unhashed=frozenset({PiiField.MOBILE_AD_ID}))
"""Criteo audience contact lists (``identifierType`` ``email``): Criteo accepts clear or hashed
emails; Sluice sends the SHA-256 hex of the trimmed, lowercased email (MD5/SHA-256 of the lowercase
email are Criteo's accepted hashes), mobile ad ids (``madid``) lowercased and unhashed.
https://developers.criteo.com/marketing-solutions/docs/contact-list ."""
REDDIT = HashingRules("reddit")
"""Reddit Ads custom audiences: SHA-256 of the trimmed, lowercased email; mobile ad ids (IDFA/AAID)
lowercased then SHA-256. https://ads-api.reddit.com/docs/v3/ (custom audience users);
``../shared/spec/destinations.md`` §4.19."""
PINTEREST = HashingRules("pinterest")
"""Pinterest (customer lists and Conversions API), v5 OpenAPI ``ConversionEventsUserDataProperties``
(``pinterest/api-description`` v5.23.0): ``em`` SHA-256 of the lowercase email; ``ph`` only digits
with country code, no symbols, letters, spaces or leading zeros (no ``+``); ``fn``/``ln``/``ct``
lowercase without spaces or punctuation; ``zp`` digits; ``country`` lowercase ISO alpha-2.
Customer-list ``records`` take lowercase emails, plain or hashed (SHA-256 used here). No plaintext
test vectors are published (the document's examples are digests only)."""
TIKTOK = HashingRules("tiktok", phone_plus=True)
"""TikTok (custom audience files ``EMAIL_SHA256``/``PHONE_SHA256`` and Events API ``user.email`` /
``user.phone``): email trimmed and lowercased; phone in E.164 *with* the ``+`` before hashing
(https://business-api.tiktok.com/portal/docs?id=1771101027431425 "Report web events", quoted in
``PipedreamHQ/pipedream`` ``tiktok_ads_manager/actions/send-conversion-event``:
"Include country code with + … before hashing"). No published plaintext vectors."""
SNAPCHAT = HashingRules("snapchat")
"""Snap (customer lists ``EMAIL_SHA256``/``PHONE_SHA256``/``MOBILE_AD_ID_SHA256`` and Conversions
API): email trimmed and lowercased (vector ``Person@Example.com`` → ``542d2401…``,
https://developers.snap.com/api/marketing-api/Conversions-API/Parameters); phone digits with the
country code, no ``+``, symbols or leading zeros; mobile ad ids lowercased
(https://developers.snap.com/api/marketing-api/Ads-API/customer-lists)."""


def unmatchable_digest() -> str:
    """The SHA-256 of an address that cannot exist (``no-one@sluice.invalid``, RFC 2606 ``.invalid``):
    the one record of a list a vendor refuses to create empty (Pinterest, TikTok); it matches no one."""
    return sha256_hex("no-one@sluice.invalid")


def is_sha256(value: str) -> bool:
    """Whether ``value`` already is a SHA-256 hex digest (64 hex characters, any case)."""
    return SHA256_HEX.fullmatch(value.strip()) is not None


def sha256_hex(value: str) -> str:
    """Unsalted SHA-256 of the UTF-8 bytes, as 64 lowercase hex characters."""
    return hashlib.sha256(value.encode("utf-8")).hexdigest()


def normalise_email(value: str, *, gmail_dots: bool = False, gmail_plus: bool = False) -> str:
    """Trim and lowercase; optionally Google's Gmail rules (dots, ``+tag``) on the local part."""
    email = value.strip().lower()
    if not _EMAIL.fullmatch(email):
        raise InvalidIdentifier("malformed email")
    local, _, domain = email.rpartition("@")
    if domain in _GMAIL_DOMAINS:
        if gmail_plus:
            local = local.split("+", 1)[0]
        if gmail_dots:
            local = local.replace(".", "")
    return f"{local}@{domain}"


def normalise_phone(value: str, *, default_region: str = "US", plus: bool = True) -> str:
    """E.164 (``+16505551212``), reading national numbers in ``default_region`` (ISO alpha-2);
    a leading ``00`` is an international prefix. ``plus=False`` gives Meta's digits-only form."""
    text = value.strip()
    if text.startswith("00"):
        text = "+" + text[2:]
    try:
        number = phonenumbers.parse(text, default_region.upper())
    except phonenumbers.NumberParseException as exc:
        raise InvalidIdentifier(f"not a phone number: {exc}") from None
    if not phonenumbers.is_possible_number(number):
        raise InvalidIdentifier("not a possible phone number")
    e164 = phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164)
    return e164 if plus else e164.lstrip("+")


def normalise_name(value: str, *, keep_spaces: bool = False) -> str:
    """Lowercase, punctuation removed (letters of any script kept, UTF-8), spaces removed or
    collapsed to one."""
    text = unicodedata.normalize("NFC", value).lower()
    kept = "".join(ch for ch in text if not unicodedata.category(ch).startswith(("P", "S")))
    words = kept.split()
    name = " ".join(words) if keep_spaces else "".join(words)
    if not name:
        raise InvalidIdentifier("empty name")
    return name


def normalise_zip(value: str, *, country: str | None = None) -> str:
    """Lowercase, no spaces or dashes; US zip codes keep their first 5 digits (ZIP+4 dropped)."""
    text = re.sub(r"[\s\-]", "", value.strip().lower())
    us = country is None or country.strip().lower() == "us"
    if us and re.fullmatch(r"\d{5}(\d{4})?", text):
        text = text[:5]
    if not text:
        raise InvalidIdentifier("empty zip code")
    return text


def normalise_country(value: str) -> str:
    """ISO 3166-1 alpha-2 in lowercase (``US`` → ``us``)."""
    text = value.strip().lower()
    if not re.fullmatch(r"[a-z]{2}", text):
        raise InvalidIdentifier("country is not a two-letter ISO 3166-1 code")
    return text


def normalise_mobile_ad_id(value: str) -> str:
    """An IDFA/GAID (a UUID) trimmed and lowercased."""
    text = value.strip().lower()
    if not _MOBILE_AD_ID.fullmatch(text):
        raise InvalidIdentifier("mobile ad id is not a UUID (IDFA/GAID)")
    return text


def normalise(field: PiiField, value: str, rules: HashingRules, *, default_region: str = "US") -> str:
    """``value`` normalised for ``field`` by ``rules`` (not hashed)."""
    if field is PiiField.EMAIL:
        return normalise_email(value, gmail_dots=rules.gmail_dots, gmail_plus=rules.gmail_plus)
    if field is PiiField.PHONE:
        return normalise_phone(value, default_region=default_region, plus=rules.phone_plus)
    if field in (PiiField.FIRST_NAME, PiiField.LAST_NAME, PiiField.CITY):
        return normalise_name(value, keep_spaces=rules.name_spaces)
    if field is PiiField.ZIP:
        return normalise_zip(value, country=default_region)
    if field is PiiField.COUNTRY:
        return normalise_country(value)
    if field is PiiField.STATE:
        return normalise_name(value)
    if field is PiiField.MOBILE_AD_ID:
        return normalise_mobile_ad_id(value)
    text = value.strip()
    if not text:
        raise InvalidIdentifier("empty identifier")
    return text


def hash_value(field: PiiField, value: str, rules: HashingRules, *, default_region: str = "US") -> str:
    """The value a vendor expects for ``field``: normalised then SHA-256 (lowercase hex), a value
    that already is a digest passed through (lowercased), or normalised only for fields the
    vendor takes unhashed. Raises :class:`InvalidIdentifier` for values that cannot be normalised."""
    if field not in rules.unhashed and is_sha256(value):
        return value.strip().lower()
    normalised = normalise(field, value, rules, default_region=default_region)
    return normalised if field in rules.unhashed else sha256_hex(normalised)
