"""Profile lookup: a golden profile, the records it merges and which rule and value linked each.

Looks up by profile id, by record key (``<model>:<key>``) or by an identifier value, which is
normalised by the same SQL as the run (so ``Ann.Lee+x@GMAIL.com`` finds ``annlee@gmail.com``).
Reads at most a few hundred rows: it is a lookup, not an export.
"""

from __future__ import annotations

from typing import Any

import ibis

from sluice.core.errors import InvalidInput, NotFound
from sluice.identity.normalize import normalized
from sluice.identity.records import identifier_column, slots
from sluice.identity.spec import IdentitySpec
from sluice.identity.tables import GraphTables
from sluice.schemas.identity import ProfileOut, ProfileRecordOut

MAX_PROFILES = 20
MAX_RECORDS = 500


def lookup(
    tables: GraphTables,
    spec: IdentitySpec,
    *,
    profile_id: str | None = None,
    record_key: str | None = None,
    identifier: str | None = None,
    value: str | None = None,
) -> list[ProfileOut]:
    """Profiles matching exactly one of the criteria (raises when the graph never ran)."""
    if not tables.exists("profiles"):
        raise NotFound("this identity graph has not run yet")
    records = tables.published("records")
    if profile_id is not None:
        ids = [profile_id]
    elif record_key is not None:
        found = records.filter(records.record_key == record_key).select("profile_id").distinct()
        ids = [str(row["profile_id"]) for row in tables.rows(found, MAX_PROFILES)]
    elif identifier is not None and value is not None:
        ids = _by_identifier(tables, spec, records, identifier, value)
    else:
        raise InvalidInput("give a profile_id, a record_key, or an identifier and a value")
    if not ids:
        return []
    profiles = tables.published("profiles")
    golden = tables.rows(profiles.filter(profiles.profile_id.isin(ids)).order_by("profile_id"), MAX_PROFILES)
    members = records.filter(records.profile_id.isin(ids)).select(
        "profile_id", "record_key", "model", "source_key", "seen_at"
    )
    member_rows = tables.rows(members.order_by(["profile_id", "record_key"]), MAX_RECORDS)
    matches = tables.published("matches")
    why: dict[str, list[dict[str, str]]] = {}
    for row in tables.rows(
        matches.filter(matches.profile_id.isin(ids)).order_by(["record_key", "rule"]), 2000
    ):
        why.setdefault(str(row["record_key"]), []).append(
            {"rule": str(row["rule"]), "value": str(row["value"])}
        )
    return [
        ProfileOut(
            profile_id=str(row["profile_id"]),
            golden={key: _plain(item) for key, item in row.items()},
            records=[
                ProfileRecordOut(
                    record_key=str(member["record_key"]),
                    model=str(member["model"]),
                    source_key=str(member["source_key"]),
                    seen_at=member["seen_at"],
                    matched_by=why.get(str(member["record_key"]), []),
                )
                for member in member_rows
                if member["profile_id"] == row["profile_id"]
            ],
        )
        for row in golden
    ]


def _by_identifier(
    tables: GraphTables, spec: IdentitySpec, records: Any, identifier: str, value: str
) -> list[str]:
    names = {item.name for item in spec.identifiers}
    if identifier not in names:
        raise InvalidInput(f"unknown identifier {identifier!r}; the graph has {', '.join(sorted(names))}")
    width = slots(spec)[identifier]
    if width == 0:
        return []
    wanted = normalized(ibis.literal(value), spec.identifier(identifier))
    condition = records[identifier_column(identifier, 0)] == wanted
    for slot in range(1, width):
        condition |= records[identifier_column(identifier, slot)] == wanted
    found = records.filter(condition).select("profile_id").distinct().order_by("profile_id")
    return [str(row["profile_id"]) for row in tables.rows(found, MAX_PROFILES)]


def _plain(value: Any) -> Any:
    """JSON-friendly values for the golden record (dates and decimals as text)."""
    if value is None or isinstance(value, bool | int | float | str):
        return value
    return str(value)
