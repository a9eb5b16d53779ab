"""Rules a user meets before any warehouse is reached: configs, read-only SQL, error wording."""

from __future__ import annotations

import pytest

from sluice.core.errors import InvalidInput
from sluice.warehouse.configs import SOURCE_TYPES, build_config, public_config
from sluice.warehouse.errors import ProblemKind, classify, query_error
from sluice.warehouse.sql_guard import check_read_only


def test_every_source_type_has_a_json_schema_with_write_only_secrets() -> None:
    for spec in SOURCE_TYPES.values():
        schema = spec.json_schema()
        assert schema["type"] == "object"
        for name in spec.secret_fields:
            variants = schema["properties"][name].get("anyOf", [schema["properties"][name]])
            assert {"type": "string", "format": "password", "writeOnly": True} in variants


def test_secrets_stay_out_of_the_public_config() -> None:
    config = build_config("snowflake", {"account": "a", "user": "u", "database": "D"}, {"password": "pw-1"})
    assert "password" not in public_config(config)
    assert public_config(config)["bookkeeping_schema"] == "sluice"


@pytest.mark.parametrize(
    ("config", "message"),
    [
        ({"account": "a", "user": "u"}, "database: Field required"),
        (
            {"account": "a", "user": "u", "database": "D", "colour": "red"},
            "colour: Extra inputs are not permitted",
        ),
        ({"account": "a", "user": "u", "database": "D", "password": "x"}, "password is a secret"),
    ],
)
def test_bad_config_names_the_field(config: dict[str, str], message: str) -> None:
    with pytest.raises(InvalidInput, match=message):
        build_config("snowflake", config, {})


@pytest.mark.parametrize(
    "sql",
    [
        "SELECT * FROM users",
        "with a as (select 1 as id) select * from a",
        "SELECT id FROM a UNION ALL SELECT id FROM b",
        "select * from users;",
    ],
)
def test_read_only_queries_pass(sql: str) -> None:
    check_read_only(sql, "duckdb")


@pytest.mark.parametrize(
    ("sql", "message"),
    [
        ("DELETE FROM users", "read-only SELECT"),
        ("UPDATE users SET email = NULL", "read-only SELECT"),
        ("CREATE TABLE x AS SELECT 1", "read-only SELECT"),
        ("SELECT * INTO copy FROM users", "read-only SELECT"),
        ("SELECT 1; DROP TABLE users", "single SELECT"),
        ("   ", "empty"),
    ],
)
def test_writes_are_refused(sql: str, message: str) -> None:
    with pytest.raises(InvalidInput, match=message):
        check_read_only(sql, "postgres")


@pytest.mark.parametrize(
    ("text", "kind"),
    [
        ('connection to server at "db" failed: Connection refused', ProblemKind.UNREACHABLE),
        ('could not translate host name "nope" to address', ProblemKind.UNREACHABLE),
        ('FATAL:  password authentication failed for user "x"', ProblemKind.BAD_CREDENTIALS),
        ("250001: Incorrect username or password was specified.", ProblemKind.BAD_CREDENTIALS),
        ('FATAL:  database "nodb" does not exist', ProblemKind.MISSING_DATABASE),
        ('schema "nope" does not exist', ProblemKind.MISSING_SCHEMA),
        ("Schema 'DB.NOPE' does not exist or not authorized.", ProblemKind.MISSING_SCHEMA),
        ("permission denied for table users", ProblemKind.MISSING_PERMISSION),
        ("Insufficient privileges to operate on schema 'X'", ProblemKind.MISSING_PERMISSION),
        ('relation "usrs" does not exist', ProblemKind.MISSING_TABLE),
        ("Could not set lock on file demo.duckdb", ProblemKind.IN_USE),
    ],
)
def test_driver_messages_are_classified(text: str, kind: ProblemKind) -> None:
    assert classify(RuntimeError(text)) == kind


def test_query_errors_keep_the_first_line_only() -> None:
    error = query_error(RuntimeError('syntax error at or near "SELEC"\nLINE 1: SELEC\n^'))
    assert error.status == 422
    assert error.message == 'the warehouse rejected the query: syntax error at or near "SELEC"'
