"""Reading ``sluice.yaml``: YAML, ``${ENV_VAR}`` substitution, and a typed document."""

from __future__ import annotations

import os
import re
from pathlib import Path
from typing import Any

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError

from sluice.config.activation_objects import ActivationDoc, DestinationDoc, SegmentDoc
from sluice.config.identity_objects import IdentityGraphDoc
from sluice.core.errors import InvalidInput
from sluice.models.catalog import ModelType, RelationshipKind
from sluice.schemas.models import FieldSpec

_REFERENCE = re.compile(r"\$\{([A-Za-z_][A-Za-z0-9_]*)\}")


class SourceDoc(BaseModel):
    model_config = ConfigDict(extra="forbid")

    name: str
    type: str
    description: str = ""
    config: dict[str, Any] = Field(default_factory=dict)
    secrets: dict[str, str] = Field(default_factory=dict, description="Only ${ENV_VAR} references.")


FieldDoc = FieldSpec
"""A field in the file: the same shape as the API's (``sluice.schemas.models.FieldSpec``)."""


class RelationshipDoc(BaseModel):
    model_config = ConfigDict(extra="forbid")

    name: str | None = None
    kind: RelationshipKind
    to: str = Field(description="Name of the related model.")
    from_field: str
    to_field: str


class ModelDoc(BaseModel):
    model_config = ConfigDict(extra="forbid")

    name: str
    source: str = Field(description="Name of the source.")
    type: ModelType = ModelType.CUSTOM
    description: str = ""
    table: dict[str, str] | None = None
    sql: str | None = None
    primary_key: str
    timestamp_field: str | None = None
    fields: list[FieldDoc] | None = None
    relationships: list[RelationshipDoc] = Field(default_factory=list)


class ConfigDocument(BaseModel):
    """The whole file. Unknown top-level keys are refused so typos do not pass silently."""

    model_config = ConfigDict(extra="forbid")

    workspace: str = "default"
    sources: list[SourceDoc] = Field(default_factory=list)
    models: list[ModelDoc] = Field(default_factory=list)
    destinations: list[DestinationDoc] = Field(default_factory=list)
    segments: list[SegmentDoc] = Field(default_factory=list)
    activations: list[ActivationDoc] = Field(default_factory=list)
    identity_graphs: list[IdentityGraphDoc] = Field(default_factory=list)


def _substitute(value: Any, where: str) -> Any:
    if isinstance(value, str):

        def replace(match: re.Match[str]) -> str:
            name = match.group(1)
            if name not in os.environ:
                raise InvalidInput(f"{where}: environment variable {name} is not set")
            return os.environ[name]

        return _REFERENCE.sub(replace, value)
    if isinstance(value, dict):
        return {key: _substitute(item, f"{where}.{key}") for key, item in value.items()}
    if isinstance(value, list):
        return [_substitute(item, f"{where}[{index}]") for index, item in enumerate(value)]
    return value


def _check_secret_references(raw: dict[str, Any]) -> None:
    for section in ("sources", "destinations"):
        for index, item in enumerate(raw.get(section) or []):
            for key, value in ((item or {}).get("secrets") or {}).items():
                if not (isinstance(value, str) and _REFERENCE.fullmatch(value.strip())):
                    raise InvalidInput(
                        f"{section}[{index}].secrets.{key}: secrets must be an ${{ENV_VAR}} reference, never a value"
                    )


def load_document(path: Path) -> ConfigDocument:
    """Read and validate a config file (secrets resolved from the environment)."""
    try:
        raw = yaml.safe_load(path.read_text()) or {}
    except FileNotFoundError:
        raise InvalidInput(f"config file {path} does not exist") from None
    except yaml.YAMLError as exc:
        raise InvalidInput(f"{path} is not valid YAML: {str(exc).splitlines()[0]}") from None
    if not isinstance(raw, dict):
        raise InvalidInput(f"{path} must be a mapping with sources:, models:, …")
    _check_secret_references(raw)
    try:
        return ConfigDocument.model_validate(_substitute(raw, path.name))
    except ValidationError as exc:
        first = exc.errors()[0]
        where = ".".join(str(part) for part in first["loc"])
        raise InvalidInput(f"{path.name}: {where}: {first['msg']}") from None
