"""Compiled segments equal the reference evaluator on DuckDB, PostgreSQL and fakesnow.

Hypothesis generates small shop datasets (nulls, duplicate and null keys, unicode and SQL-looking
strings, timestamps on window edges, empty relations) and random condition trees of every kind
(nested groups, negation, multi-hop relations with aggregates, events in windows, JSON properties,
segment membership, exclusions). The rows the compiled query returns must be exactly the rows the
plain-Python reference keeps.
"""

from __future__ import annotations

import json
import os
from collections.abc import Callable
from datetime import UTC, date, datetime, timedelta, timezone
from typing import Any

import fakesnow
import psycopg
import pyarrow as pa
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from sluice.models.catalog import FieldType
from sluice.schemas.segments import SegmentDefinition
from sluice.segments.compiler import SegmentCompiler
from sluice.segments.execution import to_arrow
from sluice.segments.reference import ReferenceEvaluator
from sluice.segments.spec import SegmentSpec, StaticSegments
from sluice.segments.testing import SHOP_LINKS, SHOP_MODELS, SqlCatalog, duckdb_catalog, unbound_catalog

NOWS = [
    datetime(2024, 3, 1, 12, 0, tzinfo=UTC),
    datetime(2023, 2, 28, 0, 0, tzinfo=UTC),  # anniversary of 29 February in a non-leap year
    datetime(2024, 3, 1, 0, 30, tzinfo=timezone(timedelta(hours=2))),  # 29 Feb 22:30 UTC
]
DAYS = [0, 1, 7, 30]
STRINGS = ["FR", "fr", "DE", "Zoë", "日本", "", "a%b_c", "'; DROP TABLE users; --", "x" * 10_000, 'q"uote']
TIERS = ["gold", "silver", "bronze"]
CATEGORIES = ["shoes", "books", "toys"]
EVENT_NAMES = ["page_view", "purchase", "add_to_cart"]
NUMBERS = [-2.5, 0, 0.5, 1, 2, 3, 10, 99.5]


def _moments(now: datetime) -> st.SearchStrategy[datetime]:
    base = now.astimezone(UTC).replace(tzinfo=None)
    edges = [base - timedelta(days=d) for d in DAYS] + [base + timedelta(days=d) for d in DAYS]
    offsets = st.builds(
        lambda d, s: base + timedelta(days=d, seconds=s),
        st.integers(-40, 40),
        st.sampled_from([0, -1, 1, 3600, -43200]),
    )
    day_starts = st.sampled_from(
        [datetime(base.year, base.month, base.day) - timedelta(days=d) for d in (0, 1, 2)]
    )
    return st.one_of(st.sampled_from(edges), offsets, day_starts)


def _dates(now: datetime) -> st.SearchStrategy[date]:
    today = now.astimezone(UTC).date()
    near = st.builds(lambda d: today + timedelta(days=d), st.integers(-40, 40))
    birthdays = st.sampled_from([date(1990, 2, 28), date(1992, 2, 29), date(1984, today.month, today.day)])
    return st.one_of(near, birthdays)


def _maybe(strategy: st.SearchStrategy[Any]) -> st.SearchStrategy[Any]:
    return st.one_of(st.none(), strategy)


