"""The segment condition tree (version 1) and the segment API schemas.

A segment over a parent model is a :class:`SegmentDefinition`: a root group of conditions that rows
must match, and optional exclusions ("… but not in …"). Every node is one of:

- :class:`GroupCondition` — ``and`` / ``or`` over child conditions, nested to any depth;
- :class:`PropertyCondition` — a field (stored or calculated) compared with literal values;
- :class:`RelationCondition` — related rows along one or more relationships (multi-hop): exist, or an
  aggregate (count, sum, avg, min, max) of a related field compared with a value;
- :class:`EventCondition` — events on an events model performed at least / at most / exactly N times,
  optionally within a time window and with filters on event fields;
- :class:`SegmentCondition` — membership of another segment.

Every node has ``negate``: the node then matches exactly the rows the un-negated node does not match
(so "did not perform", "not exists" and "not in segment" are negations). Conditions are two-valued:
a comparison with a missing (null) value is false, and its negation is true.
"""

from __future__ import annotations

from datetime import date, datetime
from enum import StrEnum
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator

SCHEMA_VERSION = 1
MAX_NODES = 1000
MAX_DEPTH = 64

Scalar = bool | int | float | str
"""A literal a user compares with (dates and timestamps are ISO strings)."""


class PropertyOperator(StrEnum):
    """Operators of property conditions; which ones fit depends on the field's type."""

    EQUALS = "equals"
    NOT_EQUALS = "not_equals"
    IN = "in"
    NOT_IN = "not_in"
    CONTAINS = "contains"
    NOT_CONTAINS = "not_contains"
    STARTS_WITH = "starts_with"
    ENDS_WITH = "ends_with"
    IS_NULL = "is_null"
    IS_NOT_NULL = "is_not_null"
    GT = "gt"
    GTE = "gte"
    LT = "lt"
    LTE = "lte"
    BETWEEN = "between"
    NOT_BETWEEN = "not_between"
    BEFORE = "before"
    AFTER = "after"
    WITHIN_LAST_DAYS = "within_last_days"
    MORE_THAN_DAYS_AGO = "more_than_days_ago"
    WITHIN_NEXT_DAYS = "within_next_days"
    ANNIVERSARY = "anniversary"


SINGLE_VALUE = {
    PropertyOperator.EQUALS,
    PropertyOperator.NOT_EQUALS,
    PropertyOperator.CONTAINS,
    PropertyOperator.NOT_CONTAINS,
    PropertyOperator.STARTS_WITH,
    PropertyOperator.ENDS_WITH,
    PropertyOperator.GT,
    PropertyOperator.GTE,
    PropertyOperator.LT,
    PropertyOperator.LTE,
    PropertyOperator.BEFORE,
    PropertyOperator.AFTER,
}
LIST_VALUE = {PropertyOperator.IN, PropertyOperator.NOT_IN}
RANGE_VALUE = {PropertyOperator.BETWEEN, PropertyOperator.NOT_BETWEEN}
DAYS_VALUE = {
    PropertyOperator.WITHIN_LAST_DAYS,
    PropertyOperator.MORE_THAN_DAYS_AGO,
    PropertyOperator.WITHIN_NEXT_DAYS,
}
NO_VALUE = {PropertyOperator.IS_NULL, PropertyOperator.IS_NOT_NULL, PropertyOperator.ANNIVERSARY}
STRING_ONLY = {
    PropertyOperator.CONTAINS,
    PropertyOperator.NOT_CONTAINS,
    PropertyOperator.STARTS_WITH,
    PropertyOperator.ENDS_WITH,
}
DATE_ONLY = {PropertyOperator.BEFORE, PropertyOperator.AFTER, PropertyOperator.ANNIVERSARY} | DAYS_VALUE


class Comparison(StrEnum):
    """How an aggregate or count is compared with a number."""

    EQUALS = "equals"
    NOT_EQUALS = "not_equals"
    GT = "gt"
    GTE = "gte"
    LT = "lt"
    LTE = "lte"
    BETWEEN = "between"


class _Node(BaseModel):
    model_config = ConfigDict(extra="forbid")

    negate: bool = Field(default=False, description="Match exactly the rows this condition does not match.")


class GroupCondition(_Node):
    """``and`` (all children) or ``or`` (any child). An empty group matches every row."""

    kind: Literal["group"] = "group"
    op: Literal["and", "or"] = "and"
    conditions: list[Condition] = Field(default_factory=list)


