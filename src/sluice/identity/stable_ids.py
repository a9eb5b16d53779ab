"""Profile ids that survive the next run: a profile keeps the id of the previous profile it continues.

Without a previous run a profile's id is its label (the smallest md5 of its record keys). With one,
each previous id goes to the new profile holding most of its records (ties: the smaller label), and
each new profile takes the previous id it holds most records of (ties: the smaller id). New
profiles keep their label unless a continuing profile already took that id (a split), in which case
they get ``md5('split:' || label)``. So unchanged data keeps every id, a new record joining a profile
does not rename it, and two profiles never share an id.
"""

from __future__ import annotations

import ibis
import ibis.expr.types as ir

from sluice.identity.records import md5


def stable_labels(labels: ir.Table, records: ir.Table, previous: ir.Table) -> ir.Table:
    """``labels`` (node, label) with labels replaced by the previous run's ids where profiles continue."""
    keyed = records.select("record_key", "node").distinct()
    keyed = keyed.join(labels, keyed.node == labels.node).select("record_key", "label")
    old = previous.select(record_key=previous.record_key, old=previous.profile_id).distinct()
    joined = keyed.join(old, keyed.record_key == old.record_key)
    votes = joined.group_by(["label", "old"]).aggregate(n=joined.count())
    by_old = votes.mutate(
        rank=ibis.row_number().over(group_by=votes.old, order_by=[votes.n.desc(), votes.label.asc()])
    )
    won = by_old.filter(by_old["rank"] == 0)
    by_label = won.mutate(
        pick=ibis.row_number().over(group_by=won.label, order_by=[won.n.desc(), won.old.asc()])
    )
    choice = by_label.filter(by_label.pick == 0).select(chosen_label="label", chosen="old")
    taken = choice.select(taken_id="chosen")
    relabelled = labels.left_join(choice, labels.label == choice.chosen_label)
    relabelled = relabelled.left_join(taken, relabelled.label == taken.taken_id)
    fresh = ibis.ifelse(
        relabelled.taken_id.notnull(), md5(ibis.literal("split:") + relabelled.label), relabelled.label
    )
    return relabelled.select(node=relabelled.node, label=relabelled.chosen.coalesce(fresh))