@st.composite
def datasets(draw: st.DrawFn, now: datetime) -> dict[str, list[dict[str, Any]]]:
    moments, dates = _moments(now), _dates(now)
    keys = _maybe(st.integers(1, 5))
    users = [
        {
            "user_id": draw(keys),
            "row_no": i,
            "email": draw(_maybe(st.sampled_from(STRINGS))),
            "country": draw(_maybe(st.sampled_from(STRINGS))),
            "tier": draw(_maybe(st.sampled_from(TIERS))),
            "age": draw(_maybe(st.integers(-1, 90))),
            "score": draw(_maybe(st.sampled_from(NUMBERS))),
            "vip": draw(_maybe(st.booleans())),
            "birth_date": draw(_maybe(dates)),
            "created_at": draw(_maybe(moments)),
            "company_id": draw(_maybe(st.integers(1, 3))),
        }
        for i in range(draw(st.integers(0, 7)))
    ]
    companies = [
        {
            "company_id": draw(keys),
            "industry": draw(_maybe(st.sampled_from(STRINGS[:4]))),
            "employees": i * 10,
        }
        for i in range(draw(st.integers(0, 3)))
    ]
    orders = [
        {
            "order_id": i + 1,
            "user_id": draw(keys),
            "status": draw(st.sampled_from(["completed", "refunded"])),
            "total": draw(_maybe(st.sampled_from(NUMBERS))),
            "ordered_at": draw(_maybe(moments)),
        }
        for i in range(draw(st.integers(0, 8)))
    ]
    items = [
        {
            "order_item_id": i,
            "order_id": draw(_maybe(st.integers(1, 6))),
            "product_id": draw(_maybe(st.integers(1, 3))),
            "quantity": draw(st.integers(1, 3)),
        }
        for i in range(draw(st.integers(0, 8)))
    ]
    products = [{"product_id": i + 1, "category": draw(st.sampled_from(CATEGORIES))} for i in range(3)]
    properties = st.one_of(
        st.none(),
        st.fixed_dictionaries(
            {}, optional={"revenue": st.sampled_from(NUMBERS), "page": st.sampled_from(STRINGS[:5])}
        ),
    )
    events = [
        {
            "event_id": f"e{i}",
            "user_id": draw(keys),
            "event_name": draw(st.sampled_from(EVENT_NAMES)),
            "occurred_at": draw(_maybe(moments)),
            "properties": draw(properties),
        }
        for i in range(draw(st.integers(0, 9)))
    ]
    return {
        "users": users,
        "companies": companies,
        "orders": orders,
        "order_items": items,
        "products": products,
        "events": events,
    }


VALUES: dict[FieldType, st.SearchStrategy[Any]] = {
    FieldType.STRING: st.sampled_from(STRINGS + TIERS + CATEGORIES + EVENT_NAMES + ["completed"]),
    FieldType.INTEGER: st.sampled_from([0, 1, 2, 3, 5, 30, 60]),
    FieldType.FLOAT: st.sampled_from(NUMBERS),
    FieldType.BOOLEAN: st.booleans(),
}
OPERATORS = {
    FieldType.STRING: [
        "equals",
        "not_equals",
        "in",
        "not_in",
        "contains",
        "not_contains",
        "starts_with",
        "ends_with",
    ],
    FieldType.INTEGER: ["equals", "not_equals", "in", "gt", "gte", "lt", "lte", "between", "not_between"],
    FieldType.FLOAT: ["equals", "gt", "lte", "between", "not_in"],
    FieldType.BOOLEAN: ["equals", "not_equals"],
    FieldType.DATE: [
        "equals",
        "before",
        "after",
        "between",
        "within_last_days",
        "more_than_days_ago",
        "within_next_days",
        "anniversary",
        "gte",
        "lte",
        "in",
    ],
    FieldType.TIMESTAMP: [
        "equals",
        "before",
        "after",
        "between",
        "within_last_days",
        "more_than_days_ago",
        "within_next_days",
        "gt",
        "lte",
        "not_between",
    ],
}