class PropertyCondition(_Node):
    """``field <operator> value`` on the model in scope.

    ``value`` for single-value operators, ``values`` for ``in`` / ``not_in`` and ``[low, high]`` for
    ``between`` (inclusive), ``days`` for relative dates (counted from the evaluation time, ``now``).
    ``path`` reads a key inside a JSON field (``["revenue"]`` of ``properties``).
    """

    kind: Literal["property"] = "property"
    field: str = Field(min_length=1, max_length=200)
    path: list[str] | None = Field(default=None, description="Keys into a JSON field.")
    operator: PropertyOperator
    value: Scalar | None = None
    values: list[Scalar] | None = None
    days: int | None = Field(default=None, ge=0, le=100_000)

    @model_validator(mode="after")
    def _check_operands(self) -> PropertyCondition:
        op = self.operator
        if op in SINGLE_VALUE and self.value is None:
            raise ValueError(f"operator {op.value!r} needs a value")
        if op in LIST_VALUE and not self.values:
            raise ValueError(f"operator {op.value!r} needs a non-empty list of values")
        if op in RANGE_VALUE and (self.values is None or len(self.values) != 2):
            raise ValueError(f"operator {op.value!r} needs values [low, high]")
        if op in DAYS_VALUE and self.days is None:
            raise ValueError(f"operator {op.value!r} needs a number of days")
        return self


class Aggregate(BaseModel):
    """An aggregate of related rows compared with a number.

    Related rows of no kind give ``count = 0`` and ``sum = 0``; ``avg``, ``min`` and ``max`` of no rows
    have no value, so their comparison is false.
    """

    model_config = ConfigDict(extra="forbid")

    function: Literal["count", "sum", "avg", "min", "max"]
    field: str | None = Field(default=None, description="Field of the related model (not for count).")
    operator: Comparison
    value: float | None = None
    values: list[float] | None = None

    @model_validator(mode="after")
    def _check(self) -> Aggregate:
        if self.function != "count" and not self.field:
            raise ValueError(f"aggregate {self.function!r} needs a field")
        _check_comparison(self.operator, self.value, self.values)
        return self


class RelationCondition(_Node):
    """Related rows along ``path`` (relationship names, hop by hop) that match ``where``.

    Without ``aggregate`` the condition means "at least one related row matches"; ``negate`` makes it
    "no related row matches". With ``aggregate`` it compares an aggregate over the matching rows.
    """

    kind: Literal["relation"] = "relation"
    path: list[str] = Field(min_length=1, max_length=8)
    where: GroupCondition = Field(default_factory=GroupCondition)
    aggregate: Aggregate | None = None


class Frequency(BaseModel):
    """How many matching events: ``at_least`` / ``at_most`` / ``exactly`` ``count``."""

    model_config = ConfigDict(extra="forbid")

    operator: Literal["at_least", "at_most", "exactly"] = "at_least"
    count: int = Field(default=1, ge=0, le=1_000_000_000)


class LastDaysWindow(BaseModel):
    """Events in the last ``days`` days up to the evaluation time."""

    model_config = ConfigDict(extra="forbid")

    kind: Literal["last_days"] = "last_days"
    days: int = Field(ge=1, le=100_000)


class BetweenWindow(BaseModel):
    """Events from ``start`` to ``end``; dates include the whole day."""

    model_config = ConfigDict(extra="forbid")

    kind: Literal["between"] = "between"
    start: date | datetime
    end: date | datetime

    @model_validator(mode="after")
    def _ordered(self) -> BetweenWindow:
        if _as_datetime(self.start) > _as_datetime(self.end):
            raise ValueError("window start is after its end")
        return self


Window = Annotated[LastDaysWindow | BetweenWindow, Field(discriminator="kind")]


class EventCondition(_Node):
    """Performed event ``event_name`` (any event when null) a number of times, in a window.

    ``relationship`` leads from the parent model to an events model; ``where`` filters the events on
    their fields (JSON property keys through ``path``). ``negate`` reads "did not perform".
    """

    kind: Literal["event"] = "event"
    relationship: str = Field(min_length=1, max_length=200)
    event_name: str | None = None
    where: GroupCondition = Field(default_factory=GroupCondition)
    frequency: Frequency = Field(default_factory=Frequency)
    window: Window | None = None


