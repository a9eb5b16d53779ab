"""Running a stored graph: a run row, the engine in the warehouse, counts and warnings kept.

A run executes where it is asked for (``sluice identity run``, the API by default), or is queued
(``state = queued``) for the job runtime of ``sluice serve`` / ``sluice worker``
(:mod:`sluice.identity.jobs`). At most one run per graph is running at a time (a partial unique
index); a graph with a queued or running run refuses another. A failed run keeps the previous
run's tables: the engine only swaps them in at the very end.
"""

from __future__ import annotations

from datetime import UTC, datetime

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from sluice.core.crypto import SecretBox
from sluice.core.errors import Conflict, NotFound, SluiceError
from sluice.core.logging import get_logger
from sluice.identity.engine import PairFinder, RunResult, resolve
from sluice.identity.graphs import spec_of
from sluice.identity.profiles_model import ensure_profiles_model
from sluice.identity.records import InputTable
from sluice.identity.spec import IdentitySpec, InputModel
from sluice.models.stored import StoredCatalog, load_definitions
from sluice.store.tables.identity import IdentityGraph, IdentityRun
from sluice.store.tables.sources import Source
from sluice.warehouse.errors import driver_message
from sluice.warehouse.sources import open_source

log = get_logger(__name__)


ACTIVE_STATES = ("queued", "running")


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
    session: Session, graph: IdentityGraph, *, requested_by: str, trigger: str = "manual"
) -> IdentityRun:
    """A queued run, executed by a worker (``sluice serve`` or ``sluice worker``) at its next tick."""
    _check_idle(session, graph)
    run = IdentityRun(
        workspace_id=graph.workspace_id,
        graph_id=graph.id,
        state="queued",
        trigger=trigger,
        requested_by=requested_by,
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
    return InputTable(catalog.table(item.model, fields=sorted(wanted)), key)


def run_graph(
    session: Session,
    graph: IdentityGraph,
    box: SecretBox | None,
    *,
    requested_by: str = "system",
    trigger: str = "manual",
    pair_finder: PairFinder | None = None,
) -> IdentityRun:
    """Run ``graph`` now; the run ends ``succeeded`` (profiles model up to date) or ``failed``."""
    run = start_run(session, graph, requested_by=requested_by, trigger=trigger)
    execute(session, graph, run, box, pair_finder=pair_finder)
    return run


def execute(
    session: Session,
    graph: IdentityGraph,
    run: IdentityRun,
    box: SecretBox | None,
    *,
    pair_finder: PairFinder | None = None,
) -> None:
    """Execute a running run in the warehouse and record its outcome (never raises)."""
    try:
        source = session.get(Source, graph.source_id)
        if source is None:
            raise NotFound("the graph's source is gone")
        spec = spec_of(graph)
        stored = load_definitions(session, graph.workspace_id, graph.source_id)
        with open_source(source, box) as warehouse:
            catalog = StoredCatalog(warehouse=warehouse, definitions=stored.definitions, links=stored.links)
            finder = pair_finder
            if finder is None and spec.probabilistic.enabled:
                from sluice.identity.probabilistic import splink_pair_finder

                finder = splink_pair_finder
            result = resolve(
                warehouse,
                spec,
                input_tables(catalog, spec),
                schema=graph.schema_name,
                slug=graph.slug,
                pair_finder=finder,
            )
            with session.begin_nested():
                ensure_profiles_model(session, graph, spec, warehouse)
        _succeeded(run, result)
    except SluiceError as exc:
        run.state, run.error = "failed", exc.message
    except Exception as exc:
        log.exception("identity run failed", graph=graph.id)
        run.state, run.error = "failed", driver_message(exc)
    run.finished_at = datetime.now(UTC)
    session.flush()


def _succeeded(run: IdentityRun, result: RunResult) -> None:
    run.state = "succeeded"
    run.input_rows = result.input_rows
    run.profiles = result.profiles
    run.merges = result.merges
    run.largest_cluster = result.largest_cluster
    run.details = result.counts() | {"suspicious_profiles": result.suspicious_profiles}
    run.warnings = list(result.warnings)