@st.composite
def properties(draw: st.DrawFn, model: str, now: datetime) -> dict[str, Any]:
    info = SHOP_MODELS[model]
    name = draw(st.sampled_from(sorted(info.fields)))
    ftype = info.fields[name].type
    node: dict[str, Any] = {"kind": "property", "field": name, "negate": draw(st.booleans())}
    if ftype == FieldType.JSON:
        key = draw(st.sampled_from(["revenue", "page"]))
        op = draw(st.sampled_from(["gt", "equals", "lte"] if key == "revenue" else ["equals", "contains"]))
        value = draw(st.sampled_from(NUMBERS if key == "revenue" else STRINGS[:5]))
        return node | {"path": [key], "operator": op, "value": value}
    if draw(st.integers(0, 9)) == 0:
        return node | {"operator": draw(st.sampled_from(["is_null", "is_not_null"]))}
    op = draw(st.sampled_from(OPERATORS[ftype]))
    if ftype in (FieldType.DATE, FieldType.TIMESTAMP):
        values = st.one_of(
            _dates(now).map(date.isoformat),
            _moments(now).map(lambda m: m.isoformat()),
        )
    else:
        values = VALUES[ftype]
    if op in {"in", "not_in"}:
        return node | {"operator": op, "values": draw(st.lists(values, min_size=1, max_size=3))}
    if op in {"between", "not_between"}:
        low, high = sorted(draw(st.lists(values, min_size=2, max_size=2)))
        return node | {"operator": op, "values": [low, high]}
    if op in {"within_last_days", "more_than_days_ago", "within_next_days"}:
        return node | {"operator": op, "days": draw(st.sampled_from(DAYS))}
    if op == "anniversary":
        return node | {"operator": op}
    return node | {"operator": op, "value": draw(values)}


def conditions(
    model: str, now: datetime, depth: int, segment_ids: list[str]
) -> st.SearchStrategy[dict[str, Any]]:
    leaves: list[st.SearchStrategy[dict[str, Any]]] = [properties(model, now)]
    if depth > 0:
        leaves.append(groups(model, now, depth - 1, segment_ids))
        if any(link.from_model == model for link in SHOP_LINKS):
            leaves.append(relations(model, now, depth - 1))
        if model == "users":
            leaves.append(events(now, depth - 1))
    if model == "users" and segment_ids:
        leaves.append(
            st.builds(
                lambda sid, neg: {"kind": "segment", "segment_id": sid, "negate": neg},
                st.sampled_from(segment_ids),
                st.booleans(),
            )
        )
    return st.one_of(leaves)


@st.composite
def groups(draw: st.DrawFn, model: str, now: datetime, depth: int, segment_ids: list[str]) -> dict[str, Any]:
    children = draw(st.lists(conditions(model, now, depth, segment_ids), max_size=3))
    return {
        "kind": "group",
        "op": draw(st.sampled_from(["and", "or"])),
        "negate": draw(st.booleans()),
        "conditions": children,
    }


@st.composite
def relations(draw: st.DrawFn, model: str, now: datetime, depth: int) -> dict[str, Any]:
    outgoing = [link for link in SHOP_LINKS if link.from_model == model]
    first = draw(st.sampled_from(outgoing))
    path = [first]
    onward = [link for link in SHOP_LINKS if link.from_model == first.to_model and link.to_model != model]
    if onward and draw(st.booleans()):
        path.append(draw(st.sampled_from(onward)))
    target = path[-1].to_model
    node: dict[str, Any] = {
        "kind": "relation",
        "path": [link.name for link in path],
        "negate": draw(st.booleans()),
        "where": draw(groups(target, now, depth, [])),
    }
    if draw(st.booleans()):
        numeric = [
            n for n, f in SHOP_MODELS[target].fields.items() if f.type in (FieldType.INTEGER, FieldType.FLOAT)
        ]
        function = draw(st.sampled_from(["count", "sum", "avg", "min", "max"]))
        operator = draw(st.sampled_from(["equals", "not_equals", "gt", "gte", "lt", "lte", "between"]))
        aggregate: dict[str, Any] = {"function": function, "operator": operator}
        if function != "count":
            aggregate["field"] = draw(st.sampled_from(numeric))
        if operator == "between":
            aggregate["values"] = sorted(draw(st.lists(st.sampled_from(NUMBERS), min_size=2, max_size=2)))
        else:
            aggregate["value"] = draw(st.sampled_from(NUMBERS))
        node["aggregate"] = aggregate
    return node


