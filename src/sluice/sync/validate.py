"""Validation of an extracted audience (BRIEF §4 rule 2).

Rows with a null key, a duplicated key (every copy), a missing identifier or a malformed one
(per identifier kind) are *invalid*: reported with a reason and never sent.

Locally the checks run in two steps (ADR 0006). While the audience is loaded, each row gets the
cheap reasons (:func:`presence_reason_expression`: null key, missing identifier); duplicates need
the whole audience and are found afterwards with one hash aggregate (:func:`validate`). The
identifier's *format* (:func:`format_reason_expression`, a regular expression) is checked by the
diff only for rows whose identifier the destination does not already hold — an identifier in the
previous snapshot was valid when it was delivered — and :func:`mark_malformed` records what it
finds. In the warehouse, :func:`row_reason_expression` checks everything in one expression.
"""

from __future__ import annotations

from dataclasses import dataclass

import duckdb

from sluice.sync.audience import IDENTIFIER, INTEGER_KEY, KEY, AudienceSpec, IdentifierKind
from sluice.sync.sql import column_type, quote_ident

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
#: integer keys are checked for duplicates with a bitmap when their range is at most this many bits per key
BITMAP_BITS_PER_KEY = 64


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
        *_format_cases(spec),
    ]
    return "CASE " + " ".join(cases) + " END"


def presence_reason_expression() -> str:
    """DuckDB SQL for the reasons a row is invalid whatever its identifier's format.

    Same verdicts as the first cases of :func:`row_reason_expression`; a blank identifier is
    recognised without trimming every row: only a value that sorts before ``'!'`` (empty, or
    starting with a space or a control character) can be blank, and only those are trimmed.
    """
    blank = f"{IDENTIFIER} < '!' AND trim({IDENTIFIER}) = ''"
    return (
        f"CASE WHEN {KEY} IS NULL THEN '{InvalidReason.NULL_KEY}' "
        f"WHEN {IDENTIFIER} IS NULL OR ({blank}) THEN '{InvalidReason.MISSING_IDENTIFIER}' END"
    )


def format_reason_expression(spec: AudienceSpec) -> str:
    """SQL giving the reason a present identifier is malformed for ``spec`` (NULL when well-formed)."""
    cases = _format_cases(spec)
    return "CASE " + " ".join(cases) + " END" if cases else "NULL::VARCHAR"


def _format_cases(spec: AudienceSpec) -> list[str]:
    if spec.identifier_kind not in _PATTERNS:
        return []
    pattern, message = _PATTERNS[spec.identifier_kind]
    # Patterns are anchored, so regexp_matches is a full match; sqlglot carries it to every dialect.
    return [f"WHEN NOT regexp_matches({IDENTIFIER}, '{pattern}') THEN '{message}'"]


