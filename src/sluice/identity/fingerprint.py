"""Input fingerprints: has anything a graph reads changed since its last successful run?

For every input model the warehouse computes the row count and three order-independent sums of
28-bit slices of each row's md5 (over the fields the graph reads: key, identifiers, attributes,
timestamp). Any insert, update or delete changes the count or, but for a ~2⁻⁸⁴ chance, a sum.
Slices are 7 hex digits so the per-row arithmetic fits a 32-bit integer on every warehouse.
The graph's fingerprint is the SHA-256 of those figures and of the spec, so a changed rule also
forces a recompute. Only the figures come back to Sluice.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping
from typing import Any

import ibis
import ibis.expr.types as ir

from sluice.identity.records import InputTable, row_digest
from sluice.identity.spec import IdentitySpec
from sluice.identity.tables import GraphTables

HEX = "0123456789abcdef"


SLICES = {"a": 0, "b": 10, "c": 20}
SLICE_DIGITS = 7


def _slice_value(digest: ir.StringValue, start: int) -> ir.IntegerValue:
    """7 hex digits of ``digest`` from ``start`` as an integer (portable SQL: no hex parsing)."""
    hex_digits = ibis.literal(HEX)
    value: ir.IntegerValue = hex_digits.find(digest.substr(start, 1))
    for position in range(start + 1, start + SLICE_DIGITS):
        value = value * 16 + hex_digits.find(digest.substr(position, 1))
    return value


def model_figures(tables: GraphTables, relation: InputTable, fields: list[str]) -> dict[str, int]:
    """Row count and three digest sums of one input model, computed in the warehouse."""
    table = relation.table
    hashed = table.select(digest=row_digest(table, fields))
    sums = {name: _slice_value(hashed.digest, start).cast("int64").sum() for name, start in SLICES.items()}
    row = tables.rows(hashed.aggregate(rows=hashed.count(), **sums), 1)[0]
    return {name: int(row[name] or 0) for name in ("rows", *SLICES)}


def input_fields(relation: InputTable) -> list[str]:
    """The fields of an input the graph reads, in a stable order."""
    return sorted(relation.table.columns)


def spec_digest(spec: IdentitySpec) -> str:
    """SHA-256 of the spec alone (an incremental run needs the previous run's spec)."""
    return hashlib.sha256(json.dumps(spec.model_dump(mode="json"), sort_keys=True).encode()).hexdigest()


def fingerprint(
    tables: GraphTables, spec: IdentitySpec, inputs: Mapping[str, InputTable]
) -> tuple[str, dict[str, Any]]:
    """(SHA-256 hex of spec and inputs, per-model figures for the run's details)."""
    figures = {
        name: model_figures(tables, relation, input_fields(relation))
        for name, relation in sorted(inputs.items())
    }
    payload = json.dumps({"spec": spec.model_dump(mode="json"), "inputs": figures}, sort_keys=True)
    return hashlib.sha256(payload.encode()).hexdigest(), figures
