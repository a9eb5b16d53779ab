"""In-warehouse diff mode on DuckDB, PostgreSQL and Snowflake (fakesnow): the same runs, the same result.

Each backend holds a ``people`` table; runs validate and diff inside its bookkeeping schema and a
membership list plays the destination. What a user sees: invalid rows reported and never sent,
the next run sending exactly what changed, failures retried, and no work tables left behind.
"""

from __future__ import annotations

import tempfile
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import duckdb
import pyarrow as pa
import pytest

from sluice.core.asyncio_bridge import run_sync
from sluice.sync.audience import AudienceSpec, IdentifierKind
from sluice.sync.extract import FieldMapping, audience_expression
from sluice.sync.pipeline import PipelineInputs, PipelineResult, run_pipeline
from sluice.sync.plan import Service
from sluice.sync.snapshot import SnapshotStore
from sluice.sync.warehouse_diff import SnapshotTable, WarehouseDiff
from sluice.warehouse.configs import DuckDBConfig, PostgresConfig, SnowflakeConfig
from sluice.warehouse.connection import Warehouse
from sluice.warehouse.open import open_warehouse

SPEC = AudienceSpec(IdentifierKind.EMAIL, ("tier",))
PEOPLE = [
    (1, "ann@example.com", "gold"),
    (2, "bob@example.com", "silver"),
    (3, "cy@example.com", "gold"),
    (4, "di@example.com", "bronze"),
    (5, "ed@example.com", None),
    (6, "flo@example.com", "gold"),
    (None, "nokey@example.com", "gold"),
    (9, "not-an-email", "gold"),
    (7, "twin1@example.com", "gold"),
    (7, "twin2@example.com", "gold"),
]


@dataclass
class Backend:
    warehouse: Warehouse
    schema: str  # where the people table lives
    names: dict[str, str]  # logical column name -> the warehouse's spelling

    def execute(self, sql: str) -> None:
        self.warehouse.execute_statement(sql)


def _seed(backend: Backend) -> None:
    id_, email, tier = (backend.names[n] for n in ("id", "email", "tier"))
    backend.execute(f"CREATE TABLE people ({id_} INTEGER, {email} VARCHAR, {tier} VARCHAR)")
    values = ", ".join(
        "({}, '{}', {})".format("NULL" if i is None else i, e, "NULL" if t is None else f"'{t}'")
        for i, e, t in PEOPLE
    )
    backend.execute(f"INSERT INTO people VALUES {values}")


@pytest.fixture(params=["duckdb", "postgres", "snowflake"])
def backend(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Backend]:
    if request.param == "duckdb":
        duckdb.connect(str(tmp_path / "shop.duckdb")).close()
        warehouse = open_warehouse(DuckDBConfig(path=str(tmp_path / "shop.duckdb")))
        found = Backend(warehouse, "main", {"id": "id", "email": "email", "tier": "tier", "people": "people"})
        _seed(found)
        yield found
        warehouse.close()
    elif request.param == "postgres":
        url = request.getfixturevalue("pg_database")
        database = url.rsplit("/", 1)[1]
        warehouse = open_warehouse(PostgresConfig(host="127.0.0.1", database=database, sslmode="disable"))
        found = Backend(
            warehouse, "public", {"id": "id", "email": "email", "tier": "tier", "people": "people"}
        )
        _seed(found)
        yield found
        warehouse.close()
    else:
        import fakesnow

        with fakesnow.patch():
            import snowflake.connector

            snowflake.connector.connect(database="SHOP", schema="PUBLIC").cursor().execute(
                "CREATE SCHEMA IF NOT EXISTS SHOP.PUBLIC"
            )
            warehouse = open_warehouse(SnowflakeConfig(account="acme-test", user="sluice", database="SHOP"))
            found = Backend(
                warehouse, "PUBLIC", {"id": "ID", "email": "EMAIL", "tier": "TIER", "people": "PEOPLE"}
            )
            _seed(found)
            yield found
            warehouse.close()


@dataclass
class MembershipList:
    """The destination: members by email; ops on keys in ``failing`` fail."""

    members: dict[str, Any] = field(default_factory=dict)
    failing: set[str] = field(default_factory=set)
    sent: list[tuple[str, str]] = field(default_factory=list)

    async def deliver(self, ops: list[dict[str, Any]]) -> list[dict[str, Any]]:
        outcomes = []
        for op in ops:
            self.sent.append((op["__op"], op["__key"]))
            ok = op["__key"] not in self.failing
            if ok and op["__op"] == "add":
                self.members[op["__identifier"]] = op["tier"]
            elif ok:
                self.members.pop(op["__identifier"], None)
            outcomes.append(
                {
                    **{k: op[k] for k in ("__key", "__identifier", "__op")},
                    "status": "delivered" if ok else "failed",
                }
                | {"message": None if ok else "vendor said no"}
            )
        return outcomes


