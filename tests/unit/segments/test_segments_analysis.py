"""Preview, breakdowns, overlap, show SQL, audience rows, membership cycles and remote segments on DuckDB."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta, timezone
from typing import Any

import ibis
import pytest

from sluice.core.errors import InvalidInput, NotFound
from sluice.schemas.segments import SegmentDefinition
from sluice.segments.audience import segment_rows
from sluice.segments.breakdowns import breakdown
from sluice.segments.compiler import SegmentCompiler
from sluice.segments.overlap import overlap
from sluice.segments.preview import count, preview
from sluice.segments.remote import MEMBER_COLUMN
from sluice.segments.spec import RemoteSource, SegmentSpec, SegmentType, StaticSegments
from sluice.segments.sql import segment_sql
from sluice.segments.testing import duckdb_catalog

NOW = datetime(2024, 3, 1, 12, 0, tzinfo=UTC)
USERS = [
    {
        "user_id": 1,
        "row_no": 0,
        "email": "ann@x.fr",
        "country": "FR",
        "tier": "gold",
        "age": 30,
        "created_at": datetime(2024, 2, 25),
    },
    {"user_id": 2, "row_no": 1, "email": "bob@x.de", "country": "DE", "tier": "gold", "age": 45},
    {"user_id": 3, "row_no": 2, "email": None, "country": "FR", "tier": "silver", "age": 17},
    {"user_id": 3, "row_no": 3, "email": "dup@x.fr", "country": "FR", "tier": "bronze", "age": 60},
    {"user_id": None, "row_no": 4, "email": "nokey@x.fr", "country": "FR", "tier": "gold", "age": 22},
    {
        "user_id": 6,
        "row_no": 5,
        "email": "'; DROP TABLE users; --",
        "country": "日本",
        "tier": None,
        "age": None,
    },
]
ORDERS = [
    {"order_id": 1, "user_id": 1, "status": "completed", "total": 300.0, "ordered_at": datetime(2024, 2, 1)},
    {"order_id": 2, "user_id": 1, "status": "completed", "total": 250.0, "ordered_at": datetime(2024, 2, 20)},
    {"order_id": 3, "user_id": 2, "status": "refunded", "total": 80.0, "ordered_at": datetime(2023, 1, 1)},
    {"order_id": 4, "user_id": None, "status": "completed", "total": 999.0},
]
EVENTS = [
    {"event_id": "a", "user_id": 2, "event_name": "email_open", "occurred_at": datetime(2024, 2, 28, 23, 0)},
    {"event_id": "b", "user_id": 3, "event_name": "add_to_cart", "occurred_at": datetime(2024, 2, 29, 8, 0)},
]


@pytest.fixture(scope="module")
def catalog() -> Any:
    return duckdb_catalog({"users": USERS, "orders": ORDERS, "events": EVENTS})


def spec(
    conditions: list[dict[str, Any]],
    *,
    sid: str = "draft",
    exclusions: list[dict[str, Any]] | None = None,
    op: str = "and",
) -> SegmentSpec:
    definition = SegmentDefinition.model_validate(
        {"conditions": {"op": op, "conditions": conditions}, "exclusions": exclusions or []}
    )
    return SegmentSpec(sid, sid, "users", definition=definition)


def rows_of(catalog: Any, segment: SegmentSpec, **kwargs: Any) -> list[int]:
    compiler = SegmentCompiler(catalog, now=NOW, **kwargs)
    return sorted(compiler.rows(segment).select("row_no").to_pyarrow().column(0).to_pylist())


FRENCH = {"kind": "property", "field": "country", "operator": "equals", "value": "FR"}
BIG_SPENDER = {
    "kind": "relation",
    "path": ["orders"],
    "aggregate": {"function": "sum", "field": "total", "operator": "gt", "value": 500},
}


def test_preview_counts_samples_and_explains_each_condition(catalog: Any) -> None:
    segment = spec([FRENCH, {"kind": "property", "field": "age", "operator": "gte", "value": 18}])
    result = preview(SegmentCompiler(catalog, now=NOW), segment, columns=["user_id", "email"], limit=2)
    assert (result.count, result.model_count) == (3, 6)
    assert result.columns == ["user_id", "email"]
    assert result.rows == [{"user_id": 1, "email": "ann@x.fr"}, {"user_id": 3, "email": "dup@x.fr"}]
    assert [(c.path, c.description, c.count) for c in result.conditions] == [
        ("conditions.0", "country equals 'FR'", 4),
        ("conditions.1", "age gte 18", 4),
    ]
    assert count(SegmentCompiler(catalog, now=NOW), segment) == 3


def test_preview_refuses_unknown_columns_with_a_clear_message(catalog: Any) -> None:
    with pytest.raises(InvalidInput, match="no field 'nope'"):
        preview(SegmentCompiler(catalog, now=NOW), spec([FRENCH]), columns=["nope"])


def test_breakdown_by_one_and_two_fields(catalog: Any) -> None:
    compiler = SegmentCompiler(catalog, now=NOW)
    by_tier = breakdown(compiler, spec([FRENCH]), ["tier"])
    assert (by_tier.segment_count, by_tier.model_count) == (4, 6)
    top = by_tier.buckets[0]
    assert top.values == {"tier": "gold"}
    assert (top.count, top.model_count) == (2, 3)
    assert (top.share_of_segment, top.share_of_model) == (0.5, 0.5)
    assert top.penetration == pytest.approx(2 / 3)
    two = breakdown(compiler, spec([FRENCH]), ["country", "tier"], limit=2)
    assert [b.values for b in two.buckets] == [
        {"country": "FR", "tier": "gold"},
        {"country": "FR", "tier": "bronze"},
    ]
    with pytest.raises(InvalidInput, match="not categorical"):
        breakdown(compiler, spec([FRENCH]), ["created_at"])


def test_overlap_gives_every_intersection_and_pairs(catalog: Any) -> None:
    compiler = SegmentCompiler(catalog, now=NOW)
    french, spenders, gold = (
        spec([FRENCH], sid="french"),
        spec([BIG_SPENDER], sid="spenders"),
        spec([{"kind": "property", "field": "tier", "operator": "equals", "value": "gold"}], sid="gold"),
    )
    result = overlap(compiler, [french, spenders, gold])
    assert result.sizes == {"french": 4, "spenders": 1, "gold": 3}
    assert (result.union, result.model_count) == (5, 6)
    exact = {tuple(i.segment_ids): i.count for i in result.intersections}
    assert exact == {("french",): 2, ("french", "spenders", "gold"): 1, ("french", "gold"): 1, ("gold",): 1}
    pairs = {(p.a, p.b): (p.count, p.share_of_a) for p in result.pairs}
    assert pairs[("french", "gold")] == (2, 0.5)
    with pytest.raises(InvalidInput, match="2 to 5"):
        overlap(compiler, [french])


def test_aggregates_treat_no_orders_as_zero_and_keys_as_written(catalog: Any) -> None:
    at_most_one = {
        "kind": "relation",
        "path": ["orders"],
        "aggregate": {"function": "count", "operator": "lte", "value": 1},
    }
    # Users 2, 3 (twice), null key and 6 have at most one order; the order without user counts for nobody.
    assert rows_of(catalog, spec([at_most_one])) == [1, 2, 3, 4, 5]
    assert rows_of(catalog, spec([BIG_SPENDER])) == [0]


def test_event_windows_follow_now_in_utc(catalog: Any) -> None:
    opened = {
        "kind": "event",
        "relationship": "events",
        "event_name": "email_open",
        "window": {"kind": "last_days", "days": 2},
    }
    assert rows_of(catalog, spec([opened])) == [1]
    # The same instant expressed in another time zone gives the same audience.
    compiler = SegmentCompiler(catalog, now=NOW.astimezone(timezone(timedelta(hours=-8))))
    assert compiler.rows(spec([opened])).count().execute() == 1
    later = SegmentCompiler(catalog, now=NOW + timedelta(days=1))
    assert later.rows(spec([opened])).count().execute() == 0


def test_relative_dates_are_deterministic_for_a_pinned_now(catalog: Any) -> None:
    recent = {"kind": "property", "field": "created_at", "operator": "within_last_days", "days": 7}
    assert rows_of(catalog, spec([recent])) == [0]
    compiler = SegmentCompiler(catalog, now=datetime(2024, 4, 1, tzinfo=UTC))
    assert compiler.rows(spec([recent])).count().execute() == 0


def test_membership_inlines_other_segments_and_refuses_cycles(catalog: Any) -> None:
    french = spec([FRENCH], sid="french")
    not_french = spec([{"kind": "segment", "segment_id": "french", "negate": True}], sid="not_french")
    saved = StaticSegments({"french": french, "not_french": not_french})
    assert rows_of(catalog, not_french, segments=saved) == [1, 5]
    a = spec([{"kind": "segment", "segment_id": "b"}], sid="a")
    b = spec([FRENCH, {"kind": "segment", "segment_id": "a"}], sid="b")
    loop = StaticSegments({"a": a, "b": b})
    with pytest.raises(InvalidInput, match="loops back on itself: a → b → a"):
        rows_of(catalog, a, segments=loop)
    with pytest.raises(NotFound, match="segment 'missing' not found"):
        rows_of(catalog, spec([{"kind": "segment", "segment_id": "missing"}]))


def test_exclusions_leave_out_matching_rows(catalog: Any) -> None:
    segment = spec([FRENCH], exclusions=[{"kind": "property", "field": "email", "operator": "is_null"}])
    assert rows_of(catalog, segment) == [0, 3, 4]


def test_remote_segments_read_members_through_the_extension_point(catalog: Any) -> None:
    remote = SegmentSpec(
        "r",
        "Mailchimp openers",
        "users",
        type=SegmentType.REMOTE,
        remote=RemoteSource(destination_id="d", remote_id="42", identifier_field="email"),
    )

    class Members:
        def members(self, segment: SegmentSpec, catalog: Any) -> Any:
            return ibis.memtable({MEMBER_COLUMN: ["bob@x.de", "dup@x.fr", None]})

    assert rows_of(catalog, remote, remote=Members()) == [1, 3]
    uses_remote = spec([FRENCH, {"kind": "segment", "segment_id": "r"}])
    assert rows_of(catalog, uses_remote, segments=StaticSegments({"r": remote}), remote=Members()) == [3]
    with pytest.raises(InvalidInput, match="has no members yet"):
        rows_of(catalog, remote)


def test_audience_rows_have_the_key_and_every_field(catalog: Any) -> None:
    rows = segment_rows(spec([FRENCH]), catalog, NOW)
    assert list(rows.columns) == list(catalog.models["users"].fields)
    assert rows.count().execute() == 4


def test_injection_unicode_and_long_values_match_literally(catalog: Any) -> None:
    injected = {
        "kind": "property",
        "field": "email",
        "operator": "equals",
        "value": "'; DROP TABLE users; --",
    }
    assert rows_of(catalog, spec([injected])) == [5]
    assert rows_of(
        catalog, spec([{"kind": "property", "field": "country", "operator": "in", "values": ["日本"]}])
    ) == [5]
    long = {"kind": "property", "field": "email", "operator": "contains", "value": "x" * 10_000}
    assert rows_of(catalog, spec([long])) == []
    wildcard = {"kind": "property", "field": "email", "operator": "contains", "value": "%"}
    assert rows_of(catalog, spec([wildcard])) == []
    assert catalog.tables["users"].count().execute() == 6


def test_show_sql_in_the_source_dialect_and_on_request(catalog: Any) -> None:
    compiler = SegmentCompiler(catalog, now=NOW)
    assert '"t0"."country" = \'FR\'' in segment_sql(compiler, spec([FRENCH]))
    assert "`t0`.`country` = 'FR'" in segment_sql(compiler, spec([FRENCH]), dialect="bigquery")
    with pytest.raises(InvalidInput, match="unknown SQL dialect"):
        segment_sql(compiler, spec([FRENCH]), dialect="cobol")


@pytest.mark.parametrize(
    ("condition", "message"),
    [
        ({"kind": "property", "field": "nope", "operator": "is_null"}, "no field 'nope'"),
        ({"kind": "property", "field": "age", "operator": "contains", "value": "1"}, "works on text fields"),
        ({"kind": "property", "field": "age", "operator": "equals", "value": "old"}, "not a valid integer"),
        (
            {"kind": "property", "field": "birth_date", "operator": "after", "value": "yesterday"},
            "not a date",
        ),
        ({"kind": "relation", "path": ["friends"]}, "no relationship 'friends'"),
        ({"kind": "event", "relationship": "orders"}, "not an events model"),
        (
            {
                "kind": "relation",
                "path": ["orders"],
                "aggregate": {"function": "sum", "field": "status", "operator": "gt", "value": 1},
            },
            "numeric field",
        ),
    ],
)
def test_impossible_conditions_are_refused_with_a_message(
    catalog: Any, condition: dict[str, Any], message: str
) -> None:
    with pytest.raises(InvalidInput, match=message):
        rows_of(catalog, spec([condition]))


def test_schema_refuses_missing_operands_and_absurd_trees() -> None:
    with pytest.raises(ValueError, match="needs a value"):
        SegmentDefinition.model_validate(
            {"conditions": {"conditions": [{"kind": "property", "field": "a", "operator": "equals"}]}}
        )
    deep: dict[str, Any] = {"kind": "group", "conditions": []}
    for _ in range(70):
        deep = {"kind": "group", "conditions": [deep]}
    with pytest.raises(ValueError, match="nest at most"):
        SegmentDefinition.model_validate({"conditions": deep})
    assert date(2024, 2, 29)  # leap-day anniversaries are covered by the property test
