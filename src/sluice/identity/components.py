"""Step 2: ordered match rules and connected components by label propagation, all in SQL.

Every record (``node``) carries a ``label``; at the start it is its own node (md5 of its record
key). Rules run in order. For one rule, each key value (the normalised identifier, or several
joined with ``|``) links the labels of the records holding it. A value is **shared** when it links
more profiles than the rule allows (a family e-mail, a call-centre number) and **conflicting** when
the merge would give a profile more distinct values of a limited identifier than allowed (two CRM
ids); both are skipped and counted. The remaining links are collapsed by min-label propagation
over the bipartite graph *value ↔ label* until no label changes; each profile ends up labelled
with the smallest node of its records, so profile ids do not depend on rule order, run or engine.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import ibis
import ibis.expr.types as ir

from sluice.core.errors import SluiceError
from sluice.core.logging import get_logger
from sluice.identity.spec import IdentitySpec, MatchRule, ProfileLimit
from sluice.identity.tables import GraphTables

MAX_ITERATIONS = 200
log = get_logger(__name__)


@dataclass
class StepStats:
    """What one rule did."""

    rule: str
    linking_values: int = 0
    merged_values: int = 0
    shared_values: int = 0
    conflicting_values: int = 0
    profiles_before: int = 0
    profiles_after: int = 0
    iterations: int = 0
    examples: dict[str, list[str]] = field(default_factory=dict)


def rule_keys(ids: ir.Table, rule: MatchRule) -> ir.Table:
    """(node, key) for the records holding every identifier of ``rule``."""
    first, *rest = rule.identifiers
    keys = ids.filter(ids.identifier == first).select(node=ids.node, key=ids.value)
    for number, name in enumerate(rest):
        other = ids.filter(ids.identifier == name).select(**{f"n{number}": ids.node, f"v{number}": ids.value})
        joined = keys.join(other, keys.node == other[f"n{number}"])
        keys = joined.select(node=joined.node, key=joined.key + "|" + joined[f"v{number}"])
    return keys


def initial_labels(tables: GraphTables, records: ir.Table) -> ir.Table:
    nodes = records.select("node").distinct()
    return tables.create("labels", nodes.mutate(label=nodes.node))


def apply_step(
    tables: GraphTables,
    *,
    name: str,
    step: str,
    keys: ir.Table,
    labels: ir.Table,
    ids: ir.Table,
    limits: list[ProfileLimit],
    max_profiles: int | None,
    profiles: int,
) -> tuple[ir.Table, ir.Table, StepStats]:
    """Merge along ``keys`` (node, key); returns the new labels, the (key, node) links used, stats."""
    stats = StepStats(rule=name, profiles_before=profiles)
    joined = keys.join(labels, keys.node == labels.node)
    members = tables.create(f"{step}_members", joined.select(key=joined.key, label=joined.label).distinct())
    sizes = members.group_by("key").aggregate(profiles=members.label.nunique())
    candidates = tables.create(f"{step}_candidates", sizes.filter(sizes.profiles >= 2))
    rejected = candidates.filter(ibis.literal(False)).select("key")
    if max_profiles is not None:
        rejected = candidates.filter(candidates.profiles > max_profiles).select("key")
    conflicts = _conflicts(
        tables, step, candidates.select("key").anti_join(rejected, "key"), members, labels, ids, limits
    )
    accepted = tables.create(
        f"{step}_accepted",
        candidates.select("key").anti_join(rejected, "key").anti_join(conflicts, "key"),
    )
    totals = candidates.aggregate(
        linking=candidates.count(),
        shared=(candidates.profiles > (max_profiles or 0)).sum()
        if max_profiles is not None
        else ibis.literal(0),
    )
    row = tables.rows(totals, 1)[0]
    stats.linking_values, stats.shared_values = int(row["linking"] or 0), int(row["shared"] or 0)
    stats.conflicting_values = tables.count(conflicts) if limits else 0
    if stats.shared_values:
        stats.examples["shared"] = [str(item["key"]) for item in tables.rows(rejected.order_by("key"), 5)]
    if stats.conflicting_values:
        stats.examples["conflicting"] = [
            str(item["key"]) for item in tables.rows(conflicts.order_by("key"), 5)
        ]
    stats.merged_values = tables.count(accepted)
    used = keys.semi_join(accepted, "key").select("key", "node")
    if stats.merged_values == 0:
        stats.profiles_after = stats.profiles_before
        return labels, used, stats
    linked = tables.create(f"{step}_linked", members.semi_join(accepted, "key"))
    components, stats.iterations = _propagate(tables, step, linked)
    relabelled = labels.left_join(components, labels.label == components.label)
    new_labels = tables.create(
        f"{step}_labels",
        relabelled.select(node=relabelled.node, label=relabelled.component.coalesce(relabelled.label)),
    )
    stats.profiles_after = tables.count(new_labels.select("label").distinct())
    return new_labels, used, stats


def _conflicts(
    tables: GraphTables,
    step: str,
    candidates: ir.Table,
    members: ir.Table,
    labels: ir.Table,
    ids: ir.Table,
    limits: list[ProfileLimit],
) -> ir.Table:
    """Key values whose merge would exceed a profile limit (counted over the profiles they link)."""
    found: ir.Table | None = None
    for limit in limits:
        held = ids.filter(ids.identifier == limit.identifier)
        values = held.join(labels, held.node == labels.node).select("label", "value").distinct()
        linked = members.semi_join(candidates, "key")
        pooled = linked.join(values, linked.label == values.label)
        over = (
            pooled.group_by("key")
            .aggregate(n=pooled.value.nunique())
            .filter(lambda t, k=limit.max_values: t.n > k)
            .select("key")
        )
        found = over if found is None else found.union(over)
    if found is None:
        return candidates.filter(ibis.literal(False))
    return tables.create(f"{step}_conflicts", found.distinct())


def _propagate(tables: GraphTables, name: str, linked: ir.Table) -> tuple[ir.Table, int]:
    """Connected components of ``linked`` (key, label): label → smallest label of its component."""
    components = tables.create(f"{name}_c0", linked.select("label").distinct().mutate(component=linked.label))
    for iteration in range(1, MAX_ITERATIONS + 1):
        with_component = linked.join(components, "label")
        per_key = with_component.group_by("key").aggregate(low=with_component.component.min())
        spread = linked.join(per_key, "key")
        per_label = spread.group_by("label").aggregate(low=spread.low.min())
        step = components.join(per_label, "label")
        updated = tables.create(
            f"{name}_c{iteration % 2}",
            step.select(label=step.label, component=ibis.least(step.component, step.low)),
        )
        changed = _changed(tables, components, updated)
        components = updated
        if changed == 0:
            return components, iteration
    raise SluiceError(f"step {name}: label propagation did not converge in {MAX_ITERATIONS} rounds")


def _changed(tables: GraphTables, previous: ir.Table, current: ir.Table) -> int:
    joined = current.join(previous, "label")
    return tables.count(joined.filter(joined.component != joined.component_right))


def resolve_rules(
    tables: GraphTables,
    spec: IdentitySpec,
    records: ir.Table,
    ids: ir.Table,
    *,
    labels: ir.Table | None = None,
    only_nodes: ir.Table | None = None,
) -> tuple[ir.Table, list[tuple[str, ir.Table]], list[StepStats]]:
    """Apply every deterministic rule in order: final labels, (rule, links) and stats per rule.

    ``labels`` are the starting labels (default: every record on its own); with ``only_nodes``
    (``node`` rows) a rule only considers the key values held by at least one of those nodes
    (incremental runs: the new records).
    """
    labels = labels if labels is not None else initial_labels(tables, records)
    profiles = tables.count(labels.select("label").distinct())
    links: list[tuple[str, ir.Table]] = []
    stats: list[StepStats] = []
    for number, rule in enumerate(spec.rules):
        keys = rule_keys(ids, rule)
        if only_nodes is not None:
            keys = keys.semi_join(keys.semi_join(only_nodes, "node").select("key").distinct(), "key")
        keys = tables.create(f"s{number}_keys", keys)
        labels, used, step = apply_step(
            tables,
            name=rule.name,
            step=f"s{number}",
            keys=keys,
            labels=labels,
            ids=ids,
            limits=spec.limits,
            max_profiles=rule.max_profiles_per_value,
            profiles=profiles,
        )
        profiles = step.profiles_after
        links.append((rule.name, used))
        stats.append(step)
        log.info("identity rule applied", rule=rule.name, merged_values=step.merged_values)
    return labels, links, stats
