"""Condition tree → Ibis boolean expression over the parent model's table.

The compiler walks the tree once and builds one Ibis expression: relations and events become
``IN (subquery)`` semi-joins or grouped aggregates, segment memberships are inlined (or read from a
remote segment's member table), values are typed literals. Nothing is evaluated in Python; the
result is pushed down to the warehouse as a single query.

Usage::

    compiler = SegmentCompiler(catalog, now=now, segments=resolver)
    rows = compiler.rows(spec)                      # ibis.Table of the parent model's matching rows
    pred = compiler.predicate(spec, table)          # boolean expression on a table of the parent model
"""

from __future__ import annotations

from collections.abc import Collection, Iterable
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sluice.core.errors import InvalidInput
from sluice.models.catalog import ModelCatalog, ModelInfo
from sluice.schemas.segments import (
    Condition,
    EventCondition,
    GroupCondition,
    PropertyCondition,
    RelationCondition,
    SegmentCondition,
    SegmentDefinition,
)
from sluice.segments import relations
from sluice.segments.predicates import Pred, all_of, any_of, apply, known, negate
from sluice.segments.properties import property_predicate
from sluice.segments.remote import MEMBER_COLUMN, NO_REMOTE_MEMBERSHIP, RemoteMembership
from sluice.segments.signature import segment_signature
from sluice.segments.spec import NO_SEGMENTS, SegmentResolver, SegmentSpec, SegmentType