@dataclass
class Activation:
    backend: Backend
    work: Path
    destination: MembershipList = field(default_factory=MembershipList)
    snapshot: str | None = None
    runs: int = 0

    def run(self, *, full_refresh: bool = False) -> PipelineResult:
        self.runs += 1
        self.destination.sent.clear()
        names = self.backend.names
        rows = self.backend.warehouse.table(self.backend.schema, self.backend.names["people"])
        audience = audience_expression(
            rows,
            primary_key=names["id"],
            identifier_field=names["email"],
            identifier_kind=IdentifierKind.EMAIL,
            mapping=[FieldMapping(names["tier"], "tier")],
        )
        in_warehouse = WarehouseDiff(
            self.backend.warehouse,
            "sluice",
            activation_id="act_1",
            run_id=f"run_{self.runs}",
            spec=SPEC,
            audience=audience,
        )
        in_warehouse.sweep(keep_uri=self.snapshot)
        inputs = PipelineInputs(
            activation_id="act_1",
            run_id=f"run_{self.runs}",
            spec=SPEC,
            service=Service.MEMBERSHIP,
            previous_snapshot=self.snapshot,
            full_refresh=full_refresh,
        )
        try:
            result = run_sync(
                run_pipeline(
                    inputs,
                    pa.table({}),
                    store=SnapshotStore(str(self.work / "snapshots")),
                    work_dir=self.work / f"run{self.runs}",
                    deliver=self.destination.deliver,
                    checkpoint=lambda _stage: False,
                    in_warehouse=in_warehouse,
                )
            )
        finally:
            in_warehouse.drop_work_tables()
        self.snapshot = result.snapshot_uri
        in_warehouse.sweep(keep_uri=self.snapshot)  # what the next run does first
        return result


def _valid_members(rows: list[tuple[int | None, str, str | None]]) -> dict[str, Any]:
    keys = [key for key, _, _ in rows]
    return {
        email: tier for key, email, tier in rows if key is not None and "@" in email and keys.count(key) == 1
    }


def test_runs_in_the_warehouse_send_exactly_what_changed(backend: Backend) -> None:
    backend.execute('CREATE SCHEMA IF NOT EXISTS "sluice"')
    id_, tier = backend.names["id"], backend.names["tier"]
    people = f"{backend.schema}.{backend.names['people']}"  # Snowflake's CREATE SCHEMA switches schemas
    with tempfile.TemporaryDirectory() as work:
        activation = Activation(backend, Path(work))

        first = activation.run()
        assert first.report.counts.audience == len(PEOPLE)
        assert first.report.invalid_reasons == {
            "null primary key": 1,
            "malformed email": 1,
            "duplicate primary key": 2,
        }
        assert activation.destination.members == _valid_members(PEOPLE)
        assert activation.snapshot is not None
        assert activation.snapshot.startswith("warehouse://sluice/")
        assert first.snapshot_rows == 6

        backend.execute(f"UPDATE {people} SET {tier} = 'platinum' WHERE {id_} = 1")
        backend.execute(f"DELETE FROM {people} WHERE {id_} = 2")
        backend.execute(f"INSERT INTO {people} VALUES (8, ' Gus@Example.com ', 'silver')")
        second = activation.run()
        assert sorted(activation.destination.sent) == [("add", "1"), ("add", "8"), ("remove", "2")]
        assert (second.report.counts.added, second.report.counts.changed, second.report.counts.removed) == (
            1,
            1,
            1,
        )
        assert activation.destination.members["ann@example.com"] == "platinum"
        assert activation.destination.members["gus@example.com"] == "silver"
        assert "bob@example.com" not in activation.destination.members

        backend.execute(f"UPDATE {people} SET {tier} = 'changed' WHERE {id_} IN (3, 4)")
        activation.destination.failing = {"3"}
        activation.run()
        assert sorted(activation.destination.sent) == [("add", "3"), ("add", "4")]
        activation.destination.failing = set()
        activation.run()
        assert activation.destination.sent == [("add", "3")], "only the failed row is retried"
        activation.run()
        assert activation.destination.sent == [], "nothing changed, nothing sent"

        full = activation.run(full_refresh=True)
        assert full.report.counts.added == 6
        assert full.report.counts.removed == 0

        left = {name.lower() for name in backend.warehouse.list_tables("sluice")}
        assert left == {SnapshotTable.parse(activation.snapshot).table}, (
            "work tables and old snapshots are gone"
        )
