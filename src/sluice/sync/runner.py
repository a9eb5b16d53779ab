"""Execute one queued run: claim it, resolve its inputs, run the pipeline, record and commit.

The snapshot pointer flip and the run's final state are written in one control-DB transaction,
and only if the run was still ``running`` (a reconciler may have failed it meanwhile): a crash
anywhere before that leaves the old snapshot, and the next run redoes the undelivered ops.
"""

from __future__ import annotations

import shutil
import tempfile
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import duckdb
import pyarrow as pa
from sqlalchemy import select

from sluice.core.asyncio_bridge import run_sync
from sluice.core.errors import SluiceError
from sluice.core.logging import bind_context, get_logger
from sluice.core.settings import Settings
from sluice.destinations.sdk import Service, Target
from sluice.schemas.activations import DiffMode
from sluice.store.db import Database
from sluice.store.tables.activations import Activation, Run
from sluice.sync import crashpoints
from sluice.sync.activations import mapping_signature
from sluice.sync.audience import IDENTIFIER, KEY, ROW_HASH
from sluice.sync.diff import HASH_ALGORITHM
from sluice.sync.diff_mode import choose_diff_mode
from sluice.sync.pipeline import PipelineInputs, PipelineResult, run_pipeline
from sluice.sync.report import WarningThresholds
from sluice.sync.resolve import ResolvedActivation, resolve_activation
from sluice.sync.runs import RunState, claim_run, finish_run, heartbeat, record_progress
from sluice.sync.snapshot import SnapshotStore
from sluice.sync.warehouse_diff import (
    WAREHOUSE_HASH_ALGORITHM,
    WarehouseDiff,
    is_warehouse_snapshot,
    read_snapshot,
    upload_snapshot,
)

log = get_logger(__name__)

# Errors a retry cannot fix: the run is recorded with kind "config", which pauses the activation
# until a probe finds the cause gone (bad destination credentials, a model that drifted).
FATAL_ERROR_CODES = frozenset({"destination_config", "schema_drift"})


@dataclass(frozen=True)
class RunFailure:
    """A failure as the user sees it: a sentence and a kind (``config`` pauses the activation)."""

    message: str
    kind: str


def snapshot_store(settings: Settings) -> SnapshotStore:
    """Where snapshots and outcomes live: ``SLUICE_SNAPSHOT_ROOT`` or ``<data dir>/snapshots``."""
    root = getattr(settings, "snapshot_root", None) or str((settings.data_dir / "snapshots").resolve())
    return SnapshotStore(root)


def execute_run(database: Database, settings: Settings, run_id: str, *, worker: str) -> str | None:
    """Run ``run_id`` to completion; returns its final state, or None if it could not be claimed."""
    with database.session() as session:
        if not claim_run(session, run_id, worker):
            return None
        run = session.get(Run, run_id)
        assert run is not None
        activation = session.get(Activation, run.activation_id)
        assert activation is not None
        previous_audience = _previous_audience(session, activation.id, run_id)
        run_facts = _RunFacts.of(run, activation)
    crashpoints.reached("claimed")
    with bind_context(run_id=run_id, activation_id=run_facts.activation_id):
        log.info("run started", worker=worker, full_refresh=run_facts.full_refresh, dry_run=run_facts.dry_run)
        work_dir = Path(tempfile.mkdtemp(prefix=f"sluice-run-{run_id}-", dir=_scratch_root(settings)))
        try:
            result, failure, target = _run_pipeline(database, settings, run_facts, work_dir)
        finally:
            shutil.rmtree(work_dir, ignore_errors=True)
        return _record(database, run_facts, result, failure, previous_audience, target)


@dataclass(frozen=True)
class _RunFacts:
    run_id: str
    activation_id: str
    workspace_id: str
    full_refresh: bool
    dry_run: bool
    snapshot_uri: str | None
    snapshot_signature: str | None
    signatures: dict[str, str]
    settings: dict[str, Any]

    @classmethod
    def of(cls, run: Run, activation: Activation) -> _RunFacts:
        return cls(
            run_id=run.id,
            activation_id=activation.id,
            workspace_id=activation.workspace_id,
            full_refresh=run.full_refresh,
            dry_run=run.dry_run,
            snapshot_uri=activation.snapshot_uri,
            snapshot_signature=activation.snapshot_signature,
            signatures={
                algorithm: mapping_signature(activation, algorithm)
                for algorithm in (HASH_ALGORITHM, WAREHOUSE_HASH_ALGORITHM)
            },
            settings=dict(activation.settings or {}),
        )