class SegmentCondition(_Node):
    """Rows that are members of segment ``segment_id`` (same parent model, or remote); cycles are refused."""

    kind: Literal["segment"] = "segment"
    segment_id: str = Field(min_length=1, max_length=200)


Condition = Annotated[
    GroupCondition | PropertyCondition | RelationCondition | EventCondition | SegmentCondition,
    Field(discriminator="kind"),
]


class SegmentDefinition(BaseModel):
    """A versioned condition tree: rows matching ``conditions`` and none of ``exclusions``."""

    model_config = ConfigDict(extra="forbid")

    version: Literal[1] = 1
    conditions: GroupCondition = Field(default_factory=GroupCondition)
    exclusions: list[Condition] = Field(
        default_factory=list, description="Rows matching any of these are left out ('… but not in …')."
    )

    @model_validator(mode="after")
    def _bounded(self) -> SegmentDefinition:
        nodes = count_nodes(self.conditions, depth=1) + sum(count_nodes(c, 1) for c in self.exclusions)
        if nodes > MAX_NODES:
            raise ValueError(f"a segment has at most {MAX_NODES} conditions (this one has {nodes})")
        return self


def count_nodes(node: Any, depth: int) -> int:
    """Number of conditions under ``node``; refuses trees deeper than :data:`MAX_DEPTH`."""
    if depth > MAX_DEPTH:
        raise ValueError(f"conditions nest at most {MAX_DEPTH} levels deep")
    total = 1
    if isinstance(node, GroupCondition):
        total += sum(count_nodes(child, depth + 1) for child in node.conditions)
    elif isinstance(node, RelationCondition | EventCondition):
        total += count_nodes(node.where, depth + 1)
    return total


def _check_comparison(operator: Comparison, value: float | None, values: list[float] | None) -> None:
    if operator == Comparison.BETWEEN:
        if values is None or len(values) != 2:
            raise ValueError("between needs values [low, high]")
    elif value is None:
        raise ValueError(f"comparison {operator.value!r} needs a value")


def _as_datetime(value: date | datetime) -> datetime:
    if isinstance(value, datetime):
        return value.replace(tzinfo=None)
    return datetime(value.year, value.month, value.day)


GroupCondition.model_rebuild()
RelationCondition.model_rebuild()
EventCondition.model_rebuild()
SegmentDefinition.model_rebuild()


# -- API schemas ---------------------------------------------------------------------------------


class RemoteSourceSpec(BaseModel):
    """Where a remote segment's members come from: a destination's segment, joined on one identifier.

    ``remote_kind`` is the kind of object read (an Intercom ``tag`` or ``segment``, a Mailchimp
    ``static_segment``…; default: the destination's default target kind); ``remote_identifier`` is
    the platform identifier read from each member, matched with the model's ``identifier_field``.
    """

    model_config = ConfigDict(extra="forbid")

    destination_id: str = Field(min_length=1, max_length=26)
    remote_id: str = Field(min_length=1, max_length=500, description="The segment's id in the destination.")
    identifier_field: str = Field(
        min_length=1, max_length=200, description="Field of the model holding the shared identifier."
    )
    remote_kind: str | None = Field(
        default=None, max_length=100, description="Kind of remote object (tag, segment, static_segment…)."
    )
    remote_identifier: Literal["email", "external_id", "platform_id", "phone"] = Field(
        default="email", description="The platform identifier matched with identifier_field."
    )


class RemoteRefreshOut(BaseModel):
    """One refresh of a remote segment."""

    model_config = ConfigDict(from_attributes=True)

    id: str
    segment_id: str
    state: str
    trigger: str
    requested_by: str
    created_at: datetime
    started_at: datetime | None
    finished_at: datetime | None
    ids_read: int | None
    ids_matched: int | None
    ids_unmatched: int | None
    rows: int | None
    unmatched_sample: list[str]
    storage: str | None
    error: str | None


class RemotePlatformOut(BaseModel):
    """A destination type and whether remote segments can read from it (and why not)."""

    type: str
    title: str
    supported: bool
    reason: str
    remote_kinds: list[str]
    identifiers: list[str]