@st.composite
def events(draw: st.DrawFn, now: datetime, depth: int) -> dict[str, Any]:
    window = draw(
        st.one_of(
            st.none(),
            st.builds(lambda d: {"kind": "last_days", "days": d}, st.sampled_from([1, 7, 30])),
            st.builds(
                lambda a, b: {"kind": "between", "start": min(a, b), "end": max(a, b)},
                _dates(now).map(date.isoformat),
                _dates(now).map(date.isoformat),
            ),
        )
    )
    return {
        "kind": "event",
        "relationship": "events",
        "event_name": draw(_maybe(st.sampled_from(EVENT_NAMES))),
        "negate": draw(st.booleans()),
        "window": window,
        "frequency": {
            "operator": draw(st.sampled_from(["at_least", "at_most", "exactly"])),
            "count": draw(st.integers(0, 3)),
        },
        "where": draw(groups("events", now, min(depth, 0), [])),
    }


@st.composite
def cases(
    draw: st.DrawFn,
) -> tuple[datetime, dict[str, list[dict[str, Any]]], dict[str, SegmentSpec], SegmentSpec]:
    now = draw(st.sampled_from(NOWS))
    saved: dict[str, SegmentSpec] = {}
    for index in range(draw(st.integers(0, 2))):
        tree = draw(groups("users", now, 1, list(saved)))
        saved[f"s{index}"] = SegmentSpec(
            f"s{index}",
            f"saved {index}",
            "users",
            definition=SegmentDefinition.model_validate({"conditions": tree}),
        )
    tree = draw(groups("users", now, 2, list(saved)))
    exclusions = draw(st.lists(conditions("users", now, 1, list(saved)), max_size=2))
    definition = SegmentDefinition.model_validate({"conditions": tree, "exclusions": exclusions})
    return now, draw(datasets(now)), saved, SegmentSpec.of("users", definition)


Loader = Callable[[dict[str, list[dict[str, Any]]]], Any]


def _check(
    loader: Loader,
    case: tuple[datetime, dict[str, list[dict[str, Any]]], dict[str, SegmentSpec], SegmentSpec],
) -> None:
    now, data, saved, segment = case
    catalog = loader(data)
    compiler = SegmentCompiler(catalog, now=now, segments=StaticSegments(saved))
    result: pa.Table = to_arrow(catalog, compiler.rows(segment).select("row_no"))
    compiled = sorted(result.column(0).to_pylist())
    reference = ReferenceEvaluator(SHOP_MODELS, SHOP_LINKS, data, now, segments=saved)
    expected = sorted(row["row_no"] for row in reference.rows(segment))
    assert compiled == expected, (
        segment.definition.model_dump_json(exclude_defaults=True) if segment.definition else ""
    )


PROFILE = settings(
    max_examples=int(os.environ.get("SEGMENT_EXAMPLES", "100")),
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)


@PROFILE
@given(case=cases())
def test_compiled_segments_equal_the_reference_on_duckdb(case: Any) -> None:
    _check(duckdb_catalog, case)


PG_TYPES = {
    FieldType.INTEGER: "BIGINT",
    FieldType.FLOAT: "DOUBLE PRECISION",
    FieldType.STRING: "TEXT",
    FieldType.BOOLEAN: "BOOLEAN",
    FieldType.DATE: "DATE",
    FieldType.TIMESTAMP: "TIMESTAMP",
    FieldType.JSON: "JSON",
}
SNOWFLAKE_TYPES = PG_TYPES | {
    FieldType.FLOAT: "DOUBLE",
    FieldType.STRING: "VARCHAR",
    FieldType.JSON: "VARIANT",
}
SMALL_PROFILE = settings(
    max_examples=int(os.environ.get("SEGMENT_EXAMPLES_REMOTE", "30")),
    deadline=None,
    suppress_health_check=list(HealthCheck),
)


def _row_values(model: str, row: dict[str, Any]) -> list[Any]:
    values = []
    for name, info in SHOP_MODELS[model].fields.items():
        value = row.get(name)
        values.append(json.dumps(value) if info.type == FieldType.JSON and value is not None else value)
    return values