def _run_pipeline(
    database: Database, settings: Settings, facts: _RunFacts, work_dir: Path
) -> tuple[PipelineResult | None, RunFailure | None, Target | None]:
    checkpoint = _checkpoint(database, facts.run_id)
    resolved: ResolvedActivation | None = None
    try:
        with database.session() as session:
            activation = session.get(Activation, facts.activation_id)
            assert activation is not None
            resolved = resolve_activation(session, database, activation)
        result = run_sync(_pipeline(resolved, facts, settings, work_dir, checkpoint))
        return result, None, _target_of(resolved)
    except SluiceError as exc:
        kind = "config" if exc.code in FATAL_ERROR_CODES else type(exc).__name__
        log.warning("run failed", error=str(exc), kind=kind)
        return None, RunFailure(str(exc), kind), _target_of(resolved)
    except Exception as exc:
        log.exception("run crashed")
        return (
            None,
            RunFailure(f"unexpected error: {type(exc).__name__}: {exc}", "internal"),
            _target_of(resolved),
        )
    finally:
        if resolved is not None:
            resolved.close_source()


def _target_of(resolved: ResolvedActivation | None) -> Target | None:
    return resolved.delivery.target if resolved is not None and resolved.delivery is not None else None


async def _pipeline(
    resolved: ResolvedActivation,
    facts: _RunFacts,
    settings: Settings,
    work_dir: Path,
    checkpoint: Callable[[str], bool],
) -> PipelineResult:
    store = snapshot_store(settings)
    _sweep_snapshots(store, facts)
    choice = choose_diff_mode(
        resolved.diff_mode,
        previous_snapshot=facts.snapshot_uri,
        warehouse=resolved.warehouse,
        bookkeeping_schema=resolved.bookkeeping_schema,
        audience_rows=resolved.count_audience,
        min_rows=settings.warehouse_diff_min_rows,
    )
    log.info("diff mode chosen", diff_mode=str(choice.mode), reason=choice.reason)
    in_warehouse: WarehouseDiff | None = None
    previous = facts.snapshot_uri
    algorithm = HASH_ALGORITHM
    if choice.mode is DiffMode.WAREHOUSE:
        assert resolved.bookkeeping_schema is not None
        algorithm = WAREHOUSE_HASH_ALGORITHM
        in_warehouse = WarehouseDiff(
            resolved.warehouse,
            resolved.bookkeeping_schema,
            activation_id=facts.activation_id,
            run_id=facts.run_id,
            spec=resolved.spec,
            audience=resolved.audience,
        )
        in_warehouse.sweep(keep_uri=previous)
        previous = move_snapshot_into_warehouse(resolved, store, facts.activation_id, previous)
    elif previous is not None and is_warehouse_snapshot(previous):
        previous = move_snapshot_out_of_warehouse(resolved, store, facts, previous)
    signature = facts.signatures[algorithm]
    try:
        async with resolved.open() as delivery:
            inputs = PipelineInputs(
                activation_id=facts.activation_id,
                run_id=facts.run_id,
                spec=resolved.spec,
                service=resolved.service,
                removal=resolved.removal,
                batch_rows=resolved.batch_rows,
                previous_snapshot=previous,
                full_refresh=facts.full_refresh or facts.snapshot_signature not in (None, signature),
                dry_run=facts.dry_run,
            )
            remote_members = None
            # Upserts and events own no membership to reconcile: their full refresh resends every
            # row (reading "members" of a whole contact base and clearing strays would be wrong).
            reconciles = resolved.service in (Service.MEMBERSHIP, Service.CONSENT)
            if facts.full_refresh and not facts.dry_run and reconciles:
                remote_members = await delivery.prepare_full_refresh()
            result = await run_pipeline(
                inputs,
                resolved.extract() if in_warehouse is None else pa.table({}),
                store=store,
                work_dir=work_dir,
                deliver=delivery.deliver,
                checkpoint=checkpoint,
                remote_members=remote_members,
                memory_limit=settings.run_memory_limit,
                in_warehouse=in_warehouse,
                on_planned=delivery.planned,
                finish_load=delivery.finish,
            )
    finally:
        if in_warehouse is not None:
            in_warehouse.drop_work_tables()
    result.hash_algorithm, result.signature = algorithm, signature
    return result


