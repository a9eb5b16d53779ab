"""The identity graph computed in the warehouse, on DuckDB and PostgreSQL."""

from __future__ import annotations

import hashlib
import secrets
from collections.abc import Iterator
from typing import Any

import ibis
import pytest

from sluice.identity.engine import resolve
from sluice.identity.records import InputTable
from sluice.identity.spec import IdentitySpec
from sluice.warehouse.connection import IbisWarehouse

CRM = """SELECT * FROM (VALUES
 (1, 'Ann.Lee@Gmail.com ', '06 12 34 56 78', 'C1', 'Ann', 'Lee', TIMESTAMP '2024-01-01 00:00:00'),
 (2, 'bob@x.com', NULL, 'C2', 'Bob', 'Ray', TIMESTAMP '2024-02-01 00:00:00'),
 (3, 'family@x.com', NULL, 'C3', 'Carl', 'Ray', TIMESTAMP '2024-02-01 00:00:00'),
 (4, 'family@x.com', NULL, 'C4', 'Dana', 'Ray', TIMESTAMP '2024-02-01 00:00:00'),
 (5, 'test@test.com', NULL, 'C5', 'Eve', NULL, TIMESTAMP '2024-02-01 00:00:00'),
 (6, 'eve@z.com', NULL, 'C5', 'Eve', 'Stone', TIMESTAMP '2023-02-01 00:00:00')
) AS t(id, email, phone, crm_id, first_name, last_name, updated_at)"""

NEWS = """SELECT * FROM (VALUES
 (10, 'annlee+promo@gmail.com', NULL, 'Anne', TIMESTAMP '2024-03-01 00:00:00'),
 (11, 'BOB@x.com', '+33612345678', 'Bobby', TIMESTAMP '2024-01-01 00:00:00'),
 (12, 'test@test.com', NULL, 'Zed', TIMESTAMP '2024-01-01 00:00:00'),
 (13, 'carl@y.com', NULL, 'Carl', TIMESTAMP '2024-01-01 00:00:00'),
 (14, 'eve@z.com', '+33700000001', 'Evie', TIMESTAMP '2024-05-01 00:00:00'),
 (15, 'other@z.com', '0700000001', NULL, TIMESTAMP '2022-05-01 00:00:00'),
 (16, 'Family@x.com', NULL, 'Kid', TIMESTAMP '2022-05-01 00:00:00')
) AS t(id, email, phone, first_name, signed_up)"""

SPEC: dict[str, Any] = {
    "identifiers": [
        {"name": "email", "kind": "email", "gmail_normalize": True},
        {"name": "phone", "kind": "phone", "default_country_code": "33"},
        {"name": "crm_id"},
    ],
    "inputs": [
        {
            "model": "crm",
            "identifiers": {"email": "email", "phone": "phone", "crm_id": "crm_id"},
            "attributes": {"first_name": "first_name", "last_name": "last_name"},
            "timestamp": "updated_at",
            "priority": 1,
        },
        {
            "model": "news",
            "identifiers": {"email": "email", "phone": "phone"},
            "attributes": {"first_name": "first_name"},
            "timestamp": "signed_up",
        },
    ],
    "rules": [
        {"name": "crm", "identifiers": ["crm_id"]},
        {"name": "email", "identifiers": ["email"]},
        {"name": "phone", "identifiers": ["phone"]},
    ],
    "limits": [{"identifier": "crm_id", "max_values": 1}],
    "golden": [{"name": "last_name", "strategy": "source_priority"}],
}


