"""Probabilistic matching with Splink (work in progress in this commit: refuses to run)."""

from __future__ import annotations

import ibis.expr.types as ir

from sluice.core.errors import InvalidInput
from sluice.identity.spec import IdentitySpec
from sluice.identity.tables import GraphTables


def splink_pair_finder(
    tables: GraphTables, spec: IdentitySpec, records: ir.Table, labels: ir.Table
) -> ir.Table:
    """Likely pairs found by Splink (not available yet: refuses with a clear message)."""
    raise InvalidInput("probabilistic matching is not available yet; disable it in the graph's spec")
