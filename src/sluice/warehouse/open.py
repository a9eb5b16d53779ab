"""Connect to a source: its typed config in, an open :class:`Warehouse` out, or a clear error."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from sluice.warehouse.configs import (
    BigQueryConfig,
    DatabricksConfig,
    DuckDBConfig,
    PostgresConfig,
    RedshiftConfig,
    SnowflakeConfig,
    SourceConfig,
)
from sluice.warehouse.connection import DbapiWarehouse, IbisWarehouse, Warehouse
from sluice.warehouse.errors import ProblemKind, WarehouseUnavailable, unavailable

CONNECT_TIMEOUT_SECONDS = 10


def open_warehouse(config: SourceConfig) -> Warehouse:
    """Open a connection for ``config`` (raises :class:`WarehouseUnavailable` with the reason)."""
    try:
        return _OPENERS[type(config)](config)
    except WarehouseUnavailable:
        raise
    except Exception as exc:
        raise unavailable(exc) from None


def _duckdb(config: SourceConfig) -> Warehouse:
    import ibis

    assert isinstance(config, DuckDBConfig)
    if config.path != ":memory:" and not Path(config.path).expanduser().exists():
        raise WarehouseUnavailable(
            f"the DuckDB file {config.path} does not exist", kind=ProblemKind.MISSING_DATABASE.value
        )
    backend = ibis.duckdb.connect(str(Path(config.path).expanduser()), read_only=config.read_only)
    return IbisWarehouse(backend, dialect="duckdb", default_schema=config.default_schema)


def _postgres(config: SourceConfig) -> Warehouse:
    import ibis

    assert isinstance(config, PostgresConfig)
    backend = ibis.postgres.connect(
        host=config.host,
        port=config.port,
        database=config.database,
        user=config.user,
        password=config.password.get_secret_value() if config.password else None,
        sslmode=config.sslmode,
        connect_timeout=CONNECT_TIMEOUT_SECONDS,
    )
    return IbisWarehouse(backend, dialect="postgres", default_schema=config.default_schema)


def _redshift(config: SourceConfig) -> Warehouse:
    import psycopg

    assert isinstance(config, RedshiftConfig)
    connection = psycopg.connect(
        host=config.host,
        port=config.port,
        dbname=config.database,
        user=config.user,
        password=config.password.get_secret_value() if config.password else None,
        sslmode=config.sslmode,
        connect_timeout=CONNECT_TIMEOUT_SECONDS,
        autocommit=True,
    )
    return DbapiWarehouse(
        connection, dialect="redshift", default_schema=config.default_schema, compiler_dialect="postgres"
    )


def _snowflake(config: SourceConfig) -> Warehouse:
    import snowflake.connector

    assert isinstance(config, SnowflakeConfig)
    options: dict[str, Any] = {
        "account": config.account,
        "user": config.user,
        "database": config.database,
        "schema": config.default_schema,
        "login_timeout": CONNECT_TIMEOUT_SECONDS,
    }
    if config.password is not None:
        options["password"] = config.password.get_secret_value()
    if config.private_key is not None:
        options["private_key"] = _private_key_der(config.private_key.get_secret_value())
    if config.warehouse:
        options["warehouse"] = config.warehouse
    if config.role:
        options["role"] = config.role
    connection = snowflake.connector.connect(**options)
    return DbapiWarehouse(
        connection, dialect="snowflake", default_schema=config.default_schema, compiler_dialect="snowflake"
    )


def _private_key_der(pem: str) -> bytes:
    from cryptography.hazmat.primitives import serialization

    key = serialization.load_pem_private_key(pem.encode(), password=None)
    return key.private_bytes(
        serialization.Encoding.DER, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    )


def _bigquery(config: SourceConfig) -> Warehouse:
    import ibis

    assert isinstance(config, BigQueryConfig)
    credentials = None
    if config.credentials_json is not None:
        from google.oauth2 import service_account

        info = json.loads(config.credentials_json.get_secret_value())
        credentials = service_account.Credentials.from_service_account_info(info)  # type: ignore[no-untyped-call]
    backend = ibis.bigquery.connect(
        project_id=config.project_id,
        dataset_id=config.dataset_id,
        credentials=credentials,
        location=config.location,
    )
    return IbisWarehouse(backend, dialect="bigquery", default_schema=config.dataset_id)


def _databricks(config: SourceConfig) -> Warehouse:
    import ibis

    assert isinstance(config, DatabricksConfig)
    backend = ibis.databricks.connect(
        server_hostname=config.server_hostname,
        http_path=config.http_path,
        access_token=config.access_token.get_secret_value() if config.access_token else None,
        catalog=config.catalog,
        schema=config.default_schema,
    )
    return IbisWarehouse(backend, dialect="databricks", default_schema=config.default_schema)


_OPENERS = {
    DuckDBConfig: _duckdb,
    PostgresConfig: _postgres,
    RedshiftConfig: _redshift,
    SnowflakeConfig: _snowflake,
    BigQueryConfig: _bigquery,
    DatabricksConfig: _databricks,
}
