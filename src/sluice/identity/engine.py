"""One identity resolution run: inputs → records → rules → (probabilistic pairs) → profiles.

Writes, in the bookkeeping schema, ``idr_<graph>_records`` (every input record with its
``profile_id``), ``idr_<graph>_profiles`` (golden records) and ``idr_<graph>_matches`` (which value
of which rule linked which record: the "why" of a profile). Returns counts and warnings.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import asdict, dataclass, field
from typing import Any

import ibis
import ibis.expr.types as ir

from sluice.core.logging import get_logger
from sluice.identity.components import StepStats, apply_step, resolve_rules
from sluice.identity.golden import candidates, profiles_expr, records_with_profiles
from sluice.identity.incremental import appended_records, previous_matches, resolve_new_records
from sluice.identity.records import InputTable, identifiers_expr, records_expr, slots
from sluice.identity.spec import IdentitySpec
from sluice.identity.stable_ids import stable_labels
from sluice.identity.tables import GraphTables
from sluice.warehouse.bookkeeping import ensure_bookkeeping_schema
from sluice.warehouse.connection import Warehouse

log = get_logger(__name__)
PROBABILISTIC_RULE = "probabilistic"


@dataclass
class PairResult:
    """Likely pairs (``node_l, node_r, match_probability, match_weight, explanation``) and how the
    model that found them decides (reported on the run)."""

    pairs: ir.Table
    details: dict[str, Any] = field(default_factory=dict)


PairFinder = Callable[[GraphTables, IdentitySpec, ir.Table, ir.Table], PairResult]
"""Finds likely pairs among records: (tables, spec, records, labels) → :class:`PairResult`."""


@dataclass
class RunResult:
    """Counts and warnings of one run."""

    input_rows: int = 0
    identifier_values: int = 0
    profiles: int = 0
    merges: int = 0
    largest_cluster: int = 0
    rules: list[StepStats] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)
    suspicious_profiles: list[str] = field(default_factory=list)
    probabilistic: dict[str, Any] = field(default_factory=dict)
    mode: str = "full"
    new_records: int | None = None

    def counts(self) -> dict[str, Any]:
        """JSON-ready counts (stored on the run)."""
        return {
            "mode": self.mode,
            "new_records": self.new_records,
            "input_rows": self.input_rows,
            "identifier_values": self.identifier_values,
            "profiles": self.profiles,
            "merges": self.merges,
            "largest_cluster": self.largest_cluster,
            "rules": [asdict(item) for item in self.rules],
            "probabilistic": self.probabilistic,
        }


def resolve(
    warehouse: Warehouse,
    spec: IdentitySpec,
    inputs: Mapping[str, InputTable],
    *,
    schema: str,
    slug: str,
    pair_finder: PairFinder | None = None,
    incremental: bool = False,
) -> RunResult:
    """Run the graph in ``schema`` and publish its tables (replacing the previous run's).

    With ``incremental`` (the caller knows the spec did not change since the previous run) and
    inputs that only gained rows, only the new records are resolved against the existing graph
    (:mod:`sluice.identity.incremental`); otherwise, and with probabilistic matching, all of them.
    """
    ensure_bookkeeping_schema(warehouse, schema)
    tables = GraphTables(warehouse, schema, slug)
    result = RunResult()
    try:
        records = tables.create("input", records_expr(spec, inputs))
        ids = tables.create("identifiers", identifiers_expr(spec, records))
        result.input_rows = tables.count(records)
        result.identifier_values = tables.count(ids.select("identifier", "value").distinct())
        new = appended_records(tables, records) if incremental and not spec.probabilistic.enabled else None
        earlier: ir.Table | None = None
        if new is not None:
            result.mode, result.new_records = "incremental", tables.count(new)
            earlier = tables.create("earlier_matches", previous_matches(tables))
            labels, links, result.rules = resolve_new_records(tables, spec, records, ids, new)
        else:
            labels, links, result.rules = resolve_rules(tables, spec, records, ids)
        if new is None and spec.probabilistic.enabled and pair_finder is not None:
            found = pair_finder(tables, spec, records, labels)
            labels, used, stats = _probabilistic(tables, spec, found.pairs, labels, ids)
            links.append((PROBABILISTIC_RULE, used))
            result.rules.append(stats)
            result.probabilistic = found.details | {"pairs": tables.count(found.pairs)}
        if tables.exists("records"):
            labels = tables.create(
                "stable_labels", stable_labels(labels, records, tables.published("records"))
            )
        linked = tables.create("records", records_with_profiles(records, labels))
        profiles = tables.create("profiles", profiles_expr(spec, linked))
        tables.create("matches", _matches(links, linked, earlier))
        _summarize(tables, spec, result, linked, profiles)
        for what in ("records", "profiles", "matches"):
            tables.publish(what)
    finally:
        tables.cleanup()
    log.info(
        "identity run done", graph=slug, mode=result.mode, profiles=result.profiles, merges=result.merges
    )
    return result


def _probabilistic(
    tables: GraphTables, spec: IdentitySpec, pairs: ir.Table, labels: ir.Table, ids: ir.Table
) -> tuple[ir.Table, ir.Table, StepStats]:
    """Merge along likely pairs; a pair's key says why (probability, weight, per-field bits)."""
    key = (
        ibis.literal("p=")
        + pairs.match_probability.round(4).cast("string")
        + " w="
        + pairs.match_weight.round(1).cast("string")
        + " ("
        + pairs.explanation.fill_null("")
        + ") "
        + pairs.node_l.substr(0, 8)
        + "~"
        + pairs.node_r.substr(0, 8)
    )
    keyed = pairs.mutate(key=key)
    keys = keyed.select(node=keyed.node_l, key=keyed.key).union(
        keyed.select(node=keyed.node_r, key=keyed.key), distinct=False
    )
    return apply_step(
        tables,
        name=PROBABILISTIC_RULE,
        step="sp",
        keys=tables.create("sp_keys", keys),
        labels=labels,
        ids=ids,
        limits=spec.limits,
        max_profiles=None,
        profiles=tables.count(labels.select("label").distinct()),
    )


def _matches(
    links: list[tuple[str, ir.Table]], linked: ir.Table, earlier: ir.Table | None = None
) -> ir.Table:
    """(profile_id, record_key, model, rule, value): which value of which rule linked a record.

    ``earlier`` (rule, key, node) are links kept from the previous run (incremental runs).
    """
    parts = [used.select(rule=ibis.literal(rule), value=used.key, node=used.node) for rule, used in links]
    if earlier is not None:
        parts.append(earlier.select(rule=earlier.rule, value=earlier.key, node=earlier.node))
    union = parts[0]
    for part in parts[1:]:
        union = union.union(part, distinct=False)
    joined = union.join(linked, union.node == linked.node)
    return joined.select(
        profile_id=joined.profile_id,
        record_key=joined.record_key,
        model=joined.model,
        rule=joined.rule,
        value=joined.value,
    ).distinct()


def _summarize(
    tables: GraphTables, spec: IdentitySpec, result: RunResult, linked: ir.Table, profiles: ir.Table
) -> None:
    result.profiles = tables.count(profiles)
    nodes = tables.count(linked.select("node").distinct())
    result.merges = nodes - result.profiles
    result.largest_cluster = int(tables.scalar(profiles.record_count.max()) or 0)
    for stats in result.rules:
        if stats.shared_values:
            result.warnings.append(
                f"rule {stats.rule}: {stats.shared_values} value(s) shared by too many profiles were ignored"
                f" (e.g. {', '.join(stats.examples.get('shared', [])[:3])})"
            )
        if stats.conflicting_values:
            result.warnings.append(
                f"rule {stats.rule}: {stats.conflicting_values} value(s) were not used because the merge"
                " would break a profile limit"
                f" (e.g. {', '.join(stats.examples.get('conflicting', [])[:3])})"
            )
    big = profiles.filter(profiles.record_count > spec.warn_cluster_size)
    count = tables.count(big)
    if count:
        rows = tables.rows(big.order_by([big.record_count.desc(), big.profile_id]).select("profile_id"), 10)
        result.suspicious_profiles = [str(row["profile_id"]) for row in rows]
        result.warnings.append(
            f"{count} profile(s) merge more than {spec.warn_cluster_size} records"
            f" (largest {result.largest_cluster}); check them: {', '.join(result.suspicious_profiles[:3])}"
        )
    widths = slots(spec)
    for limit in (item for item in spec.limits if widths[item.identifier]):
        over = _over_limit(tables, spec, linked, limit.identifier, limit.max_values)
        if over:
            result.warnings.append(
                f"{over} profile(s) hold more than {limit.max_values} {limit.identifier} value(s)"
                " after chained merges"
            )


def _over_limit(
    tables: GraphTables, spec: IdentitySpec, linked: ir.Table, identifier: str, limit: int
) -> int:
    values = candidates(spec, linked, identifier)
    per_profile = values.group_by("profile_id").aggregate(n=values.value.nunique())
    return tables.count(per_profile.filter(per_profile.n > limit))
