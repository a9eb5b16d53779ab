"""Validate → diff → commit rules of BRIEF §4, pinned with examples and properties."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import pyarrow as pa
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from sluice.sync.audience import AudienceSpec, IdentifierKind
from sluice.sync.diff_session import DiffSession
from sluice.sync.snapshot import SnapshotStore

SPEC = AudienceSpec(IdentifierKind.EMAIL, ("first_name", "tier"))


def audience(rows: Sequence[tuple[object, object, object, object]]) -> pa.Table:
    keys, identifiers, names, tiers = zip(*rows, strict=True) if rows else ((), (), (), ())
    return pa.table(
        {
            "__key": pa.array(keys, pa.int64()),
            "__identifier": pa.array(identifiers, pa.string()),
            "first_name": pa.array(names, pa.string()),
            "tier": pa.array(tiers, pa.string()),
        }
    )


def run_once(
    tmp: Path, table: pa.Table, snapshot: str | None, *, deliver: set[str] | None = None, run: str = "r"
) -> tuple[DiffSession, dict[str, set[str]], str]:
    """Diff ``table`` against ``snapshot``; deliver every op (or those whose key is in ``deliver``)."""
    store = SnapshotStore(str(tmp / "snapshots"))
    session = DiffSession(SPEC, tmp / "duck")
    session.load(table)
    session.validate()
    session.diff(store, snapshot)
    ops: dict[str, set[str]] = {}
    delivered_ops, delivered_keys = [], []
    for kind, op in (("added", "add"), ("changed", "change"), ("removed", "remove")):
        keys = {k for batch in session.changes(kind) for k in batch.column("__key").to_pylist()}
        ops[kind] = keys
        for key in keys:
            if deliver is None or key in deliver:
                delivered_ops.append(op)
                delivered_keys.append(key)
    uri, _rows = session.commit(
        store, pa.table({"op": delivered_ops, "__key": delivered_keys}), store.new_uri("act", run)
    )
    return session, ops, uri


def snapshot_keys(session: DiffSession, uri: str) -> set[str]:
    SnapshotStore("unused").attach(session.con, uri, "read_back")
    return {r[0] for r in session.con.execute("SELECT CAST(__key AS VARCHAR) FROM read_back").fetchall()}


def test_invalid_rows_are_reported_and_never_diffed(tmp_path: Path) -> None:
    table = audience(
        [
            (1, "ada@example.com", "Ada", "gold"),
            (2, "bad@", "Bob", "gold"),
            (3, None, "Cy", "gold"),
            (None, "nokey@example.com", "Nil", "gold"),
            (4, "dup1@example.com", "D1", "gold"),
            (4, "dup2@example.com", "D2", "gold"),
            (5, "jane doe@example.com", "Jane", "silver"),
        ]
    )
    session, ops, _ = run_once(tmp_path, table, None)
    reasons = dict(
        session.con.execute(
            "SELECT coalesce(__key, 'null'), __reason FROM audience_invalid WHERE __key IS DISTINCT FROM '4'"
        ).fetchall()
    )
    assert reasons == {
        "2": "malformed email",
        "3": "missing identifier",
        "null": "null primary key",
        "5": "malformed email",
    }
    duplicates = session.con.execute("SELECT count(*) FROM audience_invalid WHERE __key = '4'").fetchone()
    assert duplicates == (2,)
    assert ops["added"] == {"1"}


def test_second_identical_run_sends_nothing(tmp_path: Path) -> None:
    table = audience([(1, "a@example.com", "A", "gold"), (2, "b@example.com", "B", "silver")])
    _, first, uri = run_once(tmp_path, table, None, run="r1")
    _, second, _ = run_once(tmp_path, table, uri, run="r2")
    assert first["added"] == {"1", "2"}
    assert second == {"added": set(), "changed": set(), "removed": set()}


def test_only_mapped_field_changes_count_and_removals_are_found(tmp_path: Path) -> None:
    before = audience(
        [
            (1, "a@example.com", "A", "gold"),
            (2, "b@example.com", "B", "gold"),
            (3, "c@example.com", "C", "gold"),
        ]
    )
    after = audience(
        [
            (1, "a@example.com", "A", "gold"),
            (2, "b@example.com", "B", "platinum"),
            (4, "d@example.com", "D", "gold"),
        ]
    )
    _, _, uri = run_once(tmp_path, before, None, run="r1")
    _, ops, _ = run_once(tmp_path, after, uri, run="r2")
    assert ops == {"added": {"4"}, "changed": {"2"}, "removed": {"3"}}


def test_undelivered_ops_are_retried_by_the_next_run(tmp_path: Path) -> None:
    table = audience([(k, f"u{k}@example.com", "N", "gold") for k in range(1, 6)])
    _, first, uri = run_once(tmp_path, table, None, deliver={"1", "2", "3"}, run="r1")
    _, second, _ = run_once(tmp_path, table, uri, run="r2")
    assert first["added"] == {"1", "2", "3", "4", "5"}
    assert second["added"] == {"4", "5"}


def test_undelivered_removal_is_not_lost(tmp_path: Path) -> None:
    before = audience([(1, "a@example.com", "A", "gold"), (2, "b@example.com", "B", "gold")])
    after = audience([(1, "a@example.com", "A", "gold")])
    _, _, uri1 = run_once(tmp_path, before, None, run="r1")
    _, failed, uri2 = run_once(tmp_path, after, uri1, deliver=set(), run="r2")
    _, retried, _ = run_once(tmp_path, after, uri2, run="r3")
    assert failed["removed"] == {"2"}
    assert retried["removed"] == {"2"}


def test_key_that_turns_invalid_is_held_not_removed(tmp_path: Path) -> None:
    before = audience([(1, "a@example.com", "A", "gold"), (2, "b@example.com", "B", "gold")])
    after = audience([(1, "a@example.com", "A", "gold"), (2, "b@broken", "B", "gold")])
    _, _, uri = run_once(tmp_path, before, None, run="r1")
    _, ops, _ = run_once(tmp_path, after, uri, run="r2")
    assert ops == {"added": set(), "changed": set(), "removed": set()}


row_strategy = st.tuples(
    st.integers(min_value=0, max_value=40),
    st.sampled_from(["a@example.com", "b@example.org", "c@example.net"]),
    st.one_of(st.none(), st.text(max_size=5)),
    st.sampled_from(["bronze", "gold"]),
)
audiences = st.lists(row_strategy, max_size=30, unique_by=lambda r: r[0])


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(before=audiences, after=audiences)
def test_applying_the_diff_turns_a_into_b(tmp_path_factory, before, after) -> None:  # type: ignore[no-untyped-def]
    tmp = tmp_path_factory.mktemp("prop")
    _, _, uri_a = run_once(tmp, audience(before), None, run="a")
    session, ops, uri_b = run_once(tmp, audience(after), uri_a, run="b")
    assert snapshot_keys(session, uri_b) == {str(r[0]) for r in after}
    _, again, _ = run_once(tmp, audience(after), uri_b, run="c")
    assert again == {"added": set(), "changed": set(), "removed": set()}
    assert ops["removed"] == {str(r[0]) for r in before} - {str(r[0]) for r in after}


def test_identifier_formats_are_checked_where_the_destination_lacks_them(tmp_path: Path) -> None:
    """Added rows and moved identifiers are format-checked by the diff; the counts include them."""
    before = audience([(1, "a@example.com", "A", "gold"), (2, "b@example.com", "B", "gold")])
    after = audience(
        [
            (1, "a@example.com", "A", "platinum"),
            (2, "b@broken", "B", "gold"),
            (3, "c@@example.com", "C", "gold"),
            (4, "d@example.com", "D", "gold"),
            (5, "e@example.com", "E", "gold"),
            (5, "e at example.com", "E2", "gold"),
        ]
    )
    _, _, uri = run_once(tmp_path, before, None, run="r1")
    session, ops, _ = run_once(tmp_path, after, uri, run="r2")
    assert ops == {"added": {"4"}, "changed": {"1"}, "removed": set()}
    validation = session.validation
    assert validation is not None
    assert (validation.valid_count, validation.invalid_count) == (2, 4)
    reasons = sorted(session.con.execute("SELECT __key, __reason FROM audience_invalid").fetchall())
    assert reasons == [
        ("2", "malformed email"),
        ("3", "malformed email"),
        ("5", "duplicate primary key"),
        ("5", "malformed email"),
    ]


def with_text_keys(table: pa.Table) -> pa.Table:
    return table.set_column(0, "__key", table.column("__key").cast(pa.string()))


def snapshot_key_type(session: DiffSession, uri: str) -> str:
    SnapshotStore("unused").attach(session.con, uri, "typed_back")
    return str(session.con.execute("SELECT typeof(__key) FROM typed_back LIMIT 1").fetchall()[0][0])


def test_integer_keys_read_a_text_snapshot_and_rewrite_it_typed(tmp_path: Path) -> None:
    """A snapshot written with text keys (older Sluice, or a text key model) keeps working."""
    rows = [
        (1, "a@example.com", "A", "gold"),
        (2, "b@example.com", "B", "gold"),
        (3, "c@example.com", "C", "gold"),
    ]
    _, _, text_uri = run_once(tmp_path, with_text_keys(audience(rows)), None, run="r1")
    after = audience([rows[0], (2, "b@example.com", "B", "platinum"), (4, "d@example.com", "D", "gold")])
    session, ops, uri = run_once(tmp_path, after, text_uri, run="r2")
    assert ops == {"added": {"4"}, "changed": {"2"}, "removed": {"3"}}
    assert snapshot_key_type(session, uri) == "BIGINT"
    assert snapshot_keys(session, uri) == {"1", "2", "4"}
    _, again, _ = run_once(tmp_path, after, uri, run="r3")
    assert again == {"added": set(), "changed": set(), "removed": set()}


def test_a_text_snapshot_with_non_integer_keys_is_diffed_as_text(tmp_path: Path) -> None:
    before = pa.table(
        {
            "__key": ["1", "legacy-7", "007"],
            "__identifier": ["a@example.com", "l@example.com", "z@example.com"],
            "first_name": ["A", "L", "Z"],
            "tier": ["gold", "gold", "gold"],
        }
    )
    _, _, text_uri = run_once(tmp_path, before, None, run="r1")
    after = audience([(1, "a@example.com", "A", "gold"), (7, "s@example.com", "S", "gold")])
    session, ops, uri = run_once(tmp_path, after, text_uri, run="r2")
    assert ops == {"added": {"7"}, "changed": set(), "removed": {"legacy-7", "007"}}
    assert snapshot_keys(session, uri) == {"1", "7"}


def test_text_keys_read_an_integer_snapshot(tmp_path: Path) -> None:
    rows = [(1, "a@example.com", "A", "gold"), (2, "b@example.com", "B", "gold")]
    _, _, int_uri = run_once(tmp_path, audience(rows), None, run="r1")
    after = pa.table(
        {
            "__key": ["1", "u-3"],
            "__identifier": ["a@example.com", "c@example.com"],
            "first_name": ["A", "C"],
            "tier": ["gold", "gold"],
        }
    )
    session, ops, uri = run_once(tmp_path, after, int_uri, run="r2")
    assert ops == {"added": {"u-3"}, "changed": set(), "removed": {"2"}}
    assert snapshot_key_type(session, uri) == "VARCHAR"
    assert snapshot_keys(session, uri) == {"1", "u-3"}
