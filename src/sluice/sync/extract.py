"""Extract: the audience of a run as one Ibis query, streamed as Arrow record batches.

The query selects, from the segment's rows, the primary key (integers as they are, anything else
as text), the identifier (normalised by the
warehouse: emails trimmed and lower-cased, phones stripped of separators) and the mapped fields
renamed to their destination names. Nothing is loaded into Python lists: the result streams.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import pyarrow as pa

from sluice.core.errors import InvalidInput
from sluice.sync.audience import IDENTIFIER, KEY, RESERVED, IdentifierKind

DEFAULT_BATCH_ROWS = 50_000


@dataclass(frozen=True)
class FieldMapping:
    """One model field sent as one destination field."""

    source: str
    destination: str


class SchemaDrift(InvalidInput):
    """A column the activation relies on is gone from the model (the activation pauses until repaired)."""

    code = "schema_drift"


def audience_expression(
    rows: Any,
    *,
    primary_key: str,
    identifier_field: str,
    identifier_kind: IdentifierKind,
    mapping: Sequence[FieldMapping],
) -> Any:
    """The Ibis expression of the audience: ``__key``, ``__identifier`` and mapped fields."""
    columns = set(rows.columns)
    needed = [primary_key, identifier_field, *(m.source for m in mapping)]
    missing = sorted({name for name in needed if name not in columns})
    if missing:
        raise SchemaDrift(
            f"the segment's model no longer has {', '.join(repr(m) for m in missing)}; "
            "update the model or the activation's mapping"
        )
    destinations = [m.destination for m in mapping]
    duplicated = sorted({name for name in destinations if destinations.count(name) > 1})
    if duplicated:
        raise InvalidInput(f"destination fields mapped twice: {', '.join(duplicated)}")
    reserved = sorted(set(destinations) & set(RESERVED))
    if reserved:
        raise InvalidInput(f"destination field names {reserved} are reserved")
    selection = {
        KEY: audience_key(rows[primary_key]),
        IDENTIFIER: normalised_identifier(rows[identifier_field], identifier_kind),
        **{m.destination: rows[m.source] for m in mapping},
    }
    return rows.select(**selection)


def audience_key(column: Any) -> Any:
    """The primary key as the audience carries it: integers as they are, anything else as text.

    Integer keys stay typed so the local diff joins and de-duplicates 64-bit integers (ADR 0006);
    outcomes, plans and destinations always see keys as text.
    """
    return column if column.type().is_integer() else column.cast("string")


def normalised_identifier(column: Any, kind: IdentifierKind) -> Any:
    """Normalise an identifier the way platforms match it (computed in the warehouse)."""
    text = column.cast("string")
    if kind is IdentifierKind.EMAIL:
        return text.strip().lower()
    if kind is IdentifierKind.PHONE:
        return text.re_replace(r"[\s\-().]", "")
    if kind is IdentifierKind.HASHED:
        return text.strip().lower()
    return text.strip()


def extract_batches(expression: Any, *, batch_rows: int = DEFAULT_BATCH_ROWS) -> pa.RecordBatchReader:
    """Run the audience query and stream its rows as Arrow record batches."""
    reader: pa.RecordBatchReader = expression.to_pyarrow_batches(chunk_size=batch_rows)
    return reader
