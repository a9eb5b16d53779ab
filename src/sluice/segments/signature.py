"""The signature of a segment: a digest of everything that decides its rows apart from the data.

It covers the parent model's schema and primary key, the segment's type, conditions and remote
source, and — recursively — the signatures of the segments its membership conditions include. A
materialised segment records the signature it was computed for; its keys stand in for its conditions
only while the signature still matches (see :class:`sluice.segments.spec.Materialization`).
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import asdict
from typing import Any

from sluice.models.catalog import ModelCatalog
from sluice.segments.spec import SegmentResolver, SegmentSpec


def segment_signature(catalog: ModelCatalog, segments: SegmentResolver, segment: SegmentSpec) -> str:
    """SHA-256 (hex) of ``segment``'s definition, its model's schema and its included segments."""
    return _signature(catalog, segments, segment, ())


def _signature(
    catalog: ModelCatalog, segments: SegmentResolver, segment: SegmentSpec, stack: tuple[str, ...]
) -> str:
    if segment.id in stack:  # a cycle is refused by the compiler; never loop here
        return "cycle"
    info = catalog.model(segment.model)
    definition = segment.definition.model_dump(mode="json") if segment.definition is not None else None
    included = sorted(set(_included_segment_ids(definition)))
    document = {
        "model": segment.model,
        "primary_key": info.primary_key,
        "fields": {name: repr(field) for name, field in sorted(info.fields.items())},
        "type": str(segment.type),
        "definition": definition,
        "remote": asdict(segment.remote) if segment.remote is not None else None,
        "includes": {
            segment_id: _signature(catalog, segments, segments.get(segment_id), (*stack, segment.id))
            for segment_id in included
        },
    }
    return hashlib.sha256(json.dumps(document, sort_keys=True, default=str).encode()).hexdigest()


def _included_segment_ids(node: Any) -> list[str]:
    """Ids named by membership conditions anywhere in a dumped condition tree."""
    if isinstance(node, dict):
        found = [str(node["segment_id"])] if node.get("kind") == "segment" and "segment_id" in node else []
        for value in node.values():
            found.extend(_included_segment_ids(value))
        return found
    if isinstance(node, list):
        return [segment_id for item in node for segment_id in _included_segment_ids(item)]
    return []
