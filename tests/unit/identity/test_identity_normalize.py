"""Identifier normalisation, evaluated by DuckDB (the expressions are what runs in every warehouse)."""

from __future__ import annotations

import ibis
import pytest

from sluice.identity.normalize import normalized
from sluice.identity.spec import Identifier, IdentifierKind


def _run(values: list[str | None], identifier: Identifier) -> list[str | None]:
    con = ibis.duckdb.connect()
    table = ibis.memtable({"v": values}, schema={"v": "string"})
    expr = table.select(n=normalized(table.v, identifier))
    return list(con.to_pyarrow(expr).column("n").to_pylist())


def test_emails_are_trimmed_lowered_and_malformed_ones_dropped() -> None:
    email = Identifier(name="email", kind=IdentifierKind.EMAIL)
    got = _run([" Ann.Lee@Example.COM ", "no-at-sign", "a b@x.com", "", None, "x@y"], email)
    assert got == ["ann.lee@example.com", None, None, None, None, None]


def test_gmail_dots_and_plus_are_removed_only_when_enabled_and_only_for_gmail() -> None:
    values = ["Ann.Lee+promo@gmail.com", "ann.lee@googlemail.com", "ann.lee+x@outlook.com"]
    plain = Identifier(name="email", kind=IdentifierKind.EMAIL)
    gmail = Identifier(name="email", kind=IdentifierKind.EMAIL, gmail_normalize=True)
    everywhere = Identifier(name="email", kind=IdentifierKind.EMAIL, strip_plus=True)
    assert _run(values, plain) == [
        "ann.lee+promo@gmail.com",
        "ann.lee@googlemail.com",
        "ann.lee+x@outlook.com",
    ]
    assert _run(values, gmail) == ["annlee@gmail.com", "annlee@gmail.com", "ann.lee+x@outlook.com"]
    assert _run(values, everywhere)[2] == "ann.lee@outlook.com"


def test_phones_become_e164_with_the_default_country_code() -> None:
    phone = Identifier(name="phone", kind=IdentifierKind.PHONE, default_country_code="33")
    got = _run(["06 12 34 56 78", "+33 6 12 34 56 78", "0033612345678", "(612) 345-678", "12", None], phone)
    assert got == ["+33612345678", "+33612345678", "+33612345678", "+33612345678", None, None]


def test_national_phones_are_ignored_without_a_default_country() -> None:
    phone = Identifier(name="phone", kind=IdentifierKind.PHONE)
    assert _run(["06 12 34 56 78", "+46 70 123 45 67"], phone) == [None, "+46701234567"]


def test_blocked_values_and_default_test_addresses_never_match() -> None:
    email = Identifier(name="email", kind=IdentifierKind.EMAIL, blocked_values=["Shared@Family.org"])
    assert _run(["TEST@test.com", "shared@family.org", "ok@family.org"], email) == [
        None,
        None,
        "ok@family.org",
    ]


@pytest.mark.parametrize(("case_sensitive", "expected"), [(False, "abc-1"), (True, "ABC-1")])
def test_ids_are_trimmed_and_lowered_unless_case_sensitive(case_sensitive: bool, expected: str) -> None:
    ident = Identifier(name="crm_id", case_sensitive=case_sensitive)
    assert _run(["  ABC-1 ", "   "], ident) == [expected, None]
