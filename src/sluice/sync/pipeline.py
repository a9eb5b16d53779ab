"""The run pipeline: extract → validate → diff → plan → load → commit (BRIEF §3 and §4).

This module knows nothing about the control DB or a particular destination: the runner gives it
the audience stream, the previous snapshot, a ``deliver`` coroutine (one batch of planned ops →
per-row outcomes) and a ``checkpoint`` callback (heartbeat + cancel check, called between stages
and batches). It returns the new snapshot (not yet pointed at) and the report.
"""

from __future__ import annotations

import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pyarrow as pa

from sluice.core.logging import get_logger
from sluice.core.memory import use_system_allocator
from sluice.sync import crashpoints
from sluice.sync.audience import IDENTIFIER, KEY, AudienceSpec
from sluice.sync.diff import HASH_ALGORITHM, DiffCounts
from sluice.sync.diff_session import DiffSession
from sluice.sync.plan import OP, PlanCounts, RemovalBehaviour, Service
from sluice.sync.report import RunReport
from sluice.sync.snapshot import SnapshotStore
from sluice.sync.validate import REASON
from sluice.sync.warehouse_diff import WarehouseDiff

log = get_logger(__name__)

OUTCOME_SCHEMA = pa.schema(
    [
        (KEY, pa.string()),
        (IDENTIFIER, pa.string()),
        (OP, pa.string()),
        ("status", pa.string()),
        ("message", pa.string()),
    ]
)

# One batch of planned ops (records with __op, __key, __identifier and mapped fields) → outcomes
# (records with __key, __identifier, __op, status, message), one per op.
Deliver = Callable[[list[dict[str, Any]]], Awaitable[list[dict[str, Any]]]]
# Called with the stage name between stages and batches; returns True when the run must stop.
Checkpoint = Callable[[str], bool]
FinishLoad = Callable[[], Awaitable[list[dict[str, Any]]]]


@dataclass(frozen=True)
class PipelineInputs:
    """What one run works on."""

    activation_id: str
    run_id: str
    spec: AudienceSpec
    service: Service
    removal: RemovalBehaviour = RemovalBehaviour.IGNORE
    batch_rows: int = 1000
    previous_snapshot: str | None = None
    full_refresh: bool = False
    dry_run: bool = False


@dataclass
class PipelineResult:
    """The outcome of the pipeline (the runner records it and flips the snapshot pointer)."""

    report: RunReport
    timings: dict[str, float] = field(default_factory=dict)
    snapshot_uri: str | None = None
    snapshot_rows: int = 0
    outcomes_uri: str | None = None
    plan_preview: list[dict[str, Any]] = field(default_factory=list)
    cancelled: bool = False
    hash_algorithm: str = HASH_ALGORITHM
    signature: str | None = None


class Stopwatch:
    """Seconds spent per stage."""

    def __init__(self) -> None:
        self.timings: dict[str, float] = {}
        self._stage: str | None = None
        self._started = 0.0

    def start(self, stage: str) -> None:
        self.stop()
        self._stage, self._started = stage, time.perf_counter()

    def stop(self) -> None:
        if self._stage is not None:
            elapsed = time.perf_counter() - self._started
            self.timings[self._stage] = round(self.timings.get(self._stage, 0.0) + elapsed, 4)
            self._stage = None


