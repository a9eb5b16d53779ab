"""What an identity graph is made of: inputs, identifiers, ordered rules, limits, survivorship.

The same pydantic shapes serve the API, ``sluice.yaml`` and the engine, so a graph written in
any of them is checked the same way.
"""

from __future__ import annotations

import re
from enum import StrEnum

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

NAME = r"^[a-z][a-z0-9_]*$"
RESERVED = frozenset(
    {"record_key", "model", "source_key", "priority", "seen_at", "node", "row_hash", "profile_id", "label"}
    | {"record_count", "model_count", "first_seen", "last_seen"}
)
DEFAULT_BLOCKED = {
    "email": ["test@test.com", "test@example.com", "noreply@example.com", "no-reply@example.com"],
}


class IdentifierKind(StrEnum):
    """How an identifier's values are normalised before they are compared."""

    EMAIL = "email"
    PHONE = "phone"
    ID = "id"


class Strategy(StrEnum):
    """How a golden field picks one value among a profile's records (nulls never win)."""

    MOST_RECENT = "most_recent"
    MOST_FREQUENT = "most_frequent"
    SOURCE_PRIORITY = "source_priority"
    EARLIEST = "earliest"


class Identifier(BaseModel):
    """A kind of identifier the graph matches on (``email``, ``phone``, ``crm_id``, …)."""

    model_config = ConfigDict(extra="forbid")

    name: str = Field(pattern=NAME, description="Name used by rules, inputs and the profiles table.")
    kind: IdentifierKind = IdentifierKind.ID
    gmail_normalize: bool = Field(
        default=False, description="Emails: drop dots and +suffix of Gmail addresses (googlemail too)."
    )
    strip_plus: bool = Field(default=False, description="Emails: drop a +suffix on every domain.")
    default_country_code: str | None = Field(
        default=None,
        pattern=r"^\d{1,3}$",
        description="Phones: dialling code for national numbers (33 for France); without it they are ignored.",
    )
    case_sensitive: bool = Field(default=False, description="Ids: compare case-sensitively.")
    blocked_values: list[str] = Field(
        default_factory=list,
        description="Values never used to match (after normalisation), e.g. test@test.com.",
    )

    def blocked(self) -> list[str]:
        """User's blocked values plus the defaults of the kind, normalised the simple way."""
        values = [*self.blocked_values, *DEFAULT_BLOCKED.get(self.kind.value, [])]
        if self.kind == IdentifierKind.ID and self.case_sensitive:
            return sorted({value.strip() for value in values})
        return sorted({value.strip().lower() for value in values})


class InputModel(BaseModel):
    """One model feeding the graph and which of its fields carry identifiers and attributes."""

    model_config = ConfigDict(extra="forbid")

    model: str = Field(description="Name of the model.")
    key: str | None = Field(
        default=None, description="Field identifying a record (default: the primary key)."
    )
    identifiers: dict[str, list[str]] = Field(
        description="Identifier name → fields holding it (several fields may hold the same identifier)."
    )
    attributes: dict[str, str] = Field(
        default_factory=dict, description="Golden field name → field of this model."
    )
    timestamp: str | None = Field(default=None, description="Field telling when the record was last updated.")
    priority: int = Field(default=100, description="Source priority: the lowest number wins.")

    @field_validator("identifiers", mode="before")
    @classmethod
    def _single_to_list(cls, value: object) -> object:
        if isinstance(value, dict):
            return {key: [item] if isinstance(item, str) else item for key, item in value.items()}
        return value


class MatchRule(BaseModel):
    """Records whose identifiers all match (after normalisation) belong to the same profile."""

    model_config = ConfigDict(extra="forbid")

    name: str = Field(pattern=NAME)
    identifiers: list[str] = Field(min_length=1, description="All must be equal for two records to match.")
    max_profiles_per_value: int | None = Field(
        default=10,
        ge=2,
        description="A value shared by more profiles than this is treated as shared (family, test) and ignored.",
    )


class ProfileLimit(BaseModel):
    """A profile may hold at most ``max_values`` distinct values of ``identifier``."""

    model_config = ConfigDict(extra="forbid")

    identifier: str
    max_values: int = Field(default=1, ge=1)


