"""What ad-platform connectors share (audiences of people matched on hashed identifiers).

Their connectors find a target by name across picker pages before creating it, take only adds and
removes, and refuse identifiers their vendor's normalisation rejects before any request; their
emulators keep digests and know which demo contact a digest stands for only because the
conformance suite seeded it (:class:`KnownPeople`).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence

from sluice.destinations.hashing import InvalidIdentifier, sha256_hex
from sluice.destinations.sdk import Connector, Op, OpKind, Outcome, OutcomeStatus, Target


async def find_target(connector: Connector, kind: str, name: str) -> Target | None:
    """The first target of ``kind`` named ``name`` across every picker page, or None."""
    cursor: str | None = None
    while True:
        page = await connector.list_targets(kind, cursor)
        for target in page.items:
            if target.name == name:
                return target
        if page.next_cursor is None:
            return None
        cursor = page.next_cursor


def refuse_unsupported(
    connector: Connector, target: Target, ops: Sequence[Op], allowed: dict[str, tuple[OpKind, ...]]
) -> list[Outcome] | None:
    """Rejected outcomes when ``target``'s kind does not take ``ops``' kind (``allowed`` maps target
    kinds to op kinds), else None (for connectors whose targets take different ops)."""
    if ops[0].kind in allowed.get(target.kind, ()):
        return None
    message = f"{connector.title} {target.kind} targets do not support {ops[0].kind}"
    return [Outcome.of(op, OutcomeStatus.REJECTED, message) for op in ops]


def refuse_non_membership(title: str, ops: Sequence[Op]) -> list[Outcome] | None:
    """Rejected outcomes for a batch that is not adds or removes (audiences take nothing else)."""
    if ops[0].kind in (OpKind.ADD, OpKind.REMOVE):
        return None
    return [Outcome.of(op, OutcomeStatus.REJECTED, f"{title} does not support {op.kind}") for op in ops]


def normalisation_problem(normalise: Callable[[], object]) -> str | None:
    """Why ``normalise()`` refuses an identifier (its :class:`InvalidIdentifier` message), or None."""
    try:
        normalise()
    except InvalidIdentifier as exc:
        return str(exc)
    return None


def email_digest(email: str) -> str:
    """SHA-256 of the trimmed, lowercased email (what every audience emulator stores)."""
    return sha256_hex(email.strip().lower())


class KnownPeople:
    """Which demo contact an email digest stands for, as far as the suite told an emulator."""

    def __init__(self) -> None:
        self.by_digest: dict[str, str] = {}

    def seed(self, emails: Iterable[str]) -> None:
        for email in emails:
            self.by_digest[email_digest(email)] = email

    def reveal(self, digest: str) -> str:
        """The seeded email behind ``digest``, or the digest itself."""
        return self.by_digest.get(digest, digest)

    def matched(self, digests: Iterable[str]) -> set[str]:
        """Seeded emails among ``digests`` (an audience's matched people; unmatched digests dropped)."""
        return {self.by_digest[d] for d in digests if d in self.by_digest}

    def count(self, digests: Iterable[str]) -> int:
        """How many of ``digests`` stand for seeded people (an audience's matched size)."""
        return sum(1 for d in digests if d in self.by_digest)

    def reveal_keyed(self, member: str, email_key: str) -> str:
        """For members held as ``<key>:<value>``: the seeded email when ``key`` is the vendor's email
        key, else the member unchanged (a username, device id… stays keyed)."""
        key, _, value = member.partition(":")
        return self.reveal(value) if key == email_key else member
