"""``sluice bench diff``: Sluice's DuckDB/Parquet diff against the row-hash approach.

Baseline (faithful to open-source reverse-ETL tools): every row serialised to JSON and hashed with
SHA-1 in Python, the previous run's ``(key, hash)`` state read from PostgreSQL, compared in
application code, and the new state written back to PostgreSQL. Sluice: the same audience
validated, hashed and diffed in DuckDB against the previous Parquet snapshot, and the next
snapshot written (a delta of the delivered ops, ADR 0005). Same data, same run; 1% adds, 1% removes,
1% changes. Each side's timed part runs ``--runs`` times and keeps its best time, so a busy machine
skews neither side more than the other.
"""

from __future__ import annotations

import hashlib
import io
import json
import tempfile
import time
from pathlib import Path

import duckdb
import psycopg
import pyarrow as pa
import typer

from sluice.sync.audience import AudienceSpec, IdentifierKind
from sluice.sync.diff_session import DiffSession
from sluice.sync.extract import DEFAULT_BATCH_ROWS
from sluice.sync.snapshot import SnapshotStore

FIELDS = ("first_name", "last_name", "country", "tier", "lifetime_spend")
SPEC = AudienceSpec(IdentifierKind.EMAIL, FIELDS)
GENERATE = """
SELECT CAST(i AS BIGINT) AS __key, 'user' || i || '@example.com' AS __identifier,
       'first' || (i % 997) AS first_name, 'last' || (i % 9973) AS last_name,
       ['FR','DE','GB','ES','IT'][1 + (i % 5)::INT] AS country,
       ['bronze','silver','gold','platinum'][1 + (i % 4)::INT] AS tier,
       round((i % 100000) / 7.0, 2) AS lifetime_spend
FROM range(?, ?) t(i)
"""


