"""Identifier normalisation and hashing against the vendors' published test vectors.

Vectors (input → normalised → SHA-256) come from:
- Meta Conversions API, customer information parameters
  (https://developers.facebook.com/docs/marketing-api/conversions-api/parameters/customer-information-parameters):
  em ``John_Smith@gmail.com``, ph ``16505551212``, fn ``mary``, st ``ca``, country ``us``, ge ``f``.
- Snap Conversions API parameters (https://developers.snap.com/api/marketing-api/Conversions-API/Parameters):
  em ``Person@Example.com`` → ``person@example.com`` → ``542d2401…``.
- Google Ads enhanced conversions / CM360 (rules only, no published digests): Gmail dots removed,
  E.164 phones with ``+``, zip and country sent unhashed.
"""

from __future__ import annotations

import pytest

from sluice.destinations.hashing import (
    GOOGLE_ADS,
    META,
    InvalidIdentifier,
    PiiField,
    hash_value,
    is_sha256,
    normalise,
    normalise_email,
    normalise_phone,
    normalise_zip,
    sha256_hex,
)

META_VECTORS = [
    (
        PiiField.EMAIL,
        "John_Smith@gmail.com",
        "62a14e44f765419d10fea99367361a727c12365e2520f32218d505ed9aa0f62f",
    ),
    (
        PiiField.EMAIL,
        "  JOHN_SMITH@GMAIL.COM ",
        "62a14e44f765419d10fea99367361a727c12365e2520f32218d505ed9aa0f62f",
    ),
    (PiiField.PHONE, "+1 (650) 555-1212", "e323ec626319ca94ee8bff2e4c87cf613be6ea19919ed1364124e16807ab3176"),
    (PiiField.PHONE, "650-555-1212", "e323ec626319ca94ee8bff2e4c87cf613be6ea19919ed1364124e16807ab3176"),
    (PiiField.PHONE, "0016505551212", "e323ec626319ca94ee8bff2e4c87cf613be6ea19919ed1364124e16807ab3176"),
    (PiiField.FIRST_NAME, "Mary", "6915771be1c5aa0c886870b6951b03d7eafc121fea0e80a5ea83beb7c449f4ec"),
    (PiiField.STATE, "CA", "6959097001d10501ac7d54c0bdb8db61420f658f2922cc26e46d536119a31126"),
    (PiiField.COUNTRY, "US", "79adb2a2fce5c6ba215fe5f27f532d4e7edbac4b6a5e09e1ef3a08084a904621"),
    (PiiField.ZIP, "94035-1234", "1794327a4d443904421f5ca1f3d72d0a62ba2f0770d80755ec2220fc0efb052e"),
]


@pytest.mark.parametrize(("field", "raw", "digest"), META_VECTORS)
def test_meta_vectors(field: PiiField, raw: str, digest: str) -> None:
    assert hash_value(field, raw, META) == digest


def test_snap_published_email_vector() -> None:
    assert normalise_email("Person@Example.com") == "person@example.com"
    assert (
        sha256_hex("person@example.com") == "542d240129883c019e106e3b1b2d3f3cb3537c43c425364de8e951d5a3083345"
    )


def test_meta_gender_vector() -> None:
    assert sha256_hex("f") == "252f10c83610ebca1a059c0bae8255eba2f95be4d1d7bcfa89d7248a82d9f111"


def test_already_hashed_values_are_not_hashed_twice() -> None:
    digest = sha256_hex("john_smith@gmail.com")
    assert is_sha256(digest)
    assert is_sha256(digest.upper())
    assert hash_value(PiiField.EMAIL, digest.upper(), META) == digest
    assert hash_value(PiiField.PHONE, f" {digest} ", GOOGLE_ADS) == digest
    assert not is_sha256(digest[:63])
    assert not is_sha256(digest[:63] + "g")


def test_google_gmail_rule_and_e164_with_plus() -> None:
    assert normalise(PiiField.EMAIL, " Jane.Doe@GoogleMail.com", GOOGLE_ADS) == "janedoe@googlemail.com"
    assert normalise(PiiField.EMAIL, "jane.doe@example.com", GOOGLE_ADS) == "jane.doe@example.com"
    assert normalise(PiiField.EMAIL, "Jane.Doe@gmail.com", META) == "jane.doe@gmail.com"  # Meta keeps dots
    assert normalise(PiiField.PHONE, "(650) 555-1212", GOOGLE_ADS) == "+16505551212"
    assert hash_value(PiiField.PHONE, "(650) 555-1212", GOOGLE_ADS) == sha256_hex("+16505551212")


def test_gmail_plus_rule_is_optional() -> None:
    assert normalise_email("a.b+promo@gmail.com", gmail_dots=True, gmail_plus=True) == "ab@gmail.com"
    assert normalise_email("a.b+promo@gmail.com") == "a.b+promo@gmail.com"


def test_google_sends_zip_and_country_unhashed() -> None:
    assert hash_value(PiiField.COUNTRY, " US ", GOOGLE_ADS) == "us"
    assert hash_value(PiiField.ZIP, "94035", GOOGLE_ADS) == "94035"
    assert hash_value(PiiField.FIRST_NAME, " Mary  Ann ", GOOGLE_ADS) == sha256_hex("mary ann")
    assert hash_value(PiiField.FIRST_NAME, " Mary-Ann ", META) == sha256_hex("maryann")


def test_default_country_decides_national_numbers() -> None:
    assert normalise_phone("020 7946 0958", default_region="GB") == "+442079460958"
    assert normalise_phone("020 7946 0958", default_region="GB", plus=False) == "442079460958"
    assert normalise_phone("+44 20 7946 0958", default_region="US") == "+442079460958"


def test_zip_rules() -> None:
    assert normalise_zip("SW1A 1AA", country="gb") == "sw1a1aa"
    assert normalise_zip("94035-1234", country="us") == "94035"


@pytest.mark.parametrize(
    ("field", "raw"),
    [
        (PiiField.EMAIL, "not-an-email"),
        (PiiField.PHONE, "12"),
        (PiiField.PHONE, "call me"),
        (PiiField.COUNTRY, "USA"),
        (PiiField.FIRST_NAME, " !! "),
    ],
)
def test_values_that_cannot_be_normalised_are_refused(field: PiiField, raw: str) -> None:
    with pytest.raises(InvalidIdentifier):
        hash_value(field, raw, META)
