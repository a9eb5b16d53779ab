"""Delta snapshots: every sequence of delivered ops reads back as the state it describes."""

from __future__ import annotations

import json
from pathlib import Path

import duckdb
import pyarrow as pa
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from sluice.sync.snapshot import SnapshotStore, is_manifest

Op = tuple[str, str, str, int]  # (op, key, identifier, hash)


def apply_ops(store: SnapshotStore, previous: str | None, ops: list[Op], run: str) -> tuple[str, int]:
    with duckdb.connect() as con:
        store.attach(con, previous, "snapshot")
        con.register(
            "delivered_arrow",
            pa.table(
                {
                    "op": [op for op, *_ in ops],
                    "__key": [key for _, key, _, _ in ops],
                    "__identifier": [identifier for _, _, identifier, _ in ops],
                    "__hash": pa.array([digest for *_, digest in ops], pa.uint64()),
                }
            ),
        )
        con.execute("CREATE TEMP TABLE delivered AS SELECT * FROM delivered_arrow")
        return store.commit(con, previous, "snapshot", "delivered", store.new_uri("act", run))


def read_back(store: SnapshotStore, uri: str) -> dict[str, tuple[str, int]]:
    with duckdb.connect() as con:
        store.attach(con, uri, "snapshot")
        return {
            key: (identifier, digest)
            for key, identifier, digest in con.execute("SELECT * FROM snapshot").fetchall()
        }


def test_small_changes_write_deltas_until_compaction(tmp_path: Path) -> None:
    store = SnapshotStore(str(tmp_path), compact_ratio=0.1, max_deltas=3)
    state = {str(k): (f"u{k}@example.com", k) for k in range(100)}
    uri, rows = apply_ops(store, None, [("add", k, i, h) for k, (i, h) in state.items()], "r0")
    assert uri.endswith(".parquet")
    assert rows == 100

    uri, rows = apply_ops(
        store, uri, [("remove", "1", "u1@example.com", 1), ("add", "100", "new@example.com", 7)], "r1"
    )
    assert is_manifest(uri)
    assert rows == 100
    del state["1"]
    state["100"] = ("new@example.com", 7)
    assert read_back(store, uri) == state

    # A key removed in one delta and added back in the next is there; the latest change wins.
    uri, rows = apply_ops(
        store, uri, [("add", "1", "back@example.com", 9), ("change", "100", "new@example.com", 8)], "r2"
    )
    state["1"], state["100"] = ("back@example.com", 9), ("new@example.com", 8)
    assert is_manifest(uri)
    assert rows == 101
    assert read_back(store, uri) == state

    # Nothing delivered: the pointer stays where it was.
    assert apply_ops(store, uri, [], "r3") == (uri, 101)

    # More than 10% of the base in deltas: a new full snapshot.
    changes = [("change", str(k), f"u{k}@example.com", 1000 + k) for k in range(2, 12)]
    uri, rows = apply_ops(store, uri, changes, "r4")
    for _, key, identifier, digest in changes:
        state[key] = (identifier, digest)
    assert uri.endswith(".parquet")
    assert rows == 101
    assert read_back(store, uri) == state


keys = st.sampled_from([str(k) for k in range(12)])


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(runs=st.lists(st.dictionaries(keys, st.one_of(st.none(), st.integers(0, 5)), max_size=6), max_size=8))
def test_any_run_sequence_reads_back_as_its_state(tmp_path_factory, runs) -> None:  # type: ignore[no-untyped-def]
    """Each run sets (int) or removes (None) some keys; deltas and compactions keep the exact state."""
    store = SnapshotStore(str(tmp_path_factory.mktemp("snap")), compact_ratio=1.0, max_deltas=3)
    state = {str(k): (f"u{k}@example.com", 0) for k in range(12, 20)}
    uri, _ = apply_ops(store, None, [("add", k, i, h) for k, (i, h) in state.items()], "base")
    for number, run in enumerate(runs):
        ops: list[Op] = []
        for key, value in run.items():
            if value is None and key in state:
                ops.append(("remove", key, state.pop(key)[0], 0))
            elif value is not None:
                ops.append(("change" if key in state else "add", key, f"u{key}@example.com", value))
                state[key] = (f"u{key}@example.com", value)
        uri, rows = apply_ops(store, uri, ops, f"r{number}")
        assert read_back(store, uri) == state
        assert rows == len(state)


def files_under(path: Path) -> set[str]:
    return {str(p.relative_to(path)) for p in path.rglob("*") if p.is_file()}


def test_sweep_keeps_what_the_pointer_reads_and_deletes_the_rest(tmp_path: Path) -> None:
    store = SnapshotStore(str(tmp_path), compact_ratio=0.5, max_deltas=2)
    full, _ = apply_ops(store, None, [("add", str(k), f"u{k}@example.com", k) for k in range(10)], "r0")
    first, _ = apply_ops(store, full, [("add", "10", "u10@example.com", 10)], "r1")
    second, _ = apply_ops(store, first, [("remove", "3", "u3@example.com", 3)], "r2")
    # A third run compacts into a new full snapshot, then crashes before its pointer flip.
    crashed, _ = apply_ops(store, second, [("add", "11", "u11@example.com", 11)], "r3")
    assert not is_manifest(crashed)
    outcomes = tmp_path / "act" / "outcomes"
    outcomes.mkdir()
    (outcomes / "r1.parquet").write_bytes(b"kept")
    state = read_back(store, second)
    needed = {Path(uri).name for uri in store.files_of(second)}
    assert needed == {Path(full).name, Path(second).name} | {
        n for n in needed if n.endswith(".delta.parquet")
    }
    assert len(needed) == 4  # the manifest, its base and both deltas

    deleted = store.sweep("act", second)

    assert deleted == 2  # the first run's manifest and the crashed run's full snapshot
    assert files_under(tmp_path) == {f"act/{name}" for name in needed} | {"act/outcomes/r1.parquet"}
    assert read_back(store, second) == state


def test_sweep_with_a_pointer_elsewhere_deletes_every_snapshot_file(tmp_path: Path) -> None:
    store = SnapshotStore(str(tmp_path / "root"))
    apply_ops(store, None, [("add", "1", "a@example.com", 1)], "r0")
    assert store.sweep("act", "warehouse://sluice/sluice_snap_act_r1") == 1
    assert store.sweep("act", None) == 0
    assert store.sweep("never-ran", None) == 0


def test_sweep_deletes_nothing_when_the_pointer_cannot_be_read(tmp_path: Path) -> None:
    store = SnapshotStore(str(tmp_path))
    full, _ = apply_ops(store, None, [("add", str(k), f"u{k}@example.com", k) for k in range(10)], "r0")
    delta, _ = apply_ops(store, full, [("add", "10", "u10@example.com", 10)], "r1")
    Path(delta).write_text("{ not json")
    with pytest.raises(json.JSONDecodeError):
        store.sweep("act", delta)
    assert len(files_under(tmp_path)) == 3