def make_audiences(rows: int) -> tuple[pa.Table, pa.Table]:
    """Audience A and B = A with 1% removed, 1% added and 1% changed rows."""
    con = duckdb.connect()
    one = max(rows // 100, 1)
    before = con.execute(GENERATE, [0, rows]).to_arrow_table()
    after = con.execute(
        f"""SELECT __key, __identifier, first_name, last_name, country,
                   CASE WHEN __key % 100 = 1 THEN 'platinum-changed' ELSE tier END AS tier, lifetime_spend
            FROM ({GENERATE}) WHERE __key >= {one}
            UNION ALL {GENERATE}""",
        [0, rows, rows, rows + one],
    ).to_arrow_table()
    return before, after


def as_extracted(table: pa.Table) -> pa.RecordBatchReader:
    """``table`` streamed as the extract stage streams an audience (batches of its default size)."""
    return pa.RecordBatchReader.from_batches(table.schema, table.to_batches(max_chunksize=DEFAULT_BATCH_ROWS))


def run_sluice(
    before: pa.Table, after: pa.Table, work: Path, runs: int = 1
) -> tuple[float, tuple[int, int, int]]:
    """Best time of Sluice's validate + hash + diff + snapshot write of ``after`` against ``before``."""
    store = SnapshotStore(str(work / "snapshots"))
    first = DiffSession(SPEC, work / "tmp1")
    first.load(as_extracted(before))
    first.diff(store, None)
    uri_a, _rows = first.commit(
        store,
        first.con.sql("SELECT 'add' AS op, __key FROM diff").to_arrow_table(),
        store.new_uri("bench", "a"),
    )
    first.close()

    best = float("inf")
    counts = None
    for attempt in range(runs):
        started = time.perf_counter()
        session = DiffSession(SPEC, work / f"tmp2-{attempt}")
        session.load(as_extracted(after))
        counts = session.diff(store, uri_a)
        # Every op delivered: the keys of the diff (plan and load read field values; not timed here).
        delivered = session.con.sql(
            "SELECT CASE __change WHEN 'added' THEN 'add' WHEN 'changed' THEN 'change' ELSE 'remove' END AS op, "
            "__key FROM diff"
        ).to_arrow_table()
        session.commit(store, delivered, store.new_uri("bench", f"b{attempt}"))
        best = min(best, time.perf_counter() - started)
        session.close()
    assert counts is not None
    return best, (counts.added, counts.changed, counts.removed)


def _row_hash(row: dict[str, object]) -> str:
    return hashlib.sha1(json.dumps(row, sort_keys=True, default=str).encode()).hexdigest()  # noqa: S324 - the baseline's algorithm


def run_baseline(
    before: pa.Table, after: pa.Table, dsn: str, runs: int = 1
) -> tuple[float, tuple[int, int, int]]:
    """Best time of the row-hash approach: SHA-1 per JSON row, state in PostgreSQL, compared in Python."""
    timings = [_baseline_once(before, after, dsn) for _ in range(runs)]
    return min(elapsed for elapsed, _ in timings), timings[0][1]


def _baseline_once(before: pa.Table, after: pa.Table, dsn: str) -> tuple[float, tuple[int, int, int]]:
    with psycopg.connect(dsn, autocommit=True) as conn:
        conn.execute("DROP TABLE IF EXISTS sluice_bench_state")
        conn.execute("CREATE UNLOGGED TABLE sluice_bench_state (key TEXT PRIMARY KEY, hash TEXT NOT NULL)")
        with conn.cursor().copy("COPY sluice_bench_state (key, hash) FROM STDIN") as copy:
            for batch in before.to_batches(50_000):
                for row in batch.to_pylist():
                    copy.write_row((str(row["__key"]), _row_hash(row)))
        conn.execute("ANALYZE sluice_bench_state")

        started = time.perf_counter()
        state: dict[str, str] = {}
        with conn.transaction(), conn.cursor(name="state") as cursor:
            cursor.itersize = 50_000
            cursor.execute("SELECT key, hash FROM sluice_bench_state")
            state = dict(cursor)
        upserts: list[tuple[str, str]] = []
        added = changed = 0
        for batch in after.to_batches(50_000):
            for row in batch.to_pylist():
                key, digest = str(row["__key"]), _row_hash(row)
                previous = state.pop(key, None)
                if previous is None:
                    added += 1
                    upserts.append((key, digest))
                elif previous != digest:
                    changed += 1
                    upserts.append((key, digest))
        removed = list(state)
        buffer = io.StringIO("".join(f"{k}\t{h}\n" for k, h in upserts))
        with conn.transaction():
            conn.execute("CREATE TEMP TABLE incoming (key TEXT, hash TEXT) ON COMMIT DROP")
            with conn.cursor().copy("COPY incoming FROM STDIN") as copy:
                copy.write(buffer.getvalue())
            conn.execute(
                "INSERT INTO sluice_bench_state SELECT key, hash FROM incoming "
                "ON CONFLICT (key) DO UPDATE SET hash = EXCLUDED.hash"
            )
            conn.execute("DELETE FROM sluice_bench_state WHERE key = ANY(%s)", (removed,))
        elapsed = time.perf_counter() - started
        conn.execute("DROP TABLE sluice_bench_state")
    return elapsed, (added, changed, len(removed))


def register(bench_app: typer.Typer) -> None:
    @bench_app.command("diff")
    def bench_diff(
        rows: int = typer.Option(1_000_000, min=1000, help="Audience size."),
        pg: str = typer.Option(
            "postgresql://postgres@127.0.0.1:5432/postgres", help="PostgreSQL for the baseline's state."
        ),
        skip_baseline: bool = typer.Option(False, help="Only time Sluice (for very large sizes)."),
        runs: int = typer.Option(3, min=1, help="Timed runs of each side (best kept)."),
    ) -> None:
        """Diff speed: Sluice vs the per-row SHA-1 + PostgreSQL state baseline."""
        typer.echo(f"generating two audiences of {rows:,} rows (1% adds, 1% removes, 1% changes)")
        before, after = make_audiences(rows)
        with tempfile.TemporaryDirectory() as work:
            sluice_s, sluice_counts = run_sluice(before, after, Path(work), runs)
        typer.echo(f"sluice:   {sluice_s:8.2f}s  added/changed/removed={sluice_counts}")
        if skip_baseline:
            typer.echo(f"RESULT diff speedup=nan rows_per_s={rows / sluice_s:.0f} rows={rows}")
            return
        baseline_s, baseline_counts = run_baseline(before, after, pg, runs)
        typer.echo(f"baseline: {baseline_s:8.2f}s  added/changed/removed={baseline_counts}")
        if baseline_counts != sluice_counts:
            typer.echo("the two approaches disagree on the diff", err=True)
            raise typer.Exit(1)
        typer.echo(
            f"RESULT diff speedup={baseline_s / sluice_s:.1f} rows_per_s={rows / sluice_s:.0f} rows={rows}"
        )
