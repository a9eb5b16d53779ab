"""Plan per service and commit of fully delivered keys (BRIEF §4 rules 4 to 6)."""

from __future__ import annotations

from pathlib import Path

import pyarrow as pa
import pytest

from sluice.sync.audience import AudienceSpec, IdentifierKind
from sluice.sync.diff_session import DiffSession
from sluice.sync.plan import RemovalBehaviour, Service
from sluice.sync.snapshot import SnapshotStore

SPEC = AudienceSpec(IdentifierKind.EMAIL, ("first_name",))


def rows(*data: tuple[int, str, str]) -> pa.Table:
    keys, emails, names = zip(*data, strict=True) if data else ((), (), ())
    return pa.table(
        {
            "__key": pa.array(keys, pa.int64()),
            "__identifier": pa.array(emails, pa.string()),
            "first_name": pa.array(names, pa.string()),
        }
    )


class Activation:
    """Runs of one activation against a snapshot store, with a chosen set of rows failing."""

    def __init__(
        self, tmp: Path, service: Service, removal: RemovalBehaviour = RemovalBehaviour.IGNORE
    ) -> None:
        self.tmp, self.service, self.removal = tmp, service, removal
        self.store = SnapshotStore(str(tmp / "snapshots"))
        self.snapshot: str | None = None
        self.runs = 0

    def run(self, table: pa.Table, *, reject: set[str] = frozenset()) -> list[tuple[str, str, str | None]]:  # type: ignore[assignment]
        """One run; returns the ops sent as (op, key, identifier); keys in ``reject`` are rejected."""
        self.runs += 1
        session = DiffSession(SPEC, self.tmp / f"duck{self.runs}")
        try:
            session.load(table)
            session.validate()
            session.diff(self.store, self.snapshot)
            session.plan(self.service, removal=self.removal)
            sent = []
            for batch in session.planned_batches(batch_rows=2):
                records = batch.to_pylist()
                sent += [(r["__op"], r["__key"], r["__identifier"]) for r in records]
                session.record_outcomes(
                    pa.table(
                        {
                            "__key": [r["__key"] for r in records],
                            "__identifier": [r["__identifier"] for r in records],
                            "__op": [r["__op"] for r in records],
                            "status": ["rejected" if r["__key"] in reject else "delivered" for r in records],
                            "message": [None] * len(records),
                        }
                    )
                )
            self.snapshot, _rows = session.commit_outcomes(
                self.store, self.store.new_uri("act", f"r{self.runs}")
            )
            return sent
        finally:
            session.close()


def test_membership_moves_a_contact_whose_email_changed(tmp_path: Path) -> None:
    activation = Activation(tmp_path, Service.MEMBERSHIP)
    activation.run(rows((1, "ada@example.com", "Ada"), (2, "bob@example.com", "Bob")))
    sent = activation.run(rows((1, "ada@new.example", "Ada"), (2, "bob@example.com", "Bob")))
    # The old address is removed before the new one is added.
    assert sent == [("remove", "1", "ada@example.com"), ("add", "1", "ada@new.example")]
    assert activation.run(rows((1, "ada@new.example", "Ada"), (2, "bob@example.com", "Bob"))) == []


def test_membership_removes_rows_that_left_and_resends_changed_fields(tmp_path: Path) -> None:
    activation = Activation(tmp_path, Service.MEMBERSHIP)
    activation.run(rows((1, "ada@example.com", "Ada"), (2, "bob@example.com", "Bob")))
    sent = activation.run(rows((1, "ada@example.com", "Adah")))
    assert sorted(sent) == [("add", "1", "ada@example.com"), ("remove", "2", "bob@example.com")]


@pytest.mark.parametrize(
    ("removal", "expected"),
    [
        (RemovalBehaviour.IGNORE, []),
        (RemovalBehaviour.CLEAR, [("clear", "2", "bob@example.com")]),
        (RemovalBehaviour.DELETE, [("delete", "2", "bob@example.com")]),
    ],
)
def test_upsert_removal_behaviour(
    tmp_path: Path, removal: RemovalBehaviour, expected: list[tuple[str, str, str]]
) -> None:
    activation = Activation(tmp_path, Service.UPSERT, removal)
    first = activation.run(rows((1, "ada@example.com", "Ada"), (2, "bob@example.com", "Bob")))
    assert sorted(first) == [("upsert", "1", "ada@example.com"), ("upsert", "2", "bob@example.com")]
    assert activation.run(rows((1, "ada@example.com", "Ada"))) == expected
    # Whatever the behaviour, the removal is settled: it is not planned again.
    assert activation.run(rows((1, "ada@example.com", "Ada"))) == []


def test_events_are_sent_once_even_when_they_leave_and_come_back(tmp_path: Path) -> None:
    activation = Activation(tmp_path, Service.EVENTS)
    assert len(activation.run(rows((1, "ada@example.com", "purchase"), (2, "bob@example.com", "view")))) == 2
    assert activation.run(rows((1, "ada@example.com", "purchase-edited"))) == []
    assert activation.run(rows((1, "ada@example.com", "purchase"), (2, "bob@example.com", "view"))) == []
    assert activation.run(rows((3, "cyd@example.com", "view"))) == [("event", "3", "cyd@example.com")]


def test_consent_is_set_and_reverted(tmp_path: Path) -> None:
    activation = Activation(tmp_path, Service.CONSENT)
    assert activation.run(rows((1, "ada@example.com", "yes"))) == [("consent_set", "1", "ada@example.com")]
    assert activation.run(rows()) == [("consent_revert", "1", "ada@example.com")]


def test_rejected_rows_are_retried_next_run_and_delivered_rows_are_not(tmp_path: Path) -> None:
    activation = Activation(tmp_path, Service.MEMBERSHIP)
    audience = rows(
        (1, "ada@example.com", "Ada"), (2, "bob@example.com", "Bob"), (3, "cyd@example.com", "Cyd")
    )
    activation.run(audience, reject={"2"})
    assert activation.run(audience) == [("add", "2", "bob@example.com")]
    assert activation.run(audience) == []


def test_a_key_is_committed_only_when_all_its_ops_are_delivered(tmp_path: Path) -> None:
    activation = Activation(tmp_path, Service.MEMBERSHIP)
    activation.run(rows((1, "ada@example.com", "Ada")))
    # The move of key 1 fails half-way (both ops of the key are reported rejected): it is redone.
    moved = rows((1, "ada@new.example", "Ada"))
    assert len(activation.run(moved, reject={"1"})) == 2
    assert activation.run(moved) == [("remove", "1", "ada@example.com"), ("add", "1", "ada@new.example")]
    assert activation.run(moved) == []
