"""Probabilistic matching with Splink, supervised by the deterministic graph.

After the deterministic rules, every record (node) with its attributes is handed to Splink. On a
DuckDB warehouse Splink runs on the warehouse's own connection, and on PostgreSQL with Splink's
PostgreSQL backend on a connection of its own, writing its work tables in the bookkeeping schema:
no row leaves the warehouse. (PostgreSQL has no Jaro-Winkler: text is compared by Levenshtein
distance there, from the ``fuzzystrmatch`` extension, which Splink enables; Splink also defines a
few helper SQL functions in the bookkeeping schema.) Other warehouses stream only the compared
attributes (Arrow batches) into a local DuckDB and write the pairs back.

The model is trained without labelled data and without randomness that changes between runs:
- m (how often true matches agree) from pairs the deterministic rules already merged;
- u (how often non-matches agree) by seeded random sampling;
- the prior (chance two random records match) from the deterministic merge rate.

Pairs above the user's threshold come back as ``node_l, node_r, match_probability,
match_weight, explanation`` (each field's contribution in bits of match weight), and the
trained weights of every comparison level are reported on the run ("explained match weights").
Splink needs nothing from the network: comparisons are SQL functions built into DuckDB.
"""

from __future__ import annotations

import contextlib
import logging
from typing import Any

import duckdb
import ibis
import ibis.expr.types as ir

from sluice.core.errors import InvalidInput
from sluice.identity.engine import PairResult
from sluice.identity.spec import IdentitySpec
from sluice.identity.tables import GraphTables
from sluice.warehouse.bookkeeping import quoted

SEED = 42
MAX_U_PAIRS = 2e6
STRING_THRESHOLDS = [0.92, 0.8]
LEVENSHTEIN_THRESHOLDS = [1, 2]


def splink_pair_finder(
    tables: GraphTables, spec: IdentitySpec, records: ir.Table, labels: ir.Table
) -> PairResult:
    """Likely pairs among ``records`` according to Splink, above ``spec.probabilistic.threshold``."""
    options = spec.probabilistic
    fields = list(dict.fromkeys([*options.fields, *(f for block in options.blocking for f in block)]))
    node_rows = _node_rows(records, labels, fields)
    staged = tables.create("sp_nodes", node_rows)
    prior = _prior(tables, staged)
    connection = getattr(getattr(tables.warehouse, "backend", None), "con", None)
    if tables.warehouse.dialect == "duckdb" and isinstance(connection, duckdb.DuckDBPyConnection):
        from splink import DuckDBAPI

        source = f"{quoted(tables.schema, 'duckdb')}.{quoted(tables.name('tmp_sp_nodes'), 'duckdb')}"
        api = DuckDBAPI(connection=connection, output_schema=tables.schema)
        frame = api.register(connection.sql(f"SELECT * FROM {source}"), table_name="sluice_identity_nodes")
        pairs_sql, details = _run_splink(frame, spec, fields, prior, text_metric="jaro_winkler")
        pairs = tables.create_sql("sp_pairs", pairs_sql)
        with contextlib.suppress(Exception):  # Splink's own work tables; the run does not depend on them
            _drop_splink_tables(connection, tables.schema)
        return PairResult(pairs=pairs, details=details | {"backend": "duckdb"})
    if tables.warehouse.dialect == "postgres" and connection is not None:
        return _run_on_postgres(tables, connection, spec, fields, prior)
    return _run_locally(tables, staged, spec, fields, prior)


def _run_on_postgres(
    tables: GraphTables, connection: Any, spec: IdentitySpec, fields: list[str], prior: float
) -> PairResult:
    """Splink's PostgreSQL backend on its own connection (same server and credentials as the warehouse)."""
    import psycopg
    from sqlalchemy import create_engine
    from sqlalchemy.pool import StaticPool

    info = connection.info
    engine = create_engine(
        "postgresql+psycopg://",
        creator=lambda: psycopg.connect(info.dsn, password=info.password),
        poolclass=StaticPool,  # one connection: Splink sets the search path once
    )
    try:
        api = _postgres_api(engine, tables.schema)
        frame = api.register(tables.name("tmp_sp_nodes"), table_name="sluice_identity_nodes")
        pairs_sql, details = _run_splink(frame, spec, fields, prior, text_metric="levenshtein")
        pairs = tables.create_sql("sp_pairs", pairs_sql)
        with contextlib.suppress(Exception):
            _drop_splink_tables_sql(tables)
    finally:
        engine.dispose()
    return PairResult(pairs=pairs, details=details | {"backend": "postgres"})