def validate(con: duckdb.DuckDBPyConnection, loaded_table: str, spec: AudienceSpec) -> ValidationResult:
    """Create views ``<table>_valid`` and ``<table>_invalid`` (with ``__reason``, keys as text) over ``loaded_table``.

    ``loaded_table`` must carry a per-row ``__reason`` column (:func:`row_reason_expression`, or
    :func:`presence_reason_expression` followed by :func:`mark_malformed` once the diff knows
    which identifiers are new). Every copy of a duplicated key is invalid; a copy whose
    identifier is also malformed says so.
    """
    table = quote_ident(loaded_table)
    duplicates = quote_ident(f"{loaded_table}_duplicate_keys")
    valid, invalid = f"{loaded_table}_valid", f"{loaded_table}_invalid"
    # Invalid rows are reported, with keys as text whatever their type.
    as_text = f"REPLACE (CAST({KEY} AS VARCHAR) AS {KEY})"
    con.execute(f"CREATE OR REPLACE TEMP TABLE {duplicates} AS {_duplicate_keys_sql(con, table)}")
    con.execute(
        f"""CREATE OR REPLACE TEMP VIEW {quote_ident(invalid)} AS
        SELECT * EXCLUDE ({REASON}) {as_text}, {REASON} FROM {table} WHERE {REASON} IS NOT NULL
        UNION ALL
        SELECT * EXCLUDE ({REASON}) {as_text},
               coalesce({format_reason_expression(spec)}, '{InvalidReason.DUPLICATE_KEY}') AS {REASON}
        FROM {table} SEMI JOIN {duplicates} USING ({KEY}) WHERE {REASON} IS NULL"""
    )
    has_duplicates = bool(con.execute(f"SELECT 1 FROM {duplicates} LIMIT 1").fetchall())
    not_duplicated = f"ANTI JOIN {duplicates} USING ({KEY})" if has_duplicates else ""
    con.execute(
        f"""CREATE OR REPLACE TEMP VIEW {quote_ident(valid)} AS
        SELECT * EXCLUDE ({REASON}) FROM {table} {not_duplicated} WHERE {REASON} IS NULL"""
    )
    total, invalid_count = con.execute(
        f"SELECT (SELECT count(*) FROM {table}), (SELECT count(*) FROM {quote_ident(invalid)})"
    ).fetchall()[0]
    return ValidationResult(valid, invalid, int(total) - int(invalid_count), int(invalid_count))


def _duplicate_keys_sql(con: duckdb.DuckDBPyConnection, table: str) -> str:
    """SELECT of the keys ``table`` holds more than once.

    Integer keys in a dense range (serial ids) are first counted with a bitmap, one cheap pass:
    when every key sets its own bit there is no duplicate and no hash aggregate is needed.
    """
    grouped = f"SELECT {KEY} FROM {table} WHERE {KEY} IS NOT NULL GROUP BY {KEY} HAVING count(*) > 1"
    if column_type(con, table, KEY) != INTEGER_KEY:
        return grouped
    low, high, count = con.execute(f"SELECT min({KEY}), max({KEY}), count({KEY}) FROM {table}").fetchall()[0]
    if not count or high - low >= max(BITMAP_BITS_PER_KEY * count, 1 << 16):
        return grouped
    bitmap = f"SELECT bit_count(bitstring_agg({KEY}, {low}, {high})) FROM {table}"
    distinct = con.execute(bitmap).fetchall()[0][0]
    return grouped if distinct != count else f"SELECT {KEY} FROM {table} WHERE false"


def mark_malformed(
    con: duckdb.DuckDBPyConnection,
    loaded_table: str,
    candidates_sql: str,
    spec: AudienceSpec,
    result: ValidationResult,
) -> tuple[ValidationResult, str]:
    """Check the identifier format of the valid rows ``candidates_sql`` selects (``__key``, ``__identifier``).

    ``candidates_sql``'s keys have the type of ``loaded_table``'s.
    Malformed rows get their reason in ``loaded_table``, which moves them from the valid view to
    the invalid one. Returns the updated counts and the name of a table of the malformed keys.
    Keys are unique among valid rows, so one key names one row.
    """
    malformed = quote_ident(f"{loaded_table}_malformed")
    con.execute(
        f"""CREATE OR REPLACE TEMP TABLE {malformed} AS
        SELECT {KEY}, {REASON} FROM (SELECT {KEY}, {format_reason_expression(spec)} AS {REASON} FROM ({candidates_sql}))
        WHERE {REASON} IS NOT NULL"""
    )
    count = int(con.execute(f"SELECT count(*) FROM {malformed}").fetchall()[0][0])
    if count:
        table = quote_ident(loaded_table)
        con.execute(
            f"UPDATE {table} SET {REASON} = m.{REASON} FROM {malformed} m "
            f"WHERE {table}.{KEY} = m.{KEY} AND {table}.{REASON} IS NULL"
        )
    updated = ValidationResult(
        result.valid_view, result.invalid_view, result.valid_count - count, result.invalid_count + count
    )
    return updated, malformed
