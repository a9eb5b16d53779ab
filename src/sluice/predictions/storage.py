"""Where a version's scores are written: the bookkeeping schema, or a local DuckDB file.

With a bookkeeping schema Sluice may write in, scores go to ``<schema>.prediction_<version id>``
(every column as text, cast back when read), so segments join them at warehouse scale. A DuckDB
source opened read-only (the demo) or without a bookkeeping schema gets a local DuckDB file in the
data dir instead, which Sluice attaches read-only to the source's connection when a prediction
field is read. Each version writes a new table or file; publishing the version repoints the fields
(in the control DB), so readers never see half-written scores.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import duckdb
import pyarrow as pa

from sluice.core.errors import InvalidInput
from sluice.warehouse.bookkeeping import check_bookkeeping, quoted
from sluice.warehouse.configs import DuckDBConfig, SourceConfig
from sluice.warehouse.connection import Warehouse
from sluice.warehouse.upload import UPLOAD_DIALECTS, upload_text_table

LOCAL_TABLE = "scores"


@dataclass(frozen=True)
class ScoreLocation:
    """A written scores table: in ``schema_name`` of the warehouse, or in local DuckDB ``file``."""

    table: str
    schema_name: str | None = None
    file: str | None = None


def scores_table_name(version_id: str) -> str:
    """``prediction_<version id>`` in lower case."""
    return f"prediction_{version_id.lower()}"


def write_scores(
    warehouse: Warehouse, config: SourceConfig, data_dir: Path, version_id: str, scores: pa.Table
) -> ScoreLocation:
    """Write ``scores`` where the source's prediction fields can join them (new table per version)."""
    schema = config.bookkeeping_schema
    read_only = isinstance(config, DuckDBConfig) and config.read_only
    if schema and not read_only and warehouse.dialect in UPLOAD_DIALECTS:
        status = check_bookkeeping(warehouse, schema)
        if status.writable:
            name = scores_table_name(version_id)
            upload_text_table(warehouse, schema, name, scores)
            return ScoreLocation(table=name, schema_name=schema)
        if warehouse.dialect != "duckdb":
            raise InvalidInput(f"cannot write the scores: {status.message}")
    if warehouse.dialect != "duckdb":
        raise InvalidInput(
            "predictions write their scores to the source's bookkeeping schema; "
            "give this source a bookkeeping schema Sluice may write in"
        )
    return write_local(data_dir, version_id, scores)


def write_local(data_dir: Path, version_id: str, scores: pa.Table) -> ScoreLocation:
    """Write ``scores`` to a new local DuckDB file under ``data_dir/predictions``."""
    folder = (data_dir / "predictions").resolve()
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / f"{scores_table_name(version_id)}.duckdb"
    path.unlink(missing_ok=True)
    with duckdb.connect(str(path)) as con:
        con.register("sluice_scores_arrow", scores)
        con.execute(f"CREATE TABLE {LOCAL_TABLE} AS SELECT * FROM sluice_scores_arrow")
        con.unregister("sluice_scores_arrow")
    return ScoreLocation(table=LOCAL_TABLE, file=str(path))


def drop_scores(warehouse: Warehouse | None, location: ScoreLocation) -> None:
    """Remove a superseded version's scores (best effort: a reader may still hold the old file)."""
    if location.file:
        Path(location.file).unlink(missing_ok=True)
        return
    if warehouse is not None and location.schema_name:
        target = (
            f"{quoted(location.schema_name, warehouse.dialect)}.{quoted(location.table, warehouse.dialect)}"
        )
        warehouse.execute_statement(f"DROP TABLE IF EXISTS {target}")
