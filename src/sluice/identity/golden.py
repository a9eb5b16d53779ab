"""Step 3: golden records, one row per profile, each field chosen by its survivorship rule.

Nulls never win. Ties are broken deterministically (more recent, then higher source priority,
then the smaller record key or value), so two runs on the same data give the same profile.
"""

from __future__ import annotations

import ibis
import ibis.expr.types as ir

from sluice.identity.records import identifier_column, slots
from sluice.identity.spec import IdentitySpec, Strategy


def records_with_profiles(records: ir.Table, labels: ir.Table) -> ir.Table:
    """``records`` plus ``profile_id`` (the final label of each record's node)."""
    joined = records.join(labels, records.node == labels.node)
    return joined.select(*records.columns, profile_id=joined.label)


def candidates(spec: IdentitySpec, linked: ir.Table, name: str) -> ir.Table:
    """(profile_id, value, seen_at, priority, record_key) rows offering a value for ``name``."""
    if name in spec.attribute_names():
        rows = linked.select(
            profile_id=linked.profile_id,
            value=linked[name],
            seen_at=linked.seen_at,
            priority=linked.priority,
            record_key=linked.record_key,
        )
        return rows.filter(rows.value.notnull())
    parts = []
    for slot in range(slots(spec)[name]):
        column = linked[identifier_column(name, slot)]
        parts.append(
            linked.filter(column.notnull()).select(
                profile_id=linked.profile_id,
                value=column,
                seen_at=linked.seen_at,
                priority=linked.priority,
                record_key=linked.record_key,
            )
        )
    result = parts[0]
    for part in parts[1:]:
        result = result.union(part, distinct=False)
    return result


def pick(candidates: ir.Table, strategy: Strategy) -> ir.Table:
    """(profile_id, value): the surviving value of each profile."""
    table = candidates
    if strategy == Strategy.MOST_FREQUENT:
        table = candidates.group_by("profile_id", "value").aggregate(
            n=candidates.count(), seen_at=candidates.seen_at.max(), priority=candidates.priority.min()
        )
        order = [table.n.desc(), table.seen_at.desc(), table.priority.asc(), table.value.asc()]
    elif strategy == Strategy.SOURCE_PRIORITY:
        order = [table.priority.asc(), table.seen_at.desc(), table.record_key.asc()]
    elif strategy == Strategy.EARLIEST:
        order = [table.seen_at.asc(), table.priority.asc(), table.record_key.asc()]
    else:
        order = [table.seen_at.desc(), table.priority.asc(), table.record_key.asc()]
    ranked = table.mutate(rank=ibis.row_number().over(group_by=table.profile_id, order_by=order))
    return ranked.filter(ranked["rank"] == 0).select("profile_id", "value")


def profiles_expr(spec: IdentitySpec, linked: ir.Table) -> ir.Table:
    """One row per profile: counts, first/last seen, then identifiers and attributes."""
    result = linked.group_by("profile_id").aggregate(
        record_count=linked.count(),
        model_count=linked.model.nunique(),
        first_seen=linked.seen_at.min(),
        last_seen=linked.seen_at.max(),
    )
    names = [item.name for item in spec.identifiers if slots(spec)[item.name]] + spec.attribute_names()
    for name in names:
        chosen = pick(candidates(spec, linked, name), spec.strategy(name)).rename(
            {f"{name}__profile": "profile_id", name: "value"}
        )
        joined = result.left_join(chosen, result.profile_id == chosen[f"{name}__profile"])
        result = joined.drop(f"{name}__profile")
    return result