class GoldenField(BaseModel):
    """The survivorship rule of one golden field."""

    model_config = ConfigDict(extra="forbid")

    name: str
    strategy: Strategy = Strategy.MOST_RECENT


class ProbabilisticMatching(BaseModel):
    """Fuzzy matching with Splink on attributes, applied after the deterministic rules."""

    model_config = ConfigDict(extra="forbid")

    enabled: bool = False
    threshold: float = Field(default=0.99, gt=0, lt=1, description="Minimum match probability.")
    fields: list[str] = Field(
        default_factory=lambda: ["first_name", "last_name", "city", "birth_date"],
        description="Golden attributes compared by Splink.",
    )
    blocking: list[list[str]] = Field(
        default_factory=lambda: [["last_name", "birth_date"], ["first_name", "city"]],
        description="Candidate pairs must agree on one of these field lists.",
    )


class IdentitySpec(BaseModel):
    """A whole identity graph."""

    model_config = ConfigDict(extra="forbid")

    identifiers: list[Identifier] = Field(min_length=1)
    inputs: list[InputModel] = Field(min_length=1)
    rules: list[MatchRule] = Field(min_length=1, description="Applied in order; earlier rules merge first.")
    limits: list[ProfileLimit] = Field(default_factory=list)
    golden: list[GoldenField] = Field(
        default_factory=list,
        description="Survivorship per field (default: most recent for attributes, most frequent for identifiers).",
    )
    probabilistic: ProbabilisticMatching = Field(default_factory=ProbabilisticMatching)
    warn_cluster_size: int = Field(default=25, ge=2, description="Profiles with more records are flagged.")

    @model_validator(mode="after")
    def _check_references(self) -> IdentitySpec:
        names = [item.name for item in self.identifiers]
        _unique(names, "identifier")
        for name in [*names, *self.attribute_names()]:
            if name in RESERVED:
                raise ValueError(f"{name!r} is a column Sluice adds itself; choose another name")
        _unique([rule.name for rule in self.rules], "rule")
        _unique([item.model for item in self.inputs], "input model")
        known = set(names)
        for rule in self.rules:
            for name in rule.identifiers:
                if name not in known:
                    raise ValueError(f"rule {rule.name!r} uses unknown identifier {name!r}")
        for item in self.inputs:
            for name in item.identifiers:
                if name not in known:
                    raise ValueError(f"input {item.model!r} maps unknown identifier {name!r}")
            clash = set(item.attributes) & known
            if clash:
                raise ValueError(
                    f"input {item.model!r}: {sorted(clash)[0]!r} is an identifier, not an attribute"
                )
            for attribute in item.attributes:
                if not re.fullmatch(NAME, attribute):
                    raise ValueError(f"attribute name {attribute!r} must be lower case letters, digits, _")
        for limit in self.limits:
            if limit.identifier not in known:
                raise ValueError(f"limit on unknown identifier {limit.identifier!r}")
        fields = set(self.attribute_names()) | known
        for golden in self.golden:
            if golden.name not in fields:
                raise ValueError(f"golden field {golden.name!r} is neither an attribute nor an identifier")
        if self.probabilistic.enabled:
            for name in self.probabilistic.fields + [
                f for block in self.probabilistic.blocking for f in block
            ]:
                if name not in self.attribute_names():
                    raise ValueError(
                        f"probabilistic matching uses {name!r}, which no input maps as attribute"
                    )
        return self

    def attribute_names(self) -> list[str]:
        """Golden attribute names in first-seen order over the inputs."""
        seen: dict[str, None] = {}
        for item in self.inputs:
            for name in item.attributes:
                seen.setdefault(name, None)
        return list(seen)

    def identifier(self, name: str) -> Identifier:
        return next(item for item in self.identifiers if item.name == name)

    def strategy(self, name: str) -> Strategy:
        """The survivorship strategy of a golden field (attribute or identifier)."""
        for golden in self.golden:
            if golden.name == name:
                return golden.strategy
        if name in {item.name for item in self.identifiers}:
            return Strategy.MOST_FREQUENT
        return Strategy.MOST_RECENT


def _unique(names: list[str], what: str) -> None:
    duplicates = sorted({name for name in names if names.count(name) > 1})
    if duplicates:
        raise ValueError(f"{what} {duplicates[0]!r} is listed twice")
