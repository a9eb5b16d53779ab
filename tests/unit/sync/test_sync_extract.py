"""Extract: one Ibis query per audience, identifiers normalised by the warehouse, drift reported."""

from __future__ import annotations

from pathlib import Path

import ibis
import pytest

from sluice.core.errors import InvalidInput
from sluice.sync.audience import IdentifierKind
from sluice.sync.extract import FieldMapping, SchemaDrift, audience_expression, extract_batches


@pytest.fixture
def users(tmp_path: Path) -> ibis.Table:
    con = ibis.duckdb.connect(str(tmp_path / "w.duckdb"))
    con.raw_sql(
        "CREATE TABLE users AS SELECT * FROM (VALUES (1, ' Ada@Example.COM ', '+33 6 12-34-56-78', 'Ada', 10.5), "
        "(2, NULL, NULL, 'Bob', NULL)) t(user_id, email, phone, first_name, spend)"
    )
    return con.table("users")


def test_audience_has_key_identifier_and_renamed_fields(users: ibis.Table) -> None:
    expression = audience_expression(
        users,
        primary_key="user_id",
        identifier_field="email",
        identifier_kind=IdentifierKind.EMAIL,
        mapping=[FieldMapping("first_name", "FNAME"), FieldMapping("spend", "SPEND")],
    )
    batches = extract_batches(expression, batch_rows=1)
    rows = sorted((r for batch in batches for r in batch.to_pylist()), key=lambda r: r["__key"])
    assert rows == [
        {"__key": 1, "__identifier": "ada@example.com", "FNAME": "Ada", "SPEND": 10.5},
        {"__key": 2, "__identifier": None, "FNAME": "Bob", "SPEND": None},
    ]


def test_keys_other_than_integers_become_text(users: ibis.Table) -> None:
    expression = audience_expression(
        users.mutate(code=users.spend),
        primary_key="code",
        identifier_field="email",
        identifier_kind=IdentifierKind.EMAIL,
        mapping=[],
    )
    assert expression.to_pyarrow().column("__key").to_pylist() == ["10.5", None]


def test_phones_lose_separators(users: ibis.Table) -> None:
    expression = audience_expression(
        users,
        primary_key="user_id",
        identifier_field="phone",
        identifier_kind=IdentifierKind.PHONE,
        mapping=[],
    )
    phones = expression.to_pyarrow().column("__identifier").to_pylist()
    assert "+33612345678" in phones


def test_a_mapped_column_that_disappeared_is_schema_drift(users: ibis.Table) -> None:
    with pytest.raises(SchemaDrift, match="no longer has 'last_name'"):
        audience_expression(
            users,
            primary_key="user_id",
            identifier_field="email",
            identifier_kind=IdentifierKind.EMAIL,
            mapping=[FieldMapping("last_name", "LNAME")],
        )


def test_two_fields_mapped_to_one_destination_field_is_refused(users: ibis.Table) -> None:
    with pytest.raises(InvalidInput, match="mapped twice: NAME"):
        audience_expression(
            users,
            primary_key="user_id",
            identifier_field="email",
            identifier_kind=IdentifierKind.EMAIL,
            mapping=[FieldMapping("first_name", "NAME"), FieldMapping("email", "NAME")],
        )
