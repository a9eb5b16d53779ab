"""Hashing rules of Pinterest, TikTok and Snapchat, and what the raw-PII scanner lets pass in their
requests (numeric account ids, comma-separated digests, multipart uploads of digest files).

Vectors: Snap's published ``Person@Example.com`` → ``542d2401…``
(https://developers.snap.com/api/marketing-api/Conversions-API/Parameters). Pinterest and TikTok
publish rules but no plaintext → digest pairs; the rules are checked against their wording.
"""

from __future__ import annotations

import httpx
import pytest

from sluice.destinations.hashing import (
    PINTEREST,
    SNAPCHAT,
    TIKTOK,
    InvalidIdentifier,
    PiiField,
    hash_value,
    normalise,
    sha256_hex,
    unmatchable_digest,
)
from sluice.destinations.testing.pii import multipart_fields, raw_pii


def test_snap_email_vector() -> None:
    assert (
        hash_value(PiiField.EMAIL, "Person@Example.com", SNAPCHAT)
        == "542d240129883c019e106e3b1b2d3f3cb3537c43c425364de8e951d5a3083345"
    )


def test_phones_digits_for_pinterest_and_snap_e164_with_plus_for_tiktok() -> None:
    assert normalise(PiiField.PHONE, "+1 (650) 555-1212", PINTEREST) == "16505551212"
    assert normalise(PiiField.PHONE, "0044 20 7946 0958", SNAPCHAT) == "442079460958"
    assert normalise(PiiField.PHONE, "650.555.1212", TIKTOK) == "+16505551212"


def test_mobile_ad_ids_are_lowercased_uuids() -> None:
    idfa = "6D92078A-8246-4BA4-AE5B-76104861E7DC"
    assert hash_value(PiiField.MOBILE_AD_ID, f" {idfa} ", SNAPCHAT) == sha256_hex(idfa.lower())
    with pytest.raises(InvalidIdentifier, match="UUID"):
        normalise(PiiField.MOBILE_AD_ID, "not-an-ad-id", PINTEREST)


def test_the_unmatchable_digest_is_stable_and_hashes_an_invalid_address() -> None:
    assert unmatchable_digest() == sha256_hex("no-one@sluice.invalid")


def test_the_scanner_skips_ids_and_digest_lists_but_not_raw_values() -> None:
    digests = ",".join(sha256_hex(str(n)) for n in range(3))
    assert raw_pii({"ad_account_id": "549755885175", "records": digests}) == []
    assert raw_pii({"advertiser_ids": '["7000000000000000001"]'}) == []
    assert raw_pii({"records": f"{digests},mary@example.com"}) == ["mary@example.com"]
    assert raw_pii({"note": "549755885175"}) == ["549755885175"], "numbers elsewhere still count"


def test_the_scanner_reads_multipart_uploads_line_by_line() -> None:
    content = f"{sha256_hex('a')}\n+16505551212\n".encode()
    request = httpx.Request(
        "POST",
        "http://emulator.test/upload",
        data={"advertiser_id": "7000000000000000001", "file_signature": "9dd4e461268c8034f5c8564e155c67a6"},
        files={"file": ("a.txt", content, "text/plain")},
    )
    fields = multipart_fields(request.read().decode(), request.headers["content-type"])
    assert fields is not None
    assert fields["file"] == [sha256_hex("a"), "+16505551212"]
    assert raw_pii(fields) == ["+16505551212"]
