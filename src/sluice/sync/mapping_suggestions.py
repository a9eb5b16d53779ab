"""Pre-filled activation mappings: model fields matched to destination fields by standard meaning.

A model field carries an optional standard meaning (``sluice.models.meanings``); a destination
declares the fields it knows with theirs (``Connector.standard_fields``). The suggestion is what a
new activation starts from: an identifier the destination accepts and the model has, and one
mapping per destination field whose meaning some model field carries. Users edit it freely.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from sluice.destinations.sdk import Connector, IdentifierKind
from sluice.schemas.activations import IdentifierSpec, MappingSpec
from sluice.store.tables.models import Model

# Identifier kinds in the order Sluice prefers them, with the meaning a model field must carry.
IDENTIFIER_MEANINGS: tuple[tuple[IdentifierKind, str], ...] = (
    (IdentifierKind.EMAIL, "email"),
    (IdentifierKind.EXTERNAL_ID, "external_id"),
    (IdentifierKind.PHONE, "phone"),
)


@dataclass(frozen=True)
class MappingSuggestion:
    """The identifier and field mappings a new activation starts with."""

    identifier: IdentifierSpec | None
    mapping: list[MappingSpec] = field(default_factory=list)


def suggest_mapping(model: Model, connector: type[Connector]) -> MappingSuggestion:
    """Match ``model``'s fields to ``connector``'s standard fields (see the module docstring)."""
    by_meaning: dict[str, str] = {}
    for item in sorted(model.fields, key=lambda f: f.name):
        if item.meaning and item.meaning not in by_meaning and not item.broken_reason:
            by_meaning[item.meaning] = item.name
    identifier = next(
        (
            IdentifierSpec(field=by_meaning[meaning], kind=kind)
            for kind, meaning in IDENTIFIER_MEANINGS
            if kind in connector.capabilities.identifiers and meaning in by_meaning
        ),
        None,
    )
    mapping = [
        MappingSpec(source=by_meaning[standard.meaning], destination=standard.name)
        for standard in connector.standard_fields
        if standard.meaning in by_meaning
    ]
    return MappingSuggestion(identifier, mapping)
