"""Running a stored graph: a run row, the engine in the warehouse, counts and warnings kept.

A run executes where it is asked for (``sluice identity run``, the API by default), or is queued
(``state = queued``) for the job runtime of ``sluice serve`` / ``sluice worker``
(:mod:`sluice.identity.jobs`). At most one run per graph is running at a time (a partial unique
index); a graph with a queued or running run refuses another. A failed run keeps the previous
run's tables: the engine only swaps them in at the very end.

Runs are incremental where it is safe: a run first fingerprints its inputs in the warehouse
(:mod:`sluice.identity.fingerprint`); when spec and inputs are unchanged since the last successful
run (and its tables are still there) it is recorded ``skipped`` with that run's counts, and nothing
is recomputed. When the spec is unchanged and the inputs only gained rows, only the new records are
resolved against the existing graph (``details.mode = incremental``). ``force`` recomputes everything.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from sluice.core.crypto import SecretBox
from sluice.core.errors import Conflict, InvalidInput, NotFound, SluiceError
from sluice.core.logging import get_logger
from sluice.identity.engine import PairFinder, RunResult, resolve
from sluice.identity.fingerprint import fingerprint, spec_digest
from sluice.identity.graphs import spec_of
from sluice.identity.profiles_model import ensure_profiles_model
from sluice.identity.records import InputTable
from sluice.identity.spec import IdentitySpec, InputModel
from sluice.identity.tables import GraphTables
from sluice.models.stored import StoredCatalog, load_definitions
from sluice.store.tables.identity import IdentityGraph, IdentityRun
from sluice.store.tables.sources import Source
from sluice.warehouse.errors import driver_message
from sluice.warehouse.sources import open_source

log = get_logger(__name__)


ACTIVE_STATES = ("queued", "running")
DONE_STATES = ("succeeded", "skipped")
SKIPPED_MESSAGE = "skipped: inputs unchanged since run {run_id}; counts carried over"


def _check_idle(session: Session, graph: IdentityGraph) -> None:
    active = session.scalar(
        select(IdentityRun).where(IdentityRun.graph_id == graph.id, IdentityRun.state.in_(ACTIVE_STATES))
    )
    if active is not None:
        raise Conflict(f"identity graph {graph.name!r} is already {active.state} (run {active.id})")


def start_run(session: Session, graph: IdentityGraph, *, requested_by: str, trigger: str) -> IdentityRun:
    """A new running run (Conflict if the graph already has a queued or running one)."""
    _check_idle(session, graph)
    run = IdentityRun(
        workspace_id=graph.workspace_id,
        graph_id=graph.id,
        state="running",
        trigger=trigger,
        requested_by=requested_by,
        started_at=datetime.now(UTC),
    )
    session.add(run)
    try:
        session.flush()
    except IntegrityError:
        raise Conflict(f"identity graph {graph.name!r} is already running") from None
    return run


def queue_run(
    session: Session,
    graph: IdentityGraph,
    *,
    requested_by: str,
    trigger: str = "manual",
    force: bool = False,
) -> IdentityRun:
    """A queued run, executed by a worker (``sluice serve`` or ``sluice worker``) at its next tick."""
    _check_idle(session, graph)
    run = IdentityRun(
        workspace_id=graph.workspace_id,
        graph_id=graph.id,
        state="queued",
        trigger=trigger,
        requested_by=requested_by,
        details={"force": True} if force else {},
    )
    session.add(run)
    session.flush()
    return run


def input_tables(catalog: StoredCatalog, spec: IdentitySpec) -> dict[str, InputTable]:
    """Each input model as an Ibis table with field names, and its record key field."""
    return {item.model: _input(catalog, item) for item in spec.inputs}


def _input(catalog: StoredCatalog, item: InputModel) -> InputTable:
    definition = catalog.definition(item.model)
    key = item.key or definition.primary_key
    wanted = {key, *item.attributes.values(), *(f for group in item.identifiers.values() for f in group)}
    if item.timestamp:
        wanted.add(item.timestamp)
    try:
        table = catalog.table(item.model, fields=sorted(wanted))
    except SluiceError as exc:
        where = ".".join(part for part in (definition.table_schema, definition.table_name) if part)
        raise InvalidInput(
            f"input model {item.model!r} cannot be read{f' (table {where})' if where else ''}: {exc.message}"
        ) from None
    return InputTable(table, key)


def run_graph(
    session: Session,
    graph: IdentityGraph,
    box: SecretBox | None,
    *,
    requested_by: str = "system",
    trigger: str = "manual",
    pair_finder: PairFinder | None = None,
    force: bool = False,
) -> IdentityRun:
    """Run ``graph`` now; the run ends ``succeeded`` (profiles model up to date), ``skipped``
    (inputs unchanged; unless ``force``) or ``failed``."""
    run = start_run(session, graph, requested_by=requested_by, trigger=trigger)
    execute(session, graph, run, box, pair_finder=pair_finder, force=force)
    return run


def last_done_run(session: Session, graph: IdentityGraph) -> IdentityRun | None:
    """The graph's latest succeeded or skipped run."""
    return session.scalar(
        select(IdentityRun)
        .where(IdentityRun.graph_id == graph.id, IdentityRun.state.in_(DONE_STATES))
        .order_by(IdentityRun.id.desc())
        .limit(1)
    )