async def run_pipeline(
    inputs: PipelineInputs,
    audience: pa.RecordBatchReader | pa.Table,
    *,
    store: SnapshotStore,
    work_dir: Path,
    deliver: Deliver,
    checkpoint: Checkpoint,
    remote_members: pa.Table | None = None,
    memory_limit: str | None = None,
    in_warehouse: WarehouseDiff | None = None,
    on_planned: Callable[[PlanCounts], None] | None = None,
    finish_load: FinishLoad | None = None,
) -> PipelineResult:
    """Run every stage of one sync; see the module docstring.

    ``on_planned`` learns the plan's counts before the load; ``finish_load`` runs after the last
    batch (not after a cancellation) and returns the outcomes of ops a destination held back (the
    last batch of a full refresh by replacement, :class:`sluice.sync.load.Replacement`).

    With ``in_warehouse``, validation and diff run in the source's bookkeeping schema and only the
    rows that changed come to the local session (``audience`` is then not read).
    """
    use_system_allocator()
    watch = Stopwatch()
    report = RunReport()
    result = PipelineResult(report=report, timings=watch.timings)
    session = DiffSession(inputs.spec, work_dir / "duckdb", memory_limit=memory_limit)
    try:
        if in_warehouse is not None:
            counts = _diff_in_warehouse(in_warehouse, session, inputs, report, watch)
        else:
            watch.start("extract")
            session.load(audience)
            crashpoints.reached("extracted")
            if checkpoint("validate"):
                return _cancelled(result, watch)
            watch.start("validate")
            session.validate()
            crashpoints.reached("validated")
            if checkpoint("diff"):
                return _cancelled(result, watch)
            watch.start("diff")
            previous = None if inputs.full_refresh else inputs.previous_snapshot
            counts = session.diff(store, previous)
            if inputs.full_refresh and inputs.previous_snapshot:
                counts = session.add_removals_from(store, inputs.previous_snapshot)
            _report_invalid(session, report)
        if remote_members is not None:
            counts = session.add_remote_removals(remote_members)
        report.counts.added, report.counts.changed, report.counts.removed = (
            counts.added,
            counts.changed,
            counts.removed,
        )
        crashpoints.reached("diffed")
        watch.start("plan")
        plan = session.plan(inputs.service, removal=inputs.removal)
        crashpoints.reached("planned")
        report.counts.planned = plan.to_send
        if inputs.dry_run:
            result.plan_preview = (
                session.con.sql(
                    f"SELECT * EXCLUDE (__seq) FROM plan WHERE {OP} <> 'skip' ORDER BY __seq, {KEY} LIMIT 100"
                )
                .to_arrow_table()
                .to_pylist()
            )
            watch.stop()
            return result
        if checkpoint("load"):
            return _cancelled(result, watch)
        watch.start("load")
        if on_planned is not None:
            on_planned(plan)
        for batch in session.planned_batches(inputs.batch_rows):
            outcomes = await deliver(batch.to_pylist())
            session.record_outcomes(pa.Table.from_pylist(outcomes, schema=OUTCOME_SCHEMA))
            crashpoints.reached("batch_delivered")
            if checkpoint("load"):
                result.cancelled = True
                break
        if finish_load is not None and not result.cancelled:
            session.record_outcomes(pa.Table.from_pylist(await finish_load(), schema=OUTCOME_SCHEMA))
        crashpoints.reached("delivered")
        by_status = session.outcome_counts()
        report.counts.delivered = by_status.get("delivered", 0)
        report.counts.rejected = by_status.get("rejected", 0)
        report.counts.failed = by_status.get("failed", 0)
        watch.start("commit")
        if in_warehouse is not None:
            result.snapshot_uri, result.snapshot_rows = in_warehouse.commit(
                inputs.previous_snapshot, session.undelivered_keys()
            )
        else:
            result.snapshot_uri, result.snapshot_rows = session.commit_outcomes(
                store, store.new_uri(inputs.activation_id, inputs.run_id)
            )
        crashpoints.reached("snapshot_written")
        result.outcomes_uri = store.new_uri(f"{inputs.activation_id}/outcomes", inputs.run_id)
        session.export_outcomes(store, result.outcomes_uri)
        crashpoints.reached("outcomes_written")
        watch.stop()
        log.info(
            "sync pipeline finished", run_id=inputs.run_id, timings=watch.timings, **report.counts.as_dict()
        )
        return result
    finally:
        watch.stop()
        session.close()


def _diff_in_warehouse(
    in_warehouse: WarehouseDiff,
    session: DiffSession,
    inputs: PipelineInputs,
    report: RunReport,
    watch: Stopwatch,
) -> DiffCounts:
    """Validate and diff in the warehouse, then bring the invalid and changed rows into ``session``."""
    watch.start("diff")
    outcome = in_warehouse.compute(inputs.previous_snapshot, full_refresh=inputs.full_refresh)
    report.counts.audience = outcome.audience
    report.counts.invalid = outcome.invalid
    report.invalid_reasons = outcome.invalid_reasons
    crashpoints.reached("validated")
    watch.start("extract")
    session.load_prepared(in_warehouse.rows_to_fetch())
    session.load_diff(in_warehouse.diff_rows())
    crashpoints.reached("extracted")
    return outcome.counts


def _report_invalid(session: DiffSession, report: RunReport) -> None:
    """Audience size, invalid rows and their reasons (final once the diff checked new identifiers)."""
    validation = session.validation or session.validate()
    report.counts.audience = validation.valid_count + validation.invalid_count
    report.counts.invalid = validation.invalid_count
    report.invalid_reasons = {
        str(reason): int(n)
        for reason, n in session.con.execute(
            f"SELECT {REASON}, count(*) FROM {validation.invalid_view} GROUP BY ALL"
        ).fetchall()
    }


def _cancelled(result: PipelineResult, watch: Stopwatch) -> PipelineResult:
    watch.stop()
    result.cancelled = True
    return result
