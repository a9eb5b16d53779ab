"""The audience relation every stage of a run passes along.

An extracted audience is an Arrow stream (or DuckDB relation) with three reserved columns and
the mapped fields:

- ``__key``: the model's primary key, an integer or text (null allowed here; validation rejects it);
- ``__identifier``: the value the destination matches on (email, external id, …);
- one column per mapped destination field, named after the destination field.

Only mapped columns take part in change detection (BRIEF §4 rule 1).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import StrEnum

import pyarrow as pa

KEY = "__key"
IDENTIFIER = "__identifier"
ROW_HASH = "__hash"
RESERVED = (KEY, IDENTIFIER, ROW_HASH)
#: DuckDB types a key can have locally: integer keys are joined as integers, others as text
INTEGER_KEY = "BIGINT"
TEXT_KEY = "VARCHAR"


class IdentifierKind(StrEnum):
    """What the identifier column holds; decides how it is validated."""

    EMAIL = "email"
    PHONE = "phone"
    EXTERNAL_ID = "external_id"
    PLATFORM_ID = "platform_id"
    HASHED = "hashed"


@dataclass(frozen=True)
class AudienceSpec:
    """The shape of one activation's audience: identifier kind and mapped field names."""

    identifier_kind: IdentifierKind
    fields: tuple[str, ...] = field(default_factory=tuple)

    def __post_init__(self) -> None:
        clash = set(self.fields) & set(RESERVED)
        if clash:
            raise ValueError(f"field names {sorted(clash)} are reserved")


def key_type_of(arrow_type: pa.DataType) -> str:
    """The DuckDB type a key of ``arrow_type`` is diffed as (integers that fit 64 bits, else text)."""
    fits = pa.types.is_signed_integer(arrow_type) or arrow_type in (pa.uint8(), pa.uint16(), pa.uint32())
    return INTEGER_KEY if fits else TEXT_KEY