def execute(
    session: Session,
    graph: IdentityGraph,
    run: IdentityRun,
    box: SecretBox | None,
    *,
    pair_finder: PairFinder | None = None,
    force: bool = False,
) -> None:
    """Execute a running run in the warehouse and record its outcome (never raises)."""
    force = force or bool((run.details or {}).get("force"))
    try:
        source = session.get(Source, graph.source_id)
        if source is None:
            raise NotFound("the graph's source is gone")
        spec = spec_of(graph)
        stored = load_definitions(session, graph.workspace_id, graph.source_id)
        with open_source(source, box) as warehouse:
            catalog = StoredCatalog(warehouse=warehouse, definitions=stored.definitions, links=stored.links)
            inputs = input_tables(catalog, spec)
            tables = GraphTables(warehouse, graph.schema_name, graph.slug)
            run.fingerprint, figures = fingerprint(tables, spec, inputs)
            previous = last_done_run(session, graph)
            if (
                not force
                and previous is not None
                and previous.fingerprint == run.fingerprint
                and tables.exists("profiles")
            ):
                _skipped(run, previous, figures)
                run.finished_at = datetime.now(UTC)
                session.flush()
                return
            finder = pair_finder
            if finder is None and spec.probabilistic.enabled:
                from sluice.identity.probabilistic import splink_pair_finder

                finder = splink_pair_finder
            digest = spec_digest(spec)
            same_spec = previous is not None and (previous.details or {}).get("spec_digest") == digest
            result = resolve(
                warehouse,
                spec,
                inputs,
                schema=graph.schema_name,
                slug=graph.slug,
                pair_finder=finder,
                incremental=same_spec and not force,
            )
            with session.begin_nested():
                ensure_profiles_model(session, graph, spec, warehouse)
        _succeeded(run, result, figures, digest)
    except SluiceError as exc:
        run.state, run.error = "failed", exc.message
    except Exception as exc:
        log.exception("identity run failed", graph=graph.id)
        run.state, run.error = "failed", driver_message(exc)
    run.finished_at = datetime.now(UTC)
    session.flush()


def _succeeded(run: IdentityRun, result: RunResult, figures: dict[str, Any], digest: str) -> None:
    """Record a computed run: counts, the inputs' figures and the spec's digest (for the next run)."""
    run.state = "succeeded"
    run.input_rows = result.input_rows
    run.profiles = result.profiles
    run.merges = result.merges
    run.largest_cluster = result.largest_cluster
    run.details = result.counts() | {
        "suspicious_profiles": result.suspicious_profiles,
        "inputs": figures,
        "spec_digest": digest,
    }
    run.warnings = list(result.warnings)


def _skipped(run: IdentityRun, previous: IdentityRun, figures: dict[str, Any]) -> None:
    """Nothing changed: the previous run's tables stand, and its counts are carried over."""
    run.state = "skipped"
    run.input_rows = previous.input_rows
    run.profiles = previous.profiles
    run.merges = previous.merges
    run.largest_cluster = previous.largest_cluster
    kept = {key: value for key, value in (previous.details or {}).items() if key not in ("force", "skipped")}
    run.details = kept | {"inputs": figures, "skipped": SKIPPED_MESSAGE.format(run_id=previous.id)}
    run.warnings = list(previous.warnings or [])
