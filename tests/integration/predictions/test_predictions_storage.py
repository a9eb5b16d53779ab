"""Scores written back and read as fields: bookkeeping schema (DuckDB, PostgreSQL) or a local DuckDB file."""

from __future__ import annotations

from pathlib import Path

import duckdb
import psycopg
import pyarrow as pa
import pytest

from sluice.models.calculations import PredictionScores
from sluice.models.catalog import FieldType
from sluice.models.definitions import FieldDefinition
from sluice.predictions.fields import join_scores
from sluice.predictions.storage import ScoreLocation, drop_scores, write_scores
from sluice.warehouse.configs import DuckDBConfig, PostgresConfig, SourceConfig
from sluice.warehouse.open import open_warehouse

SCORES = pa.table({"user_key": ["1", "2"], "score": [0.9, 0.1], "decile": [10, 1]})


def _read(config: SourceConfig, location: ScoreLocation, output: str, kind: FieldType) -> dict[int, object]:
    calc = PredictionScores(
        predictor_id="p",
        version_id="v",
        output=output,
        table=location.table,
        schema_name=location.schema_name,
        file=location.file,
    )
    field = FieldDefinition(name="churn", type=kind, calculation=calc)
    with open_warehouse(config) as warehouse:
        users = warehouse.table(None, "users")
        joined = join_scores(warehouse, users, "user_id", field, calc)
        rows = warehouse.to_pyarrow(joined.order_by("user_id")).to_pylist()
    return {row["user_id"]: row["churn"] for row in rows}


def _duckdb_users(path: Path) -> None:
    with duckdb.connect(str(path)) as con:
        con.execute("CREATE TABLE users AS SELECT * FROM (VALUES (1), (2), (3)) t(user_id)")


def test_a_writable_duckdb_keeps_scores_in_its_bookkeeping_schema(tmp_path: Path) -> None:
    path = tmp_path / "w.duckdb"
    _duckdb_users(path)
    config = DuckDBConfig(path=str(path), bookkeeping_schema="sluice")
    with open_warehouse(config) as warehouse:
        location = write_scores(warehouse, config, tmp_path / "data", "01ABC", SCORES)
    assert (location.schema_name, location.table, location.file) == ("sluice", "prediction_01abc", None)
    assert _read(config, location, "score", FieldType.FLOAT) == {1: 0.9, 2: 0.1, 3: None}
    assert _read(config, location, "decile", FieldType.INTEGER) == {1: 10, 2: 1, 3: None}
    with open_warehouse(config) as warehouse:
        drop_scores(warehouse, location)
        assert "prediction_01abc" not in warehouse.list_tables("sluice")


def test_a_read_only_duckdb_gets_a_local_file_attached_when_read(tmp_path: Path) -> None:
    path = tmp_path / "ro.duckdb"
    _duckdb_users(path)
    config = DuckDBConfig(path=str(path), read_only=True, bookkeeping_schema=None)
    with open_warehouse(config) as warehouse:
        location = write_scores(warehouse, config, tmp_path / "data", "01XYZ", SCORES)
    assert location.file is not None
    assert Path(location.file).parent == (tmp_path / "data" / "predictions").resolve()
    assert _read(config, location, "score", FieldType.FLOAT) == {1: 0.9, 2: 0.1, 3: None}
    # The warehouse itself was not written to.
    with duckdb.connect(str(path), read_only=True) as con:
        assert con.execute("SELECT count(*) FROM information_schema.tables").fetchone() == (1,)
    # A scores file that disappeared reads as no score, rather than breaking the users model.
    drop_scores(None, location)
    assert _read(config, location, "score", FieldType.FLOAT) == {1: None, 2: None, 3: None}


@pytest.mark.postgres
def test_postgres_scores_live_in_the_bookkeeping_schema(pg_database: str) -> None:
    name = pg_database.rsplit("/", 1)[1]
    with psycopg.connect(f"postgresql://postgres@127.0.0.1:5432/{name}", autocommit=True) as con:
        con.execute("CREATE TABLE users AS SELECT * FROM (VALUES (1::bigint), (2), (3)) t(user_id)")
    config = PostgresConfig(host="127.0.0.1", database=name, bookkeeping_schema="sluice")
    with open_warehouse(config) as warehouse:
        location = write_scores(warehouse, config, Path("unused"), "01PG", SCORES)
    assert (location.schema_name, location.file) == ("sluice", None)
    assert _read(config, location, "score", FieldType.FLOAT) == {1: 0.9, 2: 0.1, 3: None}
    assert _read(config, location, "decile", FieldType.INTEGER) == {1: 10, 2: 1, 3: None}
