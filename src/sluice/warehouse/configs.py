"""Typed configs of each source type. Their JSON Schema is the form the web app renders.

Secret fields are ``SecretStr``: the API takes them separately (write-only) and the store keeps them
encrypted; :func:`split_config` and :func:`build_config` move between the two halves.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, SecretStr, ValidationError, field_validator

from sluice.core.errors import InvalidInput

IDENTIFIER = r"^[A-Za-z_][A-Za-z0-9_$]*$"


class SourceConfig(BaseModel):
    """Settings every source type shares."""

    model_config = ConfigDict(extra="forbid")

    bookkeeping_schema: str | None = Field(
        default="sluice",
        pattern=IDENTIFIER,
        description="Schema where Sluice may write (remote segments, in-warehouse diffs); empty to disable.",
    )

    @field_validator("bookkeeping_schema", mode="before")
    @classmethod
    def _empty_disables(cls, value: object) -> object:
        return None if value == "" else value


class DuckDBConfig(SourceConfig):
    """An embedded DuckDB database file (the demo warehouse is one)."""

    path: str = Field(default=":memory:", description="Path of the DuckDB database file.")
    default_schema: str = Field(default="main", description="Schema models use when none is given.")
    read_only: bool = Field(default=False, description="Open the file read-only (no bookkeeping schema).")


class PostgresConfig(SourceConfig):
    """A PostgreSQL server."""

    host: str = Field(description="Host name or IP address.")
    port: int = Field(default=5432, ge=1, le=65535)
    database: str = Field(default="postgres")
    user: str = Field(default="postgres")
    password: SecretStr | None = Field(default=None, description="Password (write-only).")
    default_schema: str = Field(default="public")
    sslmode: str = Field(
        default="prefer", description="libpq sslmode: disable, prefer, require, verify-full…"
    )


class RedshiftConfig(SourceConfig):
    """An Amazon Redshift cluster or serverless workgroup (PostgreSQL wire protocol)."""

    host: str = Field(description="Endpoint, e.g. examplecluster.abc123.eu-west-1.redshift.amazonaws.com.")
    port: int = Field(default=5439, ge=1, le=65535)
    database: str = Field(default="dev")
    user: str
    password: SecretStr | None = Field(default=None, description="Password (write-only).")
    default_schema: str = Field(default="public")
    sslmode: str = Field(default="require")


class SnowflakeConfig(SourceConfig):
    """A Snowflake account."""

    account: str = Field(description="Account identifier, e.g. myorg-myaccount.")
    user: str
    password: SecretStr | None = Field(default=None, description="Password (write-only).")
    private_key: SecretStr | None = Field(
        default=None, description="PEM private key for key-pair authentication (write-only)."
    )
    warehouse: str | None = None
    database: str
    default_schema: str = Field(default="PUBLIC")
    role: str | None = None


class BigQueryConfig(SourceConfig):
    """A Google BigQuery project."""

    project_id: str
    dataset_id: str = Field(description="Dataset models use when none is given.")
    location: str | None = Field(default=None, description="e.g. EU, US, europe-west1.")
    credentials_json: SecretStr | None = Field(
        default=None,
        description="Service account key (JSON, write-only); empty to use application default credentials.",
    )


class DatabricksConfig(SourceConfig):
    """A Databricks SQL warehouse."""

    server_hostname: str = Field(description="e.g. dbc-a1b2c3d4-e5f6.cloud.databricks.com.")
    http_path: str = Field(description="e.g. /sql/1.0/warehouses/abc123.")
    access_token: SecretStr | None = Field(default=None, description="Personal access token (write-only).")
    catalog: str = Field(default="hive_metastore")
    default_schema: str = Field(default="default")


@dataclass(frozen=True)
class SourceType:
    """A kind of warehouse Sluice reads."""

    name: str
    label: str
    config: type[SourceConfig]
    dialect: str

    @property
    def secret_fields(self) -> list[str]:
        """Names of the config fields that are secrets."""
        return [
            name
            for name, info in self.config.model_fields.items()
            if info.annotation in (SecretStr, SecretStr | None)
        ]

    def json_schema(self) -> dict[str, Any]:
        """JSON Schema of the whole config (secret fields are ``writeOnly`` password strings)."""
        return self.config.model_json_schema()


SOURCE_TYPES: dict[str, SourceType] = {
    spec.name: spec
    for spec in (
        SourceType("duckdb", "DuckDB", DuckDBConfig, "duckdb"),
        SourceType("postgres", "PostgreSQL", PostgresConfig, "postgres"),
        SourceType("snowflake", "Snowflake", SnowflakeConfig, "snowflake"),
        SourceType("bigquery", "Google BigQuery", BigQueryConfig, "bigquery"),
        SourceType("databricks", "Databricks", DatabricksConfig, "databricks"),
        SourceType("redshift", "Amazon Redshift", RedshiftConfig, "redshift"),
    )
}


def source_type(name: str) -> SourceType:
    """The source type called ``name`` or a clear :class:`InvalidInput`."""
    if name not in SOURCE_TYPES:
        known = ", ".join(SOURCE_TYPES)
        raise InvalidInput(f"unknown source type {name!r}; choose one of: {known}")
    return SOURCE_TYPES[name]


def build_config(type_name: str, config: dict[str, Any], secrets: dict[str, Any]) -> SourceConfig:
    """Validate ``config`` plus ``secrets`` as the typed config of ``type_name``."""
    spec = source_type(type_name)
    misplaced = sorted(set(config) & set(spec.secret_fields))
    if misplaced:
        raise InvalidInput(f"{', '.join(misplaced)} is a secret: send it in 'secrets', not in 'config'")
    unknown_secrets = sorted(set(secrets) - set(spec.secret_fields))
    if unknown_secrets:
        raise InvalidInput(
            f"{', '.join(unknown_secrets)} is not a secret of {spec.label} sources "
            f"(secrets: {', '.join(spec.secret_fields) or 'none'})"
        )
    try:
        return spec.config.model_validate({**config, **secrets})
    except ValidationError as exc:
        first = exc.errors()[0]
        where = ".".join(str(part) for part in first["loc"]) or "config"
        raise InvalidInput(f"{spec.label} config: {where}: {first['msg']}") from None


def public_config(config: SourceConfig) -> dict[str, Any]:
    """The non-secret part of a validated config, as stored in the ``config`` column."""
    secret = set(SOURCE_TYPES_BY_CONFIG[type(config)].secret_fields)
    return config.model_dump(mode="json", exclude=secret)


SOURCE_TYPES_BY_CONFIG: dict[type[SourceConfig], SourceType] = {
    spec.config: spec for spec in SOURCE_TYPES.values()
}