def _node_rows(records: ir.Table, labels: ir.Table, fields: list[str]) -> ir.Table:
    """One row per node: its current (deterministic) profile and each compared attribute as text."""
    joined = records.join(labels, records.node == labels.node)
    columns: dict[str, Any] = {"unique_id": joined.node, "profile": joined.label}
    for name in fields:
        if name not in records.columns:
            raise InvalidInput(f"probabilistic matching compares {name!r}, which is not an attribute")
        value = joined[name].cast("string").strip()
        columns[name] = ibis.ifelse(value.length() > 0, value.lower(), ibis.null("string"))
    rows = joined.select(**columns)
    return rows.group_by("unique_id").aggregate(
        profile=rows.profile.min(), **{name: rows[name].max() for name in fields}
    )


def _prior(tables: GraphTables, nodes: ir.Table) -> float:
    """Chance that two random records match, from the deterministic profiles (at least 1e-7)."""
    sizes = nodes.group_by("profile").aggregate(n=nodes.count())
    stats = sizes.aggregate(records=sizes.n.sum(), pairs=(sizes.n * (sizes.n - 1) / 2).sum())
    row = tables.rows(stats, 1)[0]
    records = float(row["records"] or 0)
    pairs = float(row["pairs"] or 0)
    total = records * (records - 1) / 2
    return max(min(pairs / total, 0.5), 1e-7) if total else 1e-4


def _comparisons(fields: list[str], date_like: set[str], text_metric: str) -> list[Any]:
    import splink.comparison_library as cl

    found: list[Any] = []
    for name in fields:
        if name in date_like:
            found.append(cl.LevenshteinAtThresholds(name, [1]))
        elif text_metric == "jaro_winkler":
            found.append(cl.JaroWinklerAtThresholds(name, STRING_THRESHOLDS))
        else:
            found.append(cl.LevenshteinAtThresholds(name, LEVENSHTEIN_THRESHOLDS))
    return found


def _settings(
    spec: IdentitySpec, fields: list[str], prior: float, date_like: set[str], text_metric: str
) -> Any:
    from splink import SettingsCreator, block_on

    compared = [name for name in spec.probabilistic.fields if name in fields]
    return SettingsCreator(
        link_type="dedupe_only",
        unique_id_column_name="unique_id",
        probability_two_random_records_match=prior,
        comparisons=_comparisons(compared, date_like, text_metric),
        blocking_rules_to_generate_predictions=[block_on(*block) for block in spec.probabilistic.blocking],
        retain_intermediate_calculation_columns=True,
        retain_matching_columns=False,
        additional_columns_to_retain=["profile"],
    )


def _run_splink(
    frame: Any, spec: IdentitySpec, fields: list[str], prior: float, *, text_metric: str
) -> tuple[str, dict[str, Any]]:
    """Train and predict on the registered ``frame``; returns SQL selecting the pairs (from the
    warehouse's own connection), and the model explained."""
    from splink import Linker

    logging.getLogger("splink").setLevel(logging.WARNING)
    date_like = {name for name in fields if "date" in name or name.endswith("_at")}
    settings = _settings(spec, fields, prior, date_like, text_metric)
    linker = Linker(frame, settings, log_level=logging.WARNING)
    linker.training.estimate_u_using_random_sampling(max_pairs=MAX_U_PAIRS, seed=SEED)
    linker.training.estimate_m_from_label_column("profile")
    predictions = linker.inference.predict(
        threshold_match_probability=spec.probabilistic.threshold, warning_mode="never"
    )
    compared = [name for name in spec.probabilistic.fields if name in fields]
    contributions = " || ', ' || ".join(
        f"'{name} ' || CASE WHEN mw_{name} >= 0 THEN '+' ELSE '' END"
        f" || CAST(round(CAST(mw_{name} AS NUMERIC), 1) AS VARCHAR)"
        for name in compared
    )
    sql = (
        "SELECT least(unique_id_l, unique_id_r) AS node_l, greatest(unique_id_l, unique_id_r) AS node_r,"
        " CAST(match_probability AS DOUBLE PRECISION) AS match_probability,"
        " CAST(match_weight AS DOUBLE PRECISION) AS match_weight,"
        f" {contributions} AS explanation"
        f" FROM {_qualified(predictions)} WHERE profile_l IS DISTINCT FROM profile_r"
    )
    return sql, {"model": _explained(linker), "prior": prior, "threshold": spec.probabilistic.threshold}


def _qualified(frame: Any) -> str:
    """A Splink table's name as the warehouse's own connection sees it (PostgreSQL: with the schema)."""
    schema = getattr(frame.db_api, "_db_schema", None)
    return (
        f"{schema}.{frame.physical_name}"
        if schema and "." not in frame.physical_name
        else frame.physical_name
    )


def _explained(linker: Any) -> list[dict[str, Any]]:
    """Every comparison level with its m, u and match weight (what a user reads to trust a match)."""
    levels: list[dict[str, Any]] = []
    for comparison in linker._settings_obj.comparisons:
        for level in comparison.comparison_levels:
            if level.is_null_level:
                continue
            levels.append(
                {
                    "field": comparison.output_column_name,
                    "level": level.label_for_charts,
                    "m": _rounded(level.m_probability),
                    "u": _rounded(level.u_probability),
                    "match_weight": _rounded(level._match_weight if level.m_probability else None),
                }
            )
    return levels