@dataclass
class SegmentCompiler:
    """Compiles segments of one catalog, evaluated at ``now`` (relative dates and event windows)."""

    catalog: ModelCatalog
    now: datetime
    segments: SegmentResolver = NO_SEGMENTS
    remote: RemoteMembership = NO_REMOTE_MEMBERSHIP
    _tables: dict[tuple[str, frozenset[str]], Any] = field(default_factory=dict, repr=False)

    # -- public surface -------------------------------------------------------------------------

    def rows(self, segment: SegmentSpec, *, fields: Collection[str] | None = None) -> Any:
        """The parent model's rows in ``segment`` (all fields, or ``fields`` plus what conditions need)."""
        table = self.parent_table(segment, fields=fields)
        return apply(table, self.predicate(segment, table))

    def parent_table(self, segment: SegmentSpec, *, fields: Collection[str] | None = None) -> Any:
        """The parent model's table with the fields ``segment`` needs (``None`` = every field)."""
        if fields is None:
            return self.catalog.table(segment.model)
        return self.table(segment.model, set(fields) | self.needed_fields(segment))

    def predicate(self, segment: SegmentSpec, table: Any) -> Pred:
        """Membership of ``segment`` as a predicate on ``table`` (a table of the segment's model)."""
        return self._segment(segment, table, ())

    def needed_fields(self, segment: SegmentSpec) -> set[str]:
        """Fields of the parent model the segment's conditions read (including inlined segments)."""
        needed: set[str] = set()
        self._collect_segment(segment, needed, ())
        return needed

    def table(self, model: str, fields: Iterable[str]) -> Any:
        """``catalog.table(model)`` with ``fields`` and the primary key, cached per field set."""
        info = self.catalog.model(model)
        wanted = frozenset({info.primary_key, *fields})
        key = (model, wanted)
        if key not in self._tables:
            self._tables[key] = self.catalog.table(model, fields=sorted(wanted))
        return self._tables[key]

    # -- compilation ------------------------------------------------------------------------------

    def _segment(self, segment: SegmentSpec, table: Any, stack: tuple[SegmentSpec, ...]) -> Pred:
        stack = _enter(stack, segment)
        if segment.type == SegmentType.REMOTE:
            return self._remote(segment, table)
        definition = _definition(segment)
        included = self.condition_predicate(definition.conditions, segment.model, table, stack)
        excluded = any_of(
            self.condition_predicate(c, segment.model, table, stack) for c in definition.exclusions
        )
        return all_of([included, negate(excluded)])

    def condition_predicate(
        self, node: Condition, model: str, table: Any, stack: tuple[SegmentSpec, ...] = ()
    ) -> Pred:
        """The predicate of one condition on ``table`` of ``model`` (``stack``: segments being inlined)."""
        if isinstance(node, GroupCondition):
            pred = self._group(node, model, table, stack)
        elif isinstance(node, PropertyCondition):
            info = self.catalog.model(model)
            pred = property_predicate(
                node,
                _column(table, info, node.field),
                _field(info, node.field),
                self.now,
                self.catalog.dialect,
            )
        elif isinstance(node, RelationCondition):
            pred = relations.relation_predicate(self, node, model, table, stack)
        elif isinstance(node, EventCondition):
            pred = relations.event_predicate(self, node, model, table, stack)
        else:
            pred = self._membership(node, model, table, stack)
        return negate(pred) if node.negate else pred

    def _group(self, group: GroupCondition, model: str, table: Any, stack: tuple[SegmentSpec, ...]) -> Pred:
        if not group.conditions:
            return True
        parts = [self.condition_predicate(child, model, table, stack) for child in group.conditions]
        pred = all_of(parts) if group.op == "and" else any_of(parts)
        return pred

    def _membership(
        self, node: SegmentCondition, model: str, table: Any, stack: tuple[SegmentSpec, ...]
    ) -> Pred:
        other = self.segments.get(node.segment_id)
        if other.model != model:
            raise InvalidInput(
                f"segment {other.name!r} is built on model {other.model!r}, not {model!r}; "
                "membership conditions need segments of the same model"
            )
        return self.membership(other, table, stack)

    def membership(self, segment: SegmentSpec, table: Any, stack: tuple[SegmentSpec, ...] = ()) -> Pred:
        """Membership of ``segment`` on ``table``: its materialized keys while they are usable
        (see :class:`~sluice.segments.spec.Materialization`), else its conditions."""
        keys = self._materialized_keys(segment)
        if keys is None:
            return self._segment(segment, table, stack)
        column = table[self.catalog.model(segment.model).primary_key]
        return known(column, column.isin(keys))

    def _materialized_keys(self, segment: SegmentSpec) -> Any | None:
        """The key column of ``segment``'s materialised table when it may stand in for its conditions.

        Only over a live warehouse (saving a segment compiles against metadata only), and only while
        the keys were written for the segment's current definition within the freshness window.
        """
        done = segment.materialized
        warehouse = getattr(self.catalog, "warehouse", None)
        if done is None or warehouse is None:
            return None
        if not done.usable(segment_signature(self.catalog, self.segments, segment), self.now):
            return None
        return warehouse.table(done.schema, done.table)[self.catalog.model(segment.model).primary_key]

    def _remote(self, segment: SegmentSpec, table: Any) -> Pred:
        if segment.remote is None:
            raise InvalidInput(f"remote segment {segment.name!r} has no remote source configured")
        members = self.remote.members(segment, self.catalog)
        column = table[segment.remote.identifier_field].cast("string")
        if segment.remote.case_insensitive:
            column = column.strip().lower()
        wanted = members.filter(members[MEMBER_COLUMN].notnull())[MEMBER_COLUMN]
        return known(column, column.isin(wanted))

    # -- fields each scope reads ------------------------------------------------------------------

    def _collect_segment(
        self, segment: SegmentSpec, needed: set[str], stack: tuple[SegmentSpec, ...]
    ) -> None:
        stack = _enter(stack, segment)
        if segment.type == SegmentType.REMOTE:
            if segment.remote is not None:
                needed.add(segment.remote.identifier_field)
            return
        definition = _definition(segment)
        for node in [definition.conditions, *definition.exclusions]:
            self.collect_fields(node, segment.model, needed, stack)

    def collect_fields(
        self, node: Condition, model: str, needed: set[str], stack: tuple[SegmentSpec, ...] = ()
    ) -> None:
        """Add to ``needed`` the fields of ``model`` that ``node`` reads."""
        if isinstance(node, GroupCondition):
            for child in node.conditions:
                self.collect_fields(child, model, needed, stack)
        elif isinstance(node, PropertyCondition):
            _field(self.catalog.model(model), node.field)
            needed.add(node.field)
        elif isinstance(node, RelationCondition):
            needed.add(relations.resolve_path(self.catalog, model, node.path)[0].from_field)
        elif isinstance(node, EventCondition):
            needed.add(relations.resolve_path(self.catalog, model, [node.relationship])[0].from_field)
        else:
            self._collect_segment(self.segments.get(node.segment_id), needed, stack)


def _enter(stack: tuple[SegmentSpec, ...], segment: SegmentSpec) -> tuple[SegmentSpec, ...]:
    """``stack`` + ``segment``, refusing a membership cycle with the loop spelled out."""
    ids = [item.id for item in stack]
    if segment.id in ids:
        loop = [item.name for item in stack[ids.index(segment.id) :]] + [segment.name]
        raise InvalidInput(f"segment membership loops back on itself: {' → '.join(loop)}")
    return (*stack, segment)


def _definition(segment: SegmentSpec) -> SegmentDefinition:
    if segment.definition is None:
        raise InvalidInput(f"segment {segment.name!r} has no conditions")
    return segment.definition


def _field(info: ModelInfo, name: str) -> Any:
    if name not in info.fields:
        raise InvalidInput(f"model {info.name!r} has no field {name!r}")
    return info.fields[name]


def _column(table: Any, info: ModelInfo, name: str) -> Any:
    _field(info, name)
    return table[name]
