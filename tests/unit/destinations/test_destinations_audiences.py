"""Helpers shared by ad-platform audience connectors and emulators."""

from __future__ import annotations

from sluice.destinations.audiences import (
    KnownPeople,
    email_digest,
    normalisation_problem,
    refuse_non_membership,
)
from sluice.destinations.hashing import LINKEDIN, PiiField, hash_value, sha256_hex
from sluice.destinations.sdk import Op, OpKind, OutcomeStatus


def test_audiences_take_only_adds_and_removes() -> None:
    assert refuse_non_membership("X audiences", [Op(OpKind.ADD, "1", "a@b.co")]) is None
    assert refuse_non_membership("X audiences", [Op(OpKind.REMOVE, "1", "a@b.co")]) is None
    refused = refuse_non_membership(
        "X audiences", [Op(OpKind.UPSERT, "1", "a@b.co"), Op(OpKind.UPSERT, "2", "c@d.co")]
    )
    assert refused is not None
    assert [(o.key, o.status, o.message) for o in refused] == [
        ("1", OutcomeStatus.REJECTED, "X audiences does not support upsert"),
        ("2", OutcomeStatus.REJECTED, "X audiences does not support upsert"),
    ]


def test_normalisation_problems_keep_the_hashing_message() -> None:
    assert normalisation_problem(lambda: hash_value(PiiField.EMAIL, "a@b.co", LINKEDIN)) is None
    assert (
        normalisation_problem(lambda: hash_value(PiiField.EMAIL, "not-an-email", LINKEDIN))
        == "malformed email"
    )


def test_known_people_reveal_seeded_digests_only() -> None:
    people = KnownPeople()
    people.seed([" User1@Example.com"])
    assert email_digest("user1@example.com") == sha256_hex("user1@example.com")
    assert people.reveal(email_digest("USER1@example.com")) == " User1@Example.com"
    assert people.reveal("f" * 64) == "f" * 64
    assert people.reveal_keyed(f"email:{email_digest('user1@example.com')}", "email") == " User1@Example.com"
    assert people.reveal_keyed("twandle:abc", "email") == "twandle:abc"