@pytest.mark.postgres
@SMALL_PROFILE
@given(case=cases())
def test_compiled_segments_equal_the_reference_on_postgres(case: Any, pg_database: str) -> None:
    dsn = pg_database.replace("postgresql+psycopg://", "postgresql://")

    def load(data: dict[str, list[dict[str, Any]]]) -> SqlCatalog:
        with psycopg.connect(dsn, autocommit=True) as conn:
            conn.execute("DROP SCHEMA IF EXISTS shop CASCADE")
            conn.execute("CREATE SCHEMA shop")
            for model, info in SHOP_MODELS.items():
                columns = ", ".join(f'"{n}" {PG_TYPES[f.type]}' for n, f in info.fields.items())
                conn.execute(f'CREATE TABLE shop."{model}" ({columns})')
                marks = ", ".join(["%s"] * len(info.fields))
                rows = [_row_values(model, row) for row in data.get(model, [])]
                if rows:
                    conn.cursor().executemany(f'INSERT INTO shop."{model}" VALUES ({marks})', rows)

        def run(sql: str) -> pa.Table:
            with psycopg.connect(dsn, options="-c search_path=shop") as conn:
                rows = conn.execute(sql).fetchall()
            return pa.table({"row_no": [row[0] for row in rows]}, schema=pa.schema([("row_no", pa.int64())]))

        return SqlCatalog("postgres", run, unbound_catalog("postgres"))

    _check(load, case)


def _reads_json(case: Any) -> bool:
    _now, _data, saved, segment = case
    specs = [segment, *saved.values()]
    return any('"path":[' in spec.definition.model_dump_json() for spec in specs if spec.definition)


@SMALL_PROFILE
@given(case=cases().filter(lambda case: not _reads_json(case)))
def test_compiled_segments_equal_the_reference_on_fakesnow(case: Any) -> None:
    """fakesnow lacks Snowflake's AS_VARCHAR / AS_DOUBLE, so JSON paths are left out here (see below)."""

    def load(data: dict[str, list[dict[str, Any]]]) -> SqlCatalog:
        cursor = snowflake_connection.cursor()
        cursor.execute("CREATE OR REPLACE SCHEMA shop")
        cursor.execute("USE SCHEMA shop")
        for model, info in SHOP_MODELS.items():
            columns = ", ".join(f'"{n}" {SNOWFLAKE_TYPES[f.type]}' for n, f in info.fields.items())
            cursor.execute(f'CREATE OR REPLACE TABLE "{model}" ({columns})')
            for row in data.get(model, []):
                values = _row_values(model, row)
                selects = ", ".join(
                    "PARSE_JSON(%s)" if f.type == FieldType.JSON else "%s" for f in info.fields.values()
                )
                cursor.execute(f'INSERT INTO "{model}" SELECT {selects}', values)

        def run(sql: str) -> pa.Table:
            cursor.execute(sql)
            rows = cursor.fetchall()
            return pa.table({"row_no": [row[0] for row in rows]}, schema=pa.schema([("row_no", pa.int64())]))

        return SqlCatalog("snowflake", run, unbound_catalog("snowflake"))

    with fakesnow.patch():
        import snowflake.connector

        snowflake_connection = snowflake.connector.connect(database="sluice", schema="shop")
        try:
            _check(load, case)
        finally:
            snowflake_connection.close()


@pytest.mark.xfail(strict=True, reason="fakesnow does not implement Snowflake's AS_DOUBLE on VARIANT")
def test_json_paths_run_on_fakesnow() -> None:
    definition = SegmentDefinition.model_validate(
        {
            "conditions": {
                "conditions": [
                    {
                        "kind": "event",
                        "relationship": "events",
                        "where": {
                            "conditions": [
                                {
                                    "kind": "property",
                                    "field": "properties",
                                    "path": ["revenue"],
                                    "operator": "gt",
                                    "value": 1,
                                }
                            ]
                        },
                    }
                ]
            }
        }
    )
    data: dict[str, list[dict[str, Any]]] = {
        "users": [{"user_id": 1, "row_no": 0}],
        "events": [{"event_id": "e", "user_id": 1, "event_name": "purchase", "properties": {"revenue": 5}}],
    }
    test_compiled_segments_equal_the_reference_on_fakesnow.hypothesis.inner_test(  # type: ignore[attr-defined]
        (NOWS[0], data, {}, SegmentSpec.of("users", definition))
    )