class SegmentCreate(BaseModel):
    """A segment over ``model_id``: a condition tree (``definition``) or a remote segment (``remote``)."""

    model_config = ConfigDict(extra="forbid")

    name: str = Field(min_length=1, max_length=200)
    description: str = ""
    model_id: str = Field(min_length=1, max_length=26)
    type: Literal["conditions", "remote"] = "conditions"
    definition: SegmentDefinition | None = None
    remote: RemoteSourceSpec | None = None
    refresh_schedule: dict[str, Any] | None = Field(
        default=None,
        description="Remote segments: when members are refreshed (a schedule, e.g. "
        '{"kind": "interval", "hours": 6}; default manual).',
    )

    @model_validator(mode="after")
    def _matches_type(self) -> SegmentCreate:
        if self.type == "remote" and self.remote is None:
            raise ValueError("a remote segment needs remote (destination_id, remote_id, identifier_field)")
        if self.type == "conditions" and self.remote is not None:
            raise ValueError("remote is only for segments of type 'remote'")
        if self.type == "remote" and self.definition is not None:
            raise ValueError("a remote segment has no conditions")
        if self.type == "conditions" and self.refresh_schedule is not None:
            raise ValueError("refresh_schedule is only for segments of type 'remote'")
        return self


class SegmentUpdate(BaseModel):
    model_config = ConfigDict(extra="forbid")

    name: str | None = Field(default=None, min_length=1, max_length=200)
    description: str | None = None
    definition: SegmentDefinition | None = None
    remote: RemoteSourceSpec | None = None
    refresh_schedule: dict[str, Any] | None = None


class SegmentOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: str
    workspace_id: str
    name: str
    description: str
    model_id: str
    type: str
    definition: SegmentDefinition | None
    remote: RemoteSourceSpec | None
    refresh_schedule: dict[str, Any] | None = None
    members_refreshed_at: datetime | None = None
    next_refresh_at: datetime | None = None
    materialized_table: str | None = None
    materialized_at: datetime | None = None
    materialized_rows: int | None = None
    created_at: datetime
    updated_at: datetime


class DraftPreviewRequest(BaseModel):
    """Preview of the builder's current, unsaved state."""

    model_config = ConfigDict(extra="forbid")

    model_id: str = Field(min_length=1, max_length=26)
    definition: SegmentDefinition = Field(default_factory=SegmentDefinition)
    columns: list[str] | None = None
    limit: int = Field(default=20, ge=0, le=500)
    explain: bool = True
    now: datetime | None = Field(default=None, description="Evaluation time (default: now, UTC).")
    preview_key: str | None = Field(
        default=None,
        max_length=100,
        description="One per open builder: a newer preview with the same key stops this one (409 superseded).",
    )


class ConditionCountOut(BaseModel):
    path: str = Field(description="Where the condition sits: conditions.0.1, exclusions.0, …")
    description: str
    count: int


class SegmentPreviewOut(BaseModel):
    count: int
    model_count: int
    columns: list[str]
    rows: list[dict[str, Any]]
    conditions: list[ConditionCountOut]
    evaluated_at: datetime


class SegmentSqlOut(BaseModel):
    dialect: str
    sql: str


class EstimateOut(BaseModel):
    count: int
    evaluated_at: datetime


class MaterializeOut(BaseModel):
    """Where the segment's keys were written; other segments' membership conditions read them
    while the segment is unchanged and the keys are at most a day old."""

    schema_name: str = Field(alias="schema", serialization_alias="schema")
    table: str
    key_column: str
    rows: int
    materialized_at: datetime

    model_config = ConfigDict(populate_by_name=True)


class BucketOut(BaseModel):
    values: dict[str, Any]
    count: int
    model_count: int
    share_of_segment: float
    share_of_model: float
    penetration: float


class BreakdownOut(BaseModel):
    fields: list[str]
    segment_count: int
    model_count: int
    buckets: list[BucketOut]


class OverlapRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")

    segment_ids: list[str] = Field(min_length=2, max_length=5)
    now: datetime | None = None


class IntersectionOut(BaseModel):
    segment_ids: list[str]
    count: int


class PairOverlapOut(BaseModel):
    a: str
    b: str
    count: int
    share_of_a: float
    share_of_b: float


class OverlapOut(BaseModel):
    sizes: dict[str, int]
    union: int
    model_count: int
    intersections: list[IntersectionOut]
    pairs: list[PairOverlapOut]