def _sweep_snapshots(store: SnapshotStore, facts: _RunFacts) -> None:
    """Delete the activation's snapshot files its pointer does not need (this run holds the activation)."""
    try:
        deleted = store.sweep(facts.activation_id, facts.snapshot_uri)
    except Exception as exc:  # a sweep never fails a run: the files stay until the next one
        log.warning("snapshot sweep skipped", error=f"{type(exc).__name__}: {exc}")
        return
    if deleted:
        log.info("old snapshot files deleted", files=deleted)


def move_snapshot_into_warehouse(
    resolved: ResolvedActivation, store: SnapshotStore, activation_id: str, uri: str | None
) -> str | None:
    """A local snapshot copied into the bookkeeping schema (the mode changed to in-warehouse)."""
    if uri is None or is_warehouse_snapshot(uri):
        return uri
    assert resolved.bookkeeping_schema is not None
    with duckdb.connect() as con:
        store.attach(con, uri, "local_snapshot")
        local = con.sql(
            f"SELECT CAST({KEY} AS VARCHAR) AS {KEY}, {IDENTIFIER} FROM local_snapshot"
        ).to_arrow_table()
    return upload_snapshot(resolved.warehouse, resolved.bookkeeping_schema, activation_id, local)


def move_snapshot_out_of_warehouse(
    resolved: ResolvedActivation, store: SnapshotStore, facts: _RunFacts, uri: str
) -> str:
    """A warehouse snapshot copied to a local Parquet file (the mode changed to local)."""
    local_uri = store.new_uri(facts.activation_id, f"{facts.run_id}-imported")
    with duckdb.connect() as con:
        con.register("warehouse_snapshot", read_snapshot(resolved.warehouse, uri))
        store.write(
            con,
            f"SELECT {KEY}, {IDENTIFIER}, NULL::UBIGINT AS {ROW_HASH} FROM warehouse_snapshot",
            local_uri,
        )
    return local_uri


def _checkpoint(database: Database, run_id: str) -> Callable[[str], bool]:
    def checkpoint(stage: str) -> bool:
        with database.session() as session:
            return heartbeat(session, run_id, stage=stage)

    return checkpoint


def _record(
    database: Database,
    facts: _RunFacts,
    result: PipelineResult | None,
    failure: RunFailure | None,
    previous_audience: int | None,
    target: Target | None,
) -> str:
    """Write counts, warnings and the final state; flip the snapshot pointer in the same transaction."""
    with database.session() as session:
        run = session.get(Run, facts.run_id)
        activation = session.get(Activation, facts.activation_id)
        assert run is not None
        assert activation is not None
        error: str | None
        error_kind: str | None
        if result is None:
            state = RunState.FAILED
            error = failure.message if failure else "the run failed"
            error_kind = failure.kind if failure else "internal"
        else:
            result.report.previous_audience = previous_audience
            state = RunState.CANCELLED if result.cancelled else result.report.final_state()
            error = "cancelled by a user" if result.cancelled else None
            error_kind = None
            record_progress(session, run.id, timings=result.timings, counts=result.report.counts.as_dict())
            run.warnings = result.report.warnings(WarningThresholds.from_settings(facts.settings))
            run.outcomes_uri = result.outcomes_uri
        if target is not None:  # remember the target found or created (and a recreated one's new id)
            activation.target = {**activation.target, "id": target.id, "parent_id": target.parent_id}
        if not finish_run(session, run.id, state, error=error, error_kind=error_kind):
            log.warning("run was no longer running; its snapshot is not committed")
            return str(run.state)
        if result is not None and result.snapshot_uri is not None:
            activation.snapshot_uri = result.snapshot_uri
            activation.snapshot_rows = result.snapshot_rows
            activation.snapshot_hash = result.hash_algorithm
            activation.snapshot_run_id = run.id
            activation.snapshot_signature = result.signature
        log.info("run finished", state=str(state), error=error)
    crashpoints.reached("committed")
    return str(state)


def _previous_audience(session: Any, activation_id: str, run_id: str) -> int | None:
    """The audience size of the last run that got that far (for the audience-swing warning)."""
    rows = session.scalars(
        select(Run.counts)
        .where(
            Run.activation_id == activation_id,
            Run.id != run_id,
            Run.state.in_((RunState.SUCCEEDED, RunState.PARTIAL)),
            Run.dry_run.is_(False),
        )
        .order_by(Run.id.desc())
        .limit(1)
    ).first()
    return int(rows["audience"]) if rows and "audience" in rows else None


def _scratch_root(settings: Settings) -> str:
    root = settings.data_dir / "tmp"
    root.mkdir(parents=True, exist_ok=True)
    return str(root)