@pytest.fixture(scope="module", params=["duckdb", pytest.param("postgres", marks=pytest.mark.postgres)])
def warehouse(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[tuple[IbisWarehouse, str]]:
    """A warehouse holding ``crm`` and ``news`` in a schema of its own; yields it and the schema."""
    if request.param == "duckdb":
        backend = ibis.duckdb.connect(str(tmp_path_factory.mktemp("idr") / "w.duckdb"))
        backend.raw_sql(f"CREATE TABLE crm AS {CRM}")
        backend.raw_sql(f"CREATE TABLE news AS {NEWS}")
        yield IbisWarehouse(backend, dialect="duckdb", default_schema="main"), "main"
        backend.disconnect()
        return
    backend = ibis.postgres.connect(host="127.0.0.1", port=5432, user="postgres", database="test")
    schema = f"idr_test_{secrets.token_hex(5)}"
    backend.raw_sql(f"CREATE SCHEMA {schema}").close()
    backend.raw_sql(f"CREATE TABLE {schema}.crm AS {CRM}").close()
    backend.raw_sql(f"CREATE TABLE {schema}.news AS {NEWS}").close()
    try:
        yield IbisWarehouse(backend, dialect="postgres", default_schema=schema), schema
    finally:
        backend.raw_sql(f"DROP SCHEMA IF EXISTS {schema} CASCADE").close()
        backend.raw_sql(f"DROP SCHEMA IF EXISTS {schema}_bk CASCADE").close()
        backend.disconnect()


@pytest.fixture(scope="module")
def first_run(warehouse: tuple[IbisWarehouse, str]) -> tuple[Any, dict[frozenset[str], dict[str, Any]]]:
    """The run of SPEC, and its profiles keyed by the set of their record keys."""
    wh, schema = warehouse
    result = _run(wh, schema)
    return result, _profiles(wh, schema)


def _run(warehouse: IbisWarehouse, schema: str, spec: dict[str, Any] = SPEC) -> Any:
    parsed = IdentitySpec.model_validate(spec)
    inputs = {name: InputTable(warehouse.table(schema, name), "id") for name in ("crm", "news")}
    return resolve(warehouse, parsed, inputs, schema=f"{schema}_bk", slug="people")


def _profiles(warehouse: IbisWarehouse, schema: str) -> dict[frozenset[str], dict[str, Any]]:
    records = warehouse.to_pyarrow(warehouse.table(f"{schema}_bk", "idr_people_records")).to_pylist()
    profiles = warehouse.to_pyarrow(warehouse.table(f"{schema}_bk", "idr_people_profiles")).to_pylist()
    members: dict[str, set[str]] = {}
    for row in records:
        members.setdefault(row["profile_id"], set()).add(row["record_key"])
    return {frozenset(members[row["profile_id"]]): row for row in profiles}


Run = tuple[Any, dict[frozenset[str], dict[str, Any]]]


def test_rules_merge_exact_matches_and_refuse_shared_and_blocked_values(first_run: Run) -> None:
    result, profiles = first_run
    assert set(profiles) == {
        frozenset({"crm:1", "news:10"}),  # Gmail dots and +promo removed
        frozenset({"crm:2", "news:11"}),  # e-mail case
        frozenset({"crm:3"}),  # a family e-mail does not merge two CRM contacts
        frozenset({"crm:4"}),
        frozenset({"crm:5", "crm:6", "news:14", "news:15"}),  # crm id, then e-mail, then phone
        frozenset({"news:12"}),  # test@test.com is blocked
        frozenset({"news:13"}),
        frozenset({"news:16"}),
    }
    assert (result.input_rows, result.profiles, result.merges, result.largest_cluster) == (13, 8, 5, 4)
    email = next(rule for rule in result.rules if rule.rule == "email")
    assert email.conflicting_values == 1
    assert any("family@x.com" in warning for warning in result.warnings)
    phone = next(rule for rule in result.rules if rule.rule == "phone")
    assert phone.merged_values == 1
    assert phone.conflicting_values == 1  # +33612345678 would join crm 1 and crm 2


def test_golden_records_follow_survivorship_rules(first_run: Run) -> None:
    eve = first_run[1][frozenset({"crm:5", "crm:6", "news:14", "news:15"})]
    assert eve["first_name"] == "Evie"  # most recent non-null (news 14, 2024-05)
    assert eve["last_name"] == "Stone"  # source priority; the only non-null value wins over a newer null
    assert eve["email"] == "eve@z.com"  # most frequent
    assert eve["crm_id"] == "c5"
    assert eve["record_count"] == 4
    assert eve["model_count"] == 2
    ann = first_run[1][frozenset({"crm:1", "news:10"})]
    assert ann["email"] == "annlee@gmail.com"
    assert ann["phone"] == "+33612345678"
    assert ann["first_name"] == "Anne"


def test_matches_say_which_rule_and_value_linked_each_record(
    warehouse: tuple[IbisWarehouse, str], first_run: Run
) -> None:
    wh, schema = warehouse
    rows = wh.to_pyarrow(wh.table(f"{schema}_bk", "idr_people_matches")).to_pylist()
    why = {(row["record_key"], row["rule"], row["value"]) for row in rows}
    assert ("news:10", "email", "annlee@gmail.com") in why
    assert ("crm:6", "crm", "c5") in why
    assert ("news:15", "phone", "+33700000001") in why
    assert not any(row["value"] == "family@x.com" for row in rows)


def test_profile_ids_are_stable_across_runs_on_unchanged_data(
    warehouse: tuple[IbisWarehouse, str], first_run: Run
) -> None:
    wh, schema = warehouse
    _run(wh, schema)
    again = {members: row["profile_id"] for members, row in _profiles(wh, schema).items()}
    assert again == {members: row["profile_id"] for members, row in first_run[1].items()}
    # the id is the smallest md5 of the profile's record keys: independent of rule order and engine
    assert again[frozenset({"news:13"})] == hashlib.md5(b"news:13").hexdigest()


def test_shared_values_and_big_clusters_are_reported(warehouse: tuple[IbisWarehouse, str]) -> None:
    wh, schema = warehouse
    if wh.dialect != "duckdb":
        pytest.skip("rule options are dialect-independent; checked once")
    spec = {
        **SPEC,
        "limits": [],
        "rules": [
            {"name": "email", "identifiers": ["email"], "max_profiles_per_value": 2},
            {"name": "phone", "identifiers": ["phone"]},
        ],
        "warn_cluster_size": 2,
    }
    result = _run(wh, schema, spec)
    clusters = set(_profiles(wh, schema))
    assert {frozenset({"crm:3"}), frozenset({"crm:4"}), frozenset({"news:16"})} <= clusters
    assert result.rules[0].shared_values == 1  # family@x.com links three profiles, more than 2
    assert any("shared by too many profiles" in warning for warning in result.warnings)
    assert any("merge more than 2 records" in warning for warning in result.warnings)
    assert len(result.suspicious_profiles) == 2  # Eve (e-mail, phone) and Ann + Bob (one phone, no crm limit)


def test_profiles_keep_their_ids_when_records_join_or_split(warehouse: tuple[IbisWarehouse, str]) -> None:
    wh, schema = warehouse
    _run(wh, schema)
    before = {members: row["profile_id"] for members, row in _profiles(wh, schema).items()}
    eve = before[frozenset({"crm:5", "crm:6", "news:14", "news:15"})]
    wh.execute_statement(
        f"INSERT INTO {schema}.news VALUES (0, 'EVE@z.com', NULL, 'Eve', TIMESTAMP '2020-01-01 00:00:00')"
    )
    wh.execute_statement(f"UPDATE {schema}.crm SET crm_id = 'C6' WHERE id = 6")
    try:
        _run(wh, schema)
        after = {members: row["profile_id"] for members, row in _profiles(wh, schema).items()}
    finally:
        wh.execute_statement(f"DELETE FROM {schema}.news WHERE id = 0")
        wh.execute_statement(f"UPDATE {schema}.crm SET crm_id = 'C5' WHERE id = 6")
    # crm 5 left Eve's profile (its CRM id changed); news 0 joined it: the bigger part keeps the id
    assert after[frozenset({"crm:6", "news:0", "news:14", "news:15"})] == eve
    assert after[frozenset({"crm:5"})] != eve
    assert len(set(after.values())) == len(after)
    unchanged = {members: pid for members, pid in before.items() if members in after and eve != pid}
    assert unchanged == {members: after[members] for members in unchanged}


def test_probabilistic_matching_runs_in_postgresql_with_splinks_postgres_backend(
    warehouse: tuple[IbisWarehouse, str],
) -> None:
    wh, schema = warehouse
    if wh.dialect != "postgres":
        pytest.skip("on DuckDB Splink runs in the warehouse itself (tests/integration/identity/…demo_truth)")
    from sluice.identity.probabilistic import splink_pair_finder

    spec = IdentitySpec.model_validate(
        {
            **SPEC,
            "probabilistic": {
                "enabled": True,
                "threshold": 0.5,
                "fields": ["first_name", "last_name"],
                "blocking": [["first_name"]],
            },
        }
    )
    inputs = {name: InputTable(wh.table(schema, name), "id") for name in ("crm", "news")}
    result = resolve(wh, spec, inputs, schema=f"{schema}_bk", slug="people", pair_finder=splink_pair_finder)
    assert result.rules[-1].rule == "probabilistic"
    assert result.probabilistic["backend"] == "postgres"
    assert {level["field"] for level in result.probabilistic["model"]} == {"first_name", "last_name"}
    levels = {level["level"] for level in result.probabilistic["model"] if level["field"] == "first_name"}
    assert any("Levenshtein" in level for level in levels), levels  # PostgreSQL has no Jaro-Winkler
    assert sorted(wh.list_tables(f"{schema}_bk")) == [
        "idr_people_matches",
        "idr_people_profiles",
        "idr_people_records",
    ]


def test_input_fingerprints_see_inserts_updates_and_deletes_but_not_order(
    warehouse: tuple[IbisWarehouse, str],
) -> None:
    from sluice.identity.fingerprint import fingerprint
    from sluice.identity.tables import GraphTables

    wh, schema = warehouse
    spec = IdentitySpec.model_validate(SPEC)
    tables = GraphTables(wh, f"{schema}_bk", "people")

    def digest() -> tuple[str, dict[str, Any]]:
        inputs = {name: InputTable(wh.table(schema, name), "id") for name in ("crm", "news")}
        return fingerprint(tables, spec, inputs)

    first, figures = digest()
    assert figures["crm"]["rows"] == 6
    assert figures["news"]["rows"] == 7
    assert digest()[0] == first
    wh.execute_statement(f"UPDATE {schema}.news SET first_name = 'Ana' WHERE id = 10")
    changed, after = digest()
    wh.execute_statement(f"UPDATE {schema}.news SET first_name = 'Anne' WHERE id = 10")
    assert changed != first
    assert after["news"]["rows"] == 7
    assert after["crm"] == figures["crm"]
    assert digest()[0] == first  # back to the same rows: the same fingerprint
    wh.execute_statement(f"CREATE TABLE {schema}.news_copy AS SELECT * FROM {schema}.news ORDER BY id DESC")
    try:
        reordered = {"crm": InputTable(wh.table(schema, "crm"), "id")}
        reordered["news"] = InputTable(wh.table(schema, "news_copy"), "id")
        assert fingerprint(tables, spec, reordered)[0] == first
    finally:
        wh.execute_statement(f"DROP TABLE {schema}.news_copy")
    other = IdentitySpec.model_validate({**SPEC, "warn_cluster_size": 3})
    inputs = {name: InputTable(wh.table(schema, name), "id") for name in ("crm", "news")}
    assert fingerprint(tables, other, inputs)[0] != first


def _partition(warehouse: IbisWarehouse, schema: str, slug: str) -> dict[frozenset[str], str]:
    records = warehouse.to_pyarrow(warehouse.table(f"{schema}_bk", f"idr_{slug}_records")).to_pylist()
    members: dict[str, set[str]] = {}
    for row in records:
        members.setdefault(row["profile_id"], set()).add(row["record_key"])
    return {frozenset(keys): profile_id for profile_id, keys in members.items()}


def test_appended_rows_are_resolved_against_the_existing_graph(warehouse: tuple[IbisWarehouse, str]) -> None:
    wh, schema = warehouse
    spec = IdentitySpec.model_validate(SPEC)

    def run(slug: str, *, incremental: bool) -> Any:
        inputs = {name: InputTable(wh.table(schema, name), "id") for name in ("crm", "news")}
        return resolve(wh, spec, inputs, schema=f"{schema}_bk", slug=slug, incremental=incremental)

    assert run("people_inc", incremental=True).mode == "full"  # nothing to continue from
    before = _partition(wh, schema, "people_inc")
    wh.execute_statement(
        f"INSERT INTO {schema}.news VALUES (20, 'Eve@Z.com', NULL, 'Eva', TIMESTAMP '2024-06-01 00:00:00'),"
        " (21, 'new@n.com', NULL, 'Neo', TIMESTAMP '2024-06-01 00:00:00'),"
        " (22, 'carl@y.com', '0611111111', 'Carlos', TIMESTAMP '2024-06-01 00:00:00')"
    )
    try:
        result = run("people_inc", incremental=True)
        after = _partition(wh, schema, "people_inc")
        full = run("people_full", incremental=False)
        recomputed = _partition(wh, schema, "people_full")
        wh.execute_statement(f"UPDATE {schema}.news SET first_name = 'Neon' WHERE id = 21")
        updated = run("people_inc", incremental=True)
    finally:
        wh.execute_statement(f"DELETE FROM {schema}.news WHERE id IN (20, 21, 22)")
    assert (result.mode, result.new_records) == ("incremental", 3)
    assert set(after) == set(recomputed)  # the same profiles as a full run on the same rows
    assert (result.profiles, result.merges) == (full.profiles, full.merges)
    eve = frozenset({"crm:5", "crm:6", "news:14", "news:15"})
    carl = frozenset({"news:13"})
    assert after[eve | {"news:20"}] == before[eve]  # joined Eve's profile, which keeps its id
    assert after[carl | {"news:22"}] == before[carl]
    assert frozenset({"news:21"}) in after
    unchanged = {members: pid for members, pid in before.items() if members not in (eve, carl)}
    assert unchanged == {members: after[members] for members in unchanged}
    matches = wh.to_pyarrow(wh.table(f"{schema}_bk", "idr_people_inc_matches")).to_pylist()
    linked = {(row["record_key"], row["rule"], row["value"]) for row in matches}
    assert ("news:20", "email", "eve@z.com") in linked
    assert ("crm:1", "email", "annlee@gmail.com") in linked  # links of the previous run are kept
    assert updated.mode == "full"  # an updated row: everything is recomputed
