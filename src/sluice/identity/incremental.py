"""Incremental runs: when inputs only gained rows, resolve the new records against the existing graph.

The previous run's ``records`` table holds every record's ``row_hash`` and ``profile_id``. A run is
**append-only** when every previous record is still there with the same hash (no update, no
delete) and some records are new. Then:

- every previous record starts labelled with its profile id, every new record with its own node;
- each rule, in order, only considers the key values held by at least one new record (the others
  cannot link anything new), with the same shared-value and profile-limit checks as a full run;
- the links found are collapsed by the same label propagation, so a new record joins a profile,
  links two existing profiles (they merge) or starts its own;
- profile ids are carried over like in a full run (:mod:`sluice.identity.stable_ids`), so a
  profile a record joins keeps its id and two merged profiles keep the id of the bigger one.

Golden records and warnings are recomputed over all records (aggregations, not iterations). A
change of spec, any update or delete, or probabilistic matching gives a full run instead.
"""

from __future__ import annotations

import ibis.expr.types as ir

from sluice.identity.components import StepStats, resolve_rules
from sluice.identity.spec import IdentitySpec
from sluice.identity.tables import GraphTables


def appended_records(tables: GraphTables, records: ir.Table) -> ir.Table | None:
    """The records new since the previous run when the inputs only gained rows; else None."""
    if not tables.exists("records"):
        return None
    previous = tables.published("records")
    if "row_hash" not in previous.columns:
        return None  # written by a version without row hashes
    kept = records.select("record_key", "row_hash")
    gone = previous.select("record_key", "row_hash").anti_join(kept, ["record_key", "row_hash"])
    if tables.count(gone):
        return None
    new = tables.create("new_records", records.anti_join(previous.select("record_key"), "record_key"))
    return new if tables.count(new) else None


def previous_labels(tables: GraphTables, records: ir.Table) -> ir.Table:
    """(node, label): previous records labelled with their profile id, new ones with their node."""
    previous = tables.published("records").select(old_node="node", old_profile="profile_id").distinct()
    nodes = records.select("node").distinct()
    joined = nodes.left_join(previous, nodes.node == previous.old_node)
    return tables.create(
        "labels", joined.select(node=joined.node, label=joined.old_profile.coalesce(joined.node))
    )


def resolve_new_records(
    tables: GraphTables, spec: IdentitySpec, records: ir.Table, ids: ir.Table, new: ir.Table
) -> tuple[ir.Table, list[tuple[str, ir.Table]], list[StepStats]]:
    """Apply the rules to the key values of the new records: labels, (rule, links), stats per rule."""
    return resolve_rules(
        tables,
        spec,
        records,
        ids,
        labels=previous_labels(tables, records),
        only_nodes=new.select("node").distinct(),
    )


def previous_matches(tables: GraphTables) -> ir.Table:
    """(rule, key, node) links of the previous run, to keep next to the new ones."""
    matches = tables.published("matches")
    records = tables.published("records").select("record_key", "node")
    joined = matches.join(records, "record_key")
    return joined.select(rule=joined.rule, key=joined.value, node=joined.node)
