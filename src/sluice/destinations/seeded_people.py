"""The people an ad platform's emulator can match (Pinterest, TikTok, Snapchat emulators).

Ad platforms receive only SHA-256 digests and match them to their own users; an emulator stands
for that with the contacts the conformance suite seeded: a digest is "a platform user" when it is
the digest of a seeded contact's email, and maps back to the identifier the ops carried.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable


def email_digest(email: str) -> str:
    """SHA-256 of a trimmed, lowercased email (every platform's email normalisation)."""
    return hashlib.sha256(email.strip().lower().encode()).hexdigest()


class SeededPeople:
    """Digest → identifier of every contact seeded at the fake platform."""

    def __init__(self) -> None:
        self.by_digest: dict[str, str] = {}

    def add(self, emails: Iterable[str]) -> None:
        """Make these contacts platform users."""
        for email in emails:
            self.by_digest[email_digest(email)] = email

    def who(self, digest: str) -> str:
        """The identifier behind ``digest`` (the digest itself for someone never seeded)."""
        return self.by_digest.get(digest, digest)

    def matched(self, digests: Iterable[str]) -> set[str]:
        """Identifiers of the platform users among ``digests`` (unmatched digests are dropped)."""
        return {self.by_digest[d] for d in digests if d in self.by_digest}

    def count(self, digests: Iterable[str]) -> int:
        """How many of ``digests`` are platform users (an audience's matched size)."""
        return sum(1 for d in digests if d in self.by_digest)
