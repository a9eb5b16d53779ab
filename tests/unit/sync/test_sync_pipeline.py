"""The whole pipeline against an in-memory destination: convergence and exact retries (BRIEF §4)."""

from __future__ import annotations

import tempfile
from pathlib import Path
from typing import Any

import pyarrow as pa
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from sluice.core.asyncio_bridge import run_sync
from sluice.sync.audience import AudienceSpec, IdentifierKind
from sluice.sync.pipeline import PipelineInputs, PipelineResult, run_pipeline
from sluice.sync.plan import Service
from sluice.sync.snapshot import SnapshotStore

SPEC = AudienceSpec(IdentifierKind.EMAIL, ("tier",))


class ListDestination:
    """A membership list keyed by email; ops on keys in ``failing`` fail (as after retries)."""

    def __init__(self) -> None:
        self.members: dict[str, Any] = {}
        self.failing: set[str] = set()
        self.sent: list[tuple[str, str]] = []

    async def deliver(self, ops: list[dict[str, Any]]) -> list[dict[str, Any]]:
        outcomes = []
        for op in ops:
            self.sent.append((op["__op"], op["__key"]))
            status = "failed" if op["__key"] in self.failing else "delivered"
            if status == "delivered":
                if op["__op"] == "add":
                    self.members[op["__identifier"]] = op["tier"]
                else:
                    self.members.pop(op["__identifier"], None)
            outcomes.append(
                {**{k: op[k] for k in ("__key", "__identifier", "__op")}, "status": status, "message": None}
            )
        return outcomes


class Activation:
    def __init__(self, root: Path) -> None:
        self.root = root
        self.store = SnapshotStore(str(root / "snapshots"))
        self.snapshot: str | None = None
        self.destination = ListDestination()
        self.runs = 0

    def run(self, audience: pa.Table, *, full_refresh: bool = False, dry_run: bool = False) -> PipelineResult:
        self.runs += 1
        self.destination.sent.clear()
        inputs = PipelineInputs(
            activation_id="act",
            run_id=f"run{self.runs}",
            spec=SPEC,
            service=Service.MEMBERSHIP,
            batch_rows=3,
            previous_snapshot=self.snapshot,
            full_refresh=full_refresh,
            dry_run=dry_run,
        )
        result = run_sync(
            run_pipeline(
                inputs,
                audience,
                store=self.store,
                work_dir=self.root / f"work{self.runs}",
                deliver=self.destination.deliver,
                checkpoint=lambda _stage: False,
            )
        )
        if result.snapshot_uri:
            self.snapshot = result.snapshot_uri
        return result


def table(rows: dict[int, tuple[str, str]]) -> pa.Table:
    return pa.table(
        {
            "__key": pa.array([str(k) for k in rows], pa.string()),
            "__identifier": pa.array([v[0] for v in rows.values()], pa.string()),
            "tier": pa.array([v[1] for v in rows.values()], pa.string()),
        }
    )


audiences = st.dictionaries(
    st.integers(0, 12),
    st.tuples(st.sampled_from(["a", "b", "c", "d", "e", "f"]), st.sampled_from(["x", "y"])),
    max_size=10,
).map(lambda rows: {k: (f"{email}{k}@example.com", tier) for k, (email, tier) in rows.items()})


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(st.lists(st.tuples(audiences, st.sets(st.integers(0, 12).map(str))), min_size=1, max_size=4))
def test_destination_converges_and_failed_rows_are_retried_exactly(
    runs: list[tuple[dict[int, Any], set[str]]],
) -> None:
    with tempfile.TemporaryDirectory() as scratch:
        activation = Activation(Path(scratch))
        for rows, failing in runs:
            activation.destination.failing = failing
            result = activation.run(table(rows))
            failed_keys = {key for _op, key in activation.destination.sent if key in failing}
            assert result.report.counts.failed == len(
                [1 for _op, k in activation.destination.sent if k in failing]
            )
            # The next run with no failure sends exactly what failed (same audience).
            activation.destination.failing = set()
            activation.run(table(rows))
            assert {key for _op, key in activation.destination.sent} == failed_keys
            assert activation.destination.members == dict(rows.values())
            # And then nothing at all.
            activation.run(table(rows))
            assert activation.destination.sent == []


def test_invalid_rows_never_reach_the_destination(tmp_path: Path) -> None:
    activation = Activation(tmp_path)
    audience = pa.table(
        {
            "__key": ["1", "2", "2", None, "4"],
            "__identifier": [
                "ada@example.com",
                "bob@example.com",
                "bob2@example.com",
                "x@example.com",
                "not-an-email",
            ],
            "tier": ["x"] * 5,
        }
    )
    result = activation.run(audience)
    assert activation.destination.members == {"ada@example.com": "x"}
    assert result.report.counts.invalid == 4
    assert result.report.invalid_reasons == {
        "duplicate primary key": 2,
        "null primary key": 1,
        "malformed email": 1,
    }


def test_dry_run_sends_nothing_and_shows_the_plan(tmp_path: Path) -> None:
    activation = Activation(tmp_path)
    result = activation.run(table({1: ("ada@example.com", "x")}), dry_run=True)
    assert activation.destination.sent == []
    assert [(op["__op"], op["__identifier"]) for op in result.plan_preview] == [("add", "ada@example.com")]
    assert result.snapshot_uri is None


def test_full_refresh_resends_everything_and_keeps_removals(tmp_path: Path) -> None:
    activation = Activation(tmp_path)
    activation.run(table({1: ("ada@example.com", "x"), 2: ("bob@example.com", "x")}))
    activation.destination.failing = {"2"}
    activation.run(table({1: ("ada@example.com", "x")}))  # removal of bob fails
    activation.destination.failing = set()
    activation.run(table({1: ("ada@example.com", "x")}), full_refresh=True)
    assert sorted(activation.destination.sent) == [("add", "1"), ("remove", "2")]
    assert activation.destination.members == {"ada@example.com": "x"}
