"""Validation of an extracted audience (BRIEF §4 rule 2).

Rows with a null key, a duplicated key (every copy), a missing identifier or a malformed one
(per identifier kind) are *invalid*: reported with a reason and never sent. Per-row reasons are
computed while the audience is loaded (:func:`row_reason_expression`); duplicates need the whole
audience and are found afterwards with one hash aggregate.
"""

from __future__ import annotations

from dataclasses import dataclass

import duckdb

from sluice.sync.audience import IDENTIFIER, KEY, AudienceSpec, IdentifierKind
from sluice.sync.sql import quote_ident

# Pragmatic address check: one @, no spaces, a dot in the domain, no empty labels.
EMAIL_PATTERN = r"^[^@\s]+@[^@\s.]+(\.[^@\s.]+)+$"
PHONE_PATTERN = r"^\+[1-9][0-9]{6,14}$"
SHA256_PATTERN = r"^[0-9a-f]{64}$"

_PATTERNS = {
    IdentifierKind.EMAIL: (EMAIL_PATTERN, "malformed email"),
    IdentifierKind.PHONE: (PHONE_PATTERN, "phone is not in E.164 format"),
    IdentifierKind.HASHED: (SHA256_PATTERN, "identifier is not a lowercase SHA-256 hex digest"),
}
REASON = "__reason"


class InvalidReason:
    """Reasons attached to invalid rows (stable strings users can filter on)."""

    NULL_KEY = "null primary key"
    DUPLICATE_KEY = "duplicate primary key"
    MISSING_IDENTIFIER = "missing identifier"


@dataclass(frozen=True)
class ValidationResult:
    """Names of the DuckDB views holding valid and invalid rows, and their counts."""

    valid_view: str
    invalid_view: str
    valid_count: int
    invalid_count: int


def row_reason_expression(spec: AudienceSpec) -> str:
    """SQL giving the reason a single row is invalid (NULL when it is fine on its own)."""
    cases = [
        f"WHEN {KEY} IS NULL THEN '{InvalidReason.NULL_KEY}'",
        f"WHEN {IDENTIFIER} IS NULL OR trim({IDENTIFIER}) = '' THEN '{InvalidReason.MISSING_IDENTIFIER}'",
    ]
    if spec.identifier_kind in _PATTERNS:
        pattern, message = _PATTERNS[spec.identifier_kind]
        # Patterns are anchored, so regexp_matches is a full match; sqlglot carries it to every dialect.
        cases.append(f"WHEN NOT regexp_matches({IDENTIFIER}, '{pattern}') THEN '{message}'")
    return "CASE " + " ".join(cases) + " END"


def validate(con: duckdb.DuckDBPyConnection, loaded_table: str, spec: AudienceSpec) -> ValidationResult:
    """Create views ``<table>_valid`` and ``<table>_invalid`` (with ``__reason``) over ``loaded_table``.

    ``loaded_table`` must carry the per-row ``__reason`` column from :func:`row_reason_expression`.
    """
    table = quote_ident(loaded_table)
    duplicates = quote_ident(f"{loaded_table}_duplicate_keys")
    valid, invalid = f"{loaded_table}_valid", f"{loaded_table}_invalid"
    con.execute(
        f"CREATE OR REPLACE TEMP TABLE {duplicates} AS "
        f"SELECT {KEY} FROM {table} WHERE {KEY} IS NOT NULL GROUP BY {KEY} HAVING count(*) > 1"
    )
    con.execute(
        f"""CREATE OR REPLACE TEMP VIEW {quote_ident(invalid)} AS
        SELECT * EXCLUDE ({REASON}), {REASON} FROM {table} WHERE {REASON} IS NOT NULL
        UNION ALL
        SELECT * EXCLUDE ({REASON}), '{InvalidReason.DUPLICATE_KEY}' AS {REASON}
        FROM {table} SEMI JOIN {duplicates} USING ({KEY}) WHERE {REASON} IS NULL"""
    )
    con.execute(
        f"""CREATE OR REPLACE TEMP VIEW {quote_ident(valid)} AS
        SELECT * EXCLUDE ({REASON}) FROM {table} ANTI JOIN {duplicates} USING ({KEY}) WHERE {REASON} IS NULL"""
    )
    total, invalid_count = con.execute(
        f"SELECT (SELECT count(*) FROM {table}), (SELECT count(*) FROM {quote_ident(invalid)})"
    ).fetchall()[0]
    return ValidationResult(valid, invalid, int(total) - int(invalid_count), int(invalid_count))
