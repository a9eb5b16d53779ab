"""Model health: duplicated and null primary keys (on demand, and as a check before syncs)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import ibis

from sluice.models.stored import StoredCatalog

_COUNT = "__sluice_rows"


@dataclass(frozen=True)
class KeyHealth:
    """Counts and a sample of the primary key's problems."""

    primary_key: str
    total_rows: int
    duplicate_keys: int
    duplicate_rows: int
    null_keys: int
    sample_duplicates: list[tuple[Any, int]]

    @property
    def healthy(self) -> bool:
        return self.duplicate_keys == 0 and self.null_keys == 0


def key_health(catalog: StoredCatalog, model: str, *, sample: int = 10) -> KeyHealth:
    """Count duplicate keys (all copies) and null keys of ``model``, with the most repeated keys."""
    info = catalog.model(model)
    table = catalog.table(model, fields=[])
    key = table[info.primary_key]
    totals = catalog.to_pyarrow(
        table.aggregate(total=table.count(), nulls=table.count(where=key.isnull()))
    ).to_pylist()[0]
    present = table.filter(key.notnull())
    groups = present.group_by(key.name(_KEY)).aggregate(**{_COUNT: present.count()})
    duplicated = groups.filter(groups[_COUNT] > 1)
    summary = catalog.to_pyarrow(
        duplicated.aggregate(keys=duplicated.count(), rows=duplicated[_COUNT].sum())
    ).to_pylist()[0]
    rows = catalog.to_pyarrow(
        duplicated.order_by([ibis.desc(duplicated[_COUNT]), duplicated[_KEY]]).limit(sample)
    ).to_pylist()
    return KeyHealth(
        primary_key=info.primary_key,
        total_rows=int(totals["total"] or 0),
        duplicate_keys=int(summary["keys"] or 0),
        duplicate_rows=int(summary["rows"] or 0),
        null_keys=int(totals["nulls"] or 0),
        sample_duplicates=[(row[_KEY], int(row[_COUNT])) for row in rows],
    )


_KEY = "__sluice_key"


def top_values(catalog: StoredCatalog, model: str, field: str, *, limit: int = 100) -> list[tuple[Any, int]]:
    """The most frequent values of a (categorical) field with their counts, most frequent first."""
    table = catalog.table(model, fields=[field])
    counts = table.group_by(table[field].name(_KEY)).aggregate(**{_COUNT: table.count()})
    rows = catalog.to_pyarrow(
        counts.order_by([ibis.desc(counts[_COUNT]), counts[_KEY]]).limit(limit)
    ).to_pylist()
    return [(row[_KEY], int(row[_COUNT])) for row in rows]