def _rounded(value: Any) -> float | None:
    try:
        return round(float(value), 6)
    except (TypeError, ValueError):
        return None


def _drop_splink_tables(connection: duckdb.DuckDBPyConnection, schema: str) -> None:
    rows = connection.execute(
        "SELECT table_name, table_type FROM information_schema.tables"
        " WHERE table_schema = ? AND table_name LIKE '__splink%'",
        [schema],
    ).fetchall()
    for name, kind in rows:
        what = "VIEW" if "VIEW" in str(kind).upper() else "TABLE"
        connection.execute(f"DROP {what} IF EXISTS {quoted(schema, 'duckdb')}.{quoted(str(name), 'duckdb')}")


def _postgres_api(engine: Any, schema: str) -> Any:
    """Splink's PostgreSQL backend, registering its small tables (m/u counts: model parameters, not
    records) with plain SQL: Splink's own way goes through DuckDB's postgres extension, which DuckDB
    would download."""
    import pyarrow as pa
    from splink.backends.postgres import PostgresAPI
    from splink.internals.misc import to_pyarrow_if_list_tuple_or_dict
    from sqlalchemy import text

    def column_type(kind: pa.DataType) -> str:
        if pa.types.is_integer(kind):
            return "BIGINT"
        if pa.types.is_floating(kind):
            return "DOUBLE PRECISION"
        if pa.types.is_boolean(kind):
            return "BOOLEAN"
        return "TEXT"

    class SluicePostgresAPI(PostgresAPI):
        def _table_registration(self, input: Any, table_name: str) -> None:
            table = to_pyarrow_if_list_tuple_or_dict(input)
            if not isinstance(table, pa.Table):
                table = pa.Table.from_pandas(table)
            name = f"{quoted(schema, 'postgres')}.{quoted(table_name, 'postgres')}"
            columns = ", ".join(
                f"{quoted(item.name, 'postgres')} {column_type(item.type)}" for item in table.schema
            )
            names = [f"c{number}" for number in range(table.num_columns)]
            with self._engine.begin() as con:
                con.execute(text(f"DROP TABLE IF EXISTS {name}"))
                con.execute(text(f"CREATE TABLE {name} ({columns})"))
                rows = [dict(zip(names, row.values(), strict=True)) for row in table.to_pylist()]
                if rows:
                    placeholders = ", ".join(f":{item}" for item in names)
                    con.execute(text(f"INSERT INTO {name} VALUES ({placeholders})"), rows)

    return SluicePostgresAPI(engine=engine, schema=schema)


def _drop_splink_tables_sql(tables: GraphTables) -> None:
    """Drop Splink's work tables and views in the bookkeeping schema through the warehouse connection."""
    for name in tables.warehouse.list_tables(tables.schema):
        if name.startswith("__splink"):
            qualified = tables.qualified(name)
            try:
                tables.warehouse.execute_statement(f"DROP TABLE IF EXISTS {qualified}")
            except Exception:  # a view
                tables.warehouse.execute_statement(f"DROP VIEW IF EXISTS {qualified}")


def _run_locally(
    tables: GraphTables, staged: ir.Table, spec: IdentitySpec, fields: list[str], prior: float
) -> PairResult:
    """Splink on a local DuckDB over the compared attributes only; pairs written back to the warehouse."""
    from sluice.warehouse.upload import upload_text_table

    local = duckdb.connect()
    try:
        reader = tables.warehouse.to_pyarrow_batches(staged)
        local.register("incoming", _reader_table(reader))
        local.execute("CREATE TABLE nodes AS SELECT * FROM incoming")
        from splink import DuckDBAPI

        frame = DuckDBAPI(connection=local).register(
            local.sql("SELECT * FROM nodes"), table_name="sluice_identity_nodes"
        )
        pairs_sql, details = _run_splink(frame, spec, fields, prior, text_metric="jaro_winkler")
        result = local.execute(pairs_sql).to_arrow_table()
    finally:
        local.close()
    name = tables.name("tmp_sp_pairs_text")
    upload_text_table(tables.warehouse, tables.schema, name, result)
    tables.remember(name)
    uploaded = tables.warehouse.table(tables.schema, name)
    pairs = uploaded.select(
        node_l=uploaded.node_l,
        node_r=uploaded.node_r,
        match_probability=uploaded.match_probability.cast("float64"),
        match_weight=uploaded.match_weight.cast("float64"),
        explanation=uploaded.explanation,
    )
    return PairResult(pairs=tables.create("sp_pairs", pairs), details=details | {"backend": "local duckdb"})


def _reader_table(batches: Any) -> Any:
    import pyarrow as pa

    collected = list(batches)
    if not collected:
        raise InvalidInput("no records to compare")
    return pa.Table.from_batches(collected)
